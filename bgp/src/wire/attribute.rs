//! Path attributes (RFC 4271 §4.3, §5) and their extensions.
//!
//! [`PathAttributes`] holds every attribute of an UPDATE except MP_REACH_NLRI
//! and MP_UNREACH_NLRI, which describe prefixes rather than paths and live in
//! [`super::Update`]. It is hashable so the RIB can intern one copy per
//! distinct set of attributes.

use std::net::Ipv4Addr;

use serde::Serialize;

/// ORIGIN (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// 0: learned from an interior protocol.
    Igp,
    /// 1: learned by EGP.
    Egp,
    /// 2: learned some other way.
    Incomplete,
}

/// The kind of an AS_PATH segment (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AsPathSegmentKind {
    /// 1: unordered set of ASes (from aggregation).
    Set,
    /// 2: ordered sequence of ASes.
    Sequence,
    /// 3: ordered sequence of member ASes of a confederation.
    ConfedSequence,
    /// 4: unordered set of member ASes of a confederation.
    ConfedSet,
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AsPathSegment {
    /// Segment type.
    pub kind: AsPathSegmentKind,
    /// AS numbers, always held as 4-octet values.
    pub asns: Vec<u32>,
}

/// AS_PATH (RFC 4271 §5.1.2), after merging AS4_PATH where the session uses
/// 2-octet AS numbers (RFC 6793 §4.2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsPathSegment>,
}

/// AGGREGATOR (RFC 4271 §5.1.7), after merging AS4_AGGREGATOR (RFC 6793 §4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// An extended community (RFC 4360 §2): eight octets, type first.
/// Serialized as text, e.g. `"rt:64512:100"` (see [`super::community`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtendedCommunity(pub [u8; 8]);

/// A large community (RFC 8092 §3). Serialized as `"GLOBAL:LOCAL1:LOCAL2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// Global administrator: an AS number.
    pub global_admin: u32,
    /// First local data part.
    pub local_data_1: u32,
    /// Second local data part.
    pub local_data_2: u32,
}

/// An attribute podroute does not interpret, kept as received (RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RawAttribute {
    /// Attribute flags as received, with the Partial bit set because the
    /// attribute is passed on unrecognized (RFC 4271 §5), and the Extended
    /// Length bit and the four unused low bits cleared (the encoder sets
    /// Extended Length when the value needs it).
    pub flags: u8,
    /// Attribute type code.
    pub type_code: u8,
    /// Attribute value.
    pub value: Vec<u8>,
}

/// Every path attribute of an UPDATE except MP_REACH_NLRI / MP_UNREACH_NLRI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct PathAttributes {
    /// ORIGIN (type 1), well-known mandatory.
    pub origin: Option<Origin>,
    /// AS_PATH (type 2), well-known mandatory.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP (type 3), mandatory when IPv4 NLRI are in the classic field.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC (type 4).
    pub med: Option<u32>,
    /// LOCAL_PREF (type 5), iBGP only.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE (type 6).
    pub atomic_aggregate: bool,
    /// AGGREGATOR (type 7).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES (type 8, RFC 1997), in wire order; serialized as `"64512:100"`.
    #[serde(serialize_with = "super::community::serialize_communities")]
    pub communities: Vec<u32>,
    /// ORIGINATOR_ID (type 9, RFC 4456 §8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (type 10, RFC 4456 §8), most recent first.
    pub cluster_list: Vec<Ipv4Addr>,
    /// EXTENDED_COMMUNITIES (type 16, RFC 4360).
    pub extended_communities: Vec<ExtendedCommunity>,
    /// LARGE_COMMUNITY (type 32, RFC 8092).
    pub large_communities: Vec<LargeCommunity>,
    /// Attributes not interpreted here, in type-code order.
    pub unknown: Vec<RawAttribute>,
}
