//! A neighbor's failure at daemon level, with and without kernel nexthop
//! objects: from the moment a peer's podroute dies to the moment the
//! receiving podroute's kernel forwards every prefix through the survivor.
//!
//! A measurement, not a test (run as root). Three network namespaces,
//! created here and deleted at the end of each run:
//!
//! ```text
//!  nhf-a  podroute A 198.18.1.2 ──veth── 198.18.1.1 ┐
//!                                                    nhf-dut  podroute DUT, max_paths = 2,
//!  nhf-b  podroute B 198.18.2.2 ──veth── 198.18.2.1 ┘          [fib] nexthop_objects = MODE
//! ```
//!
//! A and B (`[fib] enabled = false`) both originate the same N IPv4 /32s
//! (100.64.0.0/10: table entries only, no packet is ever sent) to the DUT
//! over iBGP, so the DUT installs N ECMP routes via 198.18.1.2 and
//! 198.18.2.2. Once every route has both next hops, the driver (running
//! inside the DUT's namespace) subscribes to route events and SIGKILLs A:
//! A's socket closes, the DUT's session goes down without graceful restart,
//! and the DUT withdraws A's paths. Timed from the kill:
//!
//! - *converged*: the last of the N routes is reported through 198.18.2.2
//!   only (a route event per route: per-route replaces without objects;
//!   with objects the kernel's own notifications of the routes that
//!   followed the replaced group, `nexthop_compat_mode = 1`, so this is an
//!   upper bound of the moment the group switched);
//! - *first*: the first such report. With objects every route follows the
//!   group at once, so this is when all of them switched; the later
//!   reports are the kernel telling about it (and may overflow the socket,
//!   in which case *converged* is unknown).
//!
//! Afterwards a dump checks that no route of ours still uses 198.18.1.2,
//! and the DUT's counters (`podroute fib --json`) say how it got there:
//! route installs and gateway failovers during the failure.
//! Usage: `daemon_failover PODROUTE [ROUTES] [RUNS]`, default 100000 and 3;
//! PODROUTE is the daemon binary (a release build for figures).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fib::{Notification, RouteEventKind, RouteMonitor};
use ipnetwork::IpNetwork;

const INSIDE: &str = "PODROUTE_DAEMON_FAILOVER_INSIDE";
const FAILED: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const SURVIVOR: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
const NAMESPACES: [&str; 3] = ["nhf-dut", "nhf-a", "nhf-b"];

fn run(program: &str, arguments: &[&str]) {
    let status = Command::new(program).args(arguments).status().unwrap();
    assert!(status.success(), "{program} {arguments:?} failed");
}

fn output(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program).args(arguments).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn prefix(index: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + index)
}

fn create_namespaces() {
    delete_namespaces();
    for namespace in NAMESPACES {
        run("ip", &["netns", "add", namespace]);
        run("ip", &["-n", namespace, "link", "set", "lo", "up"]);
    }
    for (peer, dut_address, peer_address) in [
        ("a", "198.18.1.1/24", "198.18.1.2/24"),
        ("b", "198.18.2.1/24", "198.18.2.2/24"),
    ] {
        let inside = format!("dut-{peer}");
        let outside = format!("{peer}-dut");
        let namespace = format!("nhf-{peer}");
        run(
            "ip",
            &[
                "-n", "nhf-dut", "link", "add", &inside, "type", "veth", "peer", "name", &outside,
                "netns", &namespace,
            ],
        );
        run(
            "ip",
            &["-n", "nhf-dut", "addr", "add", dut_address, "dev", &inside],
        );
        run("ip", &["-n", "nhf-dut", "link", "set", &inside, "up"]);
        run(
            "ip",
            &[
                "-n",
                &namespace,
                "addr",
                "add",
                peer_address,
                "dev",
                &outside,
            ],
        );
        run("ip", &["-n", &namespace, "link", "set", &outside, "up"]);
    }
}

fn delete_namespaces() {
    for namespace in NAMESPACES {
        let _ = Command::new("ip")
            .args(["netns", "del", namespace])
            .stderr(Stdio::null())
            .status();
    }
}

