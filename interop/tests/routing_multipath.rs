//! ECMP over two paths carried by ADD-PATH through a reflector (issue 4,
//! scenario 4).
//!
//! | router       | router id  | role                                                  |
//! |--------------|------------|-------------------------------------------------------|
//! | podroute R   | 198.19.0.2 | reflector, cluster id 198.19.255.2, `add_path = { send = 2 }` to every client |
//! | GoBGP O1     | 198.19.0.3 | client, originates 198.19.50.0/24                     |
//! | podroute O2  | 198.19.0.4 | client, originates 198.19.50.0/24                     |
//! | FRR F        | 198.19.0.5 | client, `maximum-paths ibgp 2` (FRR accepts ADD-PATH by default) |
//! | podroute P   | 198.19.0.6 | client, `add_path = { receive = true }`, `max_paths = 2` |
//!
//! O1 and O2 send the same prefix with equal attributes (ORIGIN IGP, no
//! MED, LOCAL_PREF 100, empty AS_PATH) and different next hops. Without
//! ADD-PATH (RFC 7911) R could send each client only its best path; with
//! it, F and P each hold both paths, with ORIGINATOR_ID = O1 and O2 and
//! CLUSTER_LIST = [198.19.255.2], and both put them in their multipath
//! set. P's paths carry distinct received path identifiers.

use std::net::{IpAddr, Ipv4Addr};

use interop::{
    DaemonKind, Lab, NeighborSpec, Node, Origination, PodrouteOptions, Result, Route, Router,
    RouterSpec,
};

const AS: u32 = 64512;
const PREFIX: &str = "198.19.50.0/24";
const CLUSTER: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 2);

fn router_id(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, host)
}

fn spec(node: &Node, host: u8) -> RouterSpec {
    let mut spec = RouterSpec::new(AS, node.ipv4, None);
    spec.router_id = router_id(host);
    spec
}

fn ibgp(address: Ipv4Addr) -> NeighborSpec {
    NeighborSpec::new(IpAddr::V4(address), AS)
}

/// Both reflected paths, sorted by next hop, once `router` holds two.
fn two_paths(router: &Router) -> Option<Vec<Route>> {
    let mut paths = router.learned(PREFIX).ok()?;
    paths.sort_by(|a, b| a.next_hops.cmp(&b.next_hops));
    (paths.len() == 2).then_some(paths)
}

fn check_reflected(router: &Router, paths: &[Route], originators: &[(Ipv4Addr, u8); 2]) {
    let who = router.node.container.as_str();
    for (path, (address, host)) in paths.iter().zip(originators) {
        assert_eq!(
            path.next_hops.first(),
            Some(&address.to_string()),
            "{who}: {paths:#?}"
        );
        assert_eq!(
            path.originator_id,
            Some(router_id(*host).to_string()),
            "{who}: {paths:#?}"
        );
        assert_eq!(
            path.cluster_list,
            vec![CLUSTER.to_string()],
            "{who}: {paths:#?}"
        );
        assert!(
            path.multipath,
            "{who}: both paths in the ECMP set: {paths:#?}"
        );
    }
    assert_eq!(
        paths.iter().filter(|path| path.best).count(),
        1,
        "{who}: one best path: {paths:#?}"
    );
}

fn scenario() -> Result<()> {
    let lab = Lab::new("routing-multipath")?;
    let net = lab.network("net")?;
    let reflector_node = lab.podroute_node("reflector", &net, 2)?;
    let o1_node = lab.node("gobgp-o1", &net, 3)?;
    let o2_node = lab.podroute_node("podroute-o2", &net, 4)?;
    let frr_node = lab.node("frr", &net, 5)?;
    let p_node = lab.podroute_node("podroute-p", &net, 6)?;
    let clients = [o1_node.ipv4, o2_node.ipv4, frr_node.ipv4, p_node.ipv4];

    let mut reflector_spec = spec(&reflector_node, 2);
    reflector_spec.cluster_id = Some(CLUSTER);
    let mut reflector_options = PodrouteOptions::default();
    for client in clients {
        let mut neighbor = ibgp(client);
        neighbor.route_reflector_client = true;
        reflector_spec.neighbors.push(neighbor);
        reflector_options.neighbor(IpAddr::V4(client)).add_path_send = 2;
    }
    let _reflector =
        lab.podroute_with_options(&reflector_node, reflector_spec, &[], &reflector_options)?;

    let mut o1_spec = spec(&o1_node, 3);
    o1_spec.originate.push(Origination::prefix(PREFIX));
    o1_spec.neighbors.push(ibgp(reflector_node.ipv4));
    let _o1 = lab.router(DaemonKind::Gobgp, &o1_node, o1_spec)?;
    let mut o2_spec = spec(&o2_node, 4);
    o2_spec.originate.push(Origination::prefix(PREFIX));
    o2_spec.neighbors.push(ibgp(reflector_node.ipv4));
    let _o2 = lab.podroute_with_spec(&o2_node, o2_spec, &[])?;

    let mut frr_spec = spec(&frr_node, 5);
    frr_spec.max_paths = Some(2);
    frr_spec.neighbors.push(ibgp(reflector_node.ipv4));
    let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let mut p_spec = spec(&p_node, 6);
    p_spec.max_paths = Some(2);
    p_spec.neighbors.push(ibgp(reflector_node.ipv4));
    let mut p_options = PodrouteOptions::default();
    p_options
        .neighbor(IpAddr::V4(reflector_node.ipv4))
        .add_path_receive = true;
    let p = lab.podroute_with_options(&p_node, p_spec, &[], &p_options)?;

    lab.wait_until("FRR and podroute P hold two paths", || {
        two_paths(&frr).is_some() && two_paths(&p).is_some()
    })?;
    let originators = [(o1_node.ipv4, 3u8), (o2_node.ipv4, 4)];
    // Sorting by next hop text orders O1 (host 3) before O2 (host 4).
    let frr_paths = two_paths(&frr).unwrap_or_default();
    check_reflected(&frr, &frr_paths, &originators);
    let p_paths = two_paths(&p).unwrap_or_default();
    check_reflected(&p, &p_paths, &originators);

    // podroute's full view: distinct ADD-PATH identifiers, both reachable.
    let details = p.podroute_routes()?;
    let prefix = details
        .iter()
        .find(|prefix| prefix.prefix == PREFIX)
        .ok_or_else(|| interop::Error::Environment(format!("P lists no {PREFIX}")))?;
    let [first, second] = prefix.paths.as_slice() else {
        return Err(interop::Error::Environment(format!(
            "P holds not two paths: {prefix:#?}"
        )));
    };
    assert_ne!(first.path_id, second.path_id, "{prefix:#?}");
    assert!(
        prefix
            .paths
            .iter()
            .all(|path| path.reachable && path.multipath),
        "{prefix:#?}"
    );
    assert!(first.best && !second.best, "{prefix:#?}");
    Ok(())
}

#[test]
fn add_path_carries_two_equal_paths_through_a_podroute_reflector() {
    if let Err(error) = scenario() {
        panic!("{error}");
    }
}
