//! Receiving: loop checks, treat-as-withdraw, prefix limits, End-of-RIB,
//! eBGP LOCAL_PREF, ADD-PATH receive, soft reconfiguration and policy reloads.

use std::collections::BTreeMap;

use super::*;
use crate::rib::policy::{
    Policy, PolicyAction, PolicyDefault, PrefixFilter, Term, TermMatch, TermSet,
};
use crate::rib::types::{MaxPrefixAction, MaxPrefixes};
use crate::wire::{Family, WireError};

fn up(rib: &mut Rib, n: u8, info: PeerInfo) -> PeerId {
    let id = PeerId(u32::from(n));
    rib.peer_up(now(), id, info);
    id
}

#[test]
fn loop_checks_drop_routes_with_our_as_originator_or_cluster() {
    let mut settings = settings();
    settings.cluster_id = Some(v4("198.18.0.100"));
    let mut rib = Rib::new(settings);
    let external = up(&mut rib, 1, peer(1, Kind::External));
    let internal = up(&mut rib, 2, peer(2, Kind::NonClient));
    let cases: Vec<(PeerId, PathAttributes, bool)> = vec![
        (external, attributes(&[64601, LOCAL_ASN, 64700]), true),
        (external, attributes(&[64601, 64700]), false),
        (
            internal,
            PathAttributes {
                originator_id: Some(router_id()),
                ..attributes(&[])
            },
            true,
        ),
        (
            internal,
            PathAttributes {
                cluster_list: vec![v4("198.18.0.9"), v4("198.18.0.100")],
                ..attributes(&[])
            },
            true,
        ),
        (
            internal,
            PathAttributes {
                cluster_list: vec![v4("198.18.0.9")],
                originator_id: Some(v4("198.18.9.9")),
                ..attributes(&[])
            },
            false,
        ),
    ];
    for (index, (from, path, looped)) in cases.into_iter().enumerate() {
        let prefix = format!("198.19.{index}.0/24");
        let outcome = rib.receive_update(now(), from, announce(&[&prefix], path, "198.18.1.1"));
        assert_eq!(outcome.rejected_by_loop, u32::from(looped), "case {index}");
        assert_eq!(best_of(&rib, &prefix).is_some(), !looped, "case {index}");
    }
}

#[test]
fn allowas_in_accepts_our_as_up_to_the_count() {
    let mut rib = Rib::new(settings());
    let mut info = peer(1, Kind::External);
    info.allowas_in = 2;
    let id = up(&mut rib, 1, info);
    let twice = attributes(&[64601, LOCAL_ASN, 64700, LOCAL_ASN]);
    let thrice = attributes(&[64601, LOCAL_ASN, LOCAL_ASN, LOCAL_ASN]);
    assert_eq!(
        rib.receive_update(now(), id, announce(&["198.19.1.0/24"], twice, "198.18.1.1"))
            .accepted,
        1
    );
    assert_eq!(
        rib.receive_update(
            now(),
            id,
            announce(&["198.19.2.0/24"], thrice, "198.18.1.1")
        )
        .rejected_by_loop,
        1
    );
}

#[test]
fn a_looping_update_replaces_an_earlier_good_route() {
    let mut rib = Rib::new(settings());
    let id = up(&mut rib, 1, peer(1, Kind::External));
    rib.receive_update(
        now(),
        id,
        announce(&["198.19.1.0/24"], attributes(&[64601]), "198.18.1.1"),
    );
    assert!(best_of(&rib, "198.19.1.0/24").is_some());
    rib.receive_update(
        now(),
        id,
        announce(
            &["198.19.1.0/24"],
            attributes(&[64601, LOCAL_ASN]),
            "198.18.1.1",
        ),
    );
    assert!(best_of(&rib, "198.19.1.0/24").is_none());
    assert_eq!(rib.peer_counters(id).received, 1);
    assert_eq!(rib.peer_counters(id).accepted, 0);
}

