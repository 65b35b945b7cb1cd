//! `max_prefixes = { limit, action = "teardown", restart_after }` against
//! FRR (issue 4, scenario 6; RFC 4486 Cease subcode 1).
//!
//! | router     | AS    | router id  | sends                               |
//! |------------|-------|------------|-------------------------------------|
//! | podroute P | 64512 | 198.19.0.2 | nothing; `import = "all"`, limit 3, restart after 5 s |
//! | FRR F      | 65030 | 198.19.0.3 | 198.19.10.0/24 .. 198.19.14.0/24    |
//!
//! F sends five prefixes, two more than P accepts: P sends Cease / Maximum
//! Number of Prefixes Reached (6/1), which shows in P's `last_error` and in
//! FRR's `lastNotificationReason`. After `restart_after` (and not before:
//! P refuses FRR's own reconnects meanwhile) P connects again
//! (the session is Established a second time, and torn down again while F
//! still sends five). Once F withdraws two prefixes, the next restart
//! brings the session up with three accepted prefixes, and it stays up:
//! no further flap across more than two restart periods.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use interop::{
    DaemonKind, Lab, MaxPrefixes, NeighborSpec, Origination, PodrouteNeighbor, PodrouteOptions,
    Result, Router, RouterSpec,
};

const PODROUTE_AS: u32 = 64512;
const FRR_AS: u32 = 65030;
const LIMIT: u32 = 3;
const RESTART_AFTER: u32 = 5;

fn prefix(index: u8) -> String {
    format!("198.19.{}.0/24", 10 + index)
}

fn view(router: &Router, peer: IpAddr) -> Option<PodrouteNeighbor> {
    router.podroute_neighbor(peer).ok().flatten()
}

fn names_max_prefix(text: Option<&str>) -> bool {
    text.is_some_and(|text| text.contains("Maximum Number of Prefixes Reached"))
}

fn scenario() -> Result<()> {
    let lab = Lab::new("routing-limits")?;
    let net = lab.network("net")?;
    let p_node = lab.podroute_node("podroute", &net, 2)?;
    let f_node = lab.node("frr", &net, 3)?;
    let p_address = IpAddr::V4(p_node.ipv4);
    let f_address = IpAddr::V4(f_node.ipv4);

    let mut f_spec = RouterSpec::new(FRR_AS, f_node.ipv4, None);
    f_spec.router_id = Ipv4Addr::new(198, 19, 0, 3);
    for index in 0..5 {
        f_spec.originate.push(Origination::prefix(&prefix(index)));
    }
    f_spec
        .neighbors
        .push(NeighborSpec::new(p_address, PODROUTE_AS));
    let mut frr = lab.router(DaemonKind::Frr, &f_node, f_spec)?;
    let mut p_spec = RouterSpec::new(PODROUTE_AS, p_node.ipv4, None);
    p_spec.router_id = Ipv4Addr::new(198, 19, 0, 2);
    p_spec.neighbors.push(NeighborSpec::new(f_address, FRR_AS));
    let mut options = PodrouteOptions::default();
    let neighbor = options.neighbor(f_address);
    neighbor.import = Some("all".into());
    neighbor.max_prefixes = Some(MaxPrefixes {
        limit: LIMIT,
        teardown: true,
        restart_after: Some(RESTART_AFTER),
    });
    let podroute = lab.podroute_with_options(&p_node, p_spec, &[], &options)?;

    lab.wait_until("podroute tears the session down with Cease 6/1", || {
        view(&podroute, f_address)
            .is_some_and(|v| v.flaps >= 1 && names_max_prefix(v.last_error.as_deref()))
    })?;
    let torn = view(&podroute, f_address)
        .ok_or_else(|| interop::Error::Environment("P lost neighbor F".into()))?;
    let error = torn.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("sent ") && error.contains("(6/1)"),
        "{torn:#?}"
    );
    lab.wait_until("FRR names the NOTIFICATION it received", || {
        frr.neighbor(p_address)
            .ok()
            .flatten()
            .is_some_and(|n| names_max_prefix(n.last_error.as_deref()))
    })?;

    // The session comes back by itself (and goes down again: F still
    // sends five prefixes).
    lab.wait_until("the session is re-established after restart_after", || {
        view(&podroute, f_address).is_some_and(|v| v.flaps >= 2)
    })?;

    for index in [3, 4] {
        frr.withdraw(&prefix(index))?;
    }
    lab.wait_until("up again with three prefixes accepted", || {
        view(&podroute, f_address)
            .is_some_and(|v| v.is_established() && v.prefixes_accepted == u64::from(LIMIT))
    })?;
    let settled = view(&podroute, f_address)
        .ok_or_else(|| interop::Error::Environment("P lost neighbor F".into()))?;
    // By the daemon's own clock, the last teardown came at least
    // restart_after before this session (whole seconds, so one less): P
    // held the neighbor down, refusing FRR's own reconnects meanwhile.
    let down_for = settled
        .last_error_seconds_ago
        .unwrap_or_default()
        .saturating_sub(settled.uptime_seconds);
    assert!(
        down_for >= u64::from(RESTART_AFTER) - 1,
        "held down {down_for} s: {settled:#?}"
    );
    assert!(
        names_max_prefix(settled.last_error.as_deref()),
        "{settled:#?}"
    );
    // Stays up: no flap while more than two restart periods pass.
    let watch = Duration::from_secs(u64::from(RESTART_AFTER) * 2 + 2);
    let started = Instant::now();
    while started.elapsed() < watch {
        let now = view(&podroute, f_address)
            .ok_or_else(|| interop::Error::Environment("P lost neighbor F".into()))?;
        assert!(now.is_established(), "{now:#?}");
        assert_eq!(now.flaps, settled.flaps, "{now:#?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let learned: Vec<String> = podroute
        .routes()?
        .into_iter()
        .filter(|route| route.learned)
        .map(|route| route.prefix)
        .collect();
    assert_eq!(learned, vec![prefix(0), prefix(1), prefix(2)]);
    assert!(frr.is_established(p_address));
    Ok(())
}

#[test]
fn a_peer_over_its_prefix_limit_is_torn_down_and_comes_back() {
    if let Err(error) = scenario() {
        panic!("{error}");
    }
}
