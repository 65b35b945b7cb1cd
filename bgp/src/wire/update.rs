//! The UPDATE message (RFC 4271 §4.3) with MP-BGP reachability (RFC 4760 §3, §4),
//! IPv4 NLRI over IPv6 next hops (RFC 8950), ADD-PATH (RFC 7911) and
//! End-of-RIB markers (RFC 4724 §2).
//!
//! The types here are what [`super::Message::decode`] produces for an UPDATE
//! and what [`super::Message::encode`] consumes; the byte layout is drawn in
//! `update_encode.rs` and decoded in `update_decode.rs`. Senders that want
//! many prefixes in few messages use [`super::packing`].

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::attribute::PathAttributes;
use super::error::WireError;
use super::family::Family;
use super::prefix::Nlri;

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Update {
    /// Withdrawn IPv4 unicast prefixes from the classic field.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes.
    pub attributes: PathAttributes,
    /// MP_REACH_NLRI (type 14), if present.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI (type 15), if present.
    pub mp_unreach: Option<MpUnreach>,
    /// Reachable IPv4 unicast prefixes from the classic field.
    pub nlri: Vec<Nlri>,
    /// Set when an attribute error calls for treat-as-withdraw (RFC 7606 §2):
    /// every prefix announced here must be handled as withdrawn.
    pub treat_as_withdraw: Option<WireError>,
    /// Malformed attributes that were discarded (RFC 7606 §2), for logging.
    pub discarded: Vec<WireError>,
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MpReach {
    /// Family of the NLRI.
    pub family: Family,
    /// Next hop for every NLRI in the attribute.
    pub next_hop: NextHop,
    /// Reachable prefixes.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4). An empty list is End-of-RIB for the family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MpUnreach {
    /// Family of the withdrawn prefixes.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Nlri>,
}

/// A next hop from MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3, RFC 8950 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NextHop {
    /// An IPv4 next hop (4 bytes).
    Ipv4 {
        /// The address.
        address: Ipv4Addr,
    },
    /// An IPv6 global next hop, optionally followed by a link-local one
    /// (16 or 32 bytes, RFC 2545 §3).
    Ipv6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address, when the peer shares a link with us.
        link_local: Option<Ipv6Addr>,
    },
}

impl Update {
    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE for
    /// IPv4 unicast, an UPDATE holding only an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            Update::default()
        } else {
            Update {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..Update::default()
            }
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is such a marker
    /// (RFC 4724 §2): nothing withdrawn or announced and no attributes other
    /// than an empty MP_UNREACH_NLRI.
    pub fn is_end_of_rib(&self) -> Option<Family> {
        let bare = self.withdrawn.is_empty()
            && self.nlri.is_empty()
            && self.mp_reach.is_none()
            && self.attributes == PathAttributes::default();
        if !bare {
            return None;
        }
        match &self.mp_unreach {
            None => Some(Family::IPV4_UNICAST),
            Some(unreach) if unreach.withdrawn.is_empty() => Some(unreach.family),
            Some(_) => None,
        }
    }

    /// Every prefix this UPDATE announces, classic and MP, with its family.
    pub fn announced(&self) -> impl Iterator<Item = (Family, &Nlri)> {
        let classic = self.nlri.iter().map(|nlri| (Family::IPV4_UNICAST, nlri));
        let multiprotocol = self
            .mp_reach
            .iter()
            .flat_map(|reach| reach.nlri.iter().map(move |nlri| (reach.family, nlri)));
        classic.chain(multiprotocol)
    }

    /// Every prefix this UPDATE withdraws, classic and MP, with its family.
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, &Nlri)> {
        let classic = self
            .withdrawn
            .iter()
            .map(|nlri| (Family::IPV4_UNICAST, nlri));
        let multiprotocol = self.mp_unreach.iter().flat_map(|unreach| {
            unreach
                .withdrawn
                .iter()
                .map(move |nlri| (unreach.family, nlri))
        });
        classic.chain(multiprotocol)
    }
}
