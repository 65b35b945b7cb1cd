//! Several RIBs wired together through the wire codec, with no sockets: a
//! cluster of six iBGP nodes, two route reflectors (1 and 2) sharing one
//! CLUSTER_ID and four clients (3 to 6) each peering with both reflectors,
//! which also peer with each other. Every node originates one IPv4 and one
//! IPv6 pod prefix. Bytes from [`Rib::poll_outbound`] are decoded with
//! [`Message::decode`] and fed to the receiver's [`Rib::receive_update`]
//! until nothing is left to send; the cluster must then agree everywhere,
//! after joins, departures and session flaps.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

use super::*;
use crate::rib::FibUpdate;

const REFLECTORS: [u8; 2] = [1, 2];
const CLIENTS: [u8; 4] = [3, 4, 5, 6];
/// Enough rounds for any converging exchange here; more means a loop.
const MAX_ROUNDS: usize = 50;

fn address(node: u8) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, node))
}

fn address_v6(node: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(node))
}

fn pod_v4(node: u8) -> IpNetwork {
    net(&format!("198.19.{node}.0/24"))
}

fn pod_v6(node: u8) -> IpNetwork {
    net(&format!("2001:db8:{node}::/48"))
}

struct Cluster {
    nodes: BTreeMap<u8, Rib>,
    sessions: BTreeSet<(u8, u8)>,
    fibs: BTreeMap<u8, BTreeMap<IpNetwork, Vec<IpAddr>>>,
    loops_dropped: u32,
    /// Reflectors share CLUSTER_ID 198.18.0.100; otherwise each uses its router id.
    shared_cluster_id: bool,
}

impl Cluster {
    fn new(shared_cluster_id: bool) -> Cluster {
        Cluster {
            nodes: BTreeMap::new(),
            sessions: BTreeSet::new(),
            fibs: BTreeMap::new(),
            loops_dropped: 0,
            shared_cluster_id,
        }
    }

    fn add(&mut self, node: u8) {
        let mut settings = RibSettings::new(LOCAL_ASN, std::net::Ipv4Addr::new(198, 18, 0, node));
        if REFLECTORS.contains(&node) && self.shared_cluster_id {
            settings.cluster_id = Some(v4("198.18.0.100"));
        }
        let mut rib = Rib::new(settings);
        rib.originate(now(), pod_v4(node), None);
        rib.originate(now(), pod_v6(node), None);
        self.nodes.insert(node, rib);
        self.fibs.insert(node, BTreeMap::new());
        let partners: Vec<u8> = if REFLECTORS.contains(&node) {
            REFLECTORS.iter().chain(CLIENTS.iter()).copied().collect()
        } else {
            REFLECTORS.to_vec()
        };
        for other in partners {
            if other != node && self.nodes.contains_key(&other) {
                self.connect(node, other);
            }
        }
    }

    fn remove(&mut self, node: u8) {
        let partners: Vec<u8> = self
            .sessions
            .iter()
            .filter(|(a, _)| *a == node)
            .map(|(_, b)| *b)
            .collect();
        for other in partners {
            self.disconnect(node, other);
        }
        self.nodes.remove(&node);
        self.fibs.remove(&node);
    }

    fn view(&self, of: u8, from: u8) -> PeerInfo {
        let IpAddr::V4(router_id) = address(from) else {
            unreachable!()
        };
        let mut info = PeerInfo::internal(address(from), LOCAL_ASN, router_id);
        info.route_reflector_client = REFLECTORS.contains(&of) && CLIENTS.contains(&from);
        let IpAddr::V4(local) = address(of) else {
            unreachable!()
        };
        info.local_ipv4 = Some(local);
        info.local_ipv6 = Some(address_v6(of));
        info
    }

    fn connect(&mut self, a: u8, b: u8) {
        for (of, from) in [(a, b), (b, a)] {
            let info = self.view(of, from);
            self.nodes
                .get_mut(&of)
                .unwrap()
                .peer_up(now(), PeerId(u32::from(from)), info);
            self.sessions.insert((of, from));
        }
    }

    fn disconnect(&mut self, a: u8, b: u8) {
        for (of, from) in [(a, b), (b, a)] {
            if let Some(rib) = self.nodes.get_mut(&of) {
                rib.peer_down(now(), PeerId(u32::from(from)));
            }
            self.sessions.remove(&(of, from));
        }
    }

    /// Delivers every message until no RIB has anything to send.
    fn converge(&mut self) {
        for _ in 0..MAX_ROUNDS {
            let mut deliveries: Vec<(u8, u8, Message)> = Vec::new();
            for (node, rib) in &mut self.nodes {
                for outbound in rib.poll_outbound(now()) {
                    for peer in &outbound.peers {
                        let to = u8::try_from(peer.0).unwrap();
                        for bytes in &outbound.messages {
                            let message = Message::decode(bytes, &CodecContext::new()).unwrap();
                            deliveries.push((to, *node, message));
                        }
                    }
                }
                let fib = self.fibs.get_mut(node).unwrap();
                for FibUpdate { prefix, next_hops } in rib.poll_fib_changes() {
                    if next_hops.is_empty() {
                        fib.remove(&prefix);
                    } else {
                        fib.insert(prefix, next_hops);
                    }
                }
            }
            if deliveries.is_empty() {
                return;
            }
            for (to, from, message) in deliveries {
                if !self.sessions.contains(&(to, from)) {
                    continue;
                }
                let Message::Update(update) = message else {
                    panic!("only UPDATEs are expected");
                };
                let rib = self.nodes.get_mut(&to).unwrap();
                let outcome = rib.receive_update(now(), PeerId(u32::from(from)), update);
                assert!(!outcome.unknown_peer);
                self.loops_dropped += outcome.rejected_by_loop;
            }
        }
        panic!("no convergence after {MAX_ROUNDS} rounds: a routing loop");
    }

