//! A gateway's failure with and without kernel nexthop objects.
//!
//! A measurement, not a test. The program re-executes itself under
//! `unshare -n`, so everything lands in a fresh, empty network namespace
//! that disappears when it exits. Inside, `dummy0` (a veth end where the
//! kernel has no dummy driver) holds 198.18.0.1/24, and N IPv4 /32 routes
//! are installed as ECMP via 198.18.0.2 and 198.18.0.3. Then 198.18.0.2
//! "fails" and every route must be left forwarding through 198.18.0.3 only.
//! Timed, per mode, as the median of several runs:
//!
//! - install: `NetlinkFib::apply` with all N routes (objects mode also
//!   creates the two gateway objects and the group first);
//! - failover, per-route: `apply` with N replaces via the survivor (what
//!   the daemon does without objects once it knows the new routes);
//! - failover, `remove_gateway` without objects: a dump of our routes,
//!   then the same N replaces;
//! - failover, `remove_gateway` with objects: the group is replaced in
//!   place (one request) and the failed gateway's object deleted.
//!
//! Every failover is checked afterwards through `list_owned` (not timed).
//! The destinations are table entries only (100.64.0.0/10); no packet is
//! ever sent. Usage: `nexthop_failover [ROUTES] [RUNS]`, default 100000 and 5.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use fib::{Fib, FibChange, NetlinkFib, NetlinkFibConfig, NextHop, NexthopObjects, Route};
use ipnetwork::{IpNetwork, Ipv4Network};

const INSIDE: &str = "PODROUTE_NEXTHOP_FAILOVER_NETNS";
const FAILED: &str = "198.18.0.2";
const SURVIVOR: &str = "198.18.0.3";

fn ip(arguments: &[&str]) {
    let status = Command::new("ip").args(arguments).status().unwrap();
    assert!(status.success(), "ip {arguments:?} failed");
}

fn setup_namespace() {
    ip(&["link", "set", "lo", "up"]);
    let dummy = Command::new("ip")
        .args(["link", "add", "dummy0", "type", "dummy"])
        .output()
        .unwrap();
    if !dummy.status.success() {
        ip(&[
            "link",
            "add",
            "dummy0",
            "type",
            "veth",
            "peer",
            "name",
            "dummy0peer",
        ]);
        ip(&["link", "set", "dummy0peer", "up"]);
    }
    ip(&["address", "add", "198.18.0.1/24", "dev", "dummy0"]);
    ip(&["link", "set", "dummy0", "up"]);
}

fn routes(count: u32, gateways: &[&str]) -> Vec<Route> {
    let base = u32::from(Ipv4Addr::new(100, 64, 0, 0));
    (0..count)
        .map(|offset| {
            let prefix =
                IpNetwork::V4(Ipv4Network::new(Ipv4Addr::from(base + offset), 32).unwrap());
            let hops = gateways
                .iter()
                .map(|gateway| NextHop::via(gateway.parse().unwrap()))
                .collect();
            Route::unicast(prefix, hops).unwrap()
        })
        .collect()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Removes every route (and with them every object) a run installed.
async fn clean(fib: &NetlinkFib, count: u32) {
    let removals = routes(count, &[SURVIVOR])
        .iter()
        .map(|route| FibChange::Remove(route.prefix()))
        .collect();
    assert!(fib.apply(removals).await.iter().all(Result::is_ok));
    assert!(fib.list_owned().await.unwrap().is_empty());
    let objects = Command::new("ip")
        .args(["nexthop", "show"])
        .output()
        .unwrap();
    assert!(objects.stdout.is_empty(), "nexthop objects left behind");
}

/// A FIB in the asked mode.
fn fresh(objects: bool) -> NetlinkFib {
    let config = NetlinkFibConfig::default();
    if objects {
        NetlinkFib::with_nexthop_objects(config, NexthopObjects::default()).unwrap()
    } else {
        NetlinkFib::new(config).unwrap()
    }
}

async fn install(fib: &NetlinkFib, count: u32) -> Duration {
    let changes: Vec<FibChange> = routes(count, &[FAILED, SURVIVOR])
        .into_iter()
        .map(FibChange::Replace)
        .collect();
    let started = Instant::now();
    let results = fib.apply(changes).await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(Result::is_ok), "install failed");
    elapsed
}

