//! The values the speaker exchanges with the RIB: who a peer is, what the
//! RIB was told to do, and what it hands back.
//!
//! Data flows in as [`RibSettings`] (once, from the daemon's config) and
//! [`PeerInfo`] (per session, from the negotiated OPENs); it flows out as
//! [`UpdateOutcome`] (what the speaker must do after an UPDATE), [`Outbound`]
//! (encoded UPDATEs for a set of peers) and [`FibUpdate`] (forwarding changes
//! for the daemon's FIB task). Nothing here depends on config, fib or tokio.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ipnetwork::IpNetwork;
use serde::Serialize;

use super::policy::Policy;
use crate::wire::{CodecContext, Family, NextHop, PathAttributes};

/// A session as the RIB knows it; the speaker assigns the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PeerId(pub u32);

/// Where a path came from: this speaker (`[[originate]]`) or a peer.
///
/// `Local` sorts first, which is how locally originated routes win the
/// decision process before any RFC 4271 §9.1.2.2 step is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Originated by this speaker.
    Local,
    /// Learned from a peer.
    Peer(PeerId),
}

/// NEXT_HOP handling towards a peer (RFC 4271 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextHopMode {
    /// Self towards eBGP peers; unchanged towards iBGP peers, so a route
    /// reflector never rewrites reflected next hops (RFC 4456 §10).
    Auto,
    /// Always our own session address ("next-hop-self").
    SelfAddress,
    /// Never rewrite, even towards eBGP peers.
    Keep,
}

/// What to do when a peer sends more prefixes than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixAction {
    /// Report once and keep the session; extra prefixes are accepted.
    Warn,
    /// The speaker sends Cease / Maximum Number of Prefixes Reached (RFC 4486 §4).
    Teardown,
}

/// A cap on prefixes accepted (after import policy) from one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxPrefixes {
    /// Most accepted prefixes, all families together.
    pub limit: u32,
    /// What happens past the limit.
    pub action: MaxPrefixAction,
}

/// One established session, as the speaker describes it on `peer_up`.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The peer's address.
    pub address: IpAddr,
    /// Our IPv4 address for NEXT_HOP self (the session's local address, or
    /// the configured one on a v6 session).
    pub local_ipv4: Option<Ipv4Addr>,
    /// Our global IPv6 address for NEXT_HOP self (RFC 2545 §3).
    pub local_ipv6: Option<Ipv6Addr>,
    /// The peer's AS.
    pub remote_asn: u32,
    /// The peer's BGP identifier.
    pub remote_router_id: Ipv4Addr,
    /// iBGP: the peer is in our AS.
    pub internal: bool,
    /// The peer is a route-reflector client (RFC 4456 §6).
    pub route_reflector_client: bool,
    /// NEXT_HOP handling towards this peer.
    pub next_hop: NextHopMode,
    /// Families negotiated (RFC 4760 §8).
    pub families: BTreeSet<Family>,
    /// Families whose received NLRI carry path identifiers (RFC 7911 §4).
    pub add_path_receive: BTreeSet<Family>,
    /// Families we send several paths for, with the most paths per prefix
    /// (RFC 7911 §4); a family must also be in `encoding.add_path`.
    pub add_path_send: BTreeMap<Family, u8>,
    /// Import policy name.
    pub import_policy: String,
    /// Export policy name.
    pub export_policy: String,
    /// Accept our own AS in AS_PATH this many times (RFC 4271 §9.1.2 loop check otherwise).
    pub allowas_in: u8,
    /// Prefix limit.
    pub max_prefixes: Option<MaxPrefixes>,
    /// Keep the pre-policy Adj-RIB-In so import policy changes need no refresh.
    pub soft_reconfiguration_inbound: bool,
    /// IPv4 NLRI with an IPv6 next hop may be sent (RFC 8950).
    pub extended_next_hop: bool,
    /// What we may send: 4-octet AS, ADD-PATH, message size (RFC 6793, 7911, 8654).
    pub encoding: CodecContext,
}

impl PeerInfo {
    /// An iBGP peer with IPv4 and IPv6 unicast, policies `all`, and nothing
    /// else switched on; tests and the speaker adjust the fields they need.
    pub fn internal(address: IpAddr, asn: u32, router_id: Ipv4Addr) -> PeerInfo {
        PeerInfo {
            address,
            local_ipv4: None,
            local_ipv6: None,
            remote_asn: asn,
            remote_router_id: router_id,
            internal: true,
            route_reflector_client: false,
            next_hop: NextHopMode::Auto,
            families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .collect(),
            add_path_receive: BTreeSet::new(),
            add_path_send: BTreeMap::new(),
            import_policy: "all".into(),
            export_policy: "all".into(),
            allowas_in: 0,
            max_prefixes: None,
            soft_reconfiguration_inbound: false,
            extended_next_hop: false,
            encoding: CodecContext::new(),
        }
    }
}

/// The RIB's configuration.
#[derive(Debug, Clone)]
pub struct RibSettings {
    /// Our AS.
    pub local_asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_ID when reflecting (RFC 4456 §7); `None` uses the router id.
    pub cluster_id: Option<Ipv4Addr>,
    /// Most paths in the multipath set handed to the FIB (1 = no ECMP).
    pub max_paths: u8,
    /// Paths from different neighbor ASes may form a multipath set.
    pub relax_as_path: bool,
    /// Compare MED between paths from different neighbor ASes (RFC 4271 §9.1.2.2 c).
    pub always_compare_med: bool,
    /// LOCAL_PREF given to eBGP-learned routes and to iBGP routes without one (RFC 4271 §5.1.5).
    pub default_local_pref: u32,
    /// Changes to one prefix within this window go out as one UPDATE.
    pub coalesce_window: Duration,
    /// Named policies; `all`, `none` and `originated` are built in.
    pub policies: BTreeMap<String, Policy>,
    /// Whether forwarding changes are recorded for
    /// [`super::Rib::poll_fib_changes`]. Off when nothing programs a kernel
    /// (a pure route reflector, `[fib] enabled = false`): computing and
    /// keeping one next-hop list per changed prefix is then wasted work.
    pub forwarding: bool,
}