#[test]
fn treat_as_withdraw_removes_the_announced_prefixes_and_keeps_the_rest() {
    let mut rib = Rib::new(settings());
    let id = up(&mut rib, 1, peer(1, Kind::NonClient));
    rib.receive_update(
        now(),
        id,
        announce(
            &["198.19.1.0/24", "198.19.2.0/24"],
            attributes(&[]),
            "198.18.1.1",
        ),
    );
    let mut broken = announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.1");
    broken.treat_as_withdraw = Some(WireError::new(3, 1, "ORIGIN", 30, "bad"));
    let outcome = rib.receive_update(now(), id, broken);
    assert_eq!(outcome.treat_as_withdraw, 1);
    assert_eq!(outcome.accepted, 0);
    assert!(best_of(&rib, "198.19.1.0/24").is_none());
    assert!(best_of(&rib, "198.19.2.0/24").is_some());
    let mut missing_next_hop = announce(&["198.19.3.0/24"], attributes(&[]), "198.18.1.1");
    missing_next_hop.attributes.next_hop = None;
    assert_eq!(
        rib.receive_update(now(), id, missing_next_hop)
            .treat_as_withdraw,
        1
    );
}

#[test]
fn max_prefixes_warns_once_or_tears_down() {
    for (action, second_report) in [
        (MaxPrefixAction::Warn, false),
        (MaxPrefixAction::Teardown, true),
    ] {
        let mut rib = Rib::new(settings());
        let mut info = peer(1, Kind::NonClient);
        info.max_prefixes = Some(MaxPrefixes { limit: 2, action });
        let id = up(&mut rib, 1, info);
        let first = rib.receive_update(
            now(),
            id,
            announce(
                &["198.19.1.0/24", "198.19.2.0/24"],
                attributes(&[]),
                "198.18.1.1",
            ),
        );
        assert_eq!(first.max_prefixes_exceeded, None, "at the limit is fine");
        let over = rib.receive_update(
            now(),
            id,
            announce(&["198.19.3.0/24"], attributes(&[]), "198.18.1.1"),
        );
        let exceeded = over.max_prefixes_exceeded.unwrap();
        assert_eq!(
            (exceeded.limit, exceeded.accepted, exceeded.action),
            (2, 3, action)
        );
        assert_eq!(over.teardown(), action == MaxPrefixAction::Teardown);
        let again = rib.receive_update(
            now(),
            id,
            announce(&["198.19.4.0/24"], attributes(&[]), "198.18.1.1"),
        );
        assert_eq!(
            again.max_prefixes_exceeded.is_some(),
            second_report,
            "{action:?}"
        );
    }
}

#[test]
fn end_of_rib_is_reported_per_family() {
    let mut rib = Rib::new(settings());
    let id = up(&mut rib, 1, peer(1, Kind::NonClient));
    let outcome = rib.receive_update(now(), id, Update::end_of_rib(Family::IPV6_UNICAST));
    assert_eq!(outcome.end_of_rib, Some(Family::IPV6_UNICAST));
    assert_eq!(
        rib.receive_update(now(), id, Update::end_of_rib(Family::IPV4_UNICAST))
            .end_of_rib,
        Some(Family::IPV4_UNICAST)
    );
    assert_eq!(
        rib.end_of_rib_received(id),
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    assert!(
        rib.receive_update(now(), PeerId(99), withdraw(&["198.19.1.0/24"]))
            .unknown_peer
    );
}

#[test]
fn ebgp_local_pref_is_replaced_by_the_default() {
    let mut settings = settings();
    settings.default_local_pref = 80;
    let mut rib = Rib::new(settings);
    let id = up(&mut rib, 1, peer(1, Kind::External));
    let mut path = attributes(&[64601]);
    path.local_pref = Some(1000);
    rib.receive_update(now(), id, announce(&["198.19.1.0/24"], path, "198.18.1.1"));
    assert_eq!(rib.adj_rib_in(id, false)[0].attributes.local_pref, Some(80));
}

#[test]
fn add_path_receive_keys_routes_by_path_id_and_ipv6_works() {
    let mut rib = Rib::new(settings());
    let id = up(&mut rib, 1, peer(1, Kind::NonClient));
    let mut update = announce_v6(&["2001:db8:100::/48"], attributes(&[]), "2001:db8::7");
    let reach = update.mp_reach.as_mut().unwrap();
    reach.nlri = vec![
        Nlri::with_path_id(net("2001:db8:100::/48"), 1),
        Nlri::with_path_id(net("2001:db8:100::/48"), 2),
    ];
    rib.receive_update(now(), id, update);
    assert_eq!(rib.counts().families[&Family::IPV6_UNICAST].paths, 2);
    let gone = Update {
        mp_unreach: Some(crate::wire::MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![Nlri::with_path_id(net("2001:db8:100::/48"), 1)],
        }),
        ..Update::default()
    };
    rib.receive_update(now(), id, gone);
    let views = rib.routes(RouteFilter::default());
    assert_eq!(views[0].paths.len(), 1);
    assert_eq!(views[0].paths[0].path_id, 2);
}

