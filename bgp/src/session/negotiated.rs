//! What two OPENs agree on (RFC 4271 §4.2 and the capability RFCs).
//!
//! When the peer's OPEN passes [`super::open_check::check_open`], the FSM
//! calls [`negotiate`] with our configuration and that OPEN. The resulting
//! [`Negotiated`] travels in [`super::Action::Established`] to the codec
//! (as two [`CodecContext`]s, one per direction) and to the RIB (families,
//! ADD-PATH, graceful restart), so every layer reads the same answer.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::wire::{
    AddPathMode, Capability, CodecContext, ExtendedNextHopEntry, Family, GracefulRestart, Open,
};

use super::config::SessionConfig;
use super::event::SessionDownReason;
use super::notification::{CEASE, HARD_RESET};
use super::open_check::CODE_ROUTE_REFRESH_OLD;

/// The outcome of the OPEN exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Negotiated {
    /// Our AS.
    pub local_as: u32,
    /// The peer's AS: from its 4-octet AS capability, else the 2-octet field
    /// (RFC 6793 §4.1).
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_router_id: Ipv4Addr,
    /// iBGP: the peer is in our AS (RFC 4271 §1.1).
    pub internal: bool,
    /// The smaller of the two proposed hold times, in seconds; 0 disables the
    /// hold and keepalive timers (RFC 4271 §4.2).
    pub hold_time: u16,
    /// Seconds between KEEPALIVEs: configured or a third of the hold time,
    /// never more than a third; 0 when the hold time is 0 (RFC 4271 §4.4).
    pub keepalive: u16,
    /// Both sides announced 4-octet AS (RFC 6793 §3).
    pub four_octet_as: bool,
    /// Families both sides announced; a side with no multiprotocol capability
    /// counts as IPv4 unicast only (RFC 4760 §8).
    pub families: BTreeSet<Family>,
    /// Both sides announced route refresh (RFC 2918 §3).
    pub route_refresh: bool,
    /// Both sides announced enhanced route refresh (RFC 7313 §3.1).
    pub enhanced_route_refresh: bool,
    /// Families whose NLRI we receive with path identifiers: we said receive
    /// or both, the peer said send or both (RFC 7911 §4).
    pub add_path_receive: BTreeSet<Family>,
    /// Families whose NLRI we send with path identifiers: we said send or
    /// both, the peer said receive or both (RFC 7911 §4).
    pub add_path_send: BTreeSet<Family>,
    /// Extended next hop entries both sides announced (RFC 8950 §3).
    pub extended_next_hop: Vec<ExtendedNextHopEntry>,
    /// Both sides announced extended messages (RFC 8654 §3).
    pub extended_message: bool,
    /// We announced graceful restart, so we act as receiving speaker
    /// ("helper") for the peer (RFC 4724 §3).
    pub local_graceful_restart: bool,
    /// The peer's graceful restart capability as received (RFC 4724 §3).
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// Both sides set the N bit: NOTIFICATIONs other than Hard Reset keep
    /// graceful restart in force (RFC 8538 §2).
    pub graceful_restart_notification: bool,
    /// The peer's host name, if it sent one.
    pub peer_hostname: Option<String>,
    /// The peer's domain name, if it sent a hostname capability.
    pub peer_domain: Option<String>,
}