    /// Every node reaches every other live node's pods through that node's
    /// address, its FIB says the same, and no departed node's pods remain.
    fn assert_converged(&self) {
        let live: Vec<u8> = self.nodes.keys().copied().collect();
        for node in &live {
            self.assert_node_reaches(*node, &live);
        }
    }

    /// `node`'s Loc-RIB and FIB hold exactly the pods of `origins`, each
    /// through its originator's address.
    fn assert_node_reaches(&self, node: u8, origins: &[u8]) {
        let rib = &self.nodes[&node];
        let mut table: BTreeMap<IpNetwork, IpAddr> = BTreeMap::new();
        for view in rib.routes(RouteFilter::default()) {
            let best = view.paths.iter().find(|path| path.best).unwrap();
            let own = if view.prefix.is_ipv4() {
                address(node)
            } else {
                IpAddr::V6(address_v6(node))
            };
            let next_hop = best
                .next_hop
                .map(|hop| crate::rib::types::next_hop_address(&hop))
                .unwrap_or(own);
            table.insert(view.prefix, next_hop);
        }
        let mut expected = BTreeMap::new();
        for origin in origins {
            expected.insert(pod_v4(*origin), address(*origin));
            expected.insert(pod_v6(*origin), IpAddr::V6(address_v6(*origin)));
        }
        assert_eq!(table, expected, "Loc-RIB of node {node}");
        let mut fib_expected: BTreeMap<IpNetwork, Vec<IpAddr>> = expected
            .into_iter()
            .map(|(prefix, hop)| (prefix, vec![hop]))
            .collect();
        fib_expected.remove(&pod_v4(node));
        fib_expected.remove(&pod_v6(node));
        assert_eq!(self.fibs[&node], fib_expected, "FIB of node {node}");
    }
}

#[test]
fn a_two_reflector_cluster_converges_through_joins_departures_and_flaps() {
    let mut cluster = Cluster::new(true);
    for node in [1, 2, 3, 4, 5, 6] {
        cluster.add(node);
    }
    cluster.converge();
    cluster.assert_converged();
    assert!(
        cluster.loops_dropped > 0,
        "each reflector drops the other's reflections (shared CLUSTER_ID)"
    );

    cluster.remove(6);
    cluster.converge();
    cluster.assert_converged();

    cluster.remove(1);
    cluster.converge();
    cluster.assert_converged();

    cluster.add(1);
    cluster.converge();
    cluster.assert_converged();

    for _ in 0..3 {
        cluster.disconnect(3, 2);
        cluster.converge();
        // Everyone still reaches 3 through reflector 1, except reflector 2,
        // which drops reflector 1's reflection of it (shared CLUSTER_ID).
        for node in [1, 3, 4, 5] {
            cluster.assert_node_reaches(node, &[1, 2, 3, 4, 5]);
        }
        cluster.assert_node_reaches(2, &[1, 2, 4, 5]);
        cluster.connect(3, 2);
        cluster.converge();
        cluster.assert_converged();
    }
    // A flap faster than the exchange: down and up before anything is delivered.
    cluster.disconnect(4, 1);
    cluster.connect(4, 1);
    cluster.disconnect(4, 2);
    cluster.connect(4, 2);
    cluster.converge();
    cluster.assert_converged();

    cluster.add(6);
    let rib = cluster.nodes.get_mut(&5).unwrap();
    rib.withdraw_originated(now(), pod_v4(5));
    rib.originate(now(), pod_v4(5), None);
    cluster.converge();
    cluster.assert_converged();
}

#[test]
fn a_client_homed_on_one_reflector_needs_distinct_cluster_ids() {
    // Client 3 peers only with reflector 2, client 4 only with reflector 1.
    let build = |shared| {
        let mut cluster = Cluster::new(shared);
        for node in [1, 2, 3, 4] {
            cluster.add(node);
        }
        cluster.disconnect(3, 1);
        cluster.disconnect(4, 2);
        cluster.converge();
        cluster
    };
    // With one CLUSTER_ID, reflector 1 drops what reflector 2 reflects
    // (RFC 4456 §8), so 3 and 4 cannot reach each other: the reason
    // redundant reflectors sharing an id must both peer with every client.
    let shared = build(true);
    assert!(shared.loops_dropped > 0);
    assert!(best_of(&shared.nodes[&4], "198.19.3.0/24").is_none());
    assert!(best_of(&shared.nodes[&3], "198.19.4.0/24").is_none());
    // With distinct ids the route crosses both reflectors.
    let distinct = build(false);
    distinct.assert_converged();
    let views = distinct.nodes[&4].routes(RouteFilter {
        prefix: Some(pod_v4(3)),
        ..RouteFilter::default()
    });
    let best = views[0].paths.iter().find(|path| path.best).unwrap();
    assert_eq!(best.attributes.originator_id, Some(v4("198.18.0.3")));
    assert_eq!(
        best.attributes.cluster_list,
        vec![v4("198.18.0.1"), v4("198.18.0.2")],
        "reflected by 2, then by 1"
    );
    assert_eq!(
        best.next_hop
            .map(|hop| crate::rib::types::next_hop_address(&hop)),
        Some(address(3))
    );
}