fn peer_config(
    directory: &Path,
    name: &str,
    address: Ipv4Addr,
    dut: Ipv4Addr,
    routes: u32,
) -> String {
    let mut text = format!(
        "[router]\nasn = 64512\nrouter_id = \"{address}\"\n\n[fib]\nenabled = false\n\n\
         [api]\nsocket = \"{}/{name}.sock\"\nmetrics = \"\"\n\n\
         [[neighbor]]\naddress = \"{dut}\"\nasn = 64512\nconnect_retry = 1\n",
        directory.display()
    );
    for index in 0..routes {
        let _ = write!(text, "\n[[originate]]\nprefix = \"{}/32\"\n", prefix(index));
    }
    text
}

fn dut_config(directory: &Path, objects: bool) -> String {
    format!(
        "[router]\nasn = 64512\nrouter_id = \"198.18.1.1\"\nmax_paths = 2\n\n\
         [fib]\nnexthop_objects = {objects}\n\n\
         [api]\nsocket = \"{}/dut.sock\"\nmetrics = \"\"\n\n\
         [[neighbor]]\naddress = \"{FAILED}\"\nasn = 64512\npassive = true\n\n\
         [[neighbor]]\naddress = \"{SURVIVOR}\"\nasn = 64512\npassive = true\n",
        directory.display()
    )
}

