//! The synchronizer on a real kernel, in a fresh network namespace (the
//! test re-executes itself under `unshare -n`; needs root). The namespace
//! has `dummy0` with 198.18.0.1/24 and 2001:db8::1/64.

use std::time::Duration;

use fib::{NetlinkFib, NetlinkFibConfig};
use tokio::sync::mpsc;

use super::{settings, update};
use crate::kernel::netlink::spawn_netlink;
use crate::kernel::task::KernelHandle;

use super::namespace::{in_namespace, ip, ip_output};

/// Our routes in the main table, as `ip` shows them.
fn our_routes() -> String {
    let mut shown = ip_output("-4 route show proto 201");
    shown.push_str(&ip_output("-6 route show proto 201"));
    shown
}

/// Waits (up to 10 s, for route events to arrive) until `ready` holds.
async fn wait_until(handle: &KernelHandle, what: &str, ready: impl Fn(&str) -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            handle.settled().await.unwrap();
            if ready(&our_routes()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{what}; our routes are:\n{}\nstatus: {:?}",
        our_routes(),
        handle.status().await
    );
}

#[test]
fn next_hops_resolve_recursively_and_drift_is_repaired() {
    in_namespace(
        "kernel::tests::netlink::next_hops_resolve_recursively_and_drift_is_repaired",
        || async {
            // Another program's route to a remote subnet, through a gateway
            // on dummy0's subnet.
            ip("route add 198.18.50.0/24 via 198.18.0.5");
            let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            let (updates, receiver) = mpsc::unbounded_channel();
            let handle =
                spawn_netlink(fib, settings(&[("198.19.99.0/24", true)]), receiver).unwrap();
            updates
                .send(vec![
                    update("198.19.1.0/24", &["198.18.0.7"]),
                    update("198.19.2.0/24", &["198.18.50.9"]),
                    update("198.19.3.0/24", &["198.18.77.1"]),
                    update("2001:db8:5::/64", &["2001:db8::7"]),
                    update("198.19.4.0/24", &["198.18.0.7", "198.18.0.8"]),
                    update("2001:db8:6::/64", &["2001:db8::7", "2001:db8::8"]),
                ])
                .unwrap();
            handle.settled().await.unwrap();
            let shown = our_routes();
            assert!(
                shown.contains("198.19.1.0/24 via 198.18.0.7 dev dummy0"),
                "{shown}"
            );
            // Recursive: installed through the immediate gateway.
            assert!(
                shown.contains("198.19.2.0/24 via 198.18.0.5 dev dummy0"),
                "{shown}"
            );
            assert!(shown.contains("blackhole 198.19.99.0/24"), "{shown}");
            assert!(
                shown.contains("2001:db8:5::/64 via 2001:db8::7 dev dummy0"),
                "{shown}"
            );
            assert!(!shown.contains("198.19.3.0"), "{shown}");
            let status = handle.status().await.unwrap();
            assert_eq!(status.failed.len(), 1, "{status:?}");
            assert_eq!(status.failed[0].error, "next hop 198.18.77.1 unresolvable");

            // The kernel learns a way to 198.18.77.0/24: re-resolved.
            ip("route add 198.18.77.0/24 via 198.18.0.6");
            wait_until(
                &handle,
                "198.19.3.0/24 not installed after its next hop became reachable",
                |shown| shown.contains("198.19.3.0/24 via 198.18.0.6 dev dummy0"),
            )
            .await;

            // The events of our own installs came before the one that made
            // 198.19.3.0/24 resolvable, so they have all been seen by now:
            // none of them (ECMP included) was mistaken for drift.
            let status = handle.status().await.unwrap();
            assert_eq!(status.counters.drift_repairs, 0, "{status:?}");
            assert_eq!(status.counters.installs, 7, "{status:?}");
            let shown = our_routes();
            assert!(
                shown.contains("nexthop via 198.18.0.8 dev dummy0"),
                "{shown}"
            );
            assert!(
                shown.contains("nexthop via 2001:db8::8 dev dummy0"),
                "{shown}"
            );

            // Someone deletes one of our routes and changes another.
            ip("route del 198.19.1.0/24 proto 201 metric 20");
            ip("route replace 198.19.2.0/24 via 198.18.0.8 proto 201 metric 20");
            wait_until(&handle, "drift not repaired", |shown| {
                shown.contains("198.19.1.0/24 via 198.18.0.7 dev dummy0")
                    && shown.contains("198.19.2.0/24 via 198.18.0.5 dev dummy0")
            })
            .await;
            let status = handle.status().await.unwrap();
            assert!(status.counters.drift_repairs >= 2, "{:?}", status.counters);
            assert!(status.failed.is_empty(), "{status:?}");

            // Without graceful restart, stopping removes every route of ours
            // and nothing else.
            let report = handle.shutdown(false).await.unwrap();
            assert_eq!(report.removed, 7, "{report:?}");
            assert_eq!(our_routes().trim(), "");
            assert!(ip_output("route show").contains("198.18.50.0/24 via 198.18.0.5"));
        },
    );
}
