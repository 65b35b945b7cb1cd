//! Graceful restart evidence (issue 7): podroute restarted on one host,
//! cleanly (SIGTERM) and by a crash (SIGKILL), loses no packet, and an
//! administrative shutdown withdraws at once.
//!
//! Topology, one per test: three podroute hosts in an iBGP full mesh with
//! graceful restart on (restart time 120 s, so anything that waits for the
//! timer is obvious), each also an eBGP neighbor of a top-of-rack router
//! with graceful restart on: FRR in one test, BIRD in the other. host2
//! originates its pod CIDR, one extra prefix, and (added by `podroute
//! reload` once up) an extra block with a blackhole in its own kernel.
//!
//! Traffic during each restart, `ping -i 0.01` in the background:
//! host1/pod1 -> host2/pod1 and host3/pod1 -> host2/pod2 (the podroute
//! peers are the helpers), the top of rack itself -> host2/pod1 (FRR or
//! BIRD is the helper), and host2/pod1 -> host1/pod1 (host2's own kernel
//! routes must survive its daemon).
//!
//! Phases:
//! 1. SIGTERM to podroute on host2, then start it again: zero packets lost;
//!    every host's `ip route show proto 201` and the top of rack's BGP
//!    routes end exactly as before;
//! 2. SIGKILL to podroute on host2; it is started again with the extra
//!    prefix and block removed from its config: zero packets lost; both
//!    disappear everywhere (the block's blackhole from host2's own kernel
//!    too: adopted at start, not originated again, swept) and every other
//!    route is as before;
//! 3. (FRR test) host1 shuts the session with host2 down: it goes out as
//!    Cease / Hard Reset (RFC 8538), and both drop each other's routes at
//!    once, nothing kept stale;
//! 4. host3 shuts its session with the top of rack down: FRR or BIRD drops
//!    host3's routes at once and keeps the others.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use interop::cluster::kernel::{KernelRoute, parse_routes};
use interop::cluster::{Cluster, ClusterSpec, ContinuousPing, Host, HostSpec, Peering};
use interop::daemon::{DaemonKind, Router};
use interop::{Lab, Result};

const RESTART_TIME: u16 = 120;
/// How long podroute stays down on host2 once its peers noticed.
const DOWN_TIME: Duration = Duration::from_secs(3);
/// Originated by host2 next to its pod CIDR; removed before phase 2's start.
const EXTRA_PREFIX: &str = "198.19.200.0/24";
/// A second block of host2's, with a blackhole in host2's own kernel; added
/// by `podroute reload` once the cluster is up, removed before phase 2.
const EXTRA_BLOCK: &str = "198.19.201.0/24";

