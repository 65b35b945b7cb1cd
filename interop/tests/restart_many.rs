//! Several podroute nodes restarting at once (issue 7): three of five hosts
//! restarted within one second are back in a few seconds, not after the
//! restart timer, and no packet is lost meanwhile.
//!
//! Why this is a test at all: a restarting speaker defers its best-path
//! selection until End-of-RIB from its peers (RFC 4724 §4.1). When its
//! peers are restarting too, each may wait for the other, and everyone
//! holds routes back until a timer fires: the failure known from BIRD-based
//! clusters. Here the restart time is 120 s, so a wait for any timer would
//! fail the bound below by far.
//!
//! Topology: five podroute hosts in an iBGP full mesh, one pod each,
//! graceful restart on (restart time 120 s, default selection deferral).
//! host3, host4 and host5 get SIGTERM together and are started again
//! together; pings run from host1 and host2 to them, and between two of the
//! restarted hosts. Convergence means, on every host: every session
//! Established, no stale route kept for any neighbor, its own restart done
//! (adopted routes swept, none stale) and its `proto 201` routes exactly as
//! before. Each host is polled by its own thread, so the measured time is
//! within about one CLI round trip of the truth.
//!
//! Two knobs for diagnosis, both off by default: `GR_LAB_DEFERRAL=N`
//! starts the restarted hosts with `selection_deferral_time = N` (the wait
//! then ends after N seconds if the deferral timer is what ends it), and
//! `GR_LAB_BOUND=N` waits up to N seconds for convergence instead of half
//! the restart time (to measure the default deferral's full 360 s).
//!
//! Pinned as ignored: podroute fails it (see the `ignore` reason).
//! Measured here (2 vCPU, other labs running), five hosts, three restarted
//! within 1.5 s:
//! - default `selection_deferral_time` (360 s), `GR_LAB_BOUND=420`: every
//!   host converged 359.8 s after the last start, exactly when the three
//!   deferral timers fired; 13 consecutive packets (0.26 s) from host3's pod
//!   to host4's pod were lost when host3's timer swept its adopted routes
//!   to host4's and host5's pod CIDRs, 0.37 s before host4 advertised again;
//! - `GR_LAB_DEFERRAL=20`: converged 20.1 s after the last start; one
//!   packet lost the same way (host4 swept host3's CIDR 67 ms before host3
//!   advertised it).

use std::time::{Duration, Instant};

use interop::cluster::{
    Cluster, ClusterSpec, ContinuousPing, Host, HostSpec, KernelRoute, Peering,
};
use interop::{Error, Lab, Result};

const RESTART_TIME: u16 = 120;
const RESTARTED: [&str; 3] = ["host3", "host4", "host5"];

fn spec() -> ClusterSpec {
    let hosts = (1..=5)
        .map(|number| HostSpec::podroute(&format!("host{number}"), 1))
        .collect();
    let mut spec = ClusterSpec::new(Peering::FullMesh, hosts);
    spec.graceful_restart = Some(RESTART_TIME);
    spec
}

/// Whether `host` is back to normal: see the module documentation.
fn host_converged(host: &Host, neighbors: usize, before: &[KernelRoute]) -> bool {
    let Ok(views) = host.graceful_restart_views() else {
        return false;
    };
    views.len() == neighbors
        && views
            .iter()
            .all(|view| view.state == "Established" && view.stale_routes == 0)
        && matches!(host.restart_complete(), Ok(true))
        && matches!(host.bgp_routes(), Ok(routes) if routes == before)
}

/// Polls every host in its own thread until it converged; returns, per
/// host, how long after `since` it first was. Fails after `bound`.
fn wait_each_converged(
    hosts: &[&Host],
    before: &[Vec<KernelRoute>],
    since: Instant,
    bound: Duration,
) -> Result<Vec<Duration>> {
    let neighbors = hosts.len().saturating_sub(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = hosts
            .iter()
            .zip(before)
            .map(|(host, before)| {
                scope.spawn(move || {
                    loop {
                        if host_converged(host, neighbors, before) {
                            return Ok(since.elapsed());
                        }
                        if since.elapsed() > bound {
                            return Err(Error::Environment(format!(
                                "{} did not converge within {} s: {:?}",
                                host.name,
                                bound.as_secs(),
                                host.graceful_restart_views()
                            )));
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(Error::Environment("poller panicked".into())))
            })
            .collect()
    })
}

/// Runs `action` on each host at the same time; returns when it last
/// finished, relative to `since`.
fn on_each(hosts: &[&Host], since: Instant, action: fn(&Host) -> Result<()>) -> Result<Duration> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|host| scope.spawn(move || action(host)))
            .collect();
        for handle in handles {
            handle
                .join()
                .unwrap_or_else(|_| Err(Error::Environment("worker panicked".into())))?;
        }
        Ok(since.elapsed())
    })
}

