//! Next-hop resolution for learned routes, like BIRD's `gateway recursive`.
//!
//! BGP hands us NEXT_HOP addresses (RFC 4271 §5.1.3) that may be several
//! hops away. Each one flows through [`Resolver::next_hop`]:
//! - without a view of the kernel's routes ([`Resolver::direct`], used with
//!   `MemoryFib`), the address is installed as the gateway unchanged;
//! - with one, [`fib::resolve_next_hop`] looks the address up in a snapshot
//!   of the kernel's routes. On a connected subnet it is installed directly
//!   (the kernel picks the interface); behind another route it is replaced
//!   by that route's immediate gateway and interface; otherwise it is
//!   unresolvable and the prefix is not installed.
//!
//! The snapshot leaves out our own routes, so a learned route never
//! resolves through another learned route (no dependency chains, no loops),
//! and keeps only the tables the kernel itself consults for our routes'
//! gateways: ours and main. Results are cached per address; when route
//! events replace the snapshot, [`Resolver::refresh`] says which addresses
//! now resolve differently so only their prefixes are re-evaluated.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use fib::{Interface, KernelRoute, NetlinkFibConfig, NextHop, Resolution, resolve_next_hop};

/// The main routing table, where connected and default routes live.
const MAIN_TABLE: u32 = 254;

/// Turns BGP next hops into kernel next hops (see the module documentation).
#[derive(Debug, Default)]
pub struct Resolver {
    /// `None`: direct mode, no resolution.
    snapshot: Option<Vec<KernelRoute>>,
    cache: BTreeMap<IpAddr, Resolution>,
}

impl Resolver {
    /// Installs next hops as given, with no kernel lookups.
    pub fn direct() -> Resolver {
        Resolver::default()
    }

    /// Resolves recursively against `routes`, a dump of every kernel table.
    pub fn recursive(routes: Vec<KernelRoute>, ownership: NetlinkFibConfig) -> Resolver {
        Resolver {
            snapshot: Some(usable_routes(routes, ownership)),
            cache: BTreeMap::new(),
        }
    }

    /// True when next hops are resolved through a kernel snapshot.
    pub fn is_recursive(&self) -> bool {
        self.snapshot.is_some()
    }

    /// The kernel next hop for BGP next hop `gateway`; `None` when it is
    /// unresolvable.
    pub fn next_hop(&mut self, gateway: IpAddr) -> Option<NextHop> {
        let Some(snapshot) = &self.snapshot else {
            return Some(NextHop::via(gateway));
        };
        let resolution = *self
            .cache
            .entry(gateway)
            .or_insert_with(|| resolve_next_hop(gateway, snapshot));
        match resolution {
            Resolution::Resolved {
                connected: true, ..
            } => Some(NextHop::via(gateway)),
            Resolution::Resolved {
                gateway: immediate,
                interface,
                connected: false,
            } => Some(NextHop::via(immediate).with_interface(Interface::Index(interface))),
            Resolution::Unresolvable => None,
        }
    }

    /// Replaces the snapshot with a new dump and returns the cached
    /// addresses whose resolution changed (their prefixes need another
    /// look). Addresses not asked about since are forgotten.
    pub fn refresh(
        &mut self,
        routes: Vec<KernelRoute>,
        ownership: NetlinkFibConfig,
    ) -> BTreeSet<IpAddr> {
        let snapshot = usable_routes(routes, ownership);
        let mut changed = BTreeSet::new();
        for (gateway, resolution) in &mut self.cache {
            let now = resolve_next_hop(*gateway, &snapshot);
            if now != *resolution {
                *resolution = now;
                changed.insert(*gateway);
            }
        }
        self.snapshot = Some(snapshot);
        changed
    }

    /// Drops cached results for addresses no longer used by any route.
    pub fn retain(&mut self, in_use: &BTreeSet<IpAddr>) {
        self.cache.retain(|gateway, _| in_use.contains(gateway));
    }
}

/// The routes a gateway may resolve through: not ours, and in our table or
/// main (where the kernel falls back to for gateway checks).
fn usable_routes(mut routes: Vec<KernelRoute>, ownership: NetlinkFibConfig) -> Vec<KernelRoute> {
    routes.retain(|route| {
        !ownership.owns(route)
            && route.protocol != ownership.protocol
            && (route.table == ownership.table || route.table == MAIN_TABLE)
    });
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use fib::{KernelNextHop, KernelRouteType};

    fn kernel_route(prefix: &str, gateway: Option<&str>, protocol: u8) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            table: 254,
            protocol,
            metric: 20,
            scope: if gateway.is_some() { 0 } else { 253 },
            route_type: KernelRouteType::Unicast,
            next_hops: vec![KernelNextHop {
                gateway: gateway.map(|text| text.parse().unwrap()),
                interface: Some(3),
                weight: 1,
            }],
        }
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn direct_mode_installs_the_gateway_as_given() {
        let mut resolver = Resolver::direct();
        assert_eq!(
            resolver.next_hop(address("198.18.9.9")),
            Some(NextHop::via(address("198.18.9.9")))
        );
        assert!(!resolver.is_recursive());
    }

    #[test]
    fn connected_is_direct_and_remote_is_recursive() {
        let routes = vec![
            kernel_route("198.18.0.0/24", None, 2),
            kernel_route("198.18.7.0/24", Some("198.18.0.5"), 4),
        ];
        let mut resolver = Resolver::recursive(routes, NetlinkFibConfig::default());
        assert_eq!(
            resolver.next_hop(address("198.18.0.7")),
            Some(NextHop::via(address("198.18.0.7")))
        );
        assert_eq!(
            resolver.next_hop(address("198.18.7.1")),
            Some(NextHop::via(address("198.18.0.5")).with_interface(Interface::Index(3)))
        );
        assert_eq!(resolver.next_hop(address("198.18.99.1")), None);
    }

    #[test]
    fn our_own_routes_never_resolve_a_gateway() {
        let routes = vec![
            kernel_route("198.18.0.0/24", None, 2),
            // A learned route of ours covering the gateway.
            kernel_route("198.18.7.0/24", Some("198.18.0.5"), 201),
        ];
        let mut resolver = Resolver::recursive(routes, NetlinkFibConfig::default());
        assert_eq!(resolver.next_hop(address("198.18.7.1")), None);
    }

    #[test]
    fn refresh_reports_only_changed_gateways() {
        let ownership = NetlinkFibConfig::default();
        let mut resolver =
            Resolver::recursive(vec![kernel_route("198.18.0.0/24", None, 2)], ownership);
        assert!(resolver.next_hop(address("198.18.0.7")).is_some());
        assert_eq!(resolver.next_hop(address("198.18.7.1")), None);
        let changed = resolver.refresh(
            vec![
                kernel_route("198.18.0.0/24", None, 2),
                kernel_route("198.18.7.0/24", Some("198.18.0.5"), 4),
            ],
            ownership,
        );
        assert_eq!(changed, BTreeSet::from([address("198.18.7.1")]));
        assert!(resolver.next_hop(address("198.18.7.1")).is_some());
    }
}
