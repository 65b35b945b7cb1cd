//! Route reflection (RFC 4456) between podroute and BIRD, FRR, GoBGP
//! (issue 4, scenarios 1 and 2). Each test reads the reflection attributes
//! from every daemon's own CLI: `birdc show route all`, `vtysh show bgp
//! ipv4 unicast PREFIX json`, `gobgp -j global rib`, `podroute routes
//! --json`.
//!
//! Scenario 1, podroute reflects:
//!
//! | router     | router id   | originates     | sessions (all AS 64512)              |
//! |------------|-------------|----------------|--------------------------------------|
//! | podroute P | 198.19.0.2  | 198.19.2.0/24  | reflector, cluster id 198.19.255.1    |
//! | BIRD       | 198.19.0.5  | 198.19.5.0/24  | client of P                          |
//! | FRR        | 198.19.0.6  | 198.19.6.0/24  | client of P                          |
//! | GoBGP      | 198.19.0.7  | 198.19.7.0/24  | client of P                          |
//!
//! Every client holds the two other clients' prefixes with ORIGINATOR_ID =
//! the originating client's router id, CLUSTER_LIST = [198.19.255.1] and
//! the originator's next hop (a reflector leaves it alone, RFC 4456 §10);
//! P's own prefix carries neither attribute (P originates it, it reflects
//! nothing).
//!
//! Scenario 2, podroute is a client of a BIRD reflector (cluster id
//! 198.19.255.3, other client GoBGP G originating 198.19.5.0/24) and of an
//! FRR reflector (cluster id 198.19.255.4, other client GoBGP H
//! originating 198.19.6.0/24). podroute Q learns G's prefix through BIRD
//! and H's through FRR with the right ORIGINATOR_ID and CLUSTER_LIST; its
//! own 198.19.2.0/24 reaches G and H with ORIGINATOR_ID = Q and each
//! reflector's cluster id; and Q, an iBGP speaker that is no reflector,
//! passes neither learned prefix on (RFC 4271 §9.2: iBGP routes are not
//! sent to iBGP peers), so G never sees H's prefix nor H G's.

use std::net::{IpAddr, Ipv4Addr};

use interop::{
    DaemonKind, Lab, NeighborSpec, Node, Origination, Result, Route, Router, RouterSpec,
};

const AS: u32 = 64512;

fn router_id(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, host)
}

fn prefix(host: u8) -> String {
    format!("198.19.{host}.0/24")
}

/// An iBGP router on `node` (router id 198.19.0.host) originating
/// 198.19.host.0/24.
fn spec(node: &Node, host: u8) -> RouterSpec {
    let mut spec = RouterSpec::new(AS, node.ipv4, None);
    spec.router_id = router_id(host);
    spec.originate.push(Origination::prefix(&prefix(host)));
    spec
}

fn ibgp(address: Ipv4Addr, client: bool) -> NeighborSpec {
    let mut neighbor = NeighborSpec::new(IpAddr::V4(address), AS);
    neighbor.route_reflector_client = client;
    neighbor
}

/// The learned paths of `prefix` in `router`'s RIB, read from its own CLI.
fn learned(router: &Router, prefix: &str) -> Vec<Route> {
    router.learned(prefix).unwrap_or_default()
}

/// What one router must hold for one prefix: exactly one learned path with
/// these reflection attributes and this next hop.
struct Expected<'a> {
    prefix: String,
    originator_id: Option<Ipv4Addr>,
    cluster_list: &'a [Ipv4Addr],
    next_hop: Ipv4Addr,
}

fn check(router: &Router, expected: &Expected<'_>) {
    let paths = learned(router, &expected.prefix);
    let who = format!("{} on {}", router.kind.name(), router.node.container);
    assert_eq!(
        paths.len(),
        1,
        "{who}: one path for {}: {paths:#?}",
        expected.prefix
    );
    for path in &paths {
        assert_eq!(
            path.originator_id,
            expected.originator_id.map(|id| id.to_string()),
            "{who}: ORIGINATOR_ID of {}: {path:#?}",
            expected.prefix
        );
        let cluster_list: Vec<String> = expected
            .cluster_list
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            path.cluster_list, cluster_list,
            "{who}: CLUSTER_LIST of {}: {path:#?}",
            expected.prefix
        );
        assert_eq!(
            path.next_hops.first(),
            Some(&expected.next_hop.to_string()),
            "{who}: next hop of {}: {path:#?}",
            expected.prefix
        );
    }
}

