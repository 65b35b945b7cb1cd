//! `NetlinkFib`: the kernel FIB over rtnetlink.
//!
//! A batch of [`FibChange`]s flows through [`NetlinkFib::apply`] in up to
//! two passes over one netlink socket (see [`transport`] for how requests
//! are kept in flight):
//!
//! 1. every `Replace` is sent as a *create-exclusive* `RTM_NEWROUTE`
//!    (`NLM_F_CREATE | NLM_F_EXCL`), every `Remove` as an `RTM_DELROUTE`
//!    stamped with our protocol. The kernel refuses the create with `EEXIST`
//!    when any route already holds the prefix in our table at our metric,
//!    and only deletes a route whose protocol matches ours, so this pass can
//!    never disturb another protocol's route;
//! 2. for the creates that met `EEXIST`, one dump of our table tells whose
//!    route is in the way: ours are replaced (`NLM_F_REPLACE`), others are
//!    reported as [`FibErrorKind::Conflict`] and left alone.
//!
//! New routes therefore cost one request, and the dump is only paid when
//! existing routes change. The kernel offers no conditional replace, so a
//! foreign route installed in the microseconds between the dump and our
//! replace could still be overwritten; the route monitor reports it.
//!
//! With [`NetlinkFib::with_nexthop_objects`], routes refer to kernel
//! nexthop objects instead of carrying gateways ([`nexthop`]), so a
//! gateway's failure ([`NetlinkFib::remove_gateway`]) is one group
//! replacement instead of one route replacement per prefix.

pub mod addresses;
mod apply;
pub mod decode;
mod echo_filter;
pub mod encode;
pub mod monitor;
pub mod nexthop;
pub mod nexthop_message;
pub mod nexthop_registry;
pub mod transport;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ipnetwork::IpNetwork;

use crate::error::{FibError, FibErrorKind, Operation};
use crate::fib::{Fib, FibFuture};
use crate::kernel_route::KernelRoute;
use crate::route::{FibChange, Route};
use apply::{apply_blocking, dump_routes};
use encode::Stamp;
use nexthop::{
    ObjectState, apply_with_objects, list_owned_adopting, list_owned_plain,
    list_owned_resolving_objects, probe_objects,
};
use transport::Transport;

pub use addresses::InterfaceAddress;
pub use monitor::{Notification, RouteEvent, RouteEventKind, RouteMonitor};
pub use nexthop::{GatewayRemoval, NexthopObjects, RouteObject};

/// Where and how podroute's routes live in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkFibConfig {
    /// Routing table (`[fib] table`, default 254, main).
    pub table: u32,
    /// `rtm_protocol` stamped on our routes (`[fib] protocol`, default 201).
    pub protocol: u8,
    /// Metric (`RTA_PRIORITY`) of our routes, default 20. Only routes at this
    /// metric are ours; a route of another protocol at another metric
    /// coexists with ours and is never a conflict.
    pub metric: u32,
}

impl Default for NetlinkFibConfig {
    fn default() -> Self {
        NetlinkFibConfig {
            table: 254,
            protocol: 201,
            metric: 20,
        }
    }
}

impl NetlinkFibConfig {
    /// True when `route` is one of ours: our protocol, table and metric.
    pub fn owns(&self, route: &KernelRoute) -> bool {
        route.protocol == self.protocol && route.table == self.table && route.metric == self.metric
    }

    pub(crate) fn stamp(&self) -> Stamp {
        Stamp {
            table: self.table,
            protocol: self.protocol,
            metric: self.metric,
        }
    }
}

/// The kernel FIB (see the module documentation).
#[derive(Debug, Clone)]
pub struct NetlinkFib {
    config: NetlinkFibConfig,
    transport: Arc<Mutex<Transport>>,
    /// The transport's netlink port id, fixed for the socket's life.
    port: u32,
    /// Nexthop-object mode ([`nexthop`]): the id range and the registry of
    /// our objects. Locked only while `transport` is held.
    objects: Option<(NexthopObjects, Arc<Mutex<ObjectState>>)>,
}

