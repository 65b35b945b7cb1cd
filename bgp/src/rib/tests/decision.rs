//! The decision process: one case per step in which exactly that step
//! decides (and a later step would have chosen the other path), then the
//! same rules seen through a whole RIB: local routes, unreachable next hops,
//! IGP cost, ECMP and `--explain`.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::*;
use crate::rib::core::NextHopState;
use crate::rib::decision::{Candidate, DecisionOptions, DecisionStep, compare, rank, select};
use crate::rib::types::Source;
use crate::wire::Origin;

fn base() -> Candidate {
    Candidate {
        source: Source::Peer(PeerId(1)),
        path_id: 0,
        reachable: true,
        local_pref: 100,
        as_path_length: 2,
        origin: Origin::Igp,
        med: 0,
        neighbor_as: 64601,
        external: false,
        igp_cost: 0,
        router_id: v4("198.18.1.1"),
        cluster_list_length: 0,
        peer_address: Some("198.18.1.1".parse().unwrap()),
    }
}

fn other_peer(mut candidate: Candidate) -> Candidate {
    candidate.source = Source::Peer(PeerId(2));
    candidate.peer_address = Some("198.18.1.2".parse().unwrap());
    candidate.router_id = v4("198.18.1.2");
    candidate
}

type Case = (DecisionStep, fn(&mut Candidate), fn(&mut Candidate));

/// (step, make the winner, make the loser): the loser is better at some later step.
const CASES: [Case; 12] = [
    (
        DecisionStep::NextHopReachable,
        |_| {},
        |loser| {
            loser.reachable = false;
            loser.local_pref = 500;
        },
    ),
    (
        DecisionStep::LocallyOriginated,
        |winner| {
            winner.source = Source::Local;
            winner.peer_address = None;
        },
        |loser| loser.local_pref = 500,
    ),
    (
        DecisionStep::LocalPreference,
        |winner| winner.local_pref = 200,
        |loser| loser.as_path_length = 1,
    ),
    (
        DecisionStep::AsPathLength,
        |winner| {
            winner.as_path_length = 1;
            winner.origin = Origin::Egp;
        },
        |loser| loser.as_path_length = 3,
    ),
    (
        DecisionStep::Origin,
        |winner| winner.med = 50,
        |loser| loser.origin = Origin::Incomplete,
    ),
    (
        DecisionStep::MultiExitDiscriminator,
        |_| {},
        |loser| {
            loser.med = 10;
            loser.external = true;
        },
    ),
    (
        DecisionStep::ExternalOverInternal,
        |winner| {
            winner.external = true;
            winner.igp_cost = 10;
        },
        |_| {},
    ),
    (
        DecisionStep::IgpCost,
        |winner| {
            winner.igp_cost = 1;
            winner.router_id = v4("198.18.9.9");
        },
        |loser| loser.igp_cost = 5,
    ),
    (
        DecisionStep::RouterId,
        |winner| winner.cluster_list_length = 2,
        |loser| loser.router_id = v4("198.18.9.9"),
    ),
    (
        DecisionStep::ClusterListLength,
        |winner| {
            winner.router_id = v4("198.18.5.5");
            winner.peer_address = Some("198.18.1.200".parse().unwrap());
        },
        |loser| {
            loser.router_id = v4("198.18.5.5");
            loser.cluster_list_length = 1;
        },
    ),
    (
        DecisionStep::PeerAddress,
        |winner| winner.router_id = v4("198.18.5.5"),
        |loser| {
            loser.router_id = v4("198.18.5.5");
            loser.peer_address = Some("198.18.1.9".parse().unwrap());
            loser.path_id = 0;
        },
    ),
    (
        DecisionStep::PathId,
        |winner| winner.path_id = 1,
        |loser| loser.path_id = 2,
    ),
];

#[test]
fn each_step_decides_exactly_when_all_earlier_steps_tie() {
    for (step, make_winner, make_loser) in CASES {
        let mut winner = base();
        let mut loser = if step == DecisionStep::PathId {
            base()
        } else {
            other_peer(base())
        };
        if step == DecisionStep::PeerAddress || step == DecisionStep::RouterId {
            winner.path_id = 7;
        }
        make_winner(&mut winner);
        make_loser(&mut loser);
        for always_compare_med in [false, true] {
            let options = DecisionOptions {
                always_compare_med,
                ..DecisionOptions::default()
            };
            assert_eq!(
                compare(&winner, &loser, options),
                (Ordering::Less, Some(step)),
                "{step:?}"
            );
            assert_eq!(
                compare(&loser, &winner, options),
                (Ordering::Greater, Some(step)),
                "{step:?}"
            );
            assert_eq!(rank(&[loser, winner], options), vec![1, 0], "{step:?}");
        }
    }
}

