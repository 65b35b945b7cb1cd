//! podroute as graceful restart helper (issue 7, RFC 4724 §4.2): when FRR
//! or BIRD restarts, podroute keeps the peer's routes, in its RIB and in
//! the kernel, marked stale, forwards by them until the peer's End-of-RIB,
//! then sweeps exactly the ones the peer did not advertise again.
//!
//! Topology: one podroute host (one pod, graceful restart on, restart time
//! 120 s) with two iBGP peers on the fabric, FRR and BIRD, both with
//! graceful restart. Each peer originates two prefixes and holds the first
//! address of each on its loopback, with a static route back to the pod,
//! so a pod on the host can ping into both prefixes.
//!
//! Per peer, in turn:
//! 1. a background `ping -i 0.01` from the pod to the prefix the peer keeps;
//! 2. the peer goes down without a NOTIFICATION: FRR's zebra and bgpd are
//!    killed (SIGKILL; zebra's kernel routes stay, so FRR keeps
//!    forwarding), BIRD is told `graceful restart` (it closes its sessions
//!    and keeps its kernel state);
//! 3. during the gap podroute reports `stale_routes == 2` for the peer and
//!    still routes both prefixes via it; a ping into the prefix that is
//!    about to go still gets an answer;
//! 4. the peer comes back without its second prefix (FRR with
//!    `preserve-fw-state` so it sets the F bit, BIRD with `-R`, recovery);
//! 5. after its End-of-RIB: nothing stale, the kept prefix routed as
//!    before, the dropped one gone from podroute's kernel routes, and the
//!    background ping lost nothing.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use interop::cluster::config::HostConfig;
use interop::cluster::firewall;
use interop::cluster::{ContinuousPing, Host, Pod};
use interop::daemon::{DaemonKind, Router, bird, frr};
use interop::spec::{Family, NeighborSpec, Origination, RouterSpec};
use interop::{Error, Lab, Result};

const RESTART_TIME: u16 = 120;
const ASN: u32 = 64512;
const POD_CIDR: &str = "198.19.1.0/24";
/// How long a peer stays down once podroute noticed.
const DOWN_TIME: Duration = Duration::from_secs(3);

/// A restarting peer: the prefix it keeps and the one it drops.
struct PeerPlan {
    kept: &'static str,
    dropped: &'static str,
}

const FRR_PLAN: PeerPlan = PeerPlan {
    kept: "198.19.201.0/24",
    dropped: "198.19.202.0/24",
};
const BIRD_PLAN: PeerPlan = PeerPlan {
    kept: "198.19.211.0/24",
    dropped: "198.19.212.0/24",
};

/// The first address of a `/24` written `a.b.c.0/24`.
fn first_address(prefix: &str) -> Result<Ipv4Addr> {
    let network: Ipv4Addr = prefix
        .split('/')
        .next()
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| Error::Environment(format!("bad prefix {prefix}")))?;
    let [a, b, c, _] = network.octets();
    Ok(Ipv4Addr::new(a, b, c, 1))
}

fn peer_spec(address: Ipv4Addr, host: Ipv4Addr, prefixes: &[&str]) -> RouterSpec {
    let mut spec = RouterSpec::new(ASN, address, None);
    spec.graceful_restart = true;
    let mut neighbor = NeighborSpec::new(IpAddr::V4(host), ASN);
    neighbor.families = vec![Family::Ipv4Unicast];
    neighbor.hold_time = 9;
    spec.neighbors.push(neighbor);
    spec.originate = prefixes
        .iter()
        .map(|prefix| Origination::prefix(prefix))
        .collect();
    spec
}

/// FRR sets the Forwarding State bit only when told its forwarding
/// survives a restart (`bgp graceful-restart preserve-fw-state`); the
/// neutral rendering does not say it, so it is added here.
fn frr_config(spec: &RouterSpec) -> Result<String> {
    let text = frr::render(spec);
    let marker = " bgp graceful-restart\n";
    if !text.contains(marker) {
        return Err(Error::Environment(format!("no GR line in\n{text}")));
    }
    Ok(text.replacen(
        marker,
        " bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n",
        1,
    ))
}

/// Loopback addresses in the peer's prefixes and a route back to the pods.
fn serve_prefixes(node: &interop::Node, host: Ipv4Addr, plan: &PeerPlan) -> Result<()> {
    for prefix in [plan.kept, plan.dropped] {
        node.add_address("lo", &format!("{}/32", first_address(prefix)?))?;
    }
    node.exec(&["ip", "route", "add", POD_CIDR, "via", &host.to_string()])
        .map(|_| ())
}