pub(crate) fn transport_error(
    operation: Operation,
    prefix: Option<IpNetwork>,
    error: impl ToString,
) -> FibError {
    FibError {
        operation,
        prefix,
        kind: FibErrorKind::Transport(error.to_string()),
    }
}

impl NetlinkFib {
    /// Opens a netlink socket in the calling thread's network namespace.
    pub fn new(config: NetlinkFibConfig) -> std::io::Result<NetlinkFib> {
        let transport = Transport::open()?;
        Ok(NetlinkFib {
            config,
            port: transport.port(),
            transport: Arc::new(Mutex::new(transport)),
            objects: None,
        })
    }

    /// Like [`NetlinkFib::new`], with routes forwarding through kernel
    /// nexthop objects (Linux 5.3+; see [`nexthop`]): one object per gateway
    /// and one group per ECMP set, stamped with our protocol, with ids in
    /// `range`. Off by default; [`NetlinkFibConfig`] keeps its fields so
    /// callers that build it field by field are unaffected.
    pub fn with_nexthop_objects(
        config: NetlinkFibConfig,
        range: NexthopObjects,
    ) -> std::io::Result<NetlinkFib> {
        let mut fib = NetlinkFib::new(config)?;
        fib.objects = Some((
            range,
            Arc::new(Mutex::new(ObjectState::new(config.protocol, range))),
        ));
        Ok(fib)
    }

    /// Asks the kernel whether it accepts nexthop objects (see
    /// [`NetlinkFib::with_nexthop_objects`]) by creating and deleting one
    /// blackhole object in our range. `Ok` also when object mode is off.
    /// `Err(errno)`: the kernel refused (e.g. `EOPNOTSUPP` before Linux
    /// 5.3); build the FIB with [`NetlinkFib::new`] instead.
    pub async fn probe_nexthop_objects(&self) -> Result<(), i32> {
        let Some((range, _)) = self.objects else {
            return Ok(());
        };
        let transport = Arc::clone(&self.transport);
        let protocol = self.config.protocol;
        match tokio::task::spawn_blocking(move || {
            probe_objects(&mut lock(&transport), protocol, range)
        })
        .await
        {
            Ok(result) => result,
            // The probe's thread died: treat the kernel as unable (EIO).
            Err(_) => Err(5),
        }
    }

    /// The nexthop object id range, when object mode is on.
    pub fn nexthop_objects(&self) -> Option<NexthopObjects> {
        self.objects.as_ref().map(|(range, _)| *range)
    }

    /// A node failed: every route of ours through `gateway` loses that next
    /// hop, and a route whose only next hop it was is removed.
    ///
    /// With nexthop objects this replaces each group object containing the
    /// gateway once (typically one group however many routes use it) and
    /// deletes the gateway's object; without, it lists our routes and
    /// replaces each affected route in one batch. The daemon calls it (as
    /// [`Fib::fail_gateway`], objects only) when BGP stops using a gateway
    /// altogether, before the per-prefix updates that say the same, which
    /// then find the routes already right; a failure detected below BGP
    /// (BFD, link down) could use it the same way.
    pub async fn remove_gateway(&self, gateway: IpAddr) -> Result<GatewayRemoval, FibError> {
        let mut removals = self.remove_gateways(vec![gateway]).await?;
        Ok(removals.pop().unwrap_or_default())
    }

    /// [`NetlinkFib::remove_gateway`] for several gateways that failed
    /// together; the removal at index `i` belongs to `gateways[i]`. With
    /// nexthop objects the whole set costs three kernel round trips (group
    /// replacements, orphaned routes, unused objects), not three per
    /// gateway.
    pub async fn remove_gateways(
        &self,
        gateways: Vec<IpAddr>,
    ) -> Result<Vec<GatewayRemoval>, FibError> {
        let transport = Arc::clone(&self.transport);
        let config = self.config;
        let objects = self.objects.as_ref().map(|(_, state)| Arc::clone(state));
        run_blocking(Operation::Replace, None, move || {
            let mut transport = lock(&transport);
            match objects {
                Some(state) => {
                    let mut state = lock(&state);
                    nexthop::remove_gateways_with_objects(
                        &mut transport,
                        config,
                        &mut state,
                        &gateways,
                    )
                }
                None => gateways
                    .iter()
                    .map(|gateway| remove_gateway_per_route(&mut transport, config, *gateway))
                    .collect(),
            }
        })
        .await
    }