#[test]
fn three_of_five_restarted_at_once_converge_in_seconds() -> Result<()> {
    let started = Instant::now();
    let lab = Lab::new("restart-many")?;
    let cluster = Cluster::start(&lab, &spec())?;
    let hosts: Vec<&Host> = cluster.hosts.iter().collect();
    cluster.wait_converged(&lab)?;
    lab.wait_until("every host done with its cold start", || {
        hosts
            .iter()
            .all(|host| matches!(host.restart_complete(), Ok(true)))
    })?;
    let before: Vec<Vec<KernelRoute>> = hosts
        .iter()
        .map(|host| host.bgp_routes())
        .collect::<Result<_>>()?;
    for (host, routes) in hosts.iter().zip(&before) {
        assert_eq!(routes.len(), 5, "{}: {routes:?}", host.name);
    }
    eprintln!(
        "[{:6.1} s] five hosts converged",
        started.elapsed().as_secs_f64()
    );

    let restarted: Vec<&Host> = RESTARTED
        .iter()
        .map(|name| cluster.host(name))
        .collect::<Result<_>>()?;
    let pod_of = |name: &str| -> Result<(Host, String, std::net::Ipv4Addr)> {
        let host = cluster.host(name)?;
        let pod = host
            .pods
            .first()
            .ok_or_else(|| Error::Environment(format!("{name} has no pod")))?;
        Ok((host.clone(), pod.name.clone(), pod.address))
    };
    let mut pings = Vec::new();
    for (from, to, name) in [
        ("host1", "host3", "to-host3"),
        ("host1", "host4", "to-host4"),
        ("host2", "host5", "to-host5"),
        ("host3", "host4", "to-host4"),
    ] {
        let (source, pod, _) = pod_of(from)?;
        let (_, _, destination) = pod_of(to)?;
        pings.push(ContinuousPing::start(
            &source.node,
            Some(&pod),
            destination,
            "0.02",
            name,
        )?);
    }

    let restart_began = Instant::now();
    let stopped = on_each(&restarted, restart_began, |host| host.router.stop())?;
    let started_again = on_each(&restarted, restart_began, |host| {
        let mut router = host.router.clone();
        if let Ok(deferral) = std::env::var("GR_LAB_DEFERRAL") {
            router.config = router.config.replace(
                "restart_time = 120\n",
                &format!("restart_time = 120\nselection_deferral_time = {deferral}\n"),
            );
        }
        router.start_again()
    })?;
    assert!(
        started_again < Duration::from_secs(u64::from(RESTART_TIME) / 4),
        "the restarts themselves took {started_again:?}"
    );
    // Converged well before the restart timer (120 s) or the selection
    // deferral (360 s) could have fired: half the restart time bounds it.
    let bound = std::env::var("GR_LAB_BOUND")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(u64::from(RESTART_TIME) / 2);
    let converged =
        match wait_each_converged(&hosts, &before, restart_began, Duration::from_secs(bound)) {
            Ok(times) => times,
            // Panic, so the lab prints every daemon's state and log.
            Err(error) => panic!(
                "not converged {:.1} s after the restarts: {error}",
                restart_began.elapsed().as_secs_f64()
            ),
        };
    let slowest = converged.iter().max().copied().unwrap_or_default();
    for (host, time) in hosts.iter().zip(&converged) {
        eprintln!(
            "    {} converged {:.2} s after the restarts began",
            host.name,
            time.as_secs_f64()
        );
    }
    eprintln!(
        "MEASURED: 5 podroute hosts (full mesh), 3 restarted (SIGTERM all {:.2} s, all started again {:.2} s after the first SIGTERM): \
         every host converged {:.2} s after the first SIGTERM, {:.2} s after the last start (restart time {RESTART_TIME} s)",
        stopped.as_secs_f64(),
        started_again.as_secs_f64(),
        slowest.as_secs_f64(),
        slowest.saturating_sub(started_again).as_secs_f64()
    );

    std::thread::sleep(Duration::from_millis(500));
    let mut failures = Vec::new();
    for ping in &pings {
        let tally = ping.stop()?;
        eprintln!("    {:<34} {tally}", ping.label);
        if tally.lost() > 0
            || tally.errors > 0
            || tally.unanswered_tail() > 1
            || tally.received == 0
        {
            failures.push(format!(
                "{}: {tally}; missing {:?} after replies at {:?}",
                ping.label, tally.missing, tally.gaps_after
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "packets lost:\n{}",
        failures.join("\n")
    );
    for host in &restarted {
        let log = host.router.log();
        assert!(
            log.contains("restarting gracefully"),
            "{} did not restart gracefully:\n{log}",
            host.name
        );
    }
    eprintln!(
        "[{:6.1} s] three restarted hosts converged, zero loss",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