fn wait_peer_routes(lab: &Lab, host: &Host, peer: IpAddr, prefixes: &[&str]) -> Result<()> {
    lab.wait_until("the host routes the peer's prefixes via the peer", || {
        prefixes
            .iter()
            .all(|prefix| host.routes_via(prefix, &[peer]))
    })
}

fn ping_once(host: &Host, pod: &Pod, destination: Ipv4Addr) -> bool {
    host.ping(pod, destination, &destination.to_string()).ok
}

/// Restarts BIRD gracefully: `birdc graceful restart` (sessions closed
/// without NOTIFICATION, kernel state kept), then `bird -R` with `config`.
fn restart_bird(
    router: &Router,
    config: &str,
    lab: &Lab,
    down: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let node = &router.node;
    node.exec(&["birdc", "-s", bird::SOCKET, "graceful restart"])?;
    lab.wait_until("BIRD exited", || {
        node.shell(&format!("kill -0 $(cat {}) 2>/dev/null", bird::PID_FILE))
            .is_err()
    })?;
    down()?;
    node.write_file(bird::CONFIG_FILE, config)?;
    node.exec(&["rm", "-f", bird::PID_FILE, bird::SOCKET])?;
    node.spawn(&[
        "bird",
        "-f",
        "-R",
        "-c",
        bird::CONFIG_FILE,
        "-s",
        bird::SOCKET,
        "-P",
        bird::PID_FILE,
    ])?;
    lab.wait_until("BIRD answers again", || router.neighbors().is_ok())
}

/// Steps 1 to 5 of the module documentation for one peer; `restart` takes
/// the peer down, runs `down` while it is, and brings it back without
/// `plan.dropped`.
fn helper_scenario(
    lab: &Lab,
    host: &Host,
    peer: IpAddr,
    plan: &PeerPlan,
    name: &str,
    restart: impl FnOnce(&dyn Fn() -> Result<()>) -> Result<()>,
) -> Result<()> {
    let pod = host
        .pods
        .first()
        .cloned()
        .ok_or_else(|| Error::Environment("no pod".into()))?;
    let before = host.bgp_routes()?;
    let kept_address = first_address(plan.kept)?;
    let dropped_address = first_address(plan.dropped)?;
    assert!(ping_once(host, &pod, kept_address) && ping_once(host, &pod, dropped_address));
    let ping = ContinuousPing::start(&host.node, Some(&pod.name), kept_address, "0.01", name)?;
    let began = Instant::now();
    let stale_seen = std::cell::Cell::new(0_u64);
    restart(&|| {
        lab.wait_until("podroute holds the peer's two routes as stale", || {
            matches!(host.graceful_restart_view(peer), Ok(view)
                if view.state != "Established" && view.stale_routes == 2)
        })?;
        std::thread::sleep(DOWN_TIME);
        let view = host.graceful_restart_view(peer)?;
        stale_seen.set(view.stale_routes);
        assert_eq!(view.stale_routes, 2, "{view:?}");
        assert_eq!(host.bgp_routes()?, before, "routes changed during the gap");
        assert!(
            ping_once(host, &pod, dropped_address),
            "the prefix still held stale does not forward"
        );
        Ok(())
    })?;
    let back = began.elapsed();
    // Polled from here on: a session already Established again while the
    // routes are still stale shows the wait for End-of-RIB itself (seen
    // only when the peer takes longer than one poll to send it).
    let stale_while_established = std::cell::Cell::new(false);
    lab.wait_until_within(
        "the dropped prefix swept, nothing stale",
        Duration::from_secs(u64::from(RESTART_TIME) / 2),
        || {
            let Ok(view) = host.graceful_restart_view(peer) else {
                return false;
            };
            if view.state == "Established" && view.stale_routes > 0 {
                stale_while_established.set(true);
            }
            view.state == "Established"
                && view.stale_routes == 0
                && matches!(host.bgp_routes_for(plan.dropped), Ok(routes) if routes.is_empty())
        },
    )?;
    let swept = began.elapsed();
    let view = host.graceful_restart_view(peer)?;
    std::thread::sleep(Duration::from_millis(500));
    let tally = ping.stop()?;
    eprintln!(
        "    {name}: down, {} stale during the gap, back {:.1} s after going down, swept at {:.1} s; \
         stale seen on the re-established session before End-of-RIB: {}; peer F bit {:?}; ping {tally}",
        stale_seen.get(),
        back.as_secs_f64(),
        swept.as_secs_f64(),
        stale_while_established.get(),
        view.peer_forwarding
    );
    assert!(
        tally.lost() == 0
            && tally.errors == 0
            && tally.unanswered_tail() <= 1
            && tally.received > 0,
        "{name}: {tally}; missing {:?} after replies at {:?}",
        tally.missing,
        tally.gaps_after
    );
    let expected: Vec<_> = before
        .iter()
        .filter(|route| route.prefix != plan.dropped)
        .cloned()
        .collect();
    assert_eq!(host.bgp_routes()?, expected);
    assert!(host.routes_via(plan.kept, &[peer]));
    assert!(
        !ping_once(host, &pod, dropped_address),
        "the dropped prefix still answers"
    );
    Ok(())
}

