//! Update generation: initial table and End-of-RIB, packing, update groups,
//! split horizon inside a group, coalescing, ADD-PATH send, route refresh
//! and export policy changes.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::wire::{Family, RouteRefresh, RouteRefreshSubtype};

fn ebgp_source(rib: &mut Rib) -> PeerId {
    let id = PeerId(50);
    rib.peer_up(now(), id, peer(50, Kind::External));
    id
}

fn many(count: u32) -> Vec<String> {
    (0..count)
        .map(|index| format!("10.{}.{}.0/24", index / 256, index % 256))
        .collect()
}

#[test]
fn a_new_peer_gets_the_table_then_end_of_rib_per_family() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.originate(t, net("198.19.1.0/24"), None);
    rib.originate(t, net("2001:db8:1::/48"), None);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    assert_eq!(rib.next_deadline(), Some(t));
    let out = rib.poll_outbound(t);
    let messages = updates_for(&out, PeerId(1), &CodecContext::new());
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].nlri, vec![Nlri::new(net("198.19.1.0/24"))]);
    assert_eq!(messages[0].attributes.next_hop, Some(router_id()));
    let reach = messages[1].mp_reach.as_ref().unwrap();
    assert_eq!(reach.nlri, vec![Nlri::new(net("2001:db8:1::/48"))]);
    assert_eq!(
        reach.next_hop,
        crate::wire::NextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }
    );
    assert_eq!(messages[2].is_end_of_rib(), Some(Family::IPV4_UNICAST));
    assert_eq!(messages[3].is_end_of_rib(), Some(Family::IPV6_UNICAST));
    assert_eq!(rib.next_deadline(), None);
    assert!(rib.poll_outbound(t).is_empty());
    assert_eq!(rib.peer_counters(PeerId(1)).advertised, 2);
}

#[test]
fn prefixes_with_the_same_attributes_pack_into_full_messages() {
    let t = now();
    let mut rib = Rib::new(settings());
    let source = ebgp_source(&mut rib);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.poll_outbound(t);
    let prefixes = many(2500);
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    rib.receive_update(
        t,
        source,
        announce(&refs, attributes(&[64650]), "198.18.1.50"),
    );
    let out = rib.poll_outbound(t);
    let to_peer: Vec<&bytes::Bytes> = out
        .iter()
        .filter(|batch| batch.peers.contains(&PeerId(1)))
        .flat_map(|batch| batch.messages.iter())
        .collect();
    let updates = updates_for(&out, PeerId(1), &CodecContext::new());
    let capacity = updates[0].nlri.len();
    assert!(
        to_peer[0].len() <= 4096 && to_peer[0].len() + 4 > 4096,
        "the first message is full"
    );
    assert_eq!(updates.len(), 2500usize.div_ceil(capacity));
    assert_eq!(
        updates
            .iter()
            .map(|update| update.nlri.len())
            .sum::<usize>(),
        2500
    );
    // Withdrawals pack the same way.
    rib.receive_update(t, source, withdraw(&refs));
    let out = rib.poll_outbound(t);
    let updates = updates_for(&out, PeerId(1), &CodecContext::new());
    let capacity = updates[0].withdrawn.len();
    assert_eq!(updates.len(), 2500usize.div_ceil(capacity));
    assert!(rib.adj_rib_out(PeerId(1)).is_empty());
}