    /// The table, protocol and metric this FIB stamps on its routes.
    pub fn config(&self) -> NetlinkFibConfig {
        self.config
    }

    /// Subscribes to route events (added / changed / deleted) of every
    /// protocol in every table; filter with [`NetlinkFibConfig::owns`].
    pub fn watch(&self) -> std::io::Result<RouteMonitor> {
        RouteMonitor::open()
    }

    /// As [`NetlinkFib::watch`], without the events this FIB's own requests
    /// cause: the kernel drops them before they are queued, so installing a
    /// full table costs no notification per route, and every event received
    /// is a change someone else made. Fails if the kernel refuses the socket
    /// filter (then use [`NetlinkFib::watch`] and match echoes).
    pub fn watch_others(&self) -> std::io::Result<RouteMonitor> {
        RouteMonitor::open_excluding(self.port)
    }

    /// Every IPv4 and IPv6 route of `table` (all tables when `None`), any
    /// protocol, sorted: the input of [`crate::resolve_next_hop`] and of
    /// kernel route import.
    pub async fn snapshot(&self, table: Option<u32>) -> Result<Vec<KernelRoute>, FibError> {
        let transport = Arc::clone(&self.transport);
        run_blocking(Operation::List, None, move || {
            let mut transport = lock(&transport);
            let mut routes = dump_routes(&mut transport, table, None)?;
            if let Some(table) = table {
                routes.retain(|route| route.table == table);
            }
            routes.sort();
            Ok(routes)
        })
        .await
    }

    /// Every address of every interface, sorted.
    pub async fn interface_addresses(&self) -> Result<Vec<InterfaceAddress>, FibError> {
        let transport = Arc::clone(&self.transport);
        run_blocking(Operation::List, None, move || {
            let mut transport = lock(&transport);
            addresses::dump_addresses(&mut transport)
                .map_err(|error| transport_error(Operation::List, None, error))
        })
        .await
    }

    async fn execute(&self, changes: Vec<FibChange>) -> Vec<Result<(), FibError>> {
        let transport = Arc::clone(&self.transport);
        let config = self.config;
        let count = changes.len();
        let objects = self.objects.as_ref().map(|(_, state)| Arc::clone(state));
        let outcome = tokio::task::spawn_blocking(move || {
            let mut transport = lock(&transport);
            match objects {
                Some(state) => {
                    apply_with_objects(&mut transport, config, &mut lock(&state), changes)
                }
                None => apply_blocking(&mut transport, config, changes),
            }
        })
        .await;
        match outcome {
            Ok(results) => results,
            Err(error) => (0..count)
                .map(|_| Err(transport_error(Operation::Replace, None, &error)))
                .collect(),
        }
    }
}

