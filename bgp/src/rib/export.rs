//! What a route looks like when it leaves towards one kind of peer.
//!
//! For each Loc-RIB path and each update group the outbound side asks, in
//! order: may this source's route go to this role at all ([`reflection_allows`],
//! RFC 4456 §6 and §8, iBGP split horizon otherwise)? Do its well-known
//! communities forbid it (RFC 1997)? Does the export policy accept it? Then
//! [`transform`] applies the protocol's rewrites for the destination (AS
//! prepend, NEXT_HOP, LOCAL_PREF, MED, ORIGINATOR_ID / CLUSTER_LIST) and the
//! policy's changes are applied last, so a policy may set the MED an eBGP
//! peer sees.

use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::policy::{PolicyRoute, TermSet, apply_set, evaluate, prepend_asn};
use super::types::{NextHopMode, PeerInfo, RibSettings, RouteAttributes};
use crate::wire::{NextHop, PathAttributes};

/// NO_EXPORT (RFC 1997): not beyond this AS.
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// NO_ADVERTISE (RFC 1997): to no peer.
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// NO_EXPORT_SUBCONFED (RFC 1997): not to eBGP peers (no confederations here).
pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;

/// The role of a route's source or destination in reflection (RFC 4456 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// This speaker (only as a source).
    Local,
    /// An eBGP peer.
    External,
    /// An iBGP route-reflector client.
    Client,
    /// An iBGP peer that is not a client.
    NonClient,
}

impl Role {
    /// The role of a peer.
    pub fn of(peer: &PeerInfo) -> Role {
        match (peer.internal, peer.route_reflector_client) {
            (false, _) => Role::External,
            (true, true) => Role::Client,
            (true, false) => Role::NonClient,
        }
    }
}

/// Whether a route learned from `source` may be advertised to `destination`
/// (RFC 4456 §6): from a client to everyone; from a non-client to clients
/// and eBGP peers; from eBGP or this speaker to everyone. Without clients
/// this is plain iBGP split horizon (RFC 4271 §9.2). Sending a route back
/// to its own source is excluded per peer by the caller.
pub fn reflection_allows(source: Role, destination: Role) -> bool {
    match (source, destination) {
        (_, Role::Local) => false,
        (Role::Local | Role::External | Role::Client, _) => true,
        (Role::NonClient, Role::Client | Role::External) => true,
        (Role::NonClient, Role::NonClient) => false,
    }
}

/// Whether the well-known communities allow sending to `destination` (RFC 1997).
pub fn communities_allow(attributes: &PathAttributes, destination: Role) -> bool {
    let has = |community: u32| attributes.communities.contains(&community);
    if has(NO_ADVERTISE) {
        return false;
    }
    !(destination == Role::External && (has(NO_EXPORT) || has(NO_EXPORT_SUBCONFED)))
}

/// Facts about a route's source that the transforms need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFacts {
    /// Its role.
    pub role: Role,
    /// Its address (`None` for local routes), for policy `neighbor` matches.
    pub address: Option<IpAddr>,
    /// Its BGP identifier, for ORIGINATOR_ID when reflecting (RFC 4456 §8).
    pub router_id: Ipv4Addr,
}

/// The attributes to send `destination` for `route`, or `None` when the
/// route must not go there (reflection rule, communities, policy, family,
/// or no usable next hop).
pub fn export_route(
    settings: &RibSettings,
    prefix: &IpNetwork,
    route: &RouteAttributes,
    source: SourceFacts,
    destination: &PeerInfo,
) -> Option<RouteAttributes> {
    let role = Role::of(destination);
    if !reflection_allows(source.role, role) || !communities_allow(&route.path, role) {
        return None;
    }
    if !destination
        .families
        .contains(&super::types::family_of(prefix))
    {
        return None;
    }
    let applied = run_export_policy(settings, prefix, route, source, destination)?;
    let mut exported = transform(settings, prefix, route, source, destination)?;
    for set in applied {
        apply_set(set, &mut exported.path, settings.local_asn);
    }
    if !destination.internal {
        exported.path.local_pref = None;
    }
    Some(exported)
}

/// Runs the export policy on the Loc-RIB route; returns the sets of the
/// terms that applied, to be re-applied after the protocol transforms.
fn run_export_policy<'a>(
    settings: &'a RibSettings,
    prefix: &IpNetwork,
    route: &RouteAttributes,
    source: SourceFacts,
    destination: &PeerInfo,
) -> Option<Vec<&'a TermSet>> {
    let evaluation = evaluate(
        &settings.policies,
        &destination.export_policy,
        PolicyRoute {
            prefix,
            attributes: &route.path,
            neighbor: source.address,
        },
        settings.local_asn,
    );
    evaluation.accepted.then_some(evaluation.applied)
}

/// The protocol's rewrites for `destination` (RFC 4271 §5.1, RFC 4456 §8).
pub fn transform(
    settings: &RibSettings,
    prefix: &IpNetwork,
    route: &RouteAttributes,
    source: SourceFacts,
    destination: &PeerInfo,
) -> Option<RouteAttributes> {
    let mut path = route.path.clone();
    path.next_hop = None;
    if destination.internal {
        path.local_pref = Some(path.local_pref.unwrap_or(settings.default_local_pref));
        let reflecting = matches!(source.role, Role::Client | Role::NonClient);
        if reflecting {
            path.originator_id.get_or_insert(source.router_id);
            path.cluster_list.insert(0, settings.cluster_id());
        }
    } else {
        prepend_asn(&mut path.as_path, settings.local_asn, 1);
        path.local_pref = None;
        path.originator_id = None;
        path.cluster_list.clear();
        // RFC 4271 §5.1.4: a MED learned from another AS is not passed on.
        if source.role != Role::Local {
            path.med = None;
        }
    }
    let next_hop = export_next_hop(prefix, route.next_hop, destination)?;
    Some(RouteAttributes {
        path,
        next_hop: Some(next_hop),
    })
}

/// The NEXT_HOP sent to `destination` (RFC 4271 §5.1.3, RFC 2545 §3, RFC 8950).
/// `current` is `None` for locally originated routes.
pub fn export_next_hop(
    prefix: &IpNetwork,
    current: Option<NextHop>,
    destination: &PeerInfo,
) -> Option<NextHop> {
    let use_self = match destination.next_hop {
        NextHopMode::SelfAddress => true,
        NextHopMode::Keep => current.is_none(),
        NextHopMode::Auto => !destination.internal || current.is_none(),
    };
    let ipv4_prefix = prefix.is_ipv4();
    if use_self {
        return match (ipv4_prefix, destination.local_ipv4, destination.local_ipv6) {
            (true, Some(address), _) => Some(NextHop::Ipv4 { address }),
            (true, None, Some(global)) if destination.extended_next_hop => Some(NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            (false, _, Some(global)) => Some(NextHop::Ipv6 {
                global,
                link_local: None,
            }),
            _ => None,
        };
    }
    match current? {
        NextHop::Ipv4 { address } if ipv4_prefix => Some(NextHop::Ipv4 { address }),
        // A link-local next hop only means something on the link it was learned on.
        NextHop::Ipv6 { global, .. } if !ipv4_prefix || destination.extended_next_hop => {
            Some(NextHop::Ipv6 {
                global,
                link_local: None,
            })
        }
        _ => None,
    }
}
