//! The `Fib` contract suite against `NetlinkFib`, plus kernel-only cases
//! (route events, next-hop resolution, interface names, kernel errors).
//! Every test runs in its own network namespace (see support/namespace.rs).

// A test crate: a panic here is a failed test, not a crashed daemon
// (clippy.toml allows this inside #[test] functions; helpers need it too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/contract.rs"]
mod contract;
#[path = "support/namespace.rs"]
mod namespace;

use std::future::Future;
use std::time::Duration;

use contract::{Placement, Target, address, network, unicast};
use fib::{
    Fib, FibChange, FibErrorKind, Interface, KernelRoute, NetlinkFib, NetlinkFibConfig, NextHop,
    Notification, Resolution, Route, RouteEvent, RouteEventKind, RouteMonitor, resolve_next_hop,
};
use ipnetwork::IpNetwork;
use namespace::{in_namespace, ip, ip_output};

/// The table used for `Placement::OtherTable`.
const OTHER_TABLE: u32 = 100;

struct NetlinkTarget {
    fib: NetlinkFib,
}

impl NetlinkTarget {
    fn route_command(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> String {
        let config = self.fib.config();
        let (table, family) = match (placement, prefix.is_ipv4()) {
            (Placement::OurSlot, true) => (config.table, "-4"),
            (Placement::OurSlot, false) => (config.table, "-6"),
            (Placement::OtherTable, true) => (OTHER_TABLE, "-4"),
            (Placement::OtherTable, false) => (OTHER_TABLE, "-6"),
        };
        format!(
            "{family} route {{}} {prefix} {{}} proto {protocol} table {table} metric {}",
            config.metric
        )
    }
}

impl Target for NetlinkTarget {
    type F = NetlinkFib;

    fn fib(&self) -> &NetlinkFib {
        &self.fib
    }

    async fn plant(&self, prefix: IpNetwork, protocol: u8, placement: Placement) {
        let gateway = if prefix.is_ipv4() {
            "via 198.18.0.9"
        } else {
            "via 2001:db8::9"
        };
        let command = self
            .route_command(prefix, protocol, placement)
            .replacen("{}", "add", 1)
            .replacen("{}", gateway, 1);
        ip(&command);
    }

    async fn planted_present(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> bool {
        let command = self
            .route_command(prefix, protocol, placement)
            .replacen("{}", "show", 1)
            .replacen("{}", "", 1);
        let output = ip_output(&command);
        let gateway = if prefix.is_ipv4() {
            "via 198.18.0.9"
        } else {
            "via 2001:db8::9"
        };
        output.lines().any(|line| line.contains(gateway))
    }
}

fn run<F, Fut>(name: &str, case: F)
where
    F: FnOnce(NetlinkTarget) -> Fut,
    Fut: Future<Output = ()>,
{
    in_namespace(name, || async move {
        let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
        case(NetlinkTarget { fib }).await;
    });
}

contract_tests!(run);

/// Waits for the next event matching `wanted`, skipping others.
async fn expect_event(
    monitor: &mut RouteMonitor,
    wanted: impl Fn(&RouteEvent) -> bool,
) -> RouteEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match monitor.next().await.expect("monitor ended") {
                Notification::Route(event) if wanted(&event) => return event,
                Notification::Route(_) => {}
                Notification::EventsLost => panic!("events lost with a 4 MiB buffer"),
            }
        }
    })
    .await
    .expect("no matching route event")
}

#[test]
fn watch_others_leaves_out_our_own_changes_only() {
    in_namespace("watch_others_leaves_out_our_own_changes_only", || async {
        let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
        let config = fib.config();
        let mut others = fib.watch_others().unwrap();
        let mut everything = fib.watch().unwrap();
        let ours = network("198.19.21.0/24");
        let ours_v6 = network("2001:db8:91::/64");

        fib.replace(unicast("198.19.21.0/24", &["198.18.0.2"]))
            .await
            .unwrap();
        fib.replace(unicast("2001:db8:91::/64", &["2001:db8::2"]))
            .await
            .unwrap();
        fib.remove(ours_v6).await.unwrap();
        // A marker made by someone else, after our changes: events arrive
        // in order, so the filtered monitor's first event must be it.
        ip("route add 198.19.22.0/24 via 198.18.0.9 proto static");
        let first = expect_event(&mut others, |_| true).await;
        assert_eq!(first.route.prefix, network("198.19.22.0/24"));
        assert_eq!(first.kind, RouteEventKind::Added);
        // The unfiltered monitor saw our changes, in order, before it.
        let added = expect_event(&mut everything, |_| true).await;
        assert_eq!(
            (added.route.prefix, added.kind),
            (ours, RouteEventKind::Added)
        );
        let added_v6 = expect_event(&mut everything, |_| true).await;
        assert_eq!(added_v6.route.prefix, ours_v6);
        let removed_v6 = expect_event(&mut everything, |_| true).await;
        assert_eq!(
            (removed_v6.route.prefix, removed_v6.kind),
            (ours_v6, RouteEventKind::Deleted)
        );

        // Someone else changing or deleting *our* route is still reported.
        ip("route replace 198.19.21.0/24 via 198.18.0.3 proto 201 metric 20");
        let changed = expect_event(&mut others, |_| true).await;
        assert_eq!(changed.route.prefix, ours);
        assert!(config.owns(&changed.route));
        assert_eq!(
            changed.route.next_hops[0].gateway,
            Some(address("198.18.0.3"))
        );
        ip("route del 198.19.21.0/24 proto 201 metric 20");
        let deleted = expect_event(&mut others, |_| true).await;
        assert_eq!(
            (deleted.route.prefix, deleted.kind),
            (ours, RouteEventKind::Deleted)
        );
    });
}

