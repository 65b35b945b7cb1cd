//! Faults a cluster sees, between podroute and each of the other daemons
//! (issue 3, scenarios 5 and 6). podroute (AS 64512) peers over IPv4 with
//! BIRD (65001), FRR (65002) and GoBGP (65003), every session on a 6 s hold
//! time so that a silent peer is noticed quickly; each fault hits one peer
//! and the sessions with the others must stay up through it.
//!
//! 1. BIRD's container is frozen with `docker pause`: only podroute's hold
//!    timer can notice, so podroute must report sending Hold Timer Expired
//!    (RFC 4271 §6.5, NOTIFICATION 4/0); after `docker unpause` the session
//!    comes back.
//! 2. FRR's daemons are stopped and started again: the session comes back.
//! 3. GoBGP's container is killed (`docker kill`, a crashed host) and
//!    started again with its daemon. The kernel closes the killed daemon's
//!    socket, so podroute sees the connection closed by the peer (its hold
//!    timer would be the fallback had nothing arrived); the new GoBGP
//!    reconnects.
//!
//! After each repair, podroute's `flaps` counter for that peer has grown
//! by at least one, and the other sessions have not flapped.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use interop::{DaemonKind, Family, Lab, NeighborSpec, Result, Router, RouterSpec};

const PODROUTE_AS: u32 = 64512;
const HOLD_TIME: u16 = 6;

fn neighbor(address: IpAddr, asn: u32) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = vec![Family::Ipv4Unicast];
    spec.hold_time = HOLD_TIME;
    spec
}

/// One peer of podroute and what both sides must see when it is up.
struct Peer {
    router: Router,
    address: IpAddr,
    asn: u32,
    router_id: Ipv4Addr,
}

fn both_up(
    podroute: &Router,
    podroute_id: Ipv4Addr,
    podroute_address: IpAddr,
    peer: &Peer,
) -> bool {
    podroute.is_established_with(peer.address, peer.asn, peer.router_id)
        && peer
            .router
            .is_established_with(podroute_address, PODROUTE_AS, podroute_id)
}

/// podroute's flap counter per peer address.
fn flaps(podroute: &Router) -> Result<BTreeMap<IpAddr, u64>> {
    Ok(podroute
        .podroute_neighbors()?
        .into_iter()
        .map(|neighbor| (neighbor.address, neighbor.flaps))
        .collect())
}

/// Checks that since `before` the session with `target` flapped and no
/// other did; returns the new counts.
fn only_flapped(
    podroute: &Router,
    before: &BTreeMap<IpAddr, u64>,
    target: IpAddr,
) -> Result<BTreeMap<IpAddr, u64>> {
    let now = flaps(podroute)?;
    for (address, count) in &now {
        let was = before.get(address).copied().unwrap_or_default();
        if *address == target {
            assert!(
                *count > was,
                "{address}: flaps {was} -> {count}, expected growth"
            );
        } else {
            assert_eq!(*count, was, "{address} flapped during another peer's fault");
        }
    }
    Ok(now)
}

fn podroute_error(podroute: &Router, address: IpAddr) -> Option<String> {
    podroute
        .podroute_neighbor(address)
        .ok()
        .flatten()
        .and_then(|view| view.last_error)
}

fn scenario() -> Result<()> {
    let lab = Lab::new("peering-faults")?;
    let net = lab.network("net")?;
    let podroute_node = lab.podroute_node("podroute", &net, 2)?;
    let nodes = [
        (DaemonKind::Bird, lab.node("bird", &net, 3)?, 65001u32),
        (DaemonKind::Frr, lab.node("frr", &net, 4)?, 65002),
        (DaemonKind::Gobgp, lab.node("gobgp", &net, 5)?, 65003),
    ];
    let p4 = IpAddr::V4(podroute_node.ipv4);
    let podroute_id = podroute_node.ipv4;

    let mut podroute_spec = RouterSpec::new(PODROUTE_AS, podroute_node.ipv4, None);
    let mut peers = Vec::new();
    for (kind, node, asn) in &nodes {
        let mut spec = RouterSpec::new(*asn, node.ipv4, None);
        spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];
        podroute_spec
            .neighbors
            .push(neighbor(IpAddr::V4(node.ipv4), *asn));
        peers.push(Peer {
            router: lab.router(*kind, node, spec)?,
            address: IpAddr::V4(node.ipv4),
            asn: *asn,
            router_id: node.ipv4,
        });
    }
    let podroute = lab.podroute_with_spec(&podroute_node, podroute_spec, &[])?;
    let [bird, frr, gobgp] = peers.as_slice() else {
        return Err(interop::Error::Environment("three peers expected".into()));
    };
    let all_up = || {
        peers
            .iter()
            .all(|peer| both_up(&podroute, podroute_id, p4, peer))
    };
    let started = std::time::Instant::now();
    let step = |name: &str| {
        eprintln!(
            "peering_faults: {name} at {:.1} s",
            started.elapsed().as_secs_f64()
        )
    };
    lab.wait_until("podroute up with BIRD, FRR and GoBGP", all_up)?;
    step("converged");

    // 1. A frozen peer: podroute's hold timer expires.
    let before = flaps(&podroute)?;
    bird.router.node.pause()?;
    let paused = lab.wait_until("podroute's hold timer expires for the paused BIRD", || {
        !podroute.is_established(bird.address)
            && podroute_error(&podroute, bird.address).is_some_and(|error| {
                error.starts_with("sent")
                    && error.contains("Hold Timer Expired")
                    && error.contains("(4/0)")
            })
    });
    // Thaw before acting on the outcome, so a failure leaves BIRD readable.
    bird.router.node.unpause()?;
    paused?;
    assert!(
        both_up(&podroute, podroute_id, p4, frr) && both_up(&podroute, podroute_id, p4, gobgp),
        "the other sessions stay up while BIRD is frozen: {}",
        lab.report()
    );
    lab.wait_until("podroute-BIRD back after unpause", all_up)?;
    let before = only_flapped(&podroute, &before, bird.address)?;
    step("pause and unpause done");

    // 2. FRR's daemons restarted.
    frr.router.restart()?;
    lab.wait_until("podroute-FRR back after FRR's restart", || {
        all_up()
            && flaps(&podroute).is_ok_and(|now| now.get(&frr.address) > before.get(&frr.address))
    })?;
    let before = only_flapped(&podroute, &before, frr.address)?;
    step("daemon restart done");

    // 3. GoBGP's host crashes and comes back.
    gobgp.router.node.kill()?;
    // The reason changes as podroute retries (closed by peer, then no
    // route to host), so the sign of noticing is the session's flap.
    lab.wait_until("podroute notices the crashed GoBGP", || {
        !podroute.is_established(gobgp.address)
            && flaps(&podroute)
                .is_ok_and(|now| now.get(&gobgp.address) > before.get(&gobgp.address))
    })?;
    eprintln!(
        "peering_faults: podroute's last error for the crashed GoBGP: {:?}",
        podroute_error(&podroute, gobgp.address)
    );
    gobgp.router.node.restart()?;
    gobgp.router.start_again()?;
    lab.wait_until("podroute-GoBGP back after the container restart", all_up)?;
    only_flapped(&podroute, &before, gobgp.address)?;
    step("crash and restart done");
    Ok(())
}

#[test]
fn podroute_survives_frozen_restarted_and_crashed_peers() {
    let started = std::time::Instant::now();
    if let Err(error) = scenario() {
        panic!("{error}");
    }
    eprintln!("peering_faults: {:.1} s", started.elapsed().as_secs_f64());
}