/// Computes what our configuration and the peer's (already checked) OPEN agree on.
pub fn negotiate(config: &SessionConfig, peer: &Open) -> Negotiated {
    let ours = &config.capabilities;
    let peer_as = peer.asn();
    let hold_time = config.hold_time.min(peer.hold_time);
    let third = hold_time / 3;
    let keepalive = if hold_time == 0 {
        0
    } else {
        config.keepalive.map_or(third, |value| value.min(third))
    };

    let mut peer_families = BTreeSet::new();
    let mut peer_add_path: BTreeMap<Family, AddPathMode> = BTreeMap::new();
    let mut peer_next_hops = Vec::new();
    let mut peer_route_refresh = false;
    let mut peer_enhanced = false;
    let mut peer_four_octet = false;
    let mut peer_extended_message = false;
    let mut peer_graceful_restart = None;
    let mut peer_hostname = None;
    for capability in &peer.capabilities {
        match capability {
            Capability::Multiprotocol { family } => {
                peer_families.insert(*family);
            }
            Capability::RouteRefresh => peer_route_refresh = true,
            Capability::Unknown { code, .. } if *code == CODE_ROUTE_REFRESH_OLD => {
                peer_route_refresh = true;
            }
            Capability::EnhancedRouteRefresh => peer_enhanced = true,
            Capability::FourOctetAs { .. } => peer_four_octet = true,
            Capability::GracefulRestart(graceful_restart) => {
                peer_graceful_restart.get_or_insert_with(|| graceful_restart.clone());
            }
            Capability::AddPath { families } => {
                for entry in families {
                    peer_add_path.insert(entry.family, entry.mode);
                }
            }
            Capability::ExtendedNextHop { entries } => peer_next_hops.extend_from_slice(entries),
            Capability::ExtendedMessage => peer_extended_message = true,
            Capability::Hostname { hostname, domain } => {
                peer_hostname.get_or_insert_with(|| (hostname.clone(), domain.clone()));
            }
            Capability::LongLivedGracefulRestart { .. } | Capability::Unknown { .. } => {}
        }
    }
    let implied_ipv4 = || [Family::IPV4_UNICAST].into_iter().collect::<BTreeSet<_>>();
    let our_families = if ours.families.is_empty() {
        implied_ipv4()
    } else {
        ours.families.clone()
    };
    if peer_families.is_empty() {
        peer_families = implied_ipv4();
    }
    let families: BTreeSet<Family> = our_families.intersection(&peer_families).copied().collect();

    let add_path_direction = |we: fn(AddPathMode) -> bool, they: fn(AddPathMode) -> bool| {
        families
            .iter()
            .filter(|family| {
                ours.add_path.get(family).is_some_and(|mode| we(*mode))
                    && peer_add_path.get(family).is_some_and(|mode| they(*mode))
            })
            .copied()
            .collect::<BTreeSet<_>>()
    };
    let add_path_receive = add_path_direction(AddPathMode::receives, AddPathMode::sends);
    let add_path_send = add_path_direction(AddPathMode::sends, AddPathMode::receives);

    let extended_next_hop = ours
        .extended_next_hop
        .iter()
        .filter(|entry| peer_next_hops.contains(entry))
        .copied()
        .collect();
    let our_notification_bit = ours
        .graceful_restart
        .as_ref()
        .is_some_and(|graceful_restart| graceful_restart.notification);
    let graceful_restart_notification = our_notification_bit
        && peer_graceful_restart
            .as_ref()
            .is_some_and(|graceful_restart| graceful_restart.notification);
    let (peer_hostname, peer_domain) = match peer_hostname {
        Some((hostname, domain)) => (Some(hostname), Some(domain)),
        None => (None, None),
    };

    Negotiated {
        local_as: config.local_as,
        peer_as,
        peer_router_id: peer.bgp_identifier,
        internal: peer_as == config.local_as,
        hold_time,
        keepalive,
        four_octet_as: ours.four_octet_as && peer_four_octet,
        families,
        route_refresh: ours.route_refresh && peer_route_refresh,
        enhanced_route_refresh: ours.enhanced_route_refresh && peer_enhanced,
        add_path_receive,
        add_path_send,
        extended_next_hop,
        extended_message: ours.extended_message && peer_extended_message,
        local_graceful_restart: ours.graceful_restart.is_some(),
        peer_graceful_restart,
        graceful_restart_notification,
        peer_hostname,
        peer_domain,
    }
}

impl Negotiated {
    /// How to decode what the peer sends: the negotiated families, the
    /// families where the peer sends path identifiers, 4-octet AS and
    /// extended messages.
    pub fn decode_context(&self) -> CodecContext {
        CodecContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive.clone(),
            extended_message: self.extended_message,
            families: self.families.clone(),
        }
    }

    /// How to encode what we send the peer.
    pub fn encode_context(&self) -> CodecContext {
        CodecContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send.clone(),
            extended_message: self.extended_message,
            families: self.families.clone(),
        }
    }

    /// Whether the peer's routes survive the session going down for `reason`
    /// (receiving-speaker procedures, RFC 4724 §4.2 and RFC 8538 §4): both
    /// sides announced graceful restart, and either no NOTIFICATION was
    /// exchanged, or both set the N bit and the NOTIFICATION is not a Hard Reset.
    pub fn retains_routes(&self, reason: &SessionDownReason) -> bool {
        if !self.local_graceful_restart || self.peer_graceful_restart.is_none() {
            return false;
        }
        match reason.notification() {
            None => true,
            Some(notification) => {
                self.graceful_restart_notification
                    && !(notification.code == CEASE && notification.subcode == HARD_RESET)
            }
        }
    }
}
