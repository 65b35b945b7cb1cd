//! `podroute fib`: what the synchronizer has in the kernel and why not more.
//!
//! [`Synchronizer::status`] copies the state into a [`FibStatus`], a plain
//! serialisable value the control API returns as JSON. Every list is in
//! prefix order (the maps are `BTreeMap`s), so the output is deterministic.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fib::{Interface, RouteKind, RouteObject};
use ipnetwork::IpNetwork;
use serde::Serialize;
use tokio::time::Instant;

use super::synchronizer::{Counters, Synchronizer};

/// The kernel synchronizer's state, for `podroute fib [--json]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FibStatus {
    /// True once routes left from before the start that nobody re-learned
    /// have been swept (RFC 4724 §4.2).
    pub initial_sweep_done: bool,
    /// Our routes in the kernel, by prefix.
    pub installed: Vec<InstalledRoute>,
    /// Prefixes whose desired route is not installed, by prefix.
    pub failed: Vec<FailedRoute>,
    /// Prefixes held by another protocol's route, by prefix.
    pub conflicts: Vec<ConflictedRoute>,
    /// Prefixes waiting to be evaluated.
    pub pending: usize,
    /// Running totals.
    pub counters: Counters,
}

/// One of our routes in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledRoute {
    /// Destination.
    pub prefix: IpNetwork,
    /// Unicast or blackhole.
    pub kind: RouteKind,
    /// Resolved next hops (empty for a blackhole).
    pub next_hops: Vec<InstalledNextHop>,
    /// When it was installed (or first seen, if adopted), seconds since the
    /// Unix epoch.
    pub since_unix_seconds: u64,
    /// Adopted from before the start and not re-learned: removed at the sweep.
    pub stale: bool,
    /// The kernel nexthop object the route forwards through (`[fib]
    /// nexthop_objects`): its id and, for an ECMP group, the member objects
    /// with their weights; `None` for a route carrying its own next hops.
    pub nexthop_object: Option<RouteObject>,
}

/// A next hop as installed: the immediate gateway after resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledNextHop {
    /// The on-link gateway packets are sent to.
    pub gateway: IpAddr,
    /// Outgoing interface, when known (the kernel reports an index).
    pub interface: Option<Interface>,
    /// ECMP weight.
    pub weight: u16,
}

/// A prefix whose desired route could not be installed (or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRoute {
    /// Destination.
    pub prefix: IpNetwork,
    /// Why, e.g. the kernel's refusal or "next hop 198.18.0.9 unresolvable".
    pub error: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Seconds until the next attempt; `None` when it waits for a route
    /// event or a new update instead of a timer.
    pub next_retry_seconds: Option<u64>,
}

/// A prefix held by another protocol's route, left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictedRoute {
    /// Destination.
    pub prefix: IpNetwork,
    /// `rtm_protocol` of the route in the way.
    pub foreign_protocol: u8,
    /// Times the conflict was found.
    pub attempts: u32,
    /// Seconds until the next check, if one is scheduled (it is also
    /// re-checked as soon as the foreign route is deleted).
    pub next_check_seconds: Option<u64>,
}

/// Whole seconds from `now` until `due`, rounded up.
fn seconds_until(due: Instant, now: Instant) -> u64 {
    let left = due.saturating_duration_since(now);
    let whole = left.as_secs();
    if left > Duration::from_secs(whole) {
        whole.saturating_add(1)
    } else {
        whole
    }
}

impl Synchronizer {
    /// The state as of `now`.
    pub fn status(&self, now: Instant) -> FibStatus {
        let installed = self
            .installed
            .iter()
            .map(|(prefix, installed)| InstalledRoute {
                prefix: *prefix,
                kind: installed.route.kind(),
                next_hops: installed
                    .route
                    .next_hops()
                    .iter()
                    .map(|hop| InstalledNextHop {
                        gateway: hop.gateway,
                        interface: hop.interface.clone(),
                        weight: hop.weight,
                    })
                    .collect(),
                since_unix_seconds: unix_seconds(installed.since),
                stale: self.stale.contains(prefix),
                nexthop_object: None,
            })
            .collect();
        let failed = self
            .failed
            .iter()
            .map(|(prefix, failure)| FailedRoute {
                prefix: *prefix,
                error: failure.error.clone(),
                attempts: failure.attempts,
                next_retry_seconds: failure.next_retry.map(|due| seconds_until(due, now)),
            })
            .collect();
        let conflicts = self
            .conflicts
            .iter()
            .map(|(prefix, conflict)| ConflictedRoute {
                prefix: *prefix,
                foreign_protocol: conflict.protocol,
                attempts: conflict.attempts,
                next_check_seconds: conflict.next_check.map(|due| seconds_until(due, now)),
            })
            .collect();
        FibStatus {
            initial_sweep_done: self.sweep.done,
            installed,
            failed,
            conflicts,
            pending: self.dirty.len(),
            counters: self.counters,
        }
    }
}

impl FibStatus {
    /// Fills in the nexthop object of each installed route the FIB says
    /// uses one (`Fib::route_objects`).
    pub fn with_objects(mut self, objects: &BTreeMap<IpNetwork, RouteObject>) -> FibStatus {
        for route in &mut self.installed {
            route.nexthop_object = objects.get(&route.prefix).cloned();
        }
        self
    }
}

/// Seconds since the Unix epoch (0 for a clock set before it).
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}
