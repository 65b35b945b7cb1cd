//! Kernel evidence (issue 5): forwarding survives a crashed and restarted
//! podroute, and a host that goes away for good takes its routes with it.
//!
//! One topology for the file: three hosts in an iBGP full mesh, two pods
//! each, graceful restart on (RFC 4724, restart time 20 s) so peers keep a
//! restarting host's routes and the host keeps its kernel routes.
//!
//! Phases, in order:
//! 1. converged: every pod pings every pod on the other hosts;
//! 2. the podroute process of host2 is killed with SIGKILL inside its
//!    container (the container stays): host1 holds host2's routes as stale,
//!    host2's kernel keeps podroute's routes, and every pod still reaches
//!    every other pod while no podroute runs on host2;
//! 3. podroute is started again on host2: it adopts its three routes from
//!    the kernel (its log says `adopted=3`, `podroute fib` lists them, not
//!    stale once swept), no host lists a prefix twice, host1 holds nothing
//!    stale any more, and every pod reaches every other pod;
//! 4. host3's container is killed: once the restart time has passed
//!    without host3 coming back, host1 and host2 drop its CIDR, and their
//!    pods still reach each other.

use std::time::Instant;

use interop::cluster::{Cluster, ClusterSpec, Host, HostSpec, Peering};
use interop::{Lab, Result};

const RESTART_TIME: u16 = 20;

fn spec() -> ClusterSpec {
    let mut spec = ClusterSpec::new(
        Peering::FullMesh,
        vec![
            HostSpec::podroute("host1", 2),
            HostSpec::podroute("host2", 2),
            HostSpec::podroute("host3", 2),
        ],
    );
    spec.graceful_restart = Some(RESTART_TIME);
    spec
}

/// `stale_routes` that `host` reports for the neighbor `peer`.
fn stale_routes(host: &Host, peer: &Host) -> Result<u64> {
    let neighbors = host.podroute_json(&["neighbors"])?;
    let address = peer.address().to_string();
    Ok(neighbors
        .as_array()
        .into_iter()
        .flatten()
        .find(|neighbor| {
            neighbor.get("address").and_then(|value| value.as_str()) == Some(address.as_str())
        })
        .and_then(|neighbor| neighbor.get("stale_routes"))
        .and_then(|value| value.as_u64())
        .unwrap_or_default())
}

fn assert_all_reach(hosts: &[&Host], when: &str) {
    let pings = Cluster::ping_between(hosts);
    let failed: Vec<String> = pings
        .iter()
        .filter(|ping| !ping.ok)
        .map(ToString::to_string)
        .collect();
    assert!(
        failed.is_empty(),
        "{when}: {} of {} pings failed:\n{}",
        failed.len(),
        pings.len(),
        failed.join("\n")
    );
}

fn phase(started: Instant, name: &str) {
    eprintln!("[{:6.1} s] {name}", started.elapsed().as_secs_f64());
}

#[test]
fn forwarding_survives_a_restart_and_a_removed_host_is_withdrawn() -> Result<()> {
    let started = Instant::now();
    let lab = Lab::new("kernel-restart")?;
    let cluster = Cluster::start(&lab, &spec())?;
    let host1 = cluster.host("host1")?;
    let host2 = cluster.host("host2")?;
    let host3 = cluster.host("host3")?;
    let hosts = [host1, host2, host3];
    cluster.wait_converged(&lab)?;
    assert_all_reach(&hosts, "converged");
    phase(started, "converged, 24 pings");

    // 2. podroute on host2 crashes.
    let before_on_host2 = host2.bgp_routes()?;
    assert_eq!(before_on_host2.len(), 3, "{before_on_host2:?}");
    host2.router.kill()?;
    lab.wait_until(
        "host1 holds host2's routes as stale",
        || matches!(stale_routes(host1, host2), Ok(count) if count >= 1),
    )?;
    assert!(
        host2.podroute(&["neighbors"]).is_err(),
        "podroute still answers"
    );
    assert_all_reach(&hosts, "podroute on host2 down");
    assert_eq!(host2.bgp_routes()?, before_on_host2);
    for host in [host1, host3] {
        assert!(
            host.routes_via(&host2.pod_cidr(), &[host2.address()]),
            "{} dropped host2's CIDR during the restart",
            host.name
        );
    }
    phase(started, "podroute on host2 killed; 24 pings during the gap");

    // 3. podroute on host2 starts again and adopts its routes.
    host2.router.start_again()?;
    cluster.wait_converged(&lab)?;
    lab.wait_until("host2 has swept after its restart", || {
        matches!(host2.fib_status(), Ok(status)
            if status.get("initial_sweep_done").and_then(|done| done.as_bool()) == Some(true))
    })?;
    let log = host2.router.log();
    assert!(
        log.contains("adopted=3"),
        "no adoption of the three routes in host2's log:\n{log}"
    );
    let mut installed = host2.fib_installed()?;
    installed.sort();
    assert_eq!(
        installed,
        vec![
            (host1.pod_cidr(), "unicast".to_string()),
            (host2.pod_cidr(), "blackhole".to_string()),
            (host3.pod_cidr(), "unicast".to_string()),
        ]
    );
    let status = host2.fib_status()?;
    assert!(
        status["installed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|route| route["stale"] == false),
        "{status:#}"
    );
    for host in hosts {
        let routes = host.bgp_routes()?;
        assert_eq!(routes.len(), 3, "{}: {routes:?}", host.name);
        assert!(
            interop::cluster::kernel::duplicated_prefixes(&routes).is_empty(),
            "{}: {routes:?}",
            host.name
        );
    }
    lab.wait_until("host1 holds nothing stale from host2", || {
        matches!(stale_routes(host1, host2), Ok(0))
    })?;
    assert_all_reach(&hosts, "after the restart");
    phase(started, "podroute on host2 restarted, routes adopted");

    // 4. host3 goes away for good.
    let removed_at = Instant::now();
    host3.node.kill()?;
    lab.wait_until("host3's CIDR withdrawn on host1 and host2", || {
        [host1, host2]
            .iter()
            .all(|host| matches!(host.bgp_routes_for(&host3.pod_cidr()), Ok(routes) if routes.is_empty()))
    })?;
    eprintln!(
        "host3's routes were withdrawn {:.1} s after its container died (restart time {RESTART_TIME} s)",
        removed_at.elapsed().as_secs_f64()
    );
    assert_all_reach(&[host1, host2], "after host3 left");
    phase(started, "host3 removed");
    Ok(())
}