#[test]
fn podroute_keeps_a_restarting_peers_routes_until_its_end_of_rib() -> Result<()> {
    let started = Instant::now();
    let lab = Lab::new("restart-peer")?;
    let fabric = lab.network("fabric")?;
    let _forwarding = firewall::allow_forwarding(&fabric, lab.prefix())?;
    let host_node = lab.podroute_node("host1", &fabric, 11)?;
    let frr_node = lab.node("frr", &fabric, 2)?;
    let bird_node = lab.node("bird", &fabric, 3)?;
    let pods = Host::create_pods(&host_node, 1, 1)?;

    let frr_spec = peer_spec(
        frr_node.ipv4,
        host_node.ipv4,
        &[FRR_PLAN.kept, FRR_PLAN.dropped],
    );
    serve_prefixes(&frr_node, host_node.ipv4, &FRR_PLAN)?;
    let frr_router = lab.router_with_config(DaemonKind::Frr, &frr_node, &frr_config(&frr_spec)?)?;
    let bird_spec = peer_spec(
        bird_node.ipv4,
        host_node.ipv4,
        &[BIRD_PLAN.kept, BIRD_PLAN.dropped],
    );
    serve_prefixes(&bird_node, host_node.ipv4, &BIRD_PLAN)?;
    let bird_router = lab.router(DaemonKind::Bird, &bird_node, bird_spec.clone())?;

    let config = HostConfig {
        asn: ASN,
        router_id: host_node.ipv4,
        pod_cidrs: vec![POD_CIDR.to_string()],
        anycast: Vec::new(),
        internal_peers: vec![IpAddr::V4(frr_node.ipv4), IpAddr::V4(bird_node.ipv4)],
        top_of_rack: None,
        max_paths: 1,
        graceful_restart: Some(RESTART_TIME),
        hold_time: 9,
    };
    let router = lab.podroute(&host_node, &config.render())?;
    let host = Host {
        name: "host1".into(),
        number: 1,
        node: host_node,
        router,
        pods,
    };
    let frr_address = IpAddr::V4(frr_node.ipv4);
    let bird_address = IpAddr::V4(bird_node.ipv4);
    wait_peer_routes(&lab, &host, frr_address, &[FRR_PLAN.kept, FRR_PLAN.dropped])?;
    wait_peer_routes(
        &lab,
        &host,
        bird_address,
        &[BIRD_PLAN.kept, BIRD_PLAN.dropped],
    )?;
    for peer in [frr_address, bird_address] {
        let view = host.graceful_restart_view(peer)?;
        assert!(view.peer_capable, "{view:?}");
    }
    eprintln!("[{:6.1} s] converged", started.elapsed().as_secs_f64());

    // FRR: killed, back without its second prefix.
    let mut frr_changed = frr_router.clone();
    let mut frr_spec_changed = frr_spec.clone();
    frr_spec_changed
        .originate
        .retain(|origination| origination.prefix != FRR_PLAN.dropped);
    frr_changed.config = frr_config(&frr_spec_changed)?;
    helper_scenario(&lab, &host, frr_address, &FRR_PLAN, "frr", |down| {
        frr_router.kill()?;
        down()?;
        frr_changed.start_again()
    })?;
    eprintln!("[{:6.1} s] FRR restarted", started.elapsed().as_secs_f64());

    // BIRD: graceful restart command, back in recovery without its second prefix.
    let mut bird_spec_changed = bird_spec;
    bird_spec_changed
        .originate
        .retain(|origination| origination.prefix != BIRD_PLAN.dropped);
    let bird_config = bird::render(&bird_spec_changed);
    helper_scenario(&lab, &host, bird_address, &BIRD_PLAN, "bird", |down| {
        restart_bird(&bird_router, &bird_config, &lab, down)
    })?;
    eprintln!("[{:6.1} s] BIRD restarted", started.elapsed().as_secs_f64());
    // FRR's routes were not touched by BIRD's restart.
    assert!(host.routes_via(FRR_PLAN.kept, &[frr_address]));
    Ok(())
}
