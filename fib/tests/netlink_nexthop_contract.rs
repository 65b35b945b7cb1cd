//! The `Fib` contract suite against `NetlinkFib` in nexthop-object mode,
//! plus what the mode promises: routes with one next-hop set share one
//! object, an ECMP set is one group, a gateway's failure is one group
//! operation however many routes use it, and objects of other programs are
//! never touched. Every test runs in its own network namespace.

// A test crate: a panic here is a failed test, not a crashed daemon.
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

use std::collections::BTreeSet;
use std::future::Future;

use contract::{Placement, Target, address, network, unicast};
use fib::{Fib, FibChange, NetlinkFib, NetlinkFibConfig, NexthopObjects, Route};
use ipnetwork::IpNetwork;
use namespace::{in_namespace, ip, ip_output};

/// The table used for `Placement::OtherTable`.
const OTHER_TABLE: u32 = 100;

fn object_fib() -> NetlinkFib {
    NetlinkFib::with_nexthop_objects(NetlinkFibConfig::default(), NexthopObjects::default())
        .unwrap()
}

struct NetlinkTarget {
    fib: NetlinkFib,
}

impl NetlinkTarget {
    fn route_command(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> String {
        let config = self.fib.config();
        let table = match placement {
            Placement::OurSlot => config.table,
            Placement::OtherTable => OTHER_TABLE,
        };
        let family = if prefix.is_ipv4() { "-4" } else { "-6" };
        format!(
            "{family} route {{}} {prefix} {{}} proto {protocol} table {table} metric {}",
            config.metric
        )
    }
}

fn planted_gateway(prefix: IpNetwork) -> &'static str {
    if prefix.is_ipv4() {
        "via 198.18.0.9"
    } else {
        "via 2001:db8::9"
    }
}

impl Target for NetlinkTarget {
    type F = NetlinkFib;

    fn fib(&self) -> &NetlinkFib {
        &self.fib
    }

    async fn plant(&self, prefix: IpNetwork, protocol: u8, placement: Placement) {
        let command = self
            .route_command(prefix, protocol, placement)
            .replacen("{}", "add", 1)
            .replacen("{}", planted_gateway(prefix), 1);
        ip(&command);
    }

