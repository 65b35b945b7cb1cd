//! Startup adoption: from the routes we already own to the routes we want.
//!
//! After a restart the kernel still holds our routes (graceful restart keeps
//! forwarding). The daemon lists them with [`crate::Fib::list_owned`],
//! collects the routes BGP has re-learned, and, when it decides the RIB is
//! complete (End-of-RIB, RFC 4724 §4.2, or the restart timer), calls
//! [`reconcile`] and applies the result. Routes already right are left
//! alone, so forwarding never blinks for them.

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;

use crate::route::{FibChange, Route};

/// The changes that turn `current` into `desired`, sorted by prefix:
/// `Replace` for each desired route not already installed as asked,
/// `Remove` for each owned prefix that is no longer desired. If `desired`
/// holds two routes for one prefix, the later one wins.
pub fn reconcile(current: &[Route], desired: &[Route]) -> Vec<FibChange> {
    let current: BTreeMap<IpNetwork, &Route> = current
        .iter()
        .map(|route| (route.prefix(), route))
        .collect();
    let desired: BTreeMap<IpNetwork, &Route> = desired
        .iter()
        .map(|route| (route.prefix(), route))
        .collect();
    let mut changes = Vec::new();
    // Both maps iterate in prefix order; merge them.
    let mut prefixes: Vec<IpNetwork> = current.keys().chain(desired.keys()).copied().collect();
    prefixes.sort();
    prefixes.dedup();
    for prefix in prefixes {
        match (current.get(&prefix), desired.get(&prefix)) {
            (Some(have), Some(want)) if have.satisfies(want) => {}
            (_, Some(want)) => changes.push(FibChange::Replace((*want).clone())),
            (Some(_), None) => changes.push(FibChange::Remove(prefix)),
            (None, None) => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{Interface, NextHop};

    fn route(prefix: &str, gateway: &str) -> Route {
        Route::unicast(
            prefix.parse().unwrap(),
            vec![NextHop::via(gateway.parse().unwrap())],
        )
        .unwrap()
    }

    #[test]
    fn keeps_replaces_and_removes_in_prefix_order() {
        let current = vec![
            route("198.19.3.0/24", "198.18.0.2"),
            route("198.19.1.0/24", "198.18.0.2"),
            route("198.19.2.0/24", "198.18.0.2"),
        ];
        let desired = vec![
            route("198.19.4.0/24", "198.18.0.2"),
            route("198.19.2.0/24", "198.18.0.3"),
            route("198.19.1.0/24", "198.18.0.2"),
        ];
        assert_eq!(
            reconcile(&current, &desired),
            vec![
                FibChange::Replace(route("198.19.2.0/24", "198.18.0.3")),
                FibChange::Remove("198.19.3.0/24".parse().unwrap()),
                FibChange::Replace(route("198.19.4.0/24", "198.18.0.2")),
            ]
        );
    }

    #[test]
    fn installed_interface_satisfies_unpinned_desire() {
        let installed = Route::unicast(
            "2001:db8:1::/64".parse().unwrap(),
            vec![NextHop::via("2001:db8::2".parse().unwrap()).with_interface(Interface::Index(7))],
        )
        .unwrap();
        assert!(reconcile(&[installed], &[route("2001:db8:1::/64", "2001:db8::2")]).is_empty());
    }

    #[test]
    fn blackhole_and_unicast_for_one_prefix_differ() {
        let prefix = "198.19.9.0/24".parse().unwrap();
        assert_eq!(
            reconcile(
                &[route("198.19.9.0/24", "198.18.0.2")],
                &[Route::blackhole(prefix)]
            ),
            vec![FibChange::Replace(Route::blackhole(prefix))]
        );
    }

    #[test]
    fn later_duplicate_in_desired_wins_and_output_is_deterministic() {
        let desired = vec![
            route("198.19.5.0/24", "198.18.0.2"),
            route("198.19.5.0/24", "198.18.0.9"),
        ];
        let first = reconcile(&[], &desired);
        assert_eq!(
            first,
            vec![FibChange::Replace(route("198.19.5.0/24", "198.18.0.9"))]
        );
        assert_eq!(first, reconcile(&[], &desired));
        assert!(reconcile(&[], &[]).is_empty());
    }
}
