//! Arbitrary sequences of UPDATEs, originations, session flaps and policy
//! changes: nothing panics, the counters agree with the tables, and what
//! each peer was sent, replayed from the decoded bytes, is exactly its
//! Adj-RIB-Out.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::rib::AdjRibRoute;
use crate::wire::{Family, WireError};

#[derive(Debug, Clone)]
enum Step {
    Announce {
        from: u8,
        prefixes: Vec<u8>,
        as_path: Vec<u32>,
        local_pref: Option<u32>,
        broken: bool,
    },
    Withdraw {
        from: u8,
        prefixes: Vec<u8>,
    },
    Originate(u8),
    StopOriginating(u8),
    Flap(u8),
    ExportPolicy(u8, bool),
}

fn prefix(index: u8) -> String {
    format!("198.19.{index}.0/24")
}

fn step() -> impl Strategy<Value = Step> {
    let peer = 1u8..5;
    let prefixes = prop::collection::vec(0u8..12, 1..5);
    prop_oneof![
        4 => (
            peer.clone(),
            prefixes.clone(),
            prop::collection::vec(prop_oneof![Just(64700u32), Just(64800), Just(LOCAL_ASN)], 0..3),
            prop::option::of(prop_oneof![Just(100u32), Just(300)]),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(from, prefixes, as_path, local_pref, broken)| Step::Announce {
                from,
                prefixes,
                as_path,
                local_pref,
                broken
            }),
        2 => (peer.clone(), prefixes).prop_map(|(from, prefixes)| Step::Withdraw { from, prefixes }),
        1 => (0u8..12).prop_map(Step::Originate),
        1 => (0u8..12).prop_map(Step::StopOriginating),
        1 => peer.clone().prop_map(Step::Flap),
        1 => (peer, any::<bool>()).prop_map(|(to, open)| Step::ExportPolicy(to, open)),
    ]
}

/// Peers 1 and 2 are clients, 3 a non-client, 4 eBGP.
fn info(n: u8) -> PeerInfo {
    match n {
        1 | 2 => peer(n, Kind::Client),
        3 => peer(n, Kind::NonClient),
        _ => peer(n, Kind::External),
    }
}

type Mirror = BTreeMap<(IpNetwork, u32), (Option<crate::wire::NextHop>, PathAttributes)>;

/// Applies what a peer decoded to its picture of our Adj-RIB-Out.
fn replay(mirror: &mut Mirror, outbound: &[Outbound], peer: PeerId) {
    for update in updates_for(outbound, peer, &CodecContext::new()) {
        for (_, nlri) in update.withdrawals() {
            mirror.remove(&(nlri.prefix, nlri.path_id.unwrap_or(0)));
        }
        let mut attributes = update.attributes.clone();
        let classic = attributes
            .next_hop
            .take()
            .map(|address| crate::wire::NextHop::Ipv4 { address });
        for nlri in &update.nlri {
            mirror.insert((nlri.prefix, 0), (classic, attributes.clone()));
        }
        if let Some(reach) = &update.mp_reach {
            for nlri in &reach.nlri {
                mirror.insert((nlri.prefix, 0), (Some(reach.next_hop), attributes.clone()));
            }
        }
    }
}

fn as_mirror(routes: Vec<AdjRibRoute>) -> Mirror {
    routes
        .into_iter()
        .map(|route| {
            (
                (route.prefix, route.path_id),
                (route.next_hop, route.attributes),
            )
        })
        .collect()
}

