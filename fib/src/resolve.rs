//! Next-hop resolution over a snapshot of kernel routes.
//!
//! A BGP NEXT_HOP (RFC 4271 §5.1.3) is usable only if the kernel can reach
//! it. Given the gateway and a snapshot (`Vec<KernelRoute>`, from
//! [`crate::NetlinkFib::snapshot`] or built by a test), [`resolve_next_hop`]
//! finds the longest-match unicast route covering the gateway:
//! - a connected route (no gateway) means the gateway is on-link: the
//!   immediate gateway is the address itself, leaving by that interface;
//! - a route with a gateway means recursive resolution (RFC 4271 §5.1.3,
//!   "immediate next hop"): the immediate gateway is that route's gateway;
//!   if the kernel did not name an interface, the gateway is resolved again.
//!
//! Pure: no kernel access, so every case is a unit test.

use std::cmp::Reverse;
use std::net::IpAddr;

use serde::Serialize;

use crate::kernel_route::{KernelRoute, KernelRouteType};

/// Recursion limit; protects against routes that resolve through each other.
pub const MAX_RESOLUTION_DEPTH: usize = 8;

/// The outcome of resolving a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Packets for the gateway go to `gateway` out of `interface`.
    Resolved {
        /// The immediate (on-link) gateway.
        gateway: IpAddr,
        /// Outgoing interface index.
        interface: u32,
        /// True when the original gateway itself is on a connected subnet.
        connected: bool,
    },
    /// No unicast route covers the gateway, or resolution loops.
    Unresolvable,
}

/// Resolves `gateway` against `routes` (see the module documentation).
pub fn resolve_next_hop(gateway: IpAddr, routes: &[KernelRoute]) -> Resolution {
    let mut target = gateway;
    for depth in 0..MAX_RESOLUTION_DEPTH {
        let Some(route) = longest_match(target, routes) else {
            return Resolution::Unresolvable;
        };
        // Next hops are sorted, so the first one is a deterministic choice.
        let Some(hop) = route.next_hops.first() else {
            return Resolution::Unresolvable;
        };
        match (hop.gateway, hop.interface) {
            (None, Some(interface)) => {
                return Resolution::Resolved {
                    gateway: target,
                    interface,
                    connected: depth == 0,
                };
            }
            (None, None) => return Resolution::Unresolvable,
            (Some(next), Some(interface)) => {
                return Resolution::Resolved {
                    gateway: next,
                    interface,
                    connected: false,
                };
            }
            (Some(next), None) => target = next,
        }
    }
    Resolution::Unresolvable
}

/// The unicast route that forwards `address`: longest prefix, then lowest
/// metric, then lowest table and prefix so the answer never depends on the
/// snapshot's order.
fn longest_match(address: IpAddr, routes: &[KernelRoute]) -> Option<&KernelRoute> {
    routes
        .iter()
        .filter(|route| {
            route.route_type == KernelRouteType::Unicast && route.prefix.contains(address)
        })
        .min_by_key(|route| {
            (
                Reverse(route.prefix.prefix()),
                route.metric,
                route.table,
                route.prefix,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel_route::KernelNextHop;

    fn route(
        prefix: &str,
        gateway: Option<&str>,
        interface: Option<u32>,
        metric: u32,
    ) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            table: 254,
            protocol: 4,
            metric,
            scope: if gateway.is_some() { 0 } else { 253 },
            route_type: KernelRouteType::Unicast,
            next_hops: vec![KernelNextHop {
                gateway: gateway.map(|text| text.parse().unwrap()),
                interface,
                weight: 1,
            }],
        }
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn gateway_on_connected_subnet_resolves_to_itself() {
        let routes = vec![
            route("198.18.0.0/24", None, Some(3), 0),
            route("0.0.0.0/0", Some("198.18.0.254"), Some(3), 0),
        ];
        assert_eq!(
            resolve_next_hop(address("198.18.0.7"), &routes),
            Resolution::Resolved {
                gateway: address("198.18.0.7"),
                interface: 3,
                connected: true
            }
        );
    }

    #[test]
    fn gateway_behind_another_route_resolves_recursively() {
        let routes = vec![
            route("198.18.0.0/24", None, Some(3), 0),
            route("198.18.8.0/24", Some("198.18.0.1"), Some(3), 0),
        ];
        assert_eq!(
            resolve_next_hop(address("198.18.8.9"), &routes),
            Resolution::Resolved {
                gateway: address("198.18.0.1"),
                interface: 3,
                connected: false
            }
        );
    }

    #[test]
    fn recursion_follows_gateways_without_interface() {
        let routes = vec![
            route("2001:db8::/64", None, Some(5), 256),
            route("2001:db8:9::/48", Some("2001:db8:8::1"), None, 20),
            route("2001:db8:8::/48", Some("2001:db8::1"), None, 20),
        ];
        assert_eq!(
            resolve_next_hop(address("2001:db8:9::1"), &routes),
            Resolution::Resolved {
                gateway: address("2001:db8::1"),
                interface: 5,
                connected: false
            }
        );
    }

    #[test]
    fn longest_match_then_lowest_metric_wins() {
        let routes = vec![
            route("198.18.0.0/16", Some("198.18.1.1"), Some(2), 0),
            route("198.18.4.0/24", Some("198.18.1.2"), Some(2), 50),
            route("198.18.4.0/24", Some("198.18.1.3"), Some(2), 10),
            route("198.18.1.0/24", None, Some(2), 0),
        ];
        assert_eq!(
            resolve_next_hop(address("198.18.4.4"), &routes),
            Resolution::Resolved {
                gateway: address("198.18.1.3"),
                interface: 2,
                connected: false
            }
        );
    }

    #[test]
    fn uncovered_blackholed_or_looping_gateways_are_unresolvable() {
        assert_eq!(
            resolve_next_hop(address("198.18.0.7"), &[]),
            Resolution::Unresolvable
        );
        let mut blackhole = route("198.18.0.0/24", None, None, 0);
        blackhole.route_type = KernelRouteType::Blackhole;
        assert_eq!(
            resolve_next_hop(address("198.18.0.7"), &[blackhole]),
            Resolution::Unresolvable
        );
        let looping = vec![
            route("198.18.1.0/24", Some("198.18.2.1"), None, 0),
            route("198.18.2.0/24", Some("198.18.1.1"), None, 0),
        ];
        assert_eq!(
            resolve_next_hop(address("198.18.1.5"), &looping),
            Resolution::Unresolvable
        );
        // An IPv4 route never resolves an IPv6 gateway.
        assert_eq!(
            resolve_next_hop(
                address("2001:db8::1"),
                &[route("0.0.0.0/0", None, Some(1), 0)]
            ),
            Resolution::Unresolvable
        );
    }
}