fn spec(top_of_rack: DaemonKind) -> ClusterSpec {
    let mut host2 = HostSpec::podroute("host2", 2);
    host2.anycast = vec![EXTRA_PREFIX.to_string()];
    let mut spec = ClusterSpec::new(
        Peering::FullMesh,
        vec![
            HostSpec::podroute("host1", 1),
            host2,
            HostSpec::podroute("host3", 1),
        ],
    );
    spec.graceful_restart = Some(RESTART_TIME);
    spec.top_of_rack = true;
    spec.top_of_rack_daemon = top_of_rack;
    spec.top_of_rack_graceful_restart = true;
    spec
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

fn phase(started: Instant, kind: &str, name: &str) {
    eprintln!("[{:6.1} s] {kind}: {name}", started.elapsed().as_secs_f64());
}

/// The routes the top of rack's daemon put into its kernel.
fn tor_routes(tor: &Router) -> Result<Vec<KernelRoute>> {
    let protocol = match tor.kind {
        DaemonKind::Bird => "bird",
        _ => "bgp",
    };
    Ok(parse_routes(
        &tor.node
            .exec(&["ip", "-4", "route", "show", "proto", protocol])?,
    ))
}

/// Every host's podroute routes and the top of rack's, by member name.
fn fib_snapshot(cluster: &Cluster, tor: &Router) -> Result<Vec<(String, Vec<KernelRoute>)>> {
    let mut snapshot = Vec::new();
    for host in &cluster.hosts {
        snapshot.push((host.name.clone(), host.bgp_routes()?));
    }
    snapshot.push(("tor".to_string(), tor_routes(tor)?));
    Ok(snapshot)
}

fn without_prefix(
    snapshot: &[(String, Vec<KernelRoute>)],
    prefix: &str,
) -> Vec<(String, Vec<KernelRoute>)> {
    snapshot
        .iter()
        .map(|(name, routes)| {
            let kept = routes
                .iter()
                .filter(|route| route.prefix != prefix)
                .cloned()
                .collect();
            (name.clone(), kept)
        })
        .collect()
}

/// The four background pings of the module documentation.
fn start_traffic(cluster: &Cluster, tor: &Router, round: &str) -> Result<Vec<ContinuousPing>> {
    let host1 = cluster.host("host1")?;
    let host2 = cluster.host("host2")?;
    let host3 = cluster.host("host3")?;
    let pod = |host: &Host, index: usize| host.pods.get(index).cloned();
    let (Some(h1p1), Some(h2p1), Some(h2p2), Some(h3p1)) =
        (pod(host1, 0), pod(host2, 0), pod(host2, 1), pod(host3, 0))
    else {
        return Err(interop::Error::Environment("pods missing".into()));
    };
    Ok(vec![
        ContinuousPing::start(&host1.node, Some(&h1p1.name), h2p1.address, "0.01", round)?,
        ContinuousPing::start(&host3.node, Some(&h3p1.name), h2p2.address, "0.01", round)?,
        ContinuousPing::start(&tor.node, None, h2p1.address, "0.01", round)?,
        ContinuousPing::start(&host2.node, Some(&h2p1.name), h1p1.address, "0.01", round)?,
    ])
}

/// Stops every ping and asserts that none lost a packet.
fn assert_no_loss(pings: &[ContinuousPing], when: &str) -> Result<()> {
    let mut failures = Vec::new();
    for ping in pings {
        let tally = ping.stop()?;
        eprintln!("    {when}: {:<34} {tally}", ping.label);
        if tally.lost() > 0
            || tally.errors > 0
            || tally.unanswered_tail() > 1
            || tally.received == 0
        {
            failures.push(format!(
                "{}: {tally}; missing sequence numbers {:?}, after replies at {:?}",
                ping.label, tally.missing, tally.gaps_after
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{when}: packets lost:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// Waits until the cluster is back to normal after host2's restart: every
/// session up, nothing stale on any host, host2's own restart finished,
/// and every host and the top of rack routing every pod CIDR via its owner.
fn wait_recovered(lab: &Lab, cluster: &Cluster, tor: &Router) -> Result<()> {
    cluster.wait_converged(lab)?;
    let host2 = cluster.host("host2")?;
    lab.wait_until("host2 finished its restart (swept, nothing stale)", || {
        matches!(host2.restart_complete(), Ok(true))
    })?;
    lab.wait_until("no host keeps stale routes", || {
        cluster
            .hosts
            .iter()
            .all(|host| matches!(host.stale_routes_total(), Ok(0)))
    })?;
    lab.wait_until("the top of rack routes every pod CIDR via its host", || {
        let Ok(routes) = tor_routes(tor) else {
            return false;
        };
        cluster.hosts.iter().all(|host| {
            routes
                .iter()
                .any(|route| route.prefix == host.pod_cidr() && route.gateways == [host.address()])
        })
    })
}

fn wait_stale_at_peers(lab: &Lab, cluster: &Cluster, restarting: IpAddr) -> Result<()> {
    lab.wait_until("host1 and host3 hold host2's routes as stale", || {
        ["host1", "host3"].iter().all(|name| {
            cluster.host(name).is_ok_and(
                |host| matches!(host.stale_routes_from(restarting), Ok(count) if count >= 2),
            )
        })
    })
}

/// Every member still forwards to host2's pods while its podroute is down.
fn assert_routes_kept(
    cluster: &Cluster,
    tor: &Router,
    before: &[(String, Vec<KernelRoute>)],
) -> Result<()> {
    let during = fib_snapshot(cluster, tor)?;
    assert_eq!(
        during, before,
        "the FIBs changed while podroute on host2 was down"
    );
    Ok(())
}

fn restart_with_helper(top_of_rack: DaemonKind) -> Result<()> {
    let started = Instant::now();
    let kind = top_of_rack.name();
    let name = format!("restart-graceful-{kind}");
    let lab = Lab::new(&name)?;
    let cluster = Cluster::start(&lab, &spec(top_of_rack))?;
    let tor = cluster
        .top_of_rack
        .clone()
        .ok_or_else(|| interop::Error::Environment("no top of rack".into()))?;
    let host2 = cluster.host("host2")?;
    wait_recovered(&lab, &cluster, &tor)?;
    // host2's daemon as restarted below: its config gains the extra block.
    let mut host2_router = host2.router.clone();
    let block = format!("\n[[originate]]\nprefix = \"{EXTRA_BLOCK}\"\nblackhole = true\n");
    let with_block = format!("{}{block}", host2_router.config);
    host2_router.podroute_reload(&with_block)?;
    lab.wait_until("every member routes host2's extra prefix and block", || {
        cluster
            .hosts
            .iter()
            .filter(|host| host.name != "host2")
            .all(|host| {
                host.routes_via(EXTRA_PREFIX, &[host2.address()])
                    && host.routes_via(EXTRA_BLOCK, &[host2.address()])
            })
            && matches!(host2.bgp_routes_for(EXTRA_BLOCK), Ok(routes)
                if routes.len() == 1 && routes.iter().all(|route| route.kind == "blackhole"))
    })?;
    let before = fib_snapshot(&cluster, &tor)?;
    for (member, routes) in &before {
        eprintln!("    {kind}: {member}: {} routes before", routes.len());
    }
    assert!(
        before
            .iter()
            .any(|(member, routes)| member == "tor" && routes.len() >= 4),
        "{before:?}"
    );
    phase(started, kind, "converged");

    // 1. SIGTERM, then start again.
    let host1 = cluster.host("host1")?;
    let notifications_before = notifications_received(host1, host2.address())?;
    let pings = start_traffic(&cluster, &tor, "term")?;
    let gap_started = Instant::now();
    eprintln!("    {kind}: SIGTERM at {:.3}", unix_now());
    host2_router.stop()?;
    wait_stale_at_peers(&lab, &cluster, host2.address())?;
    // Stay down a while: traffic must flow with no podroute on host2.
    std::thread::sleep(DOWN_TIME);
    assert_routes_kept(&cluster, &tor, &before)?;
    let view = host1.graceful_restart_view(host2.address())?;
    assert_ne!(view.state, "Established", "{view:?}");
    // Closed without a NOTIFICATION, which would have meant "drop my routes".
    assert_eq!(
        notifications_received(host1, host2.address())?,
        notifications_before,
        "host2 sent a NOTIFICATION on SIGTERM"
    );
    let log = host2.router.log();
    assert!(
        log.contains("kernel routes kept for graceful restart"),
        "host2 did not keep its kernel routes on SIGTERM:\n{log}"
    );
    host2_router.start_again()?;
    let gap = gap_started.elapsed();
    wait_recovered(&lab, &cluster, &tor)?;
    let recovered = gap_started.elapsed();
    let view = host1.graceful_restart_view(host2.address())?;
    assert!(
        view.peer_restarting && view.peer_forwarding == ["ipv4-unicast"],
        "host2 came back without the R and F bits: {view:?}"
    );
    // A little traffic after recovery: a loss at the very end would show.
    std::thread::sleep(Duration::from_millis(500));
    assert_no_loss(&pings, &format!("{kind}: SIGTERM restart"))?;
    let log = host2.router.log();
    assert!(
        log.contains("adopted="),
        "host2's log does not mention adopted routes:\n{log}"
    );
    assert_eq!(fib_snapshot(&cluster, &tor)?, before);
    eprintln!(
        "    {kind}: SIGTERM restart: podroute down {:.1} s, recovered {:.1} s after the stop",
        gap.as_secs_f64(),
        recovered.as_secs_f64()
    );
    phase(
        started,
        kind,
        "SIGTERM restart: zero loss, every FIB as before",
    );

    // 2. SIGKILL; start again without the extra prefix.
    let pings = start_traffic(&cluster, &tor, "kill")?;
    let gap_started = Instant::now();
    eprintln!("    {kind}: SIGKILL at {:.3}", unix_now());
    host2_router.kill()?;

    wait_stale_at_peers(&lab, &cluster, host2.address())?;
    // Stay down a while: traffic must flow with no podroute on host2.
    std::thread::sleep(DOWN_TIME);
    assert_routes_kept(&cluster, &tor, &before)?;
    let extra = format!("\n[[originate]]\nprefix = \"{EXTRA_PREFIX}\"\n");
    assert!(host2_router.config.contains(&extra) && host2_router.config.contains(&block));
    host2_router.config = host2_router
        .config
        .replace(&extra, "\n")
        .replace(&block, "\n");
    host2_router.start_again()?;
    let gap = gap_started.elapsed();
    wait_recovered(&lab, &cluster, &tor)?;
    let expected = without_prefix(&without_prefix(&before, EXTRA_PREFIX), EXTRA_BLOCK);
    lab.wait_until(
        "the extra prefix and block withdrawn everywhere",
        || matches!(fib_snapshot(&cluster, &tor), Ok(now) if now == expected),
    )?;
    let recovered = gap_started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    assert_no_loss(&pings, &format!("{kind}: SIGKILL restart"))?;
    assert_eq!(fib_snapshot(&cluster, &tor)?, expected);
    eprintln!(
        "    {kind}: SIGKILL restart: podroute down {:.1} s, recovered (extra prefix and block gone) {:.1} s after the kill",
        gap.as_secs_f64(),
        recovered.as_secs_f64()
    );
    phase(
        started,
        kind,
        "SIGKILL restart: zero loss, the removed prefixes gone everywhere, the rest as before",
    );

    // 3. An administrative shutdown is not a restart (RFC 8538 Hard Reset).
    if top_of_rack == DaemonKind::Frr {
        let shut = Instant::now();
        host1
            .router
            .shutdown_neighbor(host2.address(), "maintenance")?;
        lab.wait_until_within(
            "host1 and host2 dropped each other's routes",
            Duration::from_secs(u64::from(RESTART_TIME / 4)),
            || {
                matches!(host2.bgp_routes_for(&host1.pod_cidr()), Ok(routes) if routes.is_empty())
                    && matches!(host1.bgp_routes_for(&host2.pod_cidr()), Ok(routes) if routes.is_empty())
            },
        )?;
        let withdrawn = shut.elapsed();
        assert_eq!(host2.stale_routes_from(host1.address())?, 0);
        assert_eq!(host1.stale_routes_from(host2.address())?, 0);
        let view = host2.graceful_restart_view(host1.address())?;
        assert!(
            view.last_error
                .as_deref()
                .is_some_and(|error| error.contains("Hard Reset") && error.contains("maintenance")),
            "{view:?}"
        );
        // The other sessions are untouched: host3 still routes both.
        assert!(host3_routes_both(&cluster)?);
        host1.router.enable_neighbor(host2.address())?;
        cluster.wait_converged(&lab)?;
        eprintln!(
            "    {kind}: administrative shutdown: routes withdrawn on both sides {:.2} s after the command (restart time {RESTART_TIME} s)",
            withdrawn.as_secs_f64()
        );
        phase(started, kind, "administrative shutdown withdrew at once");
    }

    // 4. host3 shuts its session with the top of rack down: FRR or BIRD
    //    drops host3's routes at once, not after a restart time.
    let host3 = cluster.host("host3")?;
    let tor_address = IpAddr::V4(tor.node.ipv4);
    let notification = host3.graceful_restart_view(tor_address)?.notification;
    let shut = Instant::now();
    host3.router.shutdown_neighbor(tor_address, "maintenance")?;
    lab.wait_until_within(
        "the top of rack dropped host3's routes",
        Duration::from_secs(u64::from(RESTART_TIME) / 4),
        || {
            matches!(tor_routes(&tor), Ok(routes)
                if routes.iter().all(|route| route.prefix != host3.pod_cidr()))
        },
    )?;
    let withdrawn = shut.elapsed();
    let view = host3.graceful_restart_view(tor_address)?;
    eprintln!(
        "    {kind}: host3 shut its top-of-rack session down (N bit negotiated: {notification}; {:?}): \
         the top of rack dropped host3's routes {:.2} s after the command",
        view.last_error,
        withdrawn.as_secs_f64()
    );
    // host1's and host2's routes stay on the top of rack.
    let routes = tor_routes(&tor)?;
    for name in ["host1", "host2"] {
        let host = cluster.host(name)?;
        assert!(
            routes
                .iter()
                .any(|route| route.prefix == host.pod_cidr() && route.gateways == [host.address()]),
            "{routes:?}"
        );
    }
    phase(
        started,
        kind,
        "top of rack withdrew at once after a shutdown",
    );
    Ok(())
}

/// NOTIFICATIONs `host` received from the neighbor `address`, all sessions.
fn notifications_received(host: &Host, address: IpAddr) -> Result<u64> {
    let neighbors = host.podroute_json(&["neighbors"])?;
    let wanted = address.to_string();
    neighbors
        .as_array()
        .into_iter()
        .flatten()
        .find(|neighbor| {
            neighbor.get("address").and_then(|value| value.as_str()) == Some(wanted.as_str())
        })
        .and_then(|neighbor| neighbor.get("messages_received_by_type"))
        .and_then(|counts| counts.get("notification"))
        .and_then(|count| count.as_u64())
        .ok_or_else(|| interop::Error::Environment(format!("no counters for {address}")))
}

fn host3_routes_both(cluster: &Cluster) -> Result<bool> {
    let host1 = cluster.host("host1")?;
    let host2 = cluster.host("host2")?;
    let host3 = cluster.host("host3")?;
    Ok(host3.routes_via(&host1.pod_cidr(), &[host1.address()])
        && host3.routes_via(&host2.pod_cidr(), &[host2.address()]))
}

#[test]
fn restarts_lose_no_packet_with_frr_as_top_of_rack() -> Result<()> {
    restart_with_helper(DaemonKind::Frr)
}

#[test]
fn restarts_lose_no_packet_with_bird_as_top_of_rack() -> Result<()> {
    restart_with_helper(DaemonKind::Bird)
}