#[test]
fn med_is_compared_only_within_a_neighbor_as_unless_always() {
    let mut low_med_far = other_peer(base());
    low_med_far.neighbor_as = 64602;
    low_med_far.med = 0;
    low_med_far.router_id = v4("198.18.9.9");
    let mut high_med_near = base();
    high_med_near.med = 100;
    let default = DecisionOptions::default();
    assert_eq!(
        compare(&high_med_near, &low_med_far, default),
        (Ordering::Less, Some(DecisionStep::RouterId))
    );
    let always = DecisionOptions {
        always_compare_med: true,
        ..default
    };
    assert_eq!(
        compare(&low_med_far, &high_med_near, always),
        (Ordering::Less, Some(DecisionStep::MultiExitDiscriminator))
    );
}

#[test]
fn deterministic_med_groups_by_neighbor_as_before_comparing_across() {
    // The RFC 3345 triangle: A beats B by MED (same AS), B beats C by router
    // id, C beats A by router id (different ASes). Pairwise sorting would
    // depend on arrival order; ranking by groups never does.
    let mut a = base();
    a.med = 0;
    a.router_id = v4("198.18.1.3");
    let mut b = other_peer(base());
    b.med = 10;
    b.router_id = v4("198.18.1.1");
    let mut c = base();
    c.source = Source::Peer(PeerId(3));
    c.peer_address = Some("198.18.1.3".parse().unwrap());
    c.neighbor_as = 64700;
    c.router_id = v4("198.18.1.2");
    let options = DecisionOptions::default();
    let orders = [
        [a, b, c],
        [b, c, a],
        [c, a, b],
        [a, c, b],
        [b, a, c],
        [c, b, a],
    ];
    let winners: Vec<Source> = orders
        .iter()
        .map(|order| order[rank(order, options)[0]].source)
        .collect();
    assert!(
        winners.iter().all(|source| *source == c.source),
        "{winners:?}"
    );
}

#[test]
fn multipath_takes_equal_paths_through_igp_cost_up_to_max_paths() {
    let first = base();
    let second = other_peer(base());
    let mut third = base();
    third.source = Source::Peer(PeerId(3));
    third.peer_address = Some("198.18.1.3".parse().unwrap());
    third.router_id = v4("198.18.1.3");
    let mut costly = base();
    costly.source = Source::Peer(PeerId(4));
    costly.peer_address = Some("198.18.1.4".parse().unwrap());
    costly.igp_cost = 9;
    let candidates = [costly, third, second, first];
    let options = DecisionOptions {
        max_paths: 8,
        ..DecisionOptions::default()
    };
    let (order, size) = select(&candidates, options);
    assert_eq!(size, 3);
    assert_eq!(order, vec![3, 2, 1, 0]);
    let (_, limited) = select(
        &candidates,
        DecisionOptions {
            max_paths: 2,
            ..options
        },
    );
    assert_eq!(limited, 2);
    let mut other_as = second;
    other_as.neighbor_as = 64700;
    let (_, strict) = select(&[first, other_as], options);
    assert_eq!(strict, 1);
    let (_, relaxed) = select(
        &[first, other_as],
        DecisionOptions {
            relax_as_path: true,
            ..options
        },
    );
    assert_eq!(relaxed, 2);
}

#[test]
fn a_locally_originated_route_wins_and_is_not_installed() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    let mut preferred = attributes(&[]);
    preferred.local_pref = Some(900);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.1.0/24"], preferred, "198.18.1.1"),
    );
    assert_eq!(
        rib.poll_fib_changes(),
        vec![crate::rib::FibUpdate {
            prefix: net("198.19.1.0/24"),
            next_hops: vec!["198.18.1.1".parse().unwrap()],
        }]
    );
    rib.originate(t, net("198.19.1.0/24"), None);
    assert_eq!(best_of(&rib, "198.19.1.0/24"), Some((None, None)));
    assert_eq!(
        rib.poll_fib_changes(),
        vec![crate::rib::FibUpdate {
            prefix: net("198.19.1.0/24"),
            next_hops: vec![],
        }]
    );
}

