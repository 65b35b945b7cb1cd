//! Properties of the decision process over arbitrary paths: the comparison
//! is antisymmetric always, transitive wherever MED is comparable (one
//! neighbor AS, or `always_compare_med`), never ties two distinct paths, and
//! the winner and multipath set never depend on arrival order, in the pure
//! ranking and through a whole RIB.

use std::cmp::Ordering;
use std::net::IpAddr;

use proptest::prelude::*;

use super::*;
use crate::rib::core::NextHopState;
use crate::rib::decision::{Candidate, DecisionOptions, compare, rank, select};
use crate::rib::types::Source;
use crate::wire::Origin;

fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ]
}

/// Small value ranges so that ties at every step are common.
fn candidate() -> impl Strategy<Value = Candidate> {
    (
        (0u32..6, 0u32..3, any::<bool>(), 0u32..3, 0u32..3, origin()),
        (0u32..3, 0u32..2, any::<bool>(), 0u32..3, 0u8..3, 0usize..3),
    )
        .prop_map(
            |(
                (source, path_id, reachable, local_pref, length, origin),
                (med, neighbor, external, cost, router, clusters),
            )| Candidate {
                source: if source == 0 {
                    Source::Local
                } else {
                    Source::Peer(PeerId(source))
                },
                path_id,
                reachable: reachable || source == 0,
                local_pref: 100 + local_pref * 50,
                as_path_length: length,
                origin,
                med: med * 10,
                neighbor_as: 64700 + neighbor,
                external,
                igp_cost: cost,
                router_id: std::net::Ipv4Addr::new(198, 18, 2, router),
                cluster_list_length: clusters,
                peer_address: (source != 0).then(|| {
                    IpAddr::V4(std::net::Ipv4Addr::new(
                        198,
                        18,
                        1,
                        u8::try_from(source).unwrap(),
                    ))
                }),
            },
        )
}

fn options() -> impl Strategy<Value = DecisionOptions> {
    (any::<bool>(), any::<bool>(), 1u8..4).prop_map(
        |(always_compare_med, relax_as_path, max_paths)| DecisionOptions {
            always_compare_med,
            relax_as_path,
            max_paths,
        },
    )
}

fn distinct(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by_key(|candidate| (candidate.source, candidate.path_id));
    candidates.dedup_by_key(|candidate| (candidate.source, candidate.path_id));
    candidates
}

fn at_most(a: &Candidate, b: &Candidate, options: DecisionOptions) -> bool {
    compare(a, b, options).0 != Ordering::Greater
}

proptest! {
    #[test]
    fn comparison_is_antisymmetric_and_never_ties_distinct_paths(
        a in candidate(), b in candidate(), options in options()
    ) {
        let forward = compare(&a, &b, options);
        let backward = compare(&b, &a, options);
        prop_assert_eq!(forward.0, backward.0.reverse());
        prop_assert_eq!(forward.1, backward.1);
        let same_path = (a.source, a.path_id) == (b.source, b.path_id);
        if !same_path {
            prop_assert_ne!(forward.0, Ordering::Equal);
        }
    }

    #[test]
    fn comparison_is_transitive_when_med_is_comparable(
        a in candidate(), b in candidate(), c in candidate(),
        always in any::<bool>(), same_as in any::<bool>()
    ) {
        let options = DecisionOptions { always_compare_med: always, ..DecisionOptions::default() };
        let (a, mut b, mut c) = (a, b, c);
        if same_as || !always {
            b.neighbor_as = a.neighbor_as;
            c.neighbor_as = a.neighbor_as;
        }
        if at_most(&a, &b, options) && at_most(&b, &c, options) {
            prop_assert!(at_most(&a, &c, options));
        }
    }

    #[test]
    fn ranking_does_not_depend_on_arrival_order(
        (candidates, shuffled) in prop::collection::vec(candidate(), 1..8)
            .prop_map(distinct)
            .prop_flat_map(|candidates| {
                let shuffled = Just(candidates.clone()).prop_shuffle();
                (Just(candidates), shuffled)
            }),
        options in options()
    ) {
        let sources = |list: &[Candidate]| -> (Vec<(Source, u32)>, usize) {
            let (order, size) = select(list, options);
            (order.iter().map(|&index| (list[index].source, list[index].path_id)).collect(), size)
        };
        prop_assert_eq!(sources(&candidates), sources(&shuffled));
        let ranked = rank(&candidates, options);
        prop_assert_eq!(ranked.len(), candidates.len());
    }
}