proptest! {
    #[test]
    fn what_peers_were_sent_is_their_adj_rib_out(steps in prop::collection::vec(step(), 1..40)) {
        let t = now();
        let mut rib = Rib::new(settings());
        let mut mirrors: BTreeMap<u8, Mirror> = BTreeMap::new();
        for n in 1..5u8 {
            rib.peer_up(t, PeerId(u32::from(n)), info(n));
            mirrors.insert(n, Mirror::new());
        }
        for step in steps {
            match step {
                Step::Announce { from, prefixes, as_path, local_pref, broken } => {
                    let mut path = attributes(&as_path);
                    if from == 4 {
                        path.as_path = Some(sequence(&[&[64604u32][..], &as_path[..]].concat()));
                    }
                    path.local_pref = local_pref;
                    let texts: Vec<String> = prefixes.iter().map(|index| prefix(*index)).collect();
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    let mut update = announce(&refs, path, &format!("198.18.1.{from}"));
                    if broken {
                        update.treat_as_withdraw = Some(WireError::new(3, 1, "ORIGIN", 0, "bad"));
                    }
                    rib.receive_update(t, PeerId(u32::from(from)), update);
                }
                Step::Withdraw { from, prefixes } => {
                    let texts: Vec<String> = prefixes.iter().map(|index| prefix(*index)).collect();
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    rib.receive_update(t, PeerId(u32::from(from)), withdraw(&refs));
                }
                Step::Originate(index) => rib.originate(t, net(&prefix(index)), None),
                Step::StopOriginating(index) => rib.withdraw_originated(t, net(&prefix(index))),
                Step::Flap(n) => {
                    rib.peer_down(t, PeerId(u32::from(n)));
                    mirrors.insert(n, Mirror::new());
                    rib.peer_up(t, PeerId(u32::from(n)), info(n));
                }
                Step::ExportPolicy(n, open) => {
                    let export = if open { "all" } else { "originated" };
                    rib.set_peer_policy(t, PeerId(u32::from(n)), "all", export);
                }
            }
            let out = rib.poll_outbound(t);
            for (n, mirror) in &mut mirrors {
                replay(mirror, &out, PeerId(u32::from(*n)));
                // After every poll, whether the peer's table is its own or
                // its update group's (`shared_out.rs`).
                let id = PeerId(u32::from(*n));
                prop_assert_eq!(&as_mirror(rib.adj_rib_out(id)), &*mirror, "peer {}", n);
            }
            rib.poll_fib_changes();
        }
        let mut in_use = std::collections::BTreeSet::new();
        for n in 1..5u8 {
            let id = PeerId(u32::from(n));
            prop_assert_eq!(&as_mirror(rib.adj_rib_out(id)), &mirrors[&n], "peer {}", n);
            let accepted = rib.adj_rib_in(id, false);
            prop_assert_eq!(rib.peer_counters(id).accepted as usize, accepted.len());
            prop_assert_eq!(rib.peer_counters(id).advertised as usize, mirrors[&n].len());
            for route in accepted {
                in_use.insert(format!("{:?}", (route.next_hop, route.attributes)));
            }
        }
        for view in rib.routes(RouteFilter::default()) {
            for path in view.paths.iter().filter(|path| path.source == crate::rib::Source::Local) {
                in_use.insert(format!("{:?}", (path.next_hop, &path.attributes)));
            }
        }
        prop_assert_eq!(rib.counts().attribute_sets as usize, in_use.len());
        let families = rib.counts().families;
        prop_assert!(families.keys().all(|family| *family == Family::IPV4_UNICAST));
        // The running counts equal a walk of the table.
        let views = rib.routes(RouteFilter::default());
        let walked_paths: usize = views.iter().map(|view| view.paths.len()).sum();
        let counted = families.get(&Family::IPV4_UNICAST).copied().unwrap_or_default();
        prop_assert_eq!(counted.prefixes as usize, views.len());
        prop_assert_eq!(counted.paths as usize, walked_paths);
        // With every session down, no exported attribute set is left held,
        // in a table of a peer's own or of a group's.
        for n in 1..5u8 {
            rib.peer_down(t, PeerId(u32::from(n)));
        }
        rib.poll_outbound(t);
        prop_assert!(rib.shared_out.is_empty());
        prop_assert_eq!(rib.outbound_interner.len(), 0);
    }
}
