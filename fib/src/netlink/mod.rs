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

pub mod decode;
pub mod encode;
pub mod monitor;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};

use crate::error::{FibError, FibErrorKind, Operation};
use crate::fib::{Fib, FibFuture};
use crate::kernel_route::KernelRoute;
use crate::route::{FibChange, Interface, Route};
use encode::Stamp;
use transport::{Request, Transport};

pub use monitor::{Notification, RouteEvent, RouteEventKind, RouteMonitor};

/// `ESRCH`: the kernel's "no such route" for deletes.
const ESRCH: i32 = 3;
/// `ENOENT`: also returned for deletes in a table that does not exist.
const ENOENT: i32 = 2;
/// `EEXIST`: a create-exclusive met a route at the same prefix and metric.
const EEXIST: i32 = 17;

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

    fn stamp(&self) -> Stamp {
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
}

fn transport_error(
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
        Ok(NetlinkFib {
            config,
            transport: Arc::new(Mutex::new(Transport::open()?)),
        })
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

    async fn execute(&self, changes: Vec<FibChange>) -> Vec<Result<(), FibError>> {
        let transport = Arc::clone(&self.transport);
        let config = self.config;
        let count = changes.len();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut transport = lock(&transport);
            apply_blocking(&mut transport, config, changes)
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

fn lock(transport: &Mutex<Transport>) -> std::sync::MutexGuard<'_, Transport> {
    // The socket holds no invariant a panic could break mid-way.
    transport
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Dumps IPv4 and IPv6 routes, decoded; non-IP entries are dropped.
fn dump_routes(
    transport: &mut Transport,
    table: Option<u32>,
    protocol: Option<u8>,
) -> Result<Vec<KernelRoute>, FibError> {
    let mut routes = Vec::new();
    for ipv6 in [false, true] {
        let request = RouteNetlinkMessage::GetRoute(encode::dump_request(ipv6, table, protocol));
        let replies = transport
            .dump(request)
            .map_err(|error| transport_error(Operation::List, None, error))?;
        routes.extend(replies.iter().filter_map(|reply| match reply {
            RouteNetlinkMessage::NewRoute(message) => decode::kernel_route(message),
            _ => None,
        }));
    }
    Ok(routes)
}

/// Interface name -> index, from one link dump.
fn interface_indexes(transport: &mut Transport) -> Result<BTreeMap<String, u32>, String> {
    let replies = transport
        .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
        .map_err(|error| format!("listing interfaces: {error}"))?;
    let mut names = BTreeMap::new();
    for reply in replies {
        if let RouteNetlinkMessage::NewLink(link) = reply {
            for attribute in &link.attributes {
                if let LinkAttribute::IfName(name) = attribute {
                    names.insert(name.clone(), link.header.index);
                }
            }
        }
    }
    Ok(names)
}

/// The interface index each next hop asks for, resolving names.
fn resolve_interfaces(
    route: &Route,
    names: &mut Option<Result<BTreeMap<String, u32>, String>>,
    transport: &mut Transport,
) -> Result<Vec<Option<u32>>, String> {
    let mut indexes = Vec::with_capacity(route.next_hops().len());
    for hop in route.next_hops() {
        indexes.push(match &hop.interface {
            None => None,
            Some(Interface::Index(index)) => Some(*index),
            Some(Interface::Name(name)) => {
                let map = names
                    .get_or_insert_with(|| interface_indexes(transport))
                    .as_ref()
                    .map_err(Clone::clone)?;
                Some(
                    *map.get(name)
                        .ok_or_else(|| format!("no interface named {name:?}"))?,
                )
            }
        });
    }
    Ok(indexes)
}

/// The two-pass algorithm of the module documentation.
fn apply_blocking(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    changes: Vec<FibChange>,
) -> Vec<Result<(), FibError>> {
    let stamp = config.stamp();
    let mut results: Vec<Result<(), FibError>> = Vec::with_capacity(changes.len());
    // Pass 1 requests, with the index of the change each belongs to.
    let mut requests: Vec<Request> = Vec::with_capacity(changes.len());
    let mut owners: Vec<usize> = Vec::with_capacity(changes.len());
    // Prepared NEWROUTE bodies, kept for a possible pass 2.
    let mut prepared: BTreeMap<usize, RouteNetlinkMessage> = BTreeMap::new();
    let mut names = None;
    for (index, change) in changes.iter().enumerate() {
        match change {
            FibChange::Replace(route) => match resolve_interfaces(route, &mut names, transport) {
                Ok(interfaces) => {
                    let body =
                        RouteNetlinkMessage::NewRoute(encode::new_route(route, &interfaces, stamp));
                    requests.push((body.clone(), NLM_F_CREATE | NLM_F_EXCL));
                    prepared.insert(index, body);
                    owners.push(index);
                    results.push(Ok(()));
                }
                Err(reason) => {
                    results.push(Err(FibError::new(
                        Operation::Replace,
                        route.prefix(),
                        FibErrorKind::Invalid(reason),
                    )));
                }
            },
            FibChange::Remove(_) => {
                requests.push((
                    RouteNetlinkMessage::DelRoute(encode::delete_route(change.prefix(), stamp)),
                    0,
                ));
                owners.push(index);
                results.push(Ok(()));
            }
        }
    }
    let operation_of = |index: usize| match changes.get(index) {
        Some(FibChange::Remove(_)) => Operation::Remove,
        _ => Operation::Replace,
    };
    let prefix_of = |index: usize| changes.get(index).map(FibChange::prefix);
    let answers = match transport.execute(requests) {
        Ok(answers) => answers,
        Err(error) => {
            for &index in &owners {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Err(transport_error(
                        operation_of(index),
                        prefix_of(index),
                        &error,
                    ));
                }
            }
            return results;
        }
    };
    let mut existing: Vec<usize> = Vec::new();
    for (&index, answer) in owners.iter().zip(answers) {
        let Some(prefix) = prefix_of(index) else {
            continue;
        };
        let outcome = match (operation_of(index), answer) {
            (_, Ok(())) => Ok(()),
            (Operation::Remove, Err(errno)) if errno == ESRCH || errno == ENOENT => Ok(()),
            (Operation::Replace, Err(EEXIST)) => {
                existing.push(index);
                Ok(())
            }
            (operation, Err(errno)) => Err(FibError::kernel(operation, prefix, errno)),
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = outcome;
        }
    }
    if existing.is_empty() {
        return results;
    }
    // Pass 2: who holds the prefixes whose create met EEXIST?
    let holders = match dump_routes(transport, Some(config.table), None) {
        Ok(routes) => routes
            .into_iter()
            .filter(|route| route.table == config.table && route.metric == config.metric)
            .fold(
                BTreeMap::<IpNetwork, BTreeSet<u8>>::new(),
                |mut holders, route| {
                    holders
                        .entry(route.prefix)
                        .or_default()
                        .insert(route.protocol);
                    holders
                },
            ),
        Err(error) => {
            for index in existing {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Err(transport_error(
                        Operation::Replace,
                        prefix_of(index),
                        &error,
                    ));
                }
            }
            return results;
        }
    };
    // The last change for each prefix decides its final state; an earlier
    // replace that a later change supersedes needs no second attempt.
    let mut last_change: BTreeMap<IpNetwork, usize> = BTreeMap::new();
    for (index, change) in changes.iter().enumerate() {
        last_change.insert(change.prefix(), index);
    }
    let mut retries: Vec<Request> = Vec::new();
    let mut retry_owners: Vec<usize> = Vec::new();
    for index in existing {
        let Some(prefix) = prefix_of(index) else {
            continue;
        };
        let protocols = holders.get(&prefix);
        let foreign = protocols.and_then(|set| {
            set.iter()
                .copied()
                .find(|protocol| *protocol != config.protocol)
        });
        let ours = protocols.is_some_and(|set| set.contains(&config.protocol));
        let superseded = last_change.get(&prefix).is_some_and(|last| *last != index);
        let outcome = match (foreign, ours) {
            (Some(protocol), false) => Err(FibError::new(
                Operation::Replace,
                prefix,
                FibErrorKind::Conflict {
                    protocol,
                    table: config.table,
                    metric: config.metric,
                },
            )),
            _ if superseded => Ok(()),
            (_, true) | (None, false) => {
                if let Some(body) = prepared.remove(&index) {
                    let flags = if ours {
                        NLM_F_CREATE | NLM_F_REPLACE
                    } else {
                        NLM_F_CREATE | NLM_F_EXCL
                    };
                    retries.push((body, flags));
                    retry_owners.push(index);
                }
                Ok(())
            }
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = outcome;
        }
    }
    if retries.is_empty() {
        return results;
    }
    let answers = transport.execute(retries);
    for (position, &index) in retry_owners.iter().enumerate() {
        let Some(prefix) = prefix_of(index) else {
            continue;
        };
        let outcome = match &answers {
            Ok(answers) => match answers.get(position) {
                Some(Ok(())) => Ok(()),
                // Someone else took the prefix between the dump and now.
                Some(Err(EEXIST)) => Err(FibError::new(
                    Operation::Replace,
                    prefix,
                    FibErrorKind::Conflict {
                        protocol: 0,
                        table: config.table,
                        metric: config.metric,
                    },
                )),
                Some(Err(errno)) => Err(FibError::kernel(Operation::Replace, prefix, *errno)),
                None => Err(transport_error(
                    Operation::Replace,
                    Some(prefix),
                    "missing acknowledgement",
                )),
            },
            Err(error) => Err(transport_error(Operation::Replace, Some(prefix), error)),
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = outcome;
        }
    }
    results
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
        Box::pin(run_blocking(Operation::List, None, move || {
            let mut transport = lock(&transport);
            let routes = dump_routes(&mut transport, Some(config.table), Some(config.protocol))?;
            let mut owned: Vec<Route> = routes
                .iter()
                .filter(|route| config.owns(route))
                .filter_map(|route| route.to_owned_route().and_then(Result::ok))
                .collect();
            owned.sort();
            Ok(owned)
        }))
    }

    fn apply(&self, changes: Vec<FibChange>) -> FibFuture<'_, Vec<Result<(), FibError>>> {
        Box::pin(self.execute(changes))
    }
}
