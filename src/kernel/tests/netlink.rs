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

/// Settings asking for kernel nexthop objects.
fn with_objects() -> crate::kernel::KernelSettings {
    crate::kernel::KernelSettings {
        nexthop_objects: true,
        ..settings(&[])
    }
}

fn json(arguments: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&ip_output(arguments)).unwrap_or_default()
}

/// The ids of our nexthop objects (protocol 201), sorted.
fn our_objects() -> Vec<u64> {
    let mut ids: Vec<u64> = json("-j nexthop show")
        .iter()
        .filter(|object| object["protocol"] == "201")
        .filter_map(|object| object["id"].as_u64())
        .collect();
    ids.sort_unstable();
    ids
}

/// The object ids our routes use, directly or as members of a group.
fn objects_in_use() -> Vec<u64> {
    let groups: std::collections::BTreeMap<u64, Vec<u64>> = json("-j nexthop show")
        .iter()
        .filter_map(|object| {
            let members = object["group"]
                .as_array()?
                .iter()
                .filter_map(|member| member["id"].as_u64())
                .collect();
            Some((object["id"].as_u64()?, members))
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for family in ["-4", "-6"] {
        for route in json(&format!("{family} -j route show proto 201")) {
            if let Some(id) = route["nhid"].as_u64() {
                ids.insert(id);
                ids.extend(groups.get(&id).into_iter().flatten().copied());
            }
        }
    }
    ids.into_iter().collect()
}

/// The ECMP prefixes of the object tests: `count` /24s through .7 and .8.
fn ecmp_updates(count: u8, gateways: &[&str]) -> Vec<bgp::rib::FibUpdate> {
    (1..=count)
        .map(|index| update(&format!("198.19.{index}.0/24"), gateways))
        .collect()
}

#[test]
fn with_objects_a_gone_gateway_fails_over_in_one_group_replacement() {
    in_namespace(
        "kernel::tests::netlink::with_objects_a_gone_gateway_fails_over_in_one_group_replacement",
        || async {
            let fib = crate::kernel::netlink::open_fib(&with_objects())
                .await
                .unwrap();
            assert!(
                fib.nexthop_objects().is_some(),
                "the probe found no objects"
            );
            assert_eq!(our_objects(), Vec::<u64>::new(), "the probe cleaned up");
            let (updates, receiver) = mpsc::unbounded_channel();
            let handle = spawn_netlink(fib, with_objects(), receiver).unwrap();
            let mut batch = ecmp_updates(50, &["198.18.0.7", "198.18.0.8"]);
            batch.push(update("198.19.200.0/24", &["198.18.0.7"]));
            batch.push(update("2001:db8:6::/64", &["2001:db8::7", "2001:db8::8"]));
            updates.send(batch).unwrap();
            handle.settled().await.unwrap();
            let shown = our_routes();
            assert!(shown.contains("198.19.1.0/24 nhid"), "{shown}");
            assert!(
                shown.contains("nexthop via 198.18.0.8 dev dummy0"),
                "{shown}"
            );
            // Two gateway objects and one group per family.
            assert_eq!(our_objects().len(), 6, "{}", ip_output("nexthop show"));
            assert_eq!(our_objects(), objects_in_use());
            let status = handle.status().await.unwrap();
            let group = status.installed[0].nexthop_object.clone().unwrap();
            assert_eq!(group.group.len(), 2, "{status:?}");

            // 198.18.0.7's session went down: the RIB's batch.
            let mut batch = ecmp_updates(50, &["198.18.0.8"]);
            batch.push(update("198.19.200.0/24", &[]));
            updates.send(batch).unwrap();
            wait_until(&handle, "198.18.0.7 still in use", |shown| {
                !shown.contains("198.18.0.7") && !shown.contains("198.19.200.0")
            })
            .await;
            let status = handle.status().await.unwrap();
            assert_eq!(
                status.counters.gateway_failovers, 1,
                "{:?}",
                status.counters
            );
            // The 50 routes followed the group; only the first install
            // batch and the lone route's removal went route by route.
            assert_eq!(status.counters.installs, 52, "{:?}", status.counters);
            assert_eq!(status.counters.removals, 0, "{:?}", status.counters);
            let shown = ip_output("nexthop show");
            assert!(!shown.contains("198.18.0.7"), "{shown}");
            assert_eq!(our_objects(), objects_in_use());

            // The kernel's reports of the 50 routes that followed the group
            // are no drift: nothing is put back.
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.settled().await.unwrap();
            let status = handle.status().await.unwrap();
            assert_eq!(status.counters.drift_repairs, 0, "{:?}", status.counters);
            assert!(status.failed.is_empty(), "{status:?}");
            let shown = our_routes();
            assert!(!shown.contains("198.18.0.7"), "{shown}");
            assert_eq!(shown.matches("198.18.0.8").count(), 50, "{shown}");

            // 198.18.0.7 comes back: ECMP again, through objects.
            updates
                .send(ecmp_updates(50, &["198.18.0.7", "198.18.0.8"]))
                .unwrap();
            wait_until(&handle, "198.18.0.7 not back", |shown| {
                shown.matches("nexthop via 198.18.0.7").count() == 50
            })
            .await;
            assert_eq!(our_objects(), objects_in_use());
            let report = handle.shutdown(false).await.unwrap();
            assert!(report.failures.is_empty(), "{report:?}");
            assert_eq!(our_routes().trim(), "");
            // Removing every route left objects only until the last batch.
            assert_eq!(our_objects(), Vec::<u64>::new());
        },
    );
}

#[test]
fn objects_left_by_a_previous_run_are_adopted_or_deleted() {
    in_namespace(
        "kernel::tests::netlink::objects_left_by_a_previous_run_are_adopted_or_deleted",
        || async {
            let first = crate::kernel::netlink::open_fib(&with_objects())
                .await
                .unwrap();
            let (updates, receiver) = mpsc::unbounded_channel();
            let handle = spawn_netlink(first, with_objects(), receiver).unwrap();
            updates
                .send(ecmp_updates(20, &["198.18.0.7", "198.18.0.8"]))
                .unwrap();
            handle.settled().await.unwrap();
            let before = our_objects();
            assert_eq!(before.len(), 3);
            handle.shutdown(true).await.unwrap();
            // Leftovers: an object of ours nothing uses (a run killed half
            // way), and another program's object in our id range.
            ip("nexthop add id 538968063 via 198.18.0.9 dev dummy0 proto 201");
            ip("nexthop add id 538968062 via 198.18.0.9 dev dummy0 proto 4");

            let second = crate::kernel::netlink::open_fib(&with_objects())
                .await
                .unwrap();
            let (updates, receiver) = mpsc::unbounded_channel();
            let handle = spawn_netlink(second, with_objects(), receiver).unwrap();
            updates
                .send(ecmp_updates(20, &["198.18.0.7", "198.18.0.8"]))
                .unwrap();
            handle.end_of_rib_all().await.unwrap();
            handle.settled().await.unwrap();
            let status = handle.status().await.unwrap();
            // Adopted as equal: not one route re-installed.
            assert_eq!(status.counters.adopted, 20, "{:?}", status.counters);
            assert_eq!(status.counters.installs, 0, "{:?}", status.counters);
            assert!(status.installed.iter().all(|route| !route.stale));
            assert_eq!(our_objects(), objects_in_use());
            assert_eq!(our_objects(), before);
            assert!(ip_output("nexthop show").contains("id 538968062"));
            // Adopted objects are known: the failover works on them.
            updates.send(ecmp_updates(20, &["198.18.0.8"])).unwrap();
            wait_until(&handle, "198.18.0.7 still in use", |shown| {
                !shown.contains("198.18.0.7")
            })
            .await;
            let status = handle.status().await.unwrap();
            assert_eq!(
                status.counters.gateway_failovers, 1,
                "{:?}",
                status.counters
            );
            assert_eq!(status.counters.installs, 0, "{:?}", status.counters);
            assert_eq!(our_objects(), objects_in_use());
            handle.shutdown(false).await.unwrap();
            assert_eq!(our_objects(), Vec::<u64>::new());
            assert!(ip_output("nexthop show").contains("id 538968062"));
        },
    );
}

#[test]
fn switching_objects_off_and_on_across_restarts_that_keep_routes_converts_them() {
    in_namespace(
        "kernel::tests::netlink::switching_objects_off_and_on_across_restarts_that_keep_routes_converts_them",
        || async {
            let plain_settings = settings(&[]);
            for (round, objects) in [(1, true), (2, false), (3, true)] {
                let chosen = if objects {
                    with_objects()
                } else {
                    plain_settings.clone()
                };
                let fib = crate::kernel::netlink::open_fib(&chosen).await.unwrap();
                let (updates, receiver) = mpsc::unbounded_channel();
                let handle = spawn_netlink(fib, chosen, receiver).unwrap();
                updates
                    .send(ecmp_updates(20, &["198.18.0.7", "198.18.0.8"]))
                    .unwrap();
                handle.end_of_rib_all().await.unwrap();
                handle.settled().await.unwrap();
                let status = handle.status().await.unwrap();
                let shown = our_routes();
                assert_eq!(
                    shown.matches("nexthop via 198.18.0.8").count(),
                    20,
                    "{shown}"
                );
                if objects {
                    assert_eq!(
                        shown.matches(" nhid ").count(),
                        20,
                        "round {round}: {shown}"
                    );
                    assert_eq!(our_objects().len(), 3, "{}", ip_output("nexthop show"));
                    assert_eq!(our_objects(), objects_in_use());
                } else {
                    assert!(!shown.contains("nhid"), "round {round}: {shown}");
                    assert_eq!(our_objects(), Vec::<u64>::new(), "objects left behind");
                }
                if round > 1 {
                    // Adopted as forwarding right: converted in place by
                    // the FIB, not re-installed by the synchronizer.
                    assert_eq!(status.counters.adopted, 20, "{:?}", status.counters);
                    assert_eq!(status.counters.installs, 0, "{:?}", status.counters);
                }
                assert_eq!(status.counters.drift_repairs, 0, "{:?}", status.counters);
                handle.shutdown(true).await.unwrap();
            }
        },
    );
}

#[test]
fn without_compat_mode_object_events_start_no_repair_loop() {
    in_namespace(
        "kernel::tests::netlink::without_compat_mode_object_events_start_no_repair_loop",
        || async {
            // Route events then name the object only, no next hops.
            let sysctl = std::process::Command::new("sysctl")
                .args(["-w", "net.ipv4.nexthop_compat_mode=0"])
                .output()
                .unwrap();
            assert!(sysctl.status.success(), "{sysctl:?}");
            let fib = crate::kernel::netlink::open_fib(&with_objects())
                .await
                .unwrap();
            let (updates, receiver) = mpsc::unbounded_channel();
            let handle = spawn_netlink(fib, with_objects(), receiver).unwrap();
            updates
                .send(ecmp_updates(20, &["198.18.0.7", "198.18.0.8"]))
                .unwrap();
            handle.settled().await.unwrap();
            updates.send(ecmp_updates(20, &["198.18.0.8"])).unwrap();
            handle.settled().await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.settled().await.unwrap();
            let status = handle.status().await.unwrap();
            assert_eq!(
                status.counters.gateway_failovers, 1,
                "{:?}",
                status.counters
            );
            assert_eq!(status.counters.installs, 20, "{:?}", status.counters);
            assert_eq!(status.counters.drift_repairs, 0, "{:?}", status.counters);
            assert!(status.installed.iter().all(|route| {
                route.next_hops.len() == 1 && route.next_hops[0].gateway.to_string() == "198.18.0.8"
            }));
            assert!(!ip_output("nexthop show").contains("198.18.0.7"));
            assert_eq!(our_objects(), objects_in_use());
            // Someone deletes one of our routes: still repaired.
            ip("route del 198.19.1.0/24 proto 201 metric 20");
            tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    handle.settled().await.unwrap();
                    if our_routes().contains("198.19.1.0/24 nhid") {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .expect("deleted route not put back");
        },
    );
}