/// A daemon started here, killed (by its own pid) when dropped, so a failed
/// run leaves no process behind.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(podroute: &str, namespace: Option<&str>, config: &Path, log: &Path) -> Daemon {
    let log = std::fs::File::create(log).unwrap();
    let mut command = match namespace {
        Some(namespace) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", namespace, podroute]);
            command
        }
        None => Command::new(podroute),
    };
    Daemon(
        command
            .args(["daemon", "--config"])
            .arg(config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Routes of ours (protocol 201) with both next hops / through the failed one.
fn counts() -> (usize, usize) {
    let shown = output("ip", &["-4", "route", "show", "proto", "201"]);
    let both = shown.matches(&format!("nexthop via {SURVIVOR} ")).count();
    let failed = shown.matches(&format!("via {FAILED} ")).count();
    (both, failed)
}

struct Figures {
    first: Duration,
    /// `None` when route events were lost (the kernel's burst of reports
    /// overflowed the socket) and the last report cannot be known.
    converged: Option<Duration>,
    /// Route installs and gateway failovers the DUT counted for the
    /// failure (`podroute fib --json`, after minus before).
    installs: u64,
    failovers: u64,
}

/// The DUT's `(installs, gateway_failovers)` counters.
fn dut_counters(podroute: &str, directory: &Path) -> (u64, u64) {
    let socket = directory.join("dut.sock");
    let text = output(
        podroute,
        &["--socket", socket.to_str().unwrap(), "fib", "--json"],
    );
    let status: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        status["counters"]["installs"].as_u64().unwrap(),
        status["counters"]["gateway_failovers"].as_u64().unwrap(),
    )
}

/// One run inside the DUT's namespace.
fn inside(podroute: &str, routes: u32, objects: bool) -> Figures {
    let directory = PathBuf::from(format!(
        "/tmp/podroute-daemon-failover-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    let dut_file = directory.join("dut.toml");
    std::fs::write(&dut_file, dut_config(&directory, objects)).unwrap();
    let mut peers = Vec::new();
    for (name, address) in [("a", FAILED), ("b", SURVIVOR)] {
        let file = directory.join(format!("{name}.toml"));
        let dut = if name == "a" {
            Ipv4Addr::new(198, 18, 1, 1)
        } else {
            Ipv4Addr::new(198, 18, 2, 1)
        };
        std::fs::write(&file, peer_config(&directory, name, address, dut, routes)).unwrap();
        peers.push(file);
    }
    let dut = start(podroute, None, &dut_file, &directory.join("dut.log"));
    let mut a = start(podroute, Some("nhf-a"), &peers[0], &directory.join("a.log"));
    let b = start(podroute, Some("nhf-b"), &peers[1], &directory.join("b.log"));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (both, _) = counts();
        if both == routes as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged: {both} of {routes} routes with both next hops"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Let the last route events of the install pass.
    std::thread::sleep(Duration::from_secs(2));
    let before = dut_counters(podroute, &directory);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (first, converged) = runtime.block_on(async {
        let mut monitor = RouteMonitor::open_with_receive_buffer(256 << 20).unwrap();
        let mut pending: BTreeSet<IpNetwork> = (0..routes)
            .map(|index| IpNetwork::new(IpAddr::V4(prefix(index)), 32).unwrap())
            .collect();
        let started = Instant::now();
        // SIGKILL: A's socket closes at once; no NOTIFICATION, no graceful restart.
        a.0.kill().unwrap();
        let mut first = None;
        let mut lost_events = false;
        while !pending.is_empty() {
            // Once reports were lost the rest may never come: a quiet
            // second ends the wait (the table is checked afterwards).
            let quiet = if lost_events { 1 } else { 60 };
            let Ok(next) = tokio::time::timeout(Duration::from_secs(quiet), monitor.next()).await
            else {
                assert!(lost_events, "no route event for 60 s");
                break;
            };
            let event = match next.expect("monitor ended") {
                Notification::Route(event) => event,
                Notification::EventsLost => {
                    lost_events = true;
                    continue;
                }
            };
            if event.route.protocol != 201 || event.kind == RouteEventKind::Deleted {
                continue;
            }
            let only_survivor = !event.route.next_hops.is_empty()
                && event
                    .route
                    .next_hops
                    .iter()
                    .all(|hop| hop.gateway == Some(IpAddr::V4(SURVIVOR)));
            if only_survivor && pending.remove(&event.route.prefix) {
                first.get_or_insert_with(|| started.elapsed());
            }
        }
        let converged = (!lost_events).then(|| started.elapsed());
        (first.unwrap_or_default(), converged)
    });
    // Settle, then check the whole table.
    std::thread::sleep(Duration::from_secs(2));
    let (_, failed) = counts();
    assert_eq!(failed, 0, "routes still via {FAILED}");
    let shown = output("ip", &["-4", "route", "show", "proto", "201"]);
    assert_eq!(
        shown.matches(&format!("via {SURVIVOR}")).count(),
        routes as usize
    );
    let after = dut_counters(podroute, &directory);
    let figures = Figures {
        first,
        converged,
        installs: after.0 - before.0,
        failovers: after.1 - before.1,
    };
    drop((dut, a, b));
    let _ = std::fs::remove_dir_all(&directory);
    figures
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let podroute = arguments
        .get(1)
        .expect("usage: daemon_failover PODROUTE [ROUTES] [RUNS]");
    let routes: u32 = arguments
        .get(2)
        .map_or(100_000, |text| text.parse().unwrap());
    if let Ok(mode) = std::env::var(INSIDE) {
        let figures = inside(podroute, routes, mode == "objects");
        println!(
            "{} {} {} {}",
            figures.first.as_micros(),
            figures.converged.map_or_else(
                || "-".to_string(),
                |converged| converged.as_micros().to_string()
            ),
            figures.installs,
            figures.failovers
        );
        return;
    }
    let runs: usize = arguments.get(3).map_or(3, |text| text.parse().unwrap());
    let myself = std::env::current_exe().unwrap();
    let mut table = String::new();
    for mode in ["plain", "objects"] {
        let mut firsts = Vec::new();
        let mut converged = Vec::new();
        for run_number in 1..=runs {
            create_namespaces();
            let result = Command::new("ip")
                .args(["netns", "exec", "nhf-dut"])
                .arg(&myself)
                .args([podroute.as_str(), &routes.to_string()])
                .env(INSIDE, mode)
                .output()
                .unwrap();
            delete_namespaces();
            let stdout = String::from_utf8_lossy(&result.stdout);
            assert!(
                result.status.success(),
                "run failed: {stdout}\n{}",
                String::from_utf8_lossy(&result.stderr)
            );
            let fields: Vec<&str> = stdout.split_whitespace().collect();
            let first = Duration::from_micros(fields[0].parse().unwrap());
            let total = fields[1].parse().ok().map(Duration::from_micros);
            eprintln!(
                "{mode} run {run_number}: first report {:.1} ms, last report {}, DUT: {} route installs, {} gateway failovers",
                first.as_secs_f64() * 1e3,
                total.map_or_else(
                    || "unknown (reports lost)".to_string(),
                    |total| format!("{:.1} ms", total.as_secs_f64() * 1e3)
                ),
                fields[2],
                fields[3]
            );
            firsts.push(first);
            converged.extend(total);
        }
        let last = if converged.is_empty() {
            "unknown (reports lost)".to_string()
        } else {
            format!(
                "{:.1} ms (median of {})",
                median(converged.clone()).as_secs_f64() * 1e3,
                converged.len()
            )
        };
        let _ = writeln!(
            table,
            "{mode}: {routes} routes: first route via the survivor {:.1} ms (median of {runs}), last {last}",
            median(firsts).as_secs_f64() * 1e3,
        );
    }
    print!("{table}");
}
