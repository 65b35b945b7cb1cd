//! The fault helpers against real daemons: BIRD in the middle, FRR and
//! GoBGP as eBGP spokes on short hold timers (6 s, so a silent peer is
//! noticed quickly; the waits below are failure bounds, not sleeps). Each
//! fault must take the session down and its repair must bring it back with
//! the spoke's prefix re-learned:
//!
//! 1. administrative shutdown with a shutdown communication, then enable;
//! 2. FRR's bgpd killed (a crash), then restarted;
//! 3. GoBGP's container paused (a hung host: only the hold timer notices),
//!    then unpaused;
//! 4. GoBGP's link cut (`docker network disconnect`), then reconnected.

use std::net::IpAddr;

use interop::{DaemonKind, Family, Lab, NeighborSpec, Origination, Result, RouterSpec};

const HOLD_TIME: u16 = 6;

fn spoke(address: IpAddr, asn: u32) -> NeighborSpec {
    let mut neighbor = NeighborSpec::new(address, asn);
    neighbor.families = vec![Family::Ipv4Unicast];
    neighbor.hold_time = HOLD_TIME;
    neighbor
}

fn scenario() -> Result<()> {
    let lab = Lab::new("faults")?;
    let net = lab.network("net")?;
    let bird_node = lab.node("bird", &net, 2)?;
    let frr_node = lab.node("frr", &net, 3)?;
    let gobgp_node = lab.node("gobgp", &net, 4)?;
    let (bird4, frr4, gobgp4) = (
        IpAddr::V4(bird_node.ipv4),
        IpAddr::V4(frr_node.ipv4),
        IpAddr::V4(gobgp_node.ipv4),
    );

    let mut bird_spec = RouterSpec::new(65001, bird_node.ipv4, None);
    bird_spec.neighbors = vec![spoke(frr4, 65002), spoke(gobgp4, 65003)];
    let mut frr_spec = RouterSpec::new(65002, frr_node.ipv4, None);
    frr_spec.neighbors = vec![spoke(bird4, 65001)];
    frr_spec.originate = vec![Origination::prefix("198.19.2.0/24")];
    let mut gobgp_spec = RouterSpec::new(65003, gobgp_node.ipv4, None);
    gobgp_spec.neighbors = vec![spoke(bird4, 65001)];
    gobgp_spec.originate = vec![Origination::prefix("198.19.3.0/24")];

    let bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let gobgp = lab.router(DaemonKind::Gobgp, &gobgp_node, gobgp_spec)?;
    let converged = || {
        bird.is_established(frr4)
            && bird.is_established(gobgp4)
            && frr.is_established(bird4)
            && gobgp.is_established(bird4)
            && bird.has_learned("198.19.2.0/24")
            && bird.has_learned("198.19.3.0/24")
    };
    let started = std::time::Instant::now();
    let step = |name: &str| eprintln!("faults: {name} at {:.1} s", started.elapsed().as_secs_f64());
    lab.wait_until("both spokes up and their prefixes at BIRD", converged)?;

    // 1. Administrative shutdown: FRR sees the session go and loses BIRD's view.
    bird.shutdown_neighbor(frr4, "lab maintenance")?;
    lab.wait_until("FRR notices the shutdown", || !frr.is_established(bird4))?;
    assert!(!bird.has_learned("198.19.2.0/24"), "{}", bird.report());
    bird.enable_neighbor(frr4)?;
    lab.wait_until("BIRD-FRR back after enable", converged)?;

    step("shutdown and enable done");

    // 2. Crash and restart of FRR's daemons.
    frr.kill()?;
    lab.wait_until("BIRD drops the crashed FRR", || !bird.is_established(frr4))?;
    frr.restart()?;
    lab.wait_until("BIRD-FRR back after restart", converged)?;

    step("crash and restart done");

    // 3. A hung host: only BIRD's hold timer can notice.
    gobgp_node.pause()?;
    lab.wait_until("BIRD's hold timer expires for the paused GoBGP", || {
        !bird.is_established(gobgp4)
    })?;
    assert!(!bird.has_learned("198.19.3.0/24"), "{}", bird.report());
    gobgp_node.unpause()?;
    lab.wait_until("BIRD-GoBGP back after unpause", converged)?;

    step("pause and unpause done");

    // 4. A cut link, then repaired with the same addresses.
    gobgp_node.disconnect(&net)?;
    lab.wait_until("BIRD notices the cut link", || !bird.is_established(gobgp4))?;
    gobgp_node.connect(&net, 4)?;
    lab.wait_until("BIRD-GoBGP back after reconnect", converged)?;
    step("disconnect and reconnect done");
    Ok(())
}

#[test]
fn faults_take_sessions_down_and_repairs_bring_them_back() {
    if let Err(error) = scenario() {
        panic!("{error}");
    }
}
