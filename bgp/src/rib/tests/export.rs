//! The attributes a route leaves with, per destination kind (RFC 4271
//! §5.1, RFC 4456 §8, RFC 2545, RFC 8950) and the well-known communities.

use super::*;
use crate::rib::export::{NO_ADVERTISE, NO_EXPORT, Role, SourceFacts, export_route};
use crate::rib::types::{NextHopMode, RouteAttributes};
use crate::wire::{Family, NextHop};

fn learned(med: Option<u32>, local_pref: Option<u32>) -> RouteAttributes {
    let mut path = attributes(&[64700]);
    path.med = med;
    path.local_pref = local_pref;
    RouteAttributes {
        path,
        next_hop: Some(NextHop::Ipv4 {
            address: v4("198.18.1.7"),
        }),
    }
}

fn local() -> RouteAttributes {
    let mut path = attributes(&[]);
    path.med = Some(5);
    RouteAttributes {
        path,
        next_hop: None,
    }
}

fn from(role: Role) -> SourceFacts {
    SourceFacts {
        role,
        address: match role {
            Role::Local => None,
            _ => Some("198.18.1.7".parse().unwrap()),
        },
        router_id: v4("198.18.1.7"),
    }
}

fn export(
    route: &RouteAttributes,
    source: Role,
    destination: &PeerInfo,
) -> Option<RouteAttributes> {
    export_route(
        &settings(),
        &net("198.19.0.0/16"),
        route,
        from(source),
        destination,
    )
}

fn ipv4(text: &str) -> Option<NextHop> {
    Some(NextHop::Ipv4 { address: v4(text) })
}

#[test]
fn ebgp_gets_our_as_prepended_next_hop_self_and_no_local_pref_or_foreign_med() {
    let out = export(
        &learned(Some(7), Some(300)),
        Role::NonClient,
        &peer(9, Kind::External),
    )
    .unwrap();
    assert_eq!(out.path.as_path, Some(sequence(&[LOCAL_ASN, 64700])));
    assert_eq!(out.next_hop, ipv4("198.18.0.1"));
    assert_eq!(out.path.local_pref, None);
    assert_eq!(
        out.path.med, None,
        "MED learned from iBGP is not sent to eBGP"
    );
    assert_eq!(out.path.originator_id, None);
    assert!(out.path.cluster_list.is_empty());
    let own = export(&local(), Role::Local, &peer(9, Kind::External)).unwrap();
    assert_eq!(own.path.med, Some(5), "our own MED is sent");
    assert_eq!(own.path.as_path, Some(sequence(&[LOCAL_ASN])));
}

#[test]
fn ibgp_keeps_learned_next_hops_and_sends_local_pref() {
    let out = export(
        &learned(Some(7), None),
        Role::External,
        &peer(9, Kind::NonClient),
    )
    .unwrap();
    assert_eq!(out.next_hop, ipv4("198.18.1.7"));
    assert_eq!(out.path.local_pref, Some(100));
    assert_eq!(out.path.med, Some(7));
    assert_eq!(out.path.as_path, Some(sequence(&[64700])));
    assert_eq!(out.path.originator_id, None, "not reflected: from eBGP");
    let own = export(&local(), Role::Local, &peer(9, Kind::NonClient)).unwrap();
    assert_eq!(
        own.next_hop,
        ipv4("198.18.0.1"),
        "local routes: next hop self"
    );
}

#[test]
fn next_hop_modes_self_and_keep() {
    let mut forced = peer(9, Kind::Client);
    forced.next_hop = NextHopMode::SelfAddress;
    let out = export(&learned(None, None), Role::Client, &forced).unwrap();
    assert_eq!(out.next_hop, ipv4("198.18.0.1"));
    let mut keep = peer(9, Kind::External);
    keep.next_hop = NextHopMode::Keep;
    let out = export(&learned(None, None), Role::NonClient, &keep).unwrap();
    assert_eq!(out.next_hop, ipv4("198.18.1.7"));
    let out = export(&local(), Role::Local, &keep).unwrap();
    assert_eq!(
        out.next_hop,
        ipv4("198.18.0.1"),
        "keep still needs a next hop for our own routes"
    );
}

#[test]
fn ipv6_and_ipv4_over_ipv6_next_hops() {
    let settings = settings();
    let destination = peer(9, Kind::External);
    let v6 = export_route(
        &settings,
        &net("2001:db8:100::/48"),
        &local(),
        from(Role::Local),
        &destination,
    )
    .unwrap();
    assert_eq!(
        v6.next_hop,
        Some(NextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        })
    );
    let mut v6_only = destination.clone();
    v6_only.local_ipv4 = None;
    assert_eq!(
        export_route(
            &settings,
            &net("198.19.0.0/16"),
            &local(),
            from(Role::Local),
            &v6_only
        ),
        None,
        "no IPv4 next hop without extended next hop"
    );
    v6_only.extended_next_hop = true;
    let over_v6 = export_route(
        &settings,
        &net("198.19.0.0/16"),
        &local(),
        from(Role::Local),
        &v6_only,
    )
    .unwrap();
    assert_eq!(
        over_v6.next_hop,
        Some(NextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }),
        "RFC 8950"
    );
    let mut no_v6_family = destination;
    no_v6_family.families.remove(&Family::IPV6_UNICAST);
    assert_eq!(
        export_route(
            &settings,
            &net("2001:db8:100::/48"),
            &local(),
            from(Role::Local),
            &no_v6_family
        ),
        None
    );
}

#[test]
fn well_known_communities_limit_where_routes_go() {
    let mut no_export = learned(None, None);
    no_export.path.communities = vec![NO_EXPORT];
    assert!(export(&no_export, Role::External, &peer(9, Kind::External)).is_none());
    assert!(export(&no_export, Role::External, &peer(9, Kind::NonClient)).is_some());
    let mut no_advertise = learned(None, None);
    no_advertise.path.communities = vec![NO_ADVERTISE];
    assert!(export(&no_advertise, Role::External, &peer(9, Kind::NonClient)).is_none());
}

#[test]
fn export_policy_changes_apply_after_the_protocol_rewrites() {
    use crate::rib::policy::{Policy, PolicyAction, PolicyDefault, Term, TermMatch, TermSet};
    let mut settings = settings();
    settings.policies.insert(
        "tor".into(),
        Policy {
            name: "tor".into(),
            terms: vec![Term {
                name: None,
                matches: TermMatch::default(),
                set: TermSet {
                    med: Some(42),
                    prepend_as: 2,
                    local_pref: Some(700),
                    ..TermSet::default()
                },
                action: PolicyAction::Accept,
            }],
            default: PolicyDefault::Reject,
        },
    );
    let mut destination = peer(9, Kind::External);
    destination.export_policy = "tor".into();
    let out = export_route(
        &settings,
        &net("198.19.0.0/16"),
        &learned(Some(7), None),
        from(Role::NonClient),
        &destination,
    )
    .unwrap();
    assert_eq!(out.path.med, Some(42), "policy may set the MED eBGP sees");
    assert_eq!(out.path.local_pref, None, "never LOCAL_PREF to eBGP");
    assert_eq!(
        out.path.as_path,
        Some(sequence(&[LOCAL_ASN, LOCAL_ASN, LOCAL_ASN, 64700]))
    );
}