    async fn planted_present(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> bool {
        let command = self
            .route_command(prefix, protocol, placement)
            .replacen("{}", "show", 1)
            .replacen("{}", "", 1);
        ip_output(&command)
            .lines()
            .any(|line| line.contains(planted_gateway(prefix)))
    }
}

fn run<F, Fut>(name: &str, case: F)
where
    F: FnOnce(NetlinkTarget) -> Fut,
    Fut: Future<Output = ()>,
{
    in_namespace(name, || async move {
        case(NetlinkTarget { fib: object_fib() }).await;
        // Whatever a case leaves installed, no object of ours is orphaned.
        let objects = our_objects();
        let routes = ip_output("route show proto 201") + &ip_output("-6 route show proto 201");
        for id in objects {
            assert!(
                routes.contains(&format!("nhid {id} ")) || group_members().contains(&id),
                "object {id} is used by no route:\n{routes}"
            );
        }
    });
}

contract_tests!(run);

/// Ids of the nexthop objects with protocol 201, from `ip nexthop`.
fn our_objects() -> BTreeSet<u32> {
    ip_output("nexthop show")
        .lines()
        .filter(|line| line.contains("proto 201"))
        .filter_map(|line| line.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// Ids listed as members of any group.
fn group_members() -> BTreeSet<u32> {
    ip_output("nexthop show")
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|word| *word == "group")?;
            Some(words.get(at + 1)?.to_string())
        })
        .flat_map(|members| {
            members
                .split('/')
                .filter_map(|member| member.split(',').next()?.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The `nhid` of our route for `prefix`.
fn route_object(prefix: &str) -> Option<u32> {
    let shown = ip_output(&format!("route show {prefix} proto 201"));
    let words: Vec<&str> = shown.split_whitespace().collect();
    let at = words.iter().position(|word| *word == "nhid")?;
    words.get(at + 1)?.parse().ok()
}

fn ecmp_routes(count: u32, gateways: &[&str]) -> Vec<Route> {
    (0..count)
        .map(|i| unicast(&format!("198.19.{}.{}/32", i / 256, i % 256), gateways))
        .collect()
}

#[test]
fn routes_with_one_next_hop_share_one_object() {
    in_namespace("routes_with_one_next_hop_share_one_object", || async {
        let fib = object_fib();
        let routes = ecmp_routes(20, &["198.18.0.2"]);
        let results = fib
            .apply(routes.iter().cloned().map(FibChange::Replace).collect())
            .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let objects = our_objects();
        assert_eq!(objects.len(), 1, "{}", ip_output("nexthop show"));
        let id = *objects.first().unwrap();
        assert!(id >= NexthopObjects::default().first_id);
        assert_eq!(route_object("198.19.0.7/32"), Some(id));
        let shown = ip_output(&format!("nexthop show id {id}"));
        assert!(shown.contains("via 198.18.0.2 dev dummy0"), "{shown}");
        // Read back through the object, with the kernel's interface.
        let listed = fib.list_owned().await.unwrap();
        assert_eq!(listed.len(), 20);
        assert!(
            listed
                .iter()
                .zip(&routes)
                .all(|(have, want)| have.satisfies(want))
        );
    });
}

#[test]
fn an_ecmp_set_is_one_group_object() {
    in_namespace("an_ecmp_set_is_one_group_object", || async {
        let fib = object_fib();
        for route in ecmp_routes(3, &["198.18.0.2", "198.18.0.3"]) {
            fib.replace(route).await.unwrap();
        }
        let group = route_object("198.19.0.0/32").unwrap();
        assert_eq!(route_object("198.19.0.2/32"), Some(group));
        let shown = ip_output(&format!("nexthop show id {group}"));
        assert!(
            shown.contains("group") && shown.contains("proto 201"),
            "{shown}"
        );
        // Two members and the group.
        assert_eq!(our_objects().len(), 3);
        assert_eq!(group_members().len(), 2);
        // Re-pointing every route to one gateway frees the group.
        for route in ecmp_routes(3, &["198.18.0.3"]) {
            fib.replace(route).await.unwrap();
        }
        assert_eq!(our_objects().len(), 1, "{}", ip_output("nexthop show"));
        // Removing the last route frees the last object.
        let removals = ecmp_routes(3, &["198.18.0.3"])
            .iter()
            .map(|route| FibChange::Remove(route.prefix()))
            .collect();
        assert!(fib.apply(removals).await.iter().all(Result::is_ok));
        assert!(our_objects().is_empty(), "{}", ip_output("nexthop show"));
    });
}

#[test]
fn a_gateway_failure_is_one_group_operation_for_every_route() {
    in_namespace(
        "a_gateway_failure_is_one_group_operation_for_every_route",
        || async {
            let fib = object_fib();
            let mut changes: Vec<FibChange> = ecmp_routes(500, &["198.18.0.2", "198.18.0.3"])
                .into_iter()
                .map(FibChange::Replace)
                .collect();
            changes.push(FibChange::Replace(unicast(
                "198.19.200.0/24",
                &["198.18.0.2"],
            )));
            changes.push(FibChange::Replace(unicast(
                "198.19.201.0/24",
                &["198.18.0.3"],
            )));
            assert!(fib.apply(changes).await.iter().all(Result::is_ok));
            let group = route_object("198.19.0.0/32").unwrap();

            let removal = fib.remove_gateway(address("198.18.0.2")).await.unwrap();
            assert_eq!(removal.routes_changed, 500);
            assert_eq!(removal.routes_removed, vec![network("198.19.200.0/24")]);
            // One group replaced, one route removed, one object deleted.
            assert_eq!(removal.kernel_operations, 3);
            // The routes still use the same group, which now holds one member.
            assert_eq!(route_object("198.19.1.200/32"), Some(group));
            let listed = fib.list_owned().await.unwrap();
            assert_eq!(listed.len(), 501);
            let survivor = address("198.18.0.3");
            assert!(listed.iter().all(|route| {
                route.next_hops().len() == 1 && route.next_hops()[0].gateway == survivor
            }));
            // BGP's later updates find the routes already right: no new objects.
            let before = our_objects();
            let results = fib
                .apply(
                    ecmp_routes(500, &["198.18.0.3"])
                        .into_iter()
                        .map(FibChange::Replace)
                        .collect(),
                )
                .await;
            assert!(results.iter().all(Result::is_ok));
            assert_eq!(our_objects(), before);
            // A gateway nobody uses: nothing to do.
            let idle = fib.remove_gateway(address("198.18.0.77")).await.unwrap();
            assert_eq!(idle.kernel_operations, 0);
        },
    );
}

#[test]
fn gateways_failing_together_are_one_batch() {
    in_namespace("gateways_failing_together_are_one_batch", || async {
        let fib = object_fib();
        let mut changes: Vec<FibChange> =
            ecmp_routes(100, &["198.18.0.2", "198.18.0.3", "198.18.0.4"])
                .into_iter()
                .map(FibChange::Replace)
                .collect();
        for (prefix, gateway) in [
            ("198.19.200.0/24", "198.18.0.4"),
            ("198.19.201.0/24", "198.18.0.5"),
            ("198.19.202.0/24", "198.18.0.2"),
        ] {
            changes.push(FibChange::Replace(unicast(prefix, &[gateway])));
        }
        assert!(fib.apply(changes).await.iter().all(Result::is_ok));
        let group = route_object("198.19.0.0/32").unwrap();

        // Two sessions lost together (the speaker's failover asks for both).
        let removals = fib
            .fail_gateways(vec![address("198.18.0.4"), address("198.18.0.5")])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(removals.len(), 2);
        let (four, five) = (&removals[0], &removals[1]);
        assert_eq!(four.routes_changed, 100);
        assert_eq!(four.routes_removed, vec![network("198.19.200.0/24")]);
        assert_eq!(five.routes_changed, 0);
        assert_eq!(five.routes_removed, vec![network("198.19.201.0/24")]);
        // The ECMP routes kept their group, now of the two survivors.
        assert_eq!(route_object("198.19.0.99/32"), Some(group));
        let listed = fib.list_owned().await.unwrap();
        assert_eq!(listed.len(), 101);
        let gone = [address("198.18.0.4"), address("198.18.0.5")];
        assert!(listed.iter().all(|route| {
            route
                .next_hops()
                .iter()
                .all(|hop| !gone.contains(&hop.gateway))
        }));
        let shown = ip_output("nexthop show");
        assert!(
            !shown.contains("198.18.0.4") && !shown.contains("198.18.0.5"),
            "the failed gateways' objects are deleted: {shown}"
        );
        // An empty set is nothing to do.
        assert_eq!(
            fib.fail_gateways(Vec::new()).await.unwrap(),
            Some(Vec::new())
        );
    });
}

#[test]
fn without_objects_a_gateway_failure_is_one_replace_per_route() {
    in_namespace(
        "without_objects_a_gateway_failure_is_one_replace_per_route",
        || async {
            let fib = NetlinkFib::new(NetlinkFibConfig::default()).unwrap();
            let routes = ecmp_routes(200, &["198.18.0.2", "198.18.0.3"]);
            let results = fib
                .apply(routes.into_iter().map(FibChange::Replace).collect())
                .await;
            assert!(results.iter().all(Result::is_ok));
            let removal = fib.remove_gateway(address("198.18.0.3")).await.unwrap();
            assert_eq!(removal.routes_changed, 200);
            assert_eq!(removal.kernel_operations, 200);
            let listed = fib.list_owned().await.unwrap();
            assert!(listed.iter().all(|route| {
                route.satisfies(&unicast(&route.prefix().to_string(), &["198.18.0.2"]))
            }));
        },
    );
}

#[test]
fn routes_are_listed_through_objects_without_compat_mode() {
    in_namespace(
        "routes_are_listed_through_objects_without_compat_mode",
        || async {
            let sysctl = std::process::Command::new("sysctl")
                .args(["-w", "net.ipv4.nexthop_compat_mode=0"])
                .output()
                .unwrap();
            assert!(sysctl.status.success(), "{sysctl:?}");
            let fib = object_fib();
            let ecmp = unicast("198.19.5.0/24", &["198.18.0.2", "198.18.0.3"]);
            let v6 = unicast("2001:db8:5::/64", &["2001:db8::2"]);
            let mixed = unicast("198.19.6.0/24", &["2001:db8::2", "198.18.0.2"]);
            for route in [&ecmp, &v6, &mixed] {
                fib.replace(route.clone()).await.unwrap();
            }
            let shown = ip_output("route show 198.19.5.0/24");
            assert!(!shown.contains("via"), "compat mode still expands: {shown}");
            contract::assert_listed(&NetlinkTarget { fib: fib.clone() }, &[ecmp, v6, mixed]).await;
            // A second FIB (a restarted daemon) adopts the objects and the
            // routes, and cleans up after them.
            let restarted = object_fib();
            assert_eq!(restarted.list_owned().await.unwrap().len(), 3);
            let removals = ["198.19.5.0/24", "2001:db8:5::/64", "198.19.6.0/24"]
                .iter()
                .map(|prefix| FibChange::Remove(network(prefix)))
                .collect();
            assert!(restarted.apply(removals).await.iter().all(Result::is_ok));
            assert!(our_objects().is_empty(), "{}", ip_output("nexthop show"));
        },
    );
}

#[test]
fn foreign_nexthop_objects_are_never_touched() {
    in_namespace("foreign_nexthop_objects_are_never_touched", || async {
        let first = NexthopObjects::default().first_id;
        // Another program's object inside our id range, and an object with
        // our protocol number outside it (another instance's, say).
        ip(&format!(
            "nexthop add id {first} via 198.18.0.2 dev dummy0 proto static"
        ));
        ip("nexthop add id 7 via 198.18.0.2 dev dummy0 proto 201");
        ip("route add 198.19.90.0/24 nhid 7 proto static");
        let fib = object_fib();
        let routes = ecmp_routes(5, &["198.18.0.2", "198.18.0.4"]);
        for route in &routes {
            fib.replace(route.clone()).await.unwrap();
        }
        assert_ne!(route_object("198.19.0.0/32"), Some(first));
        let removal = fib.remove_gateway(address("198.18.0.2")).await.unwrap();
        assert_eq!(removal.routes_changed, 5);
        for route in &routes {
            fib.remove(route.prefix()).await.unwrap();
        }
        let shown = ip_output("nexthop show");
        assert!(
            shown.contains(&format!("id {first} via 198.18.0.2")),
            "{shown}"
        );
        assert!(shown.contains("id 7 via 198.18.0.2"), "{shown}");
        assert_eq!(
            shown.lines().count(),
            2,
            "only the foreign objects remain: {shown}"
        );
        assert!(ip_output("route show 198.19.90.0/24").contains("nhid 7"));
    });
}

#[test]
fn kernel_refusals_are_the_same_with_objects() {
    in_namespace("kernel_refusals_are_the_same_with_objects", || async {
        let fib = object_fib();
        let results = fib
            .apply(vec![
                FibChange::Replace(unicast("198.19.40.0/24", &["198.18.99.1"])),
                FibChange::Replace(unicast("198.19.41.0/24", &["198.18.0.2"])),
            ])
            .await;
        let error = results[0].as_ref().unwrap_err();
        assert_eq!(
            error.to_string(),
            "replace 198.19.40.0/24: kernel refused: Network is unreachable (errno 101)"
        );
        results[1].as_ref().unwrap();
        assert_eq!(fib.list_owned().await.unwrap().len(), 1);
    });
}