/// One peer's path in the RIB-level property.
#[derive(Debug, Clone)]
struct Offer {
    peer: u8,
    external: bool,
    local_pref: Option<u32>,
    as_path: Vec<u32>,
    med: Option<u32>,
    origin: Origin,
    reachable: bool,
    igp_cost: u32,
}

fn offer() -> impl Strategy<Value = Offer> {
    (
        any::<bool>(),
        prop::option::of(prop_oneof![Just(100u32), Just(200)]),
        prop::collection::vec(prop_oneof![Just(64700u32), Just(64800), Just(64900)], 1..3),
        prop::option::of(prop_oneof![Just(0u32), Just(5)]),
        origin(),
        prop::bool::weighted(0.8),
        0u32..2,
    )
        .prop_map(
            |(external, local_pref, as_path, med, origin, reachable, igp_cost)| Offer {
                peer: 0,
                external,
                local_pref,
                as_path,
                med,
                origin,
                reachable,
                igp_cost,
            },
        )
}

fn offers() -> impl Strategy<Value = (Vec<Offer>, Vec<Offer>)> {
    prop::collection::vec(offer(), 1..6).prop_flat_map(|mut offers| {
        for (index, offer) in offers.iter_mut().enumerate() {
            offer.peer = u8::try_from(index + 1).unwrap();
        }
        let shuffled = Just(offers.clone()).prop_shuffle();
        (Just(offers), shuffled)
    })
}

/// Path order by source address with best and multipath flags, and the FIB changes.
type Outcome = (
    Vec<(Option<IpAddr>, bool, bool)>,
    Vec<crate::rib::FibUpdate>,
);

/// The prefix's path order (by peer) and multipath flags after the offers
/// arrive in the given order.
fn outcome(offers: &[Offer], options: DecisionOptions) -> Outcome {
    let t = now();
    let mut settings = settings();
    settings.always_compare_med = options.always_compare_med;
    settings.relax_as_path = options.relax_as_path;
    settings.max_paths = options.max_paths;
    let mut rib = Rib::new(settings);
    let mut sorted = offers.to_vec();
    sorted.sort_by_key(|offer| offer.peer);
    for offer in &sorted {
        let kind = if offer.external {
            Kind::External
        } else {
            Kind::NonClient
        };
        rib.peer_up(t, PeerId(u32::from(offer.peer)), peer(offer.peer, kind));
        let address: IpAddr = format!("198.18.1.{}", offer.peer).parse().unwrap();
        rib.set_next_hop_reachability(
            t,
            [(
                address,
                NextHopState {
                    reachable: offer.reachable,
                    igp_cost: offer.igp_cost,
                },
            )],
        );
    }
    for offer in offers {
        let mut path = attributes(&offer.as_path);
        path.local_pref = offer.local_pref;
        path.med = offer.med;
        path.origin = Some(offer.origin);
        let next_hop = format!("198.18.1.{}", offer.peer);
        rib.receive_update(
            t,
            PeerId(u32::from(offer.peer)),
            announce(&["198.19.0.0/16"], path, &next_hop),
        );
    }
    let views = rib.routes(RouteFilter::default());
    let paths = views
        .first()
        .map(|view| {
            view.paths
                .iter()
                .map(|path| (path.peer_address, path.best, path.multipath))
                .collect()
        })
        .unwrap_or_default();
    (paths, rib.poll_fib_changes())
}

proptest! {
    #[test]
    fn the_rib_picks_the_same_best_and_ecmp_set_whatever_the_arrival_order(
        (offers, shuffled) in offers(), options in options()
    ) {
        prop_assert_eq!(outcome(&offers, options), outcome(&shuffled, options));
    }
}