fn only_tagged() -> BTreeMap<String, Policy> {
    let mut policies = BTreeMap::new();
    policies.insert(
        "in".to_string(),
        Policy {
            name: "in".into(),
            terms: vec![Term {
                name: Some("pods".into()),
                matches: TermMatch {
                    prefixes: vec![PrefixFilter {
                        prefix: net("198.19.0.0/16"),
                        ge: 24,
                        le: 24,
                    }],
                    ..TermMatch::default()
                },
                set: TermSet {
                    local_pref: Some(150),
                    ..TermSet::default()
                },
                action: PolicyAction::Accept,
            }],
            default: PolicyDefault::Reject,
        },
    );
    policies
}

#[test]
fn import_policy_filters_and_counts_received_and_accepted() {
    let mut settings = settings();
    settings.policies = only_tagged();
    let mut rib = Rib::new(settings);
    let mut info = peer(1, Kind::NonClient);
    info.import_policy = "in".into();
    let id = up(&mut rib, 1, info);
    let outcome = rib.receive_update(
        now(),
        id,
        announce(
            &["198.19.1.0/24", "198.19.0.0/16", "198.20.1.0/24"],
            attributes(&[]),
            "198.18.1.1",
        ),
    );
    assert_eq!((outcome.accepted, outcome.rejected_by_policy), (1, 2));
    let counters = rib.peer_counters(id);
    assert_eq!((counters.received, counters.accepted), (3, 1));
    assert_eq!(
        rib.adj_rib_in(id, false)[0].attributes.local_pref,
        Some(150)
    );
    rib.receive_update(now(), id, withdraw(&["198.19.0.0/16"]));
    assert_eq!(rib.peer_counters(id).received, 2);
}

#[test]
fn import_policy_reload_uses_the_stored_copy_or_asks_for_a_refresh() {
    let mut rib = Rib::new(settings());
    let mut soft = peer(1, Kind::NonClient);
    soft.soft_reconfiguration_inbound = true;
    let soft = up(&mut rib, 1, soft);
    let hard = up(&mut rib, 2, peer(2, Kind::NonClient));
    for (id, next_hop) in [(soft, "198.18.1.1"), (hard, "198.18.1.2")] {
        rib.receive_update(
            now(),
            id,
            announce(
                &["198.19.1.0/24", "198.20.1.0/24"],
                attributes(&[]),
                next_hop,
            ),
        );
    }
    assert_eq!(rib.adj_rib_in(soft, true).len(), 2);
    assert_eq!(rib.adj_rib_in(hard, true).len(), 0);
    let mut policies = only_tagged();
    policies.insert("other".into(), policies["in"].clone());
    rib.set_policies(now(), policies);
    let outcome = rib.set_peer_policy(now(), soft, "in", "all");
    assert!(outcome.route_refresh.is_empty());
    assert_eq!(
        rib.adj_rib_in(soft, false)
            .iter()
            .map(|route| route.prefix)
            .collect::<Vec<_>>(),
        vec![net("198.19.1.0/24")]
    );
    let outcome = rib.set_peer_policy(now(), hard, "in", "all");
    assert_eq!(
        outcome.route_refresh,
        vec![(hard, Family::IPV4_UNICAST), (hard, Family::IPV6_UNICAST)]
    );
    // Back to `all`: the stored copy restores what the policy had dropped.
    rib.set_peer_policy(now(), soft, "all", "all");
    assert_eq!(rib.adj_rib_in(soft, false).len(), 2);
}

#[test]
fn peer_down_removes_its_routes_and_the_attribute_sets_they_used() {
    let mut rib = Rib::new(settings());
    let id = up(&mut rib, 1, peer(1, Kind::NonClient));
    let other = up(&mut rib, 2, peer(2, Kind::NonClient));
    rib.receive_update(
        now(),
        id,
        announce(
            &["198.19.1.0/24", "198.19.2.0/24"],
            attributes(&[]),
            "198.18.1.1",
        ),
    );
    rib.receive_update(
        now(),
        other,
        announce(&["198.19.3.0/24"], attributes(&[]), "198.18.1.2"),
    );
    assert_eq!(rib.counts().attribute_sets, 2);
    rib.peer_down(now(), id);
    assert_eq!(rib.counts().families[&Family::IPV4_UNICAST].prefixes, 1);
    assert_eq!(rib.counts().attribute_sets, 1);
    rib.receive_update(now(), other, withdraw(&["198.19.3.0/24"]));
    assert_eq!(rib.counts().attribute_sets, 0);
    assert!(rib.counts().families.is_empty());
}