async fn assert_failed_over(fib: &NetlinkFib, count: u32) {
    let listed = fib.list_owned().await.unwrap();
    let survivor: IpAddr = SURVIVOR.parse().unwrap();
    assert_eq!(listed.len(), count as usize);
    assert!(
        listed
            .iter()
            .all(|route| route.next_hops().len() == 1 && route.next_hops()[0].gateway == survivor),
        "a route still uses the failed gateway"
    );
}

#[derive(Default)]
struct Samples {
    install_plain: Vec<Duration>,
    install_objects: Vec<Duration>,
    failover_apply: Vec<Duration>,
    failover_remove_plain: Vec<Duration>,
    failover_remove_objects: Vec<Duration>,
    operations_plain: usize,
    operations_objects: usize,
}

async fn measure(count: u32, runs: usize) {
    setup_namespace();
    let failed: IpAddr = FAILED.parse().unwrap();
    let mut samples = Samples::default();
    for run in 0..runs {
        // Without objects, failover by per-route replace (batched apply).
        let fib = fresh(false);
        samples.install_plain.push(install(&fib, count).await);
        let changes: Vec<FibChange> = routes(count, &[SURVIVOR])
            .into_iter()
            .map(FibChange::Replace)
            .collect();
        let started = Instant::now();
        let results = fib.apply(changes).await;
        samples.failover_apply.push(started.elapsed());
        assert!(results.iter().all(Result::is_ok));
        assert_failed_over(&fib, count).await;
        clean(&fib, count).await;

        // Without objects, through remove_gateway (dump + replaces).
        let fib = fresh(false);
        install(&fib, count).await;
        let started = Instant::now();
        let removal = fib.remove_gateway(failed).await.unwrap();
        samples.failover_remove_plain.push(started.elapsed());
        samples.operations_plain = removal.kernel_operations;
        assert_failed_over(&fib, count).await;
        clean(&fib, count).await;

        // With objects: one group replaced in place.
        let fib = fresh(true);
        samples.install_objects.push(install(&fib, count).await);
        let started = Instant::now();
        let removal = fib.remove_gateway(failed).await.unwrap();
        samples.failover_remove_objects.push(started.elapsed());
        samples.operations_objects = removal.kernel_operations;
        assert_eq!(removal.routes_changed, count as usize);
        assert_failed_over(&fib, count).await;
        clean(&fib, count).await;
        eprintln!("run {} of {runs} done", run + 1);
    }
    let install_plain = median(samples.install_plain);
    let install_objects = median(samples.install_objects);
    let failover_apply = median(samples.failover_apply);
    let failover_remove_plain = median(samples.failover_remove_plain);
    let failover_remove_objects = median(samples.failover_remove_objects);
    println!(
        "{count} IPv4 routes, ECMP via {FAILED} and {SURVIVOR}; {FAILED} fails; median of {runs} runs"
    );
    println!(
        "  install, plain routes                     {:>10.1} ms",
        milliseconds(install_plain)
    );
    println!(
        "  install, nexthop objects                  {:>10.1} ms",
        milliseconds(install_objects)
    );
    println!(
        "  failover, per-route replace (apply)       {:>10.1} ms",
        milliseconds(failover_apply)
    );
    println!(
        "  failover, remove_gateway without objects  {:>10.1} ms  ({} kernel requests)",
        milliseconds(failover_remove_plain),
        samples.operations_plain
    );
    println!(
        "  failover, remove_gateway with objects     {:>10.3} ms  ({} kernel requests)",
        milliseconds(failover_remove_objects),
        samples.operations_objects
    );
    println!(
        "  ratio failover apply / objects            {:>10.0}",
        failover_apply.as_secs_f64() / failover_remove_objects.as_secs_f64()
    );
    println!(
        "  ratio install objects / plain             {:>10.2}",
        install_objects.as_secs_f64() / install_plain.as_secs_f64()
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let count: u32 = arguments.first().map_or(100_000, |text| {
        text.parse().expect("ROUTES must be a number")
    });
    let runs: usize = arguments
        .get(1)
        .map_or(5, |text| text.parse().expect("RUNS must be a number"));
    if std::env::var_os(INSIDE).is_none() {
        let status = Command::new("unshare")
            .arg("-n")
            .arg(std::env::current_exe().unwrap())
            .args(&arguments)
            .env(INSIDE, "1")
            .status()
            .expect("needs util-linux unshare and root");
        std::process::exit(status.code().unwrap_or(1));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(measure(count, runs.max(1)));
}