fn podroute_reflects() -> Result<()> {
    let lab = Lab::new("routing-reflector")?;
    let net = lab.network("net")?;
    let reflector_node = lab.podroute_node("podroute", &net, 2)?;
    let clients = [
        (DaemonKind::Bird, lab.node("bird", &net, 5)?, 5u8),
        (DaemonKind::Frr, lab.node("frr", &net, 6)?, 6),
        (DaemonKind::Gobgp, lab.node("gobgp", &net, 7)?, 7),
    ];
    let cluster_id = Ipv4Addr::new(198, 19, 255, 1);

    let mut reflector_spec = spec(&reflector_node, 2);
    reflector_spec.cluster_id = Some(cluster_id);
    for (_, node, _) in &clients {
        reflector_spec.neighbors.push(ibgp(node.ipv4, true));
    }
    let reflector = lab.podroute_with_spec(&reflector_node, reflector_spec, &[])?;
    let mut routers = Vec::new();
    for (kind, node, host) in &clients {
        let mut client_spec = spec(node, *host);
        client_spec.neighbors.push(ibgp(reflector_node.ipv4, false));
        routers.push((lab.router(*kind, node, client_spec)?, node.ipv4, *host));
    }

    lab.wait_until("every client holds every other prefix", || {
        routers.iter().all(|(router, _, own)| {
            [2u8, 5, 6, 7]
                .iter()
                .filter(|host| *host != own)
                .all(|host| router.has_learned(&prefix(*host)))
        })
    })?;

    for (router, _, own) in &routers {
        for (_, originator_address, originator) in routers.iter().filter(|(_, _, h)| h != own) {
            check(
                router,
                &Expected {
                    prefix: prefix(*originator),
                    originator_id: Some(router_id(*originator)),
                    cluster_list: &[cluster_id],
                    next_hop: *originator_address,
                },
            );
        }
        // The reflector's own prefix is originated, not reflected.
        check(
            router,
            &Expected {
                prefix: prefix(2),
                originator_id: None,
                cluster_list: &[],
                next_hop: reflector_node.ipv4,
            },
        );
    }
    // The reflector itself learned each prefix straight from its client.
    for (_, address, host) in &routers {
        check(
            &reflector,
            &Expected {
                prefix: prefix(*host),
                originator_id: None,
                cluster_list: &[],
                next_hop: *address,
            },
        );
        for path in learned(&reflector, &prefix(*host)) {
            assert_eq!(path.peer, Some(address.to_string()), "{path:#?}");
            assert!(path.best, "{path:#?}");
        }
    }
    Ok(())
}

#[test]
fn podroute_reflects_between_bird_frr_and_gobgp_clients() {
    if let Err(error) = podroute_reflects() {
        panic!("{error}");
    }
}

fn podroute_is_a_client() -> Result<()> {
    let lab = Lab::new("routing-client")?;
    let net = lab.network("net")?;
    let client_node = lab.podroute_node("podroute", &net, 2)?;
    let bird_node = lab.node("bird-reflector", &net, 3)?;
    let frr_node = lab.node("frr-reflector", &net, 4)?;
    let g_node = lab.node("gobgp-g", &net, 5)?;
    let h_node = lab.node("gobgp-h", &net, 6)?;
    let bird_cluster = Ipv4Addr::new(198, 19, 255, 3);
    let frr_cluster = Ipv4Addr::new(198, 19, 255, 4);

    let mut bird_spec = RouterSpec::new(AS, bird_node.ipv4, None);
    bird_spec.router_id = router_id(3);
    bird_spec.cluster_id = Some(bird_cluster);
    bird_spec.neighbors.push(ibgp(client_node.ipv4, true));
    bird_spec.neighbors.push(ibgp(g_node.ipv4, true));
    let mut frr_spec = RouterSpec::new(AS, frr_node.ipv4, None);
    frr_spec.router_id = router_id(4);
    frr_spec.cluster_id = Some(frr_cluster);
    frr_spec.neighbors.push(ibgp(client_node.ipv4, true));
    frr_spec.neighbors.push(ibgp(h_node.ipv4, true));
    let _bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let _frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let mut g_spec = spec(&g_node, 5);
    g_spec.neighbors.push(ibgp(bird_node.ipv4, false));
    let g = lab.router(DaemonKind::Gobgp, &g_node, g_spec)?;
    let mut h_spec = spec(&h_node, 6);
    h_spec.neighbors.push(ibgp(frr_node.ipv4, false));
    let h = lab.router(DaemonKind::Gobgp, &h_node, h_spec)?;
    let mut client_spec = spec(&client_node, 2);
    client_spec.neighbors.push(ibgp(bird_node.ipv4, false));
    client_spec.neighbors.push(ibgp(frr_node.ipv4, false));
    let client = lab.podroute_with_spec(&client_node, client_spec, &[])?;

    lab.wait_until("podroute, G and H hold the reflected prefixes", || {
        client.has_learned(&prefix(5))
            && client.has_learned(&prefix(6))
            && g.has_learned(&prefix(2))
            && h.has_learned(&prefix(2))
    })?;

    check(
        &client,
        &Expected {
            prefix: prefix(5),
            originator_id: Some(router_id(5)),
            cluster_list: &[bird_cluster],
            next_hop: g_node.ipv4,
        },
    );
    check(
        &client,
        &Expected {
            prefix: prefix(6),
            originator_id: Some(router_id(6)),
            cluster_list: &[frr_cluster],
            next_hop: h_node.ipv4,
        },
    );
    for (prefix, reflector) in [(prefix(5), bird_node.ipv4), (prefix(6), frr_node.ipv4)] {
        for path in learned(&client, &prefix) {
            assert_eq!(path.peer, Some(reflector.to_string()), "{path:#?}");
        }
    }
    for (router, cluster) in [(&g, bird_cluster), (&h, frr_cluster)] {
        check(
            router,
            &Expected {
                prefix: prefix(2),
                originator_id: Some(router_id(2)),
                cluster_list: &[cluster],
                next_hop: client_node.ipv4,
            },
        );
    }

    // podroute is no reflector: it advertises its own prefix to each
    // reflector and nothing it learned from the other one.
    for reflector in [bird_node.ipv4, frr_node.ipv4] {
        let view = client
            .podroute_neighbor(IpAddr::V4(reflector))?
            .ok_or_else(|| interop::Error::Environment(format!("no neighbor {reflector}")))?;
        assert_eq!(view.prefixes_advertised, 1, "{view:#?}");
        assert_eq!(view.prefixes_accepted, 1, "{view:#?}");
    }
    assert!(learned(&g, &prefix(6)).is_empty(), "G learned H's prefix");
    assert!(learned(&h, &prefix(5)).is_empty(), "H learned G's prefix");
    Ok(())
}

#[test]
fn podroute_is_a_client_of_bird_and_frr_reflectors() {
    if let Err(error) = podroute_is_a_client() {
        panic!("{error}");
    }
}