/// Soft reconfiguration keeps most routes only as their Loc-RIB path and
/// rebuilds the received form (`pre_policy.rs`); what it lists and imports
/// again must be exactly what was received, whichever way each route was
/// kept: rebuilt, stored because policy changed it, stored because policy
/// rejected it, or stored because it carried attributes eBGP preparation drops.
#[test]
fn soft_reconfiguration_lists_and_reimports_exactly_what_was_received() {
    let mut settings = settings();
    settings.policies = only_tagged();
    let mut rib = Rib::new(settings);
    let mut info = peer(1, Kind::External);
    info.soft_reconfiguration_inbound = true;
    let id = up(&mut rib, 1, info);
    let plain = attributes(&[64601]);
    let mut with_local_pref = attributes(&[64601]);
    with_local_pref.local_pref = Some(1000);
    rib.receive_update(
        now(),
        id,
        announce(
            &["198.19.1.0/24", "198.20.1.0/24", "198.20.2.0/24"],
            plain.clone(),
            "198.18.1.1",
        ),
    );
    rib.receive_update(
        now(),
        id,
        announce(&["198.20.3.0/24"], with_local_pref.clone(), "198.18.1.1"),
    );
    let received = |rib: &Rib| -> Vec<(String, Option<u32>)> {
        rib.adj_rib_in(id, true)
            .iter()
            .map(|route| (route.prefix.to_string(), route.attributes.local_pref))
            .collect()
    };
    let expected = vec![
        ("198.19.1.0/24".to_string(), None),
        ("198.20.1.0/24".to_string(), None),
        ("198.20.2.0/24".to_string(), None),
        ("198.20.3.0/24".to_string(), Some(1000)),
    ];
    assert_eq!(received(&rib), expected);
    for route in rib.adj_rib_in(id, true) {
        assert_eq!(route.attributes.as_path, plain.as_path);
    }
    // Only 198.19.1.0/24 passes `in`, which changes it (LOCAL_PREF 150);
    // the rest are rejected. The received routes stay listed as they came,
    // and going back to `all` brings every one back with the eBGP
    // LOCAL_PREF rule applied again.
    rib.set_peer_policy(now(), id, "in", "all");
    let accepted: Vec<(String, Option<u32>)> = rib
        .adj_rib_in(id, false)
        .iter()
        .map(|route| (route.prefix.to_string(), route.attributes.local_pref))
        .collect();
    assert_eq!(accepted, vec![("198.19.1.0/24".to_string(), Some(150))]);
    assert_eq!(received(&rib), expected);
    rib.set_peer_policy(now(), id, "all", "all");
    let accepted: Vec<Option<u32>> = rib
        .adj_rib_in(id, false)
        .iter()
        .map(|route| route.attributes.local_pref)
        .collect();
    assert_eq!(accepted, vec![Some(100); 4]);
    assert_eq!(received(&rib), expected);
    // A withdrawn route leaves both views, a re-announced one replaces its copy.
    rib.receive_update(now(), id, withdraw(&["198.20.3.0/24"]));
    rib.receive_update(
        now(),
        id,
        announce(&["198.20.1.0/24"], with_local_pref, "198.18.1.1"),
    );
    assert_eq!(
        received(&rib),
        vec![
            ("198.19.1.0/24".to_string(), None),
            ("198.20.1.0/24".to_string(), Some(1000)),
            ("198.20.2.0/24".to_string(), None),
        ]
    );
    assert_eq!(rib.adj_rib_in(id, false).len(), 3);
}

#[test]
fn forwarding_changes_are_recorded_only_when_asked_for() {
    for forwarding in [true, false] {
        let mut settings = settings();
        settings.forwarding = forwarding;
        let mut rib = Rib::new(settings);
        let id = up(&mut rib, 1, peer(1, Kind::NonClient));
        rib.receive_update(
            now(),
            id,
            announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.1"),
        );
        // The route is selected either way; only the kernel's list differs.
        assert_eq!(rib.adj_rib_in(id, false).len(), 1);
        assert_eq!(rib.poll_fib_changes().len(), usize::from(forwarding));
    }
}