fn lock<T>(value: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Neither the socket nor the registry holds an invariant a panic could
    // break mid-way (a registry in doubt is rebuilt from the kernel).
    value
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// [`NetlinkFib::remove_gateway`] without objects: one replace (or remove)
/// per affected route, in one batch.
fn remove_gateway_per_route(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    gateway: IpAddr,
) -> Result<GatewayRemoval, FibError> {
    let routes = list_owned_resolving_objects(transport, config)?;
    let mut changes = Vec::new();
    for route in routes {
        if !route.next_hops().iter().any(|hop| hop.gateway == gateway) {
            continue;
        }
        let remaining: Vec<_> = route
            .next_hops()
            .iter()
            .filter(|hop| hop.gateway != gateway)
            .cloned()
            .collect();
        changes.push(match Route::unicast(route.prefix(), remaining) {
            Ok(shrunk) => FibChange::Replace(shrunk),
            Err(_) => FibChange::Remove(route.prefix()),
        });
    }
    let results = apply_blocking(transport, config, changes.clone());
    let mut removal = GatewayRemoval {
        kernel_operations: changes.len(),
        ..GatewayRemoval::default()
    };
    for (change, result) in changes.iter().zip(results) {
        result?;
        match change {
            FibChange::Replace(route) => {
                removal.routes_changed += 1;
                removal.changed_prefixes.push(route.prefix());
            }
            FibChange::Remove(prefix) => removal.routes_removed.push(*prefix),
        }
    }
    Ok(removal)
}

async fn run_blocking<T: Send + 'static>(
    operation: Operation,
    prefix: Option<IpNetwork>,
    work: impl FnOnce() -> Result<T, FibError> + Send + 'static,
) -> Result<T, FibError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) => Err(transport_error(operation, prefix, error)),
    }
}

impl Fib for NetlinkFib {
    fn replace(&self, route: Route) -> FibFuture<'_, Result<(), FibError>> {
        Box::pin(async move {
            let prefix = route.prefix();
            let mut results = self.execute(vec![FibChange::Replace(route)]).await;
            results.pop().unwrap_or_else(|| {
                Err(transport_error(
                    Operation::Replace,
                    Some(prefix),
                    "no result",
                ))
            })
        })
    }

    fn remove(&self, prefix: IpNetwork) -> FibFuture<'_, Result<(), FibError>> {
        Box::pin(async move {
            let mut results = self.execute(vec![FibChange::Remove(prefix)]).await;
            results.pop().unwrap_or_else(|| {
                Err(transport_error(
                    Operation::Remove,
                    Some(prefix),
                    "no result",
                ))
            })
        })
    }

    fn list_owned(&self) -> FibFuture<'_, Result<Vec<Route>, FibError>> {
        let transport = Arc::clone(&self.transport);
        let config = self.config;
        let objects = self.objects.as_ref().map(|(_, state)| Arc::clone(state));
        Box::pin(run_blocking(Operation::List, None, move || {
            let mut transport = lock(&transport);
            match objects {
                // Listing is adoption or resync: the registry is rebuilt
                // and objects nothing uses are deleted on the way.
                Some(state) => list_owned_adopting(&mut transport, config, &mut lock(&state)),
                // Routes a run with objects left are turned back into
                // plain routes, and its objects deleted.
                None => list_owned_plain(&mut transport, config),
            }
        }))
    }

    fn apply(&self, changes: Vec<FibChange>) -> FibFuture<'_, Vec<Result<(), FibError>>> {
        Box::pin(self.execute(changes))
    }

    /// With objects, [`NetlinkFib::remove_gateway`]; without, `Ok(None)`:
    /// per-route replacement is no faster than the caller's own changes.
    fn fail_gateway(
        &self,
        gateway: IpAddr,
    ) -> FibFuture<'_, Result<Option<GatewayRemoval>, FibError>> {
        Box::pin(async move {
            if self.objects.is_none() {
                return Ok(None);
            }
            self.remove_gateway(gateway).await.map(Some)
        })
    }

    fn fail_gateways(
        &self,
        gateways: Vec<IpAddr>,
    ) -> FibFuture<'_, Result<Option<Vec<GatewayRemoval>>, FibError>> {
        Box::pin(async move {
            if self.objects.is_none() {
                return Ok(None);
            }
            self.remove_gateways(gateways).await.map(Some)
        })
    }

    fn route_objects(&self) -> FibFuture<'_, BTreeMap<IpNetwork, RouteObject>> {
        let objects = self.objects.as_ref().map(|(_, state)| Arc::clone(state));
        Box::pin(async move {
            let Some(state) = objects else {
                return BTreeMap::new();
            };
            // A batch holds the registry while the kernel works: wait for
            // it off the runtime's threads.
            tokio::task::spawn_blocking(move || nexthop::route_objects(&lock(&state)))
                .await
                .unwrap_or_default()
        })
    }
}