#[test]
fn route_events_report_added_changed_and_deleted_with_owner() {
    in_namespace(
        "route_events_report_added_changed_and_deleted_with_owner",
        || async {
            let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            let config = fib.config();
            let mut monitor = fib.watch().unwrap();
            let prefix = network("198.19.20.0/24");
            let is_ours = |event: &RouteEvent| event.route.prefix == prefix;

            fib.replace(unicast("198.19.20.0/24", &["198.18.0.2"]))
                .await
                .unwrap();
            let added = expect_event(&mut monitor, is_ours).await;
            assert_eq!(added.kind, RouteEventKind::Added);
            assert!(config.owns(&added.route));
            assert_eq!(added.route.protocol, 201);
            assert_eq!(added.route.table, 254);

            fib.replace(unicast("198.19.20.0/24", &["198.18.0.3"]))
                .await
                .unwrap();
            let changed = expect_event(&mut monitor, is_ours).await;
            assert_eq!(changed.kind, RouteEventKind::Changed);
            assert_eq!(
                changed.route.next_hops[0].gateway,
                Some(address("198.18.0.3"))
            );

            // Someone else deletes our route: the daemon must learn of it.
            ip("route del 198.19.20.0/24 proto 201 metric 20");
            let deleted = expect_event(&mut monitor, is_ours).await;
            assert_eq!(deleted.kind, RouteEventKind::Deleted);
            assert!(config.owns(&deleted.route));

            // Routes of other programs are reported with their protocol too.
            ip("-6 route add 2001:db8:90::/64 via 2001:db8::9 proto static");
            let foreign = expect_event(&mut monitor, |event| {
                event.route.prefix == network("2001:db8:90::/64")
            })
            .await;
            assert_eq!(foreign.kind, RouteEventKind::Added);
            assert_eq!(foreign.route.protocol, contract::STATIC);
            assert!(!config.owns(&foreign.route));
        },
    );
}

#[test]
fn next_hops_resolve_over_a_kernel_snapshot() {
    in_namespace("next_hops_resolve_over_a_kernel_snapshot", || async {
        let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
        ip("route add 198.18.50.0/24 via 198.18.0.5");
        let snapshot: Vec<KernelRoute> = fib.snapshot(Some(254)).await.unwrap();
        let dummy = ip_output("-o link show dev dummy0");
        let index: u32 = dummy.split(':').next().unwrap().trim().parse().unwrap();
        assert_eq!(
            resolve_next_hop(address("198.18.0.7"), &snapshot),
            Resolution::Resolved {
                gateway: address("198.18.0.7"),
                interface: index,
                connected: true
            }
        );
        assert_eq!(
            resolve_next_hop(address("198.18.50.1"), &snapshot),
            Resolution::Resolved {
                gateway: address("198.18.0.5"),
                interface: index,
                connected: false
            }
        );
        assert_eq!(
            resolve_next_hop(address("2001:db8::7"), &snapshot),
            Resolution::Resolved {
                gateway: address("2001:db8::7"),
                interface: index,
                connected: true
            }
        );
        assert_eq!(
            resolve_next_hop(address("198.18.77.1"), &snapshot),
            Resolution::Unresolvable
        );
        // The snapshot includes every protocol, sorted.
        let mut sorted = snapshot.clone();
        sorted.sort();
        assert_eq!(snapshot, sorted);
        assert!(
            snapshot
                .iter()
                .any(|route| route.protocol == contract::KERNEL)
        );
    });
}

#[test]
fn interfaces_may_be_named() {
    in_namespace("interfaces_may_be_named", || async {
        let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
        let named = Route::unicast(
            network("198.19.30.0/24"),
            vec![
                NextHop::via(address("198.18.0.2"))
                    .with_interface(Interface::Name("dummy0".into())),
            ],
        )
        .unwrap();
        fib.replace(named).await.unwrap();
        let listed = fib.list_owned().await.unwrap();
        assert!(matches!(
            listed[0].next_hops()[0].interface,
            Some(Interface::Index(_))
        ));
        let missing = Route::unicast(
            network("198.19.31.0/24"),
            vec![
                NextHop::via(address("198.18.0.2"))
                    .with_interface(Interface::Name("nosuch0".into())),
            ],
        )
        .unwrap();
        let error = fib.replace(missing).await.unwrap_err();
        assert!(matches!(error.kind, FibErrorKind::Invalid(_)), "{error}");
        assert!(error.to_string().contains("nosuch0"), "{error}");
    });
}