impl RibSettings {
    /// Settings with one path, no policies and no coalescing delay.
    pub fn new(local_asn: u32, router_id: Ipv4Addr) -> RibSettings {
        RibSettings {
            local_asn,
            router_id,
            cluster_id: None,
            max_paths: 1,
            relax_as_path: false,
            always_compare_med: false,
            default_local_pref: 100,
            coalesce_window: Duration::ZERO,
            policies: BTreeMap::new(),
            forwarding: true,
        }
    }

    /// The CLUSTER_ID in force (RFC 4456 §7: the router id unless configured).
    pub fn cluster_id(&self) -> Ipv4Addr {
        self.cluster_id.unwrap_or(self.router_id)
    }
}

/// The interned value a path points at: its attributes and its next hop.
///
/// The next hop lives here rather than in the path so that a route costs a
/// pointer, not a copy of a 33-byte IPv6 next hop; routes from one peer
/// with one set of attributes share a single allocation. `next_hop` is
/// `None` only for locally originated routes ("self"); `path.next_hop` is
/// always cleared so that classic and MP next hops intern alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RouteAttributes {
    /// Every path attribute but NEXT_HOP.
    pub path: PathAttributes,
    /// The next hop, from NEXT_HOP or MP_REACH_NLRI.
    pub next_hop: Option<NextHop>,
}

/// Shared attributes; see [`RouteAttributes`].
pub type SharedAttributes = Arc<RouteAttributes>;

/// Encoded UPDATEs (and refresh markers) to write, in order, to every peer listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The peers that receive these bytes, sorted.
    pub peers: Vec<PeerId>,
    /// Whole messages, header included.
    pub messages: Vec<Bytes>,
}

/// A forwarding change: the Loc-RIB best (or multipath set) of a prefix changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FibUpdate {
    /// The destination.
    pub prefix: IpNetwork,
    /// Next hops to install, sorted; empty means remove the route.
    pub next_hops: Vec<IpAddr>,
}

/// The prefix limit was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxPrefixesExceeded {
    /// The configured limit.
    pub limit: u32,
    /// Prefixes accepted now.
    pub accepted: u32,
    /// What the speaker must do.
    pub action: MaxPrefixAction,
}

/// What the speaker must do after [`super::Rib::receive_update`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateOutcome {
    /// Prefixes accepted into the Adj-RIB-In (after import policy).
    pub accepted: u32,
    /// Prefixes the import policy rejected.
    pub rejected_by_policy: u32,
    /// Prefixes dropped by a loop check (AS_PATH, ORIGINATOR_ID, CLUSTER_LIST).
    pub rejected_by_loop: u32,
    /// Prefixes withdrawn, explicitly or because they could not be used.
    pub withdrawn: u32,
    /// Prefixes handled as withdrawn because of an RFC 7606 attribute error.
    pub treat_as_withdraw: u32,
    /// End-of-RIB was received for this family (RFC 4724 §2).
    pub end_of_rib: Option<Family>,
    /// The prefix limit was passed by this UPDATE (reported once for `Warn`,
    /// every time for `Teardown`).
    pub max_prefixes_exceeded: Option<MaxPrefixesExceeded>,
    /// The update named a peer the RIB does not know (not up): ignored.
    pub unknown_peer: bool,
}

impl UpdateOutcome {
    /// Whether the speaker must close the session (Cease, RFC 4486 §4).
    pub fn teardown(&self) -> bool {
        matches!(
            self.max_prefixes_exceeded,
            Some(MaxPrefixesExceeded {
                action: MaxPrefixAction::Teardown,
                ..
            })
        )
    }
}

/// What the speaker must do after a policy change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyOutcome {
    /// Peers without soft reconfiguration whose import policy changed: send
    /// them ROUTE-REFRESH for these families (RFC 2918 §3).
    pub route_refresh: Vec<(PeerId, Family)>,
}

/// Route counts of one peer, for `podroute neighbors`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeerRouteCounters {
    /// Prefixes in the peer's Adj-RIB-In before policy.
    pub received: u32,
    /// Prefixes accepted by import policy.
    pub accepted: u32,
    /// Prefixes in the peer's Adj-RIB-Out.
    pub advertised: u32,
}

/// Table sizes of one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FamilyCounts {
    /// Prefixes with at least one path.
    pub prefixes: u64,
    /// Paths (every source, every path id).
    pub paths: u64,
}

/// Table sizes, for `podroute routes` summaries and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RibCounts {
    /// Per family.
    pub families: BTreeMap<Family, FamilyCounts>,
    /// Distinct interned attribute sets (next hop included), all families.
    pub attribute_sets: u64,
}

/// The family of a prefix (IPv4 or IPv6 unicast).
pub fn family_of(prefix: &IpNetwork) -> Family {
    match prefix {
        IpNetwork::V4(_) => Family::IPV4_UNICAST,
        IpNetwork::V6(_) => Family::IPV6_UNICAST,
    }
}

/// The address a next hop forwards to (the global one for IPv6).
pub fn next_hop_address(next_hop: &NextHop) -> IpAddr {
    match next_hop {
        NextHop::Ipv4 { address } => IpAddr::V4(*address),
        NextHop::Ipv6 { global, .. } => IpAddr::V6(*global),
    }
}