#[test]
fn peers_of_one_update_group_share_one_encoding() {
    let t = now();
    let mut rib = Rib::new(settings());
    let source = ebgp_source(&mut rib);
    for n in 1..=3 {
        rib.peer_up(
            t,
            PeerId(n),
            peer(u8::try_from(n).unwrap(), Kind::NonClient),
        );
    }
    rib.poll_outbound(t);
    rib.receive_update(
        t,
        source,
        announce(&["198.19.1.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    let out = rib.poll_outbound(t);
    let ibgp: Vec<&Outbound> = out
        .iter()
        .filter(|batch| !batch.peers.contains(&source))
        .collect();
    assert_eq!(ibgp.len(), 1);
    assert_eq!(ibgp[0].peers, vec![PeerId(1), PeerId(2), PeerId(3)]);
    assert_eq!(ibgp[0].messages.len(), 1);
}

#[test]
fn split_horizon_inside_a_group_gives_the_source_its_own_batch() {
    let t = now();
    let mut rib = Rib::new(settings());
    for n in 1..=3 {
        rib.peer_up(t, PeerId(n), peer(u8::try_from(n).unwrap(), Kind::Client));
    }
    rib.poll_outbound(t);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.1"),
    );
    rib.receive_update(
        t,
        PeerId(3),
        announce(&["198.19.3.0/24"], attributes(&[]), "198.18.1.3"),
    );
    let out = rib.poll_outbound(t);
    assert_eq!(announced_to(&out, PeerId(1)), vec![net("198.19.3.0/24")]);
    assert_eq!(
        announced_to(&out, PeerId(2)),
        vec![net("198.19.1.0/24"), net("198.19.3.0/24")]
    );
    assert_eq!(announced_to(&out, PeerId(3)), vec![net("198.19.1.0/24")]);
    // The best path's source gets nothing, not the second best (no ADD-PATH).
    rib.receive_update(
        t,
        PeerId(2),
        announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.2"),
    );
    let out = rib.poll_outbound(t);
    assert!(announced_to(&out, PeerId(1)).is_empty());
    assert!(announced_to(&out, PeerId(2)).is_empty());
}

#[test]
fn a_settled_event_goes_out_at_once_but_a_window_still_holds_what_follows() {
    let t = now();
    let mut settings = settings();
    settings.coalesce_window = Duration::from_secs(1);
    let mut rib = Rib::new(settings);
    let source = ebgp_source(&mut rib);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.poll_outbound(t);
    assert!(!rib.settling(), "nothing changed");
    rib.receive_update(
        t,
        source,
        announce(&["198.19.0.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    assert!(rib.settling());
    rib.receive_update(t, source, withdraw(&["198.19.9.0/24"]));
    // The speaker has taken in the rest of the event: no settling time.
    rib.settle();
    assert!(!rib.settling());
    assert_eq!(rib.next_deadline(), Some(t));
    let out = rib.poll_outbound(t);
    assert_eq!(announced_to(&out, PeerId(1)), [net("198.19.0.0/24")]);
    // What follows inside the window is not settling; settling it anyway
    // does not open the window early.
    let soon = t + Duration::from_millis(2);
    rib.receive_update(
        soon,
        source,
        announce(&["198.19.1.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    assert!(!rib.settling(), "inside the window");
    rib.settle();
    assert_eq!(rib.next_deadline(), Some(t + Duration::from_secs(1)));
    assert!(rib.poll_outbound(soon).is_empty());
    // After the flush the next quiet change waits for SETTLE again.
    let out = rib.poll_outbound(t + Duration::from_secs(1));
    assert_eq!(announced_to(&out, PeerId(1)), [net("198.19.1.0/24")]);
    let later = t + Duration::from_secs(5);
    rib.receive_update(later, source, withdraw(&["198.19.1.0/24"]));
    assert!(rib.settling());
    assert_eq!(rib.next_deadline(), Some(later + Duration::from_millis(1)));
}

#[test]
fn changes_inside_the_coalescing_window_go_out_once_as_the_latest_state() {
    let t = now();
    let mut settings = settings();
    settings.coalesce_window = Duration::from_secs(1);
    let mut rib = Rib::new(settings);
    let source = ebgp_source(&mut rib);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.poll_outbound(t);
    // After a quiet window the first change goes out once settled...
    rib.receive_update(
        t,
        source,
        announce(&["198.19.0.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    let settled = t + Duration::from_millis(1);
    assert_eq!(rib.next_deadline(), Some(settled));
    assert!(rib.poll_outbound(t).is_empty(), "not settled yet");
    let out = rib.poll_outbound(settled);
    assert_eq!(announced_to(&out, PeerId(1)), [net("198.19.0.0/24")]);
    // ...and the changes that follow wait one window after that flush.
    rib.receive_update(
        settled,
        source,
        announce(&["198.19.1.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    assert_eq!(rib.next_deadline(), Some(settled + Duration::from_secs(1)));
    let half = t + Duration::from_millis(500);
    rib.receive_update(half, source, withdraw(&["198.19.1.0/24"]));
    assert!(rib.poll_outbound(half).is_empty(), "window still open");
    assert!(
        rib.poll_outbound(settled + Duration::from_secs(1))
            .is_empty(),
        "came and went: nothing to say"
    );
    assert_eq!(rib.next_deadline(), None);

    let later = t + Duration::from_secs(5);
    // Quiet again: due once settled, and both changes made before then go
    // out as the latest state only.
    rib.receive_update(
        later,
        source,
        announce(&["198.19.2.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    rib.receive_update(
        later,
        source,
        announce(
            &["198.19.2.0/24"],
            attributes(&[64650, 64651]),
            "198.18.1.50",
        ),
    );
    assert_eq!(rib.next_deadline(), Some(later + Duration::from_millis(1)));
    let out = rib.poll_outbound(later + Duration::from_millis(1));
    let updates = updates_for(&out, PeerId(1), &CodecContext::new());
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].attributes.as_path,
        Some(sequence(&[64650, 64651]))
    );
}

/// A lost session's routes are withdrawn at the next poll even inside the
/// window, so a neighbor that reconnects and re-announces them at once
/// still shows the others that they went.
#[test]
fn a_lost_sessions_withdrawals_are_not_held_by_the_window() {
    let t = now();
    let mut settings = settings();
    settings.coalesce_window = Duration::from_secs(1);
    let mut rib = Rib::new(settings);
    let source = ebgp_source(&mut rib);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.poll_outbound(t);
    rib.receive_update(
        t,
        source,
        announce(&["198.19.1.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    let settled = t + Duration::from_millis(1);
    assert_eq!(
        announced_to(&rib.poll_outbound(settled), PeerId(1)),
        [net("198.19.1.0/24")]
    );
    // Inside the window that flush opened, the source's session goes down.
    let down = settled + Duration::from_millis(100);
    assert!(!rib.lost_session_pending());
    rib.peer_down(down, source);
    assert_eq!(rib.next_deadline(), Some(down));
    // The speaker takes in no other event before these are out.
    assert!(rib.lost_session_pending());
    let out = rib.poll_outbound(down);
    assert!(!rib.lost_session_pending());
    let withdrawn: Vec<IpNetwork> = updates_for(&out, PeerId(1), &CodecContext::new())
        .iter()
        .flat_map(|update| {
            update
                .withdrawals()
                .map(|(_, nlri)| nlri.prefix)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(withdrawn, [net("198.19.1.0/24")]);
    // The neighbor is back and re-announces: the window applies again.
    let back = down + Duration::from_millis(10);
    let source = ebgp_source(&mut rib);
    rib.poll_outbound(back);
    rib.receive_update(
        back,
        source,
        announce(&["198.19.1.0/24"], attributes(&[64650]), "198.18.1.50"),
    );
    assert_eq!(rib.next_deadline(), Some(down + Duration::from_secs(1)));
}

fn add_path_peer(n: u8, paths: u8) -> PeerInfo {
    let mut info = peer(n, Kind::Client);
    info.encoding.add_path = BTreeSet::from([Family::IPV4_UNICAST]);
    info.add_path_send.insert(Family::IPV4_UNICAST, paths);
    info
}

fn add_path_context() -> CodecContext {
    let mut context = CodecContext::new();
    context.add_path = BTreeSet::from([Family::IPV4_UNICAST]);
    context
}

/// (path id, next hop) of every announcement, and withdrawn path ids.
fn add_path_changes(out: &[Outbound], peer: PeerId) -> (Vec<(u32, std::net::Ipv4Addr)>, Vec<u32>) {
    let updates = updates_for(out, peer, &add_path_context());
    let mut announced = Vec::new();
    let mut withdrawn = Vec::new();
    for update in updates {
        for nlri in &update.nlri {
            announced.push((nlri.path_id.unwrap(), update.attributes.next_hop.unwrap()));
        }
        withdrawn.extend(update.withdrawn.iter().map(|nlri| nlri.path_id.unwrap()));
    }
    announced.sort();
    withdrawn.sort();
    (announced, withdrawn)
}

#[test]
fn add_path_sends_the_best_paths_with_stable_identifiers() {
    let t = now();
    let mut rib = Rib::new(settings());
    for n in 1..=3 {
        rib.peer_up(t, PeerId(u32::from(n)), peer(n, Kind::NonClient));
    }
    rib.peer_up(t, PeerId(9), add_path_peer(9, 2));
    rib.poll_outbound(t);
    for n in 1..=3u8 {
        let mut path = attributes(&[]);
        path.local_pref = Some(300 - u32::from(n) * 10);
        let next_hop = format!("198.18.1.{n}");
        rib.receive_update(
            t,
            PeerId(u32::from(n)),
            announce(&["198.19.0.0/16"], path, &next_hop),
        );
    }
    let out = rib.poll_outbound(t);
    let (announced, withdrawn) = add_path_changes(&out, PeerId(9));
    assert_eq!(
        announced,
        vec![(1, v4("198.18.1.1")), (2, v4("198.18.1.2"))]
    );
    assert!(withdrawn.is_empty());
    // The best goes away: the third path is sent with its own id; the
    // second keeps id 2 and is not re-sent.
    rib.receive_update(t, PeerId(1), withdraw(&["198.19.0.0/16"]));
    let out = rib.poll_outbound(t);
    let (announced, withdrawn) = add_path_changes(&out, PeerId(9));
    assert_eq!(announced, vec![(3, v4("198.18.1.3"))]);
    assert_eq!(withdrawn, vec![1]);
    // A new path gets the free id 1 and, being best, displaces the third.
    let mut best = attributes(&[]);
    best.local_pref = Some(500);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.0.0/16"], best, "198.18.1.1"),
    );
    let out = rib.poll_outbound(t);
    let (announced, withdrawn) = add_path_changes(&out, PeerId(9));
    assert_eq!(announced, vec![(1, v4("198.18.1.1"))]);
    assert_eq!(withdrawn, vec![3]);
}

#[test]
fn add_path_puts_the_multipath_set_right_after_the_best() {
    let t = now();
    let mut settings = settings();
    settings.max_paths = 2;
    settings.relax_as_path = true;
    let mut rib = Rib::new(settings);
    for n in 1..=3 {
        rib.peer_up(t, PeerId(u32::from(n)), peer(n, Kind::NonClient));
    }
    rib.peer_up(t, PeerId(9), add_path_peer(9, 2));
    rib.poll_outbound(t);
    // Peer 1's path is best. Peer 2's (same neighbor AS, higher MED) ranks
    // second by router id against peer 3's (another AS), but only peer 3's
    // is equal to the best through IGP cost, so the multipath set is {1, 3}
    // and ADD-PATH sends those two.
    let mut higher_med = attributes(&[64700]);
    higher_med.med = Some(5);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.0.0/16"], attributes(&[64700]), "198.18.1.1"),
    );
    rib.receive_update(
        t,
        PeerId(2),
        announce(&["198.19.0.0/16"], higher_med, "198.18.1.2"),
    );
    rib.receive_update(
        t,
        PeerId(3),
        announce(&["198.19.0.0/16"], attributes(&[64800]), "198.18.1.3"),
    );
    let views = rib.routes(RouteFilter::default());
    let order: Vec<Option<std::net::IpAddr>> = views[0]
        .paths
        .iter()
        .map(|path| path.peer_address)
        .collect();
    assert_eq!(
        order,
        ["198.18.1.1", "198.18.1.3", "198.18.1.2"].map(|text| Some(text.parse().unwrap()))
    );
    let out = rib.poll_outbound(t);
    let (announced, _) = add_path_changes(&out, PeerId(9));
    let next_hops: BTreeSet<std::net::Ipv4Addr> = announced.iter().map(|(_, hop)| *hop).collect();
    assert_eq!(
        next_hops,
        BTreeSet::from([v4("198.18.1.1"), v4("198.18.1.3")])
    );
}

#[test]
fn enhanced_route_refresh_resends_between_markers() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.originate(t, net("198.19.1.0/24"), None);
    rib.originate(t, net("198.19.2.0/24"), None);
    rib.originate(t, net("2001:db8:1::/48"), None);
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.poll_outbound(t);
    rib.route_refresh(t, PeerId(1), Family::IPV4_UNICAST, true);
    let out = rib.poll_outbound(t);
    let messages = received_by(&out, PeerId(1), &CodecContext::new());
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[0],
        Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: RouteRefreshSubtype::BeginningOfRefresh
        })
    );
    match &messages[1] {
        Message::Update(update) => assert_eq!(update.nlri.len(), 2),
        other => panic!("expected an UPDATE, got {other:?}"),
    }
    assert_eq!(
        messages[2],
        Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: RouteRefreshSubtype::EndOfRefresh
        })
    );
    rib.route_refresh(t, PeerId(1), Family::IPV6_UNICAST, false);
    let plain = received_by(&rib.poll_outbound(t), PeerId(1), &CodecContext::new());
    assert_eq!(plain.len(), 1);
}

#[test]
fn an_export_policy_change_sends_only_the_difference() {
    let t = now();
    let mut rib = Rib::new(settings());
    let source = ebgp_source(&mut rib);
    rib.originate(t, net("198.19.1.0/24"), None);
    rib.receive_update(
        t,
        source,
        announce(&["198.20.0.0/16"], attributes(&[64650]), "198.18.1.50"),
    );
    let mut tor = peer(1, Kind::External);
    tor.export_policy = "all".into();
    rib.peer_up(t, PeerId(1), tor);
    let out = rib.poll_outbound(t);
    assert_eq!(
        announced_to(&out, PeerId(1)),
        vec![net("198.19.1.0/24"), net("198.20.0.0/16")]
    );
    rib.set_peer_policy(t, PeerId(1), "all", "originated");
    let out = rib.poll_outbound(t);
    let updates = updates_for(&out, PeerId(1), &CodecContext::new());
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].withdrawn, vec![Nlri::new(net("198.20.0.0/16"))]);
    assert!(updates[0].nlri.is_empty());
    assert!(
        updates
            .iter()
            .all(|update| update.is_end_of_rib().is_none())
    );
}

#[test]
fn ipv4_routes_go_over_an_ipv6_only_session_with_extended_next_hop() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.originate(t, net("198.19.1.0/24"), None);
    let mut info = peer(1, Kind::NonClient);
    info.address = "2001:db8::2".parse().unwrap();
    info.local_ipv4 = None;
    info.extended_next_hop = true;
    rib.peer_up(t, PeerId(1), info);
    let updates = updates_for(&rib.poll_outbound(t), PeerId(1), &CodecContext::new());
    let reach = updates[0].mp_reach.as_ref().unwrap();
    assert_eq!(reach.family, Family::IPV4_UNICAST);
    assert_eq!(reach.nlri, vec![Nlri::new(net("198.19.1.0/24"))]);
    assert_eq!(
        reach.next_hop,
        crate::wire::NextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }
    );
    // And received that way, the route forwards via the IPv6 next hop.
    let mut other = Rib::new(RibSettings::new(LOCAL_ASN, v4("198.18.0.2")));
    other.peer_up(t, PeerId(9), peer(9, Kind::NonClient));
    other.receive_update(t, PeerId(9), updates[0].clone());
    let fib = other.poll_fib_changes();
    assert_eq!(
        fib[0].next_hops,
        vec!["2001:db8::1".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn peers_with_different_encodings_get_their_own_bytes() {
    let t = now();
    let mut rib = Rib::new(settings());
    let source = ebgp_source(&mut rib);
    let mut old = peer(1, Kind::External);
    old.remote_asn = 65001;
    old.encoding.four_octet_as = false;
    rib.peer_up(t, PeerId(1), old);
    rib.peer_up(t, PeerId(2), peer(2, Kind::External));
    rib.poll_outbound(t);
    rib.receive_update(
        t,
        source,
        announce(
            &["198.19.1.0/24"],
            attributes(&[4_200_000_000]),
            "198.18.1.50",
        ),
    );
    let out = rib.poll_outbound(t);
    let to = |peer: PeerId| out.iter().filter(|batch| batch.peers == vec![peer]).count();
    assert_eq!((to(PeerId(1)), to(PeerId(2))), (1, 1));
    let legacy = updates_for(&out, PeerId(1), &CodecContext::legacy());
    assert_eq!(
        legacy[0].attributes.as_path,
        Some(sequence(&[LOCAL_ASN, 4_200_000_000])),
        "AS4_PATH carries the 4-octet AS to a 2-octet peer"
    );
}

#[test]
fn changing_a_named_policy_re_evaluates_the_peers_that_use_it() {
    use crate::rib::policy::{Policy, PolicyAction, PolicyDefault, PrefixFilter, Term, TermMatch};
    use std::collections::BTreeMap;
    let only = |prefix: &str| {
        let mut policies = BTreeMap::new();
        policies.insert(
            "tor".to_string(),
            Policy {
                name: "tor".into(),
                terms: vec![Term {
                    name: None,
                    matches: TermMatch {
                        prefixes: vec![PrefixFilter::exact(net(prefix))],
                        ..TermMatch::default()
                    },
                    set: Default::default(),
                    action: PolicyAction::Accept,
                }],
                default: PolicyDefault::Reject,
            },
        );
        policies
    };
    let t = now();
    let mut settings = settings();
    settings.policies = only("198.19.1.0/24");
    let mut rib = Rib::new(settings);
    rib.originate(t, net("198.19.1.0/24"), None);
    rib.originate(t, net("198.19.2.0/24"), None);
    let mut tor = peer(1, Kind::External);
    tor.export_policy = "tor".into();
    tor.import_policy = "tor".into();
    rib.peer_up(t, PeerId(1), tor);
    rib.peer_up(t, PeerId(2), peer(2, Kind::NonClient));
    let out = rib.poll_outbound(t);
    assert_eq!(announced_to(&out, PeerId(1)), vec![net("198.19.1.0/24")]);
    let outcome = rib.set_policies(t, only("198.19.2.0/24"));
    assert_eq!(
        outcome.route_refresh,
        vec![
            (PeerId(1), Family::IPV4_UNICAST),
            (PeerId(1), Family::IPV6_UNICAST)
        ],
        "import changed, no stored copy: ask the peer"
    );
    let out = rib.poll_outbound(t);
    let updates = updates_for(&out, PeerId(1), &CodecContext::new());
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].withdrawn, vec![Nlri::new(net("198.19.1.0/24"))]);
    assert_eq!(updates[1].nlri, vec![Nlri::new(net("198.19.2.0/24"))]);
    assert!(
        received_by(&out, PeerId(2), &CodecContext::new()).is_empty(),
        "peer 2 uses `all`"
    );
}
