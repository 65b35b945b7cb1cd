//! Three podroute nodes in a full iBGP mesh (issue 4, scenario 3), the
//! way hosts of a cluster peer when there is no reflector.
//!
//! | node | router id  | originates                      |
//! |------|------------|---------------------------------|
//! | A    | 198.19.0.2 | 198.19.2.0/24, 2001:db8:f002::/48 |
//! | B    | 198.19.0.3 | 198.19.3.0/24, 2001:db8:f003::/48 |
//! | C    | 198.19.0.4 | 198.19.4.0/24, 2001:db8:f004::/48 |
//!
//! Each pair peers twice, over IPv4 transport carrying IPv4 unicast and
//! over IPv6 transport carrying IPv6 unicast. Every node must hold the
//! other two nodes' prefixes, each with exactly one path, learned from its
//! originator, with no ORIGINATOR_ID or CLUSTER_LIST: a speaker that
//! passed iBGP-learned routes on to its iBGP peers (RFC 4271 §9.2 forbids
//! it without reflection) would give every prefix a second path through
//! the third node. The neighbor counters say the same from the sending
//! side: each node advertises to each session its own prefix of that
//! family and nothing else.
//!
//! The same mesh runs again over one IPv4 session per pair carrying both
//! families (podroute's default `families = ["ipv4", "ipv6"]`): each node
//! must then send its IPv6 prefix with an IPv6 next hop of its own over
//! the IPv4 session (RFC 4760 §3, RFC 2545 §3). podroute before commit
//! 54fdcad negotiated IPv6 unicast there but never advertised its IPv6
//! prefixes, silently; this test found it.

use std::net::{IpAddr, Ipv4Addr};

use interop::{Family, Lab, NeighborSpec, Origination, Result, Router, RouterSpec};

const AS: u32 = 64512;
const HOSTS: [u8; 3] = [2, 3, 4];

fn prefixes(host: u8) -> [String; 2] {
    [
        format!("198.19.{host}.0/24"),
        format!("2001:db8:f00{host}::/48"),
    ]
}

/// Whether `router` holds every prefix the other nodes originate.
fn converged(router: &Router, own: u8) -> bool {
    HOSTS
        .iter()
        .filter(|host| **host != own)
        .flat_map(|host| prefixes(*host))
        .all(|prefix| router.has_learned(&prefix))
}

/// How the nodes of a pair peer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// One IPv4 session per family's transport: IPv4 over IPv4, IPv6 over IPv6.
    PerFamily,
    /// One IPv4 session carrying both families (RFC 4760).
    SharedIpv4,
}

fn scenario(transport: Transport) -> Result<()> {
    let lab = Lab::new(match transport {
        Transport::PerFamily => "routing-mesh",
        Transport::SharedIpv4 => "routing-mesh-shared",
    })?;
    let net = lab.network("net")?;
    let mut nodes = Vec::new();
    for host in HOSTS {
        nodes.push((lab.podroute_node(&format!("host{host}"), &net, host)?, host));
    }
    let mut routers = Vec::new();
    for (node, host) in &nodes {
        let mut spec = RouterSpec::new(AS, node.ipv4, Some(node.ipv6));
        spec.router_id = Ipv4Addr::new(198, 19, 0, *host);
        for prefix in prefixes(*host) {
            spec.originate.push(Origination::prefix(&prefix));
        }
        for (peer, _) in nodes.iter().filter(|(_, other)| other != host) {
            match transport {
                Transport::PerFamily => {
                    spec.neighbors
                        .push(NeighborSpec::new(IpAddr::V4(peer.ipv4), AS));
                    spec.neighbors
                        .push(NeighborSpec::new(IpAddr::V6(peer.ipv6), AS));
                }
                Transport::SharedIpv4 => {
                    let mut neighbor = NeighborSpec::new(IpAddr::V4(peer.ipv4), AS);
                    neighbor.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
                    spec.neighbors.push(neighbor);
                }
            }
        }
        routers.push((lab.podroute_with_spec(node, spec, &[])?, *host));
    }
    let (sessions, per_session) = match transport {
        Transport::PerFamily => (4, 1),
        Transport::SharedIpv4 => (2, 2),
    };

    lab.wait_until("every node holds the others' prefixes", || {
        routers
            .iter()
            .all(|(router, host)| converged(router, *host))
    })?;
    // Counters first: a node's peers may still be sending, and a prefix
    // passed on would show as a second advertisement.
    lab.wait_until("every session has sent and received both families", || {
        routers.iter().all(|(router, _)| {
            router.podroute_neighbors().is_ok_and(|views| {
                views.len() == sessions
                    && views.iter().all(|view| {
                        view.prefixes_received == per_session
                            && view.prefixes_advertised == per_session
                    })
            })
        })
    })?;

    for (router, own) in &routers {
        let routes = router.routes()?;
        for (originator, host) in nodes.iter().filter(|(_, host)| host != own) {
            for prefix in prefixes(*host) {
                let paths: Vec<_> = routes.iter().filter(|r| r.prefix == prefix).collect();
                assert_eq!(
                    paths.len(),
                    1,
                    "{}: exactly one path for {prefix}: {paths:#?}",
                    router.node.container
                );
                for path in paths {
                    assert!(path.learned && path.best, "{path:#?}");
                    let from = match (transport, prefix.contains(':')) {
                        (Transport::PerFamily, true) => originator.ipv6.to_string(),
                        _ => originator.ipv4.to_string(),
                    };
                    assert_eq!(path.peer, Some(from), "{path:#?}");
                    assert_eq!(path.originator_id, None, "{path:#?}");
                    assert!(path.cluster_list.is_empty(), "{path:#?}");
                    assert!(path.as_path.is_empty(), "iBGP adds no AS: {path:#?}");
                    assert_eq!(path.local_pref, Some(100), "{path:#?}");
                }
            }
        }
        // Its own prefixes are local, and nothing else is in the table.
        for prefix in prefixes(*own) {
            let paths: Vec<_> = routes.iter().filter(|r| r.prefix == prefix).collect();
            assert_eq!(paths.len(), 1, "{paths:#?}");
            assert!(paths.iter().all(|p| !p.learned && p.best), "{paths:#?}");
        }
        assert_eq!(routes.len(), 6, "{routes:#?}");
    }
    Ok(())
}

#[test]
fn three_podroute_nodes_in_a_full_mesh_keep_ibgp_routes_to_themselves() {
    if let Err(error) = scenario(Transport::PerFamily) {
        panic!("{error}");
    }
}

#[test]
fn three_podroute_nodes_in_a_full_mesh_over_one_ipv4_session_per_pair() {
    if let Err(error) = scenario(Transport::SharedIpv4) {
        panic!("{error}");
    }
}