#[test]
fn an_unreachable_next_hop_makes_a_route_ineligible_and_igp_cost_decides() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.peer_up(t, PeerId(1), peer(1, Kind::NonClient));
    rib.peer_up(t, PeerId(2), peer(2, Kind::NonClient));
    let path = attributes(&[64700]);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.0.0/16"], path.clone(), "198.18.1.1"),
    );
    rib.receive_update(
        t,
        PeerId(2),
        announce(&["198.19.0.0/16"], path, "198.18.1.2"),
    );
    let from = |rib: &Rib| best_of(rib, "198.19.0.0/16").and_then(|(address, _)| address);
    let one: IpAddr = "198.18.1.1".parse().unwrap();
    let two: IpAddr = "198.18.1.2".parse().unwrap();
    assert_eq!(from(&rib), Some(one), "router id decides");
    rib.set_next_hop_reachability(
        t,
        [(
            one,
            NextHopState {
                reachable: true,
                igp_cost: 20,
            },
        )],
    );
    assert_eq!(from(&rib), Some(two), "IGP cost decides");
    rib.set_next_hop_reachability(
        t,
        [
            (one, NextHopState::default()),
            (
                two,
                NextHopState {
                    reachable: false,
                    igp_cost: 0,
                },
            ),
        ],
    );
    assert_eq!(from(&rib), Some(one), "unreachable is ineligible");
    rib.set_next_hop_reachability(
        t,
        [(
            one,
            NextHopState {
                reachable: false,
                igp_cost: 0,
            },
        )],
    );
    assert_eq!(best_of(&rib, "198.19.0.0/16"), None, "nothing eligible");
    let last = rib.poll_fib_changes();
    assert_eq!(last.last().map(|change| change.next_hops.len()), Some(0));
}

#[test]
fn ecmp_hands_every_equal_next_hop_to_the_fib() {
    let t = now();
    let mut settings = settings();
    settings.max_paths = 4;
    let mut rib = Rib::new(settings);
    for n in 1..=3 {
        rib.peer_up(t, PeerId(u32::from(n)), peer(n, Kind::NonClient));
        let next_hop = format!("198.18.1.{n}");
        rib.receive_update(
            t,
            PeerId(u32::from(n)),
            announce(&["198.19.0.0/16"], attributes(&[64700, 64701]), &next_hop),
        );
    }
    let changes = rib.poll_fib_changes();
    let expected: Vec<IpAddr> = (1..=3)
        .map(|n| format!("198.18.1.{n}").parse().unwrap())
        .collect();
    assert_eq!(changes.last().unwrap().next_hops, expected);
    rib.peer_down(t, PeerId(2));
    let after = rib.poll_fib_changes();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].next_hops, vec![expected[0], expected[2]]);
}

#[test]
fn explain_names_the_step_each_loser_lost_at() {
    let t = now();
    let mut rib = Rib::new(settings());
    for n in 1..=3 {
        rib.peer_up(t, PeerId(u32::from(n)), peer(n, Kind::NonClient));
    }
    let mut high = attributes(&[64700]);
    high.local_pref = Some(200);
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.0.0/16"], high, "198.18.1.1"),
    );
    rib.receive_update(
        t,
        PeerId(2),
        announce(
            &["198.19.0.0/16"],
            attributes(&[64700, 64701]),
            "198.18.1.2",
        ),
    );
    let mut lower = attributes(&[64700]);
    lower.local_pref = Some(200);
    lower.origin = Some(Origin::Incomplete);
    rib.receive_update(
        t,
        PeerId(3),
        announce(&["198.19.0.0/16"], lower, "198.18.1.3"),
    );
    let views = rib.routes(RouteFilter {
        explain: true,
        ..RouteFilter::default()
    });
    let steps: Vec<(bool, Option<DecisionStep>)> = views[0]
        .paths
        .iter()
        .map(|path| (path.best, path.lost_at))
        .collect();
    assert_eq!(
        steps,
        vec![
            (true, None),
            (false, Some(DecisionStep::Origin)),
            (false, Some(DecisionStep::LocalPreference)),
        ]
    );
    let json = serde_json::to_value(&views).unwrap();
    assert_eq!(json[0]["paths"][1]["lost_at"], "origin");
}
