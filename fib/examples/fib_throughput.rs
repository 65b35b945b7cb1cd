//! Kernel route programming throughput: `NetlinkFib` against `ip -batch`.
//!
//! A measurement, not a test. The program re-executes itself under
//! `unshare -n`, so every route lands in a fresh, empty network namespace
//! that disappears when it exits. Inside, it builds `dummy0` (a veth end
//! where the kernel has no dummy driver) with 198.18.0.1/24 and installs N
//! IPv4 /32 routes via 198.18.0.2, timing:
//!
//! 1. `NetlinkFib::apply` with all N changes (batched: many requests per
//!    `sendmsg`, acknowledgements collected per chunk), then re-pointing
//!    all N existing routes to another gateway, listing, and removing;
//! 2. `NetlinkFib::replace` awaited one route at a time;
//! 3. `ip -batch` with the same routes (iproute2: one request, one ack);
//!
//! and prints routes per second for each, as the median of several runs.
//! The destinations are table entries only (100.64.0.0/10); no packet is
//! ever sent. Usage: `fib_throughput [ROUTES] [RUNS]`, default 200000 and 3.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use fib::{Fib, FibChange, NetlinkFib, NetlinkFibConfig, NextHop, Route};
use ipnetwork::{IpNetwork, Ipv4Network};

const INSIDE: &str = "PODROUTE_FIB_THROUGHPUT_NETNS";

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

fn routes(count: u32) -> Vec<Route> {
    let base = u32::from(Ipv4Addr::new(100, 64, 0, 0));
    let gateway = NextHop::via("198.18.0.2".parse().unwrap());
    (0..count)
        .map(|offset| {
            let prefix =
                IpNetwork::V4(Ipv4Network::new(Ipv4Addr::from(base + offset), 32).unwrap());
            Route::unicast(prefix, vec![gateway.clone()]).unwrap()
        })
        .collect()
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn flush(fib: &NetlinkFib) {
    ip(&["route", "flush", "table", "254", "proto", "201"]);
    assert!(fib.list_owned().await.unwrap().is_empty());
}

async fn measure(count: u32, runs: usize) {
    setup_namespace();
    let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
    let routes = routes(count);
    let total = routes.len();
    let mut batched = Vec::new();
    let mut listed = Vec::new();
    let mut removed = Vec::new();
    let mut replaced = Vec::new();
    let other_gateway = NextHop::via("198.18.0.3".parse().unwrap());
    let mut single = Vec::new();
    let mut ip_batch = Vec::new();

    // iproute2's batch file: the same routes, stamped like ours.
    let batch_path =
        std::env::temp_dir().join(format!("fib_throughput_{}.batch", std::process::id()));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&batch_path).unwrap());
        for route in &routes {
            writeln!(
                file,
                "route add {} via 198.18.0.2 proto 201 metric 20",
                route.prefix()
            )
            .unwrap();
        }
    }

    for run in 0..runs {
        let changes: Vec<FibChange> = routes.iter().cloned().map(FibChange::Replace).collect();
        let start = Instant::now();
        let results = fib.apply(changes).await;
        batched.push(rate(total, start.elapsed()));
        assert!(results.iter().all(Result::is_ok));

        // Every prefix exists: create-exclusive meets EEXIST, one dump
        // confirms the routes are ours, then they are replaced.
        let repointed: Vec<FibChange> = routes
            .iter()
            .map(|route| {
                FibChange::Replace(
                    Route::unicast(route.prefix(), vec![other_gateway.clone()]).unwrap(),
                )
            })
            .collect();
        let start = Instant::now();
        let results = fib.apply(repointed).await;
        replaced.push(rate(total, start.elapsed()));
        assert!(results.iter().all(Result::is_ok));

        let start = Instant::now();
        let owned = fib.list_owned().await.unwrap();
        listed.push(rate(owned.len(), start.elapsed()));
        assert_eq!(owned.len(), total);

        let removals: Vec<FibChange> = routes
            .iter()
            .map(|route| FibChange::Remove(route.prefix()))
            .collect();
        let start = Instant::now();
        let results = fib.apply(removals).await;
        removed.push(rate(total, start.elapsed()));
        assert!(results.iter().all(Result::is_ok));
        assert!(fib.list_owned().await.unwrap().is_empty());

        let start = Instant::now();
        for route in &routes {
            fib.replace(route.clone()).await.unwrap();
        }
        single.push(rate(total, start.elapsed()));
        flush(&fib).await;

        let start = Instant::now();
        ip(&["-batch", batch_path.to_str().unwrap()]);
        ip_batch.push(rate(total, start.elapsed()));
        assert_eq!(fib.list_owned().await.unwrap().len(), total);
        flush(&fib).await;
        eprintln!("run {} of {runs} done", run + 1);
    }
    let _ = std::fs::remove_file(&batch_path);

    println!("{total} IPv4 /32 routes via one gateway, median of {runs} runs, routes per second:");
    println!(
        "  NetlinkFib apply (batched)          {:>10.0}",
        median(batched.clone())
    );
    println!(
        "  NetlinkFib replace, one at a time   {:>10.0}",
        median(single)
    );
    println!(
        "  ip -batch                           {:>10.0}",
        median(ip_batch.clone())
    );
    println!(
        "  NetlinkFib apply re-pointing all    {:>10.0}",
        median(replaced)
    );
    println!(
        "  NetlinkFib apply removals (batched) {:>10.0}",
        median(removed)
    );
    println!(
        "  NetlinkFib list_owned               {:>10.0}",
        median(listed)
    );
    println!(
        "  ratio batched / ip -batch           {:>10.2}",
        median(batched) / median(ip_batch)
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let count: u32 = arguments.first().map_or(200_000, |text| {
        text.parse().expect("ROUTES must be a number")
    });
    let runs: usize = arguments
        .get(1)
        .map_or(3, |text| text.parse().expect("RUNS must be a number"));
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
