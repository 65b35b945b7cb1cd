//! `trait Fib`: the one interface the daemon uses to program forwarding.
//!
//! The daemon's FIB task receives route changes from the BGP speaker, turns
//! them into [`FibChange`]s and calls [`Fib::apply`] with as many as are
//! queued, so one kernel round trip carries many routes. Implementations:
//! [`crate::NetlinkFib`] (the kernel) and [`crate::MemoryFib`] (tests).
//!
//! The methods return boxed futures instead of using `async fn` in the
//! trait: the daemon picks the implementation at run time from its config
//! (`[fib] enabled`), which needs `dyn Fib`, and spawns the FIB task on a
//! multi-threaded runtime, which needs the futures to be `Send`. Neither is
//! possible with `async fn` in traits today; one allocation per call (and
//! per batch) is negligible next to a netlink round trip.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use ipnetwork::IpNetwork;

use crate::error::FibError;
use crate::netlink::nexthop::{GatewayRemoval, RouteObject};
use crate::route::{FibChange, Route};

/// A boxed, sendable future returned by [`Fib`] methods.
pub type FibFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Programs routes into a forwarding table, touching only routes it owns.
///
/// Contract (DESIGN.md "Kernel (fib crate)"):
/// - `replace` of a route identical to the installed one succeeds;
/// - `remove` of a prefix with no route of ours succeeds;
/// - a route of another protocol at the same prefix/table/metric is never
///   modified or removed: `replace` reports a conflict instead;
/// - `list_owned` returns only our routes, sorted by prefix.
pub trait Fib: Send + Sync {
    /// Installs `route`, replacing our previous route for the same prefix.
    fn replace(&self, route: Route) -> FibFuture<'_, Result<(), FibError>>;

    /// Removes our route for `prefix`, if any.
    fn remove(&self, prefix: IpNetwork) -> FibFuture<'_, Result<(), FibError>>;

    /// Our routes, sorted by prefix.
    fn list_owned(&self) -> FibFuture<'_, Result<Vec<Route>, FibError>>;

    /// Applies many changes with many requests in flight; the result at
    /// index `i` belongs to `changes[i]`. Changes are applied in order, so a
    /// later change to the same prefix wins.
    fn apply(&self, changes: Vec<FibChange>) -> FibFuture<'_, Vec<Result<(), FibError>>>;

    /// `gateway` is gone for good: every route of ours through it loses that
    /// next hop (a route whose only next hop it was is removed), in as few
    /// kernel operations as this FIB can manage. `Ok(None)` means this FIB
    /// has no faster way than one change per route, and did nothing: the
    /// caller's per-prefix changes do the work instead.
    ///
    /// A FIB with kernel nexthop objects replaces each group holding the
    /// gateway once, so every route using the group fails over together.
    fn fail_gateway(
        &self,
        gateway: IpAddr,
    ) -> FibFuture<'_, Result<Option<GatewayRemoval>, FibError>> {
        let _ = gateway;
        Box::pin(async { Ok(None) })
    }

    /// Several gateways gone together ([`Fib::fail_gateway`] for each, in
    /// order); the removal at index `i` belongs to `gateways[i]`. A FIB
    /// that can do the whole set in fewer kernel round trips than one
    /// gateway after the other (nexthop objects) overrides this.
    fn fail_gateways(
        &self,
        gateways: Vec<IpAddr>,
    ) -> FibFuture<'_, Result<Option<Vec<GatewayRemoval>>, FibError>> {
        Box::pin(async move {
            let mut removals = Vec::with_capacity(gateways.len());
            for gateway in gateways {
                match self.fail_gateway(gateway).await? {
                    Some(removal) => removals.push(removal),
                    None => return Ok(None),
                }
            }
            Ok(Some(removals))
        })
    }

    /// The kernel nexthop object each of our routes forwards through, by
    /// prefix; empty when this FIB does not use objects.
    fn route_objects(&self) -> FibFuture<'_, BTreeMap<IpNetwork, RouteObject>> {
        Box::pin(async { BTreeMap::new() })
    }
}
