//! Tests of the kernel synchronizer: the state machine with `MemoryFib` and
//! virtual time (`core`), the task through its handle (`task`), and the real
//! kernel in a fresh network namespace (`netlink`).

mod core;
mod failover;
mod import;
#[path = "../../../fib/tests/support/namespace.rs"]
mod namespace;
mod netlink;
mod task;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bgp::rib::FibUpdate;
use fib::{
    Fib, FibChange, JournalOperation, KernelNextHop, KernelRoute, KernelRouteType, MemoryFib,
    NextHop, Notification, Route, RouteEvent, RouteEventKind,
};
use ipnetwork::IpNetwork;
use tokio::time::Instant;

use super::resolution::Resolver;
use super::settings::{Backoff, KernelSettings, Originated};
use super::synchronizer::Synchronizer;

pub(super) fn network(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

pub(super) fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The RIB's change for `prefix` (no gateways: withdrawn).
pub(super) fn update(prefix: &str, gateways: &[&str]) -> FibUpdate {
    FibUpdate {
        prefix: network(prefix),
        next_hops: gateways.iter().map(|gateway| address(gateway)).collect(),
    }
}

pub(super) fn unicast(prefix: &str, gateways: &[&str]) -> Route {
    Route::unicast(
        network(prefix),
        gateways
            .iter()
            .map(|gateway| NextHop::via(address(gateway)))
            .collect(),
    )
    .unwrap()
}

/// `route` as the kernel would report it, owned by protocol `protocol`.
pub(super) fn kernel_route(route: &Route, protocol: u8) -> KernelRoute {
    KernelRoute {
        prefix: route.prefix(),
        table: 254,
        protocol,
        metric: 20,
        scope: 0,
        route_type: match route.kind() {
            fib::RouteKind::Unicast => KernelRouteType::Unicast,
            fib::RouteKind::Blackhole => KernelRouteType::Blackhole,
        },
        next_hops: route
            .next_hops()
            .iter()
            .map(|hop| KernelNextHop {
                gateway: Some(hop.gateway),
                interface: None,
                weight: hop.weight,
            })
            .collect(),
    }
}

pub(super) fn event(kind: RouteEventKind, route: KernelRoute) -> Notification {
    Notification::Route(RouteEvent {
        kind,
        route,
        nexthop_id: None,
    })
}

/// An event about a route using nexthop object `id`, as the kernel sends
/// it with `nexthop_compat_mode = 0`: the object's id, no next hops.
pub(super) fn object_event(kind: RouteEventKind, route: &Route, id: u32) -> Notification {
    let mut reported = kernel_route(route, 201);
    reported.next_hops.clear();
    Notification::Route(RouteEvent {
        kind,
        route: reported,
        nexthop_id: Some(id),
    })
}

/// Settings for tests: retries after 1 s doubling to 8 s, sweep 10 s after
/// End-of-RIB or at most 100 s after the start.
pub(super) fn settings(originated: &[(&str, bool)]) -> KernelSettings {
    KernelSettings {
        originated: originated
            .iter()
            .map(|(prefix, blackhole)| Originated {
                prefix: network(prefix),
                blackhole: *blackhole,
            })
            .collect(),
        sweep_delay: Duration::from_secs(10),
        sweep_max_wait: Duration::from_secs(100),
        retry: Backoff {
            initial: Duration::from_secs(1),
            cap: Duration::from_secs(8),
        },
        batch_size: 64,
        ..KernelSettings::default()
    }
}

/// The state machine driven by hand against a `MemoryFib`, in virtual time.
pub(super) struct Harness {
    pub(super) core: Synchronizer,
    pub(super) fib: Arc<MemoryFib>,
    pub(super) now: Instant,
}

impl Harness {
    /// A synchronizer watching events, that has adopted `fib`'s routes.
    pub(super) async fn start(settings: KernelSettings, fib: Arc<MemoryFib>) -> Harness {
        Self::start_with(settings, fib, Resolver::direct()).await
    }

    pub(super) async fn start_with(
        settings: KernelSettings,
        fib: Arc<MemoryFib>,
        resolver: Resolver,
    ) -> Harness {
        let now = Instant::now();
        let mut core = Synchronizer::new(settings, resolver, true, now);
        core.adopt(fib.list_owned().await.unwrap(), true);
        fib.take_journal();
        Harness { core, fib, now }
    }

    /// Runs timers due now and applies batches until nothing is left,
    /// failing over gone gateways first, as the task does.
    pub(super) async fn run(&mut self) {
        for gateway in self.core.take_failed_gateways() {
            if let Some(removal) = self.fib.fail_gateway(gateway).await.unwrap() {
                self.core.gateway_removed(gateway, &removal);
            }
        }
        loop {
            self.core.on_timer(self.now);
            let changes = self.core.plan_batch();
            if changes.is_empty() {
                return;
            }
            let results = self.fib.apply(changes.clone()).await;
            self.core.record(changes, results, self.now);
        }
    }

    pub(super) async fn advance(&mut self, duration: Duration) {
        self.now += duration;
        self.run().await;
    }

    /// The operations the FIB saw since the last call (listings left out).
    pub(super) fn operations(&self) -> Vec<FibChange> {
        self.fib
            .take_journal()
            .into_iter()
            .filter_map(|entry| match entry.operation {
                JournalOperation::Replace(route) => Some(FibChange::Replace(route)),
                JournalOperation::Remove(prefix) => Some(FibChange::Remove(prefix)),
                JournalOperation::List | JournalOperation::FailGateway(_) => None,
            })
            .collect()
    }
}