#[test]
fn kernel_refusals_name_operation_prefix_and_errno() {
    in_namespace(
        "kernel_refusals_name_operation_prefix_and_errno",
        || async {
            let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            // No connected route covers this gateway: the kernel says ENETUNREACH.
            let results = fib
                .apply(vec![
                    FibChange::Replace(unicast("198.19.40.0/24", &["198.18.99.1"])),
                    FibChange::Replace(unicast("198.19.41.0/24", &["198.18.0.2"])),
                ])
                .await;
            let error = results[0].as_ref().unwrap_err();
            assert_eq!(error.errno(), Some(101), "{error}");
            assert_eq!(
                error.to_string(),
                "replace 198.19.40.0/24: kernel refused: Network is unreachable (errno 101)"
            );
            // One failure does not stop the rest of the batch.
            results[1].as_ref().unwrap();
            assert_eq!(fib.list_owned().await.unwrap().len(), 1);
        },
    );
}

#[test]
fn configured_table_protocol_and_metric_are_stamped() {
    in_namespace(
        "configured_table_protocol_and_metric_are_stamped",
        || async {
            let config = NetlinkFibConfig {
                table: 1000,
                protocol: 77,
                metric: 5,
            };
            let fib = NetlinkFib::new(config).unwrap();
            fib.replace(unicast("198.19.50.0/24", &["198.18.0.2"]))
                .await
                .unwrap();
            fib.replace(Route::blackhole(network("2001:db8:a0::/64")))
                .await
                .unwrap();
            let shown = ip_output("-4 route show table 1000");
            assert!(
                shown.contains("198.19.50.0/24 via 198.18.0.2 dev dummy0 proto 77 metric 5"),
                "{shown}"
            );
            let shown = ip_output("-6 route show table 1000");
            assert!(
                shown.contains("blackhole 2001:db8:a0::/64 dev lo proto 77 metric 5"),
                "{shown}"
            );
            // The default-configured FIB (table 254, protocol 201) owns none of it.
            let default = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            assert!(default.list_owned().await.unwrap().is_empty());
            assert_eq!(fib.list_owned().await.unwrap().len(), 2);
        },
    );
}

#[test]
fn lost_route_events_are_reported() {
    in_namespace("lost_route_events_are_reported", || async {
        let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
        // The watcher's runtime is held still while routes change, so its
        // connection task cannot drain the socket: with the smallest buffer
        // the kernel allows, 2,000 events cannot all fit.
        let (opened, wait_for_open) = std::sync::mpsc::channel();
        let (proceed, wait_to_proceed) = std::sync::mpsc::channel::<()>();
        let watcher = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut monitor = RouteMonitor::open_with_receive_buffer(0).unwrap();
                opened.send(()).unwrap();
                wait_to_proceed.recv().unwrap();
                tokio::time::timeout(Duration::from_secs(10), async {
                    loop {
                        match monitor.next().await.expect("monitor ended") {
                            Notification::EventsLost => return,
                            Notification::Route(_) => {}
                        }
                    }
                })
                .await
            })
        });
        wait_for_open.recv().unwrap();
        let changes = (0..2000u32)
            .map(|i| {
                FibChange::Replace(unicast(
                    &format!("198.19.{}.{}/32", i / 256, i % 256),
                    &["198.18.0.2"],
                ))
            })
            .collect();
        assert!(fib.apply(changes).await.iter().all(Result::is_ok));
        proceed.send(()).unwrap();
        assert!(
            watcher.join().unwrap().is_ok(),
            "no EventsLost notification"
        );
    });
}

#[test]
fn interface_addresses_are_listed_with_their_interface_and_scope() {
    in_namespace(
        "interface_addresses_are_listed_with_their_interface_and_scope",
        || async {
            let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            let addresses = fib.interface_addresses().await.unwrap();
            let find = |text: &str| {
                let wanted: std::net::IpAddr = text.parse().unwrap();
                addresses
                    .iter()
                    .find(|entry| entry.address == wanted)
                    .copied()
            };
            let ipv4 = find("198.18.0.1").expect("dummy0's IPv4 address is listed");
            let ipv6 = find("2001:db8::1").expect("dummy0's IPv6 address is listed");
            assert_eq!(ipv4.interface, ipv6.interface, "both on dummy0");
            assert_eq!((ipv4.prefix_len, ipv6.prefix_len), (24, 64));
            assert!(ipv4.global && ipv6.global);
            let loopback = find("127.0.0.1").expect("lo is listed");
            assert!(!loopback.global, "host scope is not global");
        },
    );
}
