//! The two-pass batch algorithm behind [`super::NetlinkFib`] (described in
//! the parent module): create-exclusive and protocol-stamped deletes first,
//! then one dump to decide, for prefixes that were already taken, between
//! replacing our own route and reporting a conflict.

use std::collections::{BTreeMap, BTreeSet};

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};

use super::transport::{Request, Transport};
use super::{NetlinkFibConfig, decode, encode, transport_error};
use crate::error::{FibError, FibErrorKind, Operation};
use crate::kernel_route::KernelRoute;
use crate::route::{FibChange, Interface, Route};

/// `ESRCH`: the kernel's "no such route" for deletes.
const ESRCH: i32 = 3;
/// `ENOENT`: also returned for deletes in a table that does not exist.
const ENOENT: i32 = 2;
/// `EEXIST`: a create-exclusive met a route at the same prefix and metric.
const EEXIST: i32 = 17;

/// Dumps IPv4 and IPv6 routes, decoded; non-IP entries are dropped.
pub(crate) fn dump_routes(
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
pub(crate) fn resolve_interfaces(
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

/// The `RTM_NEWROUTE` of `route` with its next hops in the route itself
/// (no nexthop object), or why it cannot be built (an interface that does
/// not exist).
pub(crate) fn plain_route(
    route: &Route,
    names: &mut Option<Result<BTreeMap<String, u32>, String>>,
    transport: &mut Transport,
    stamp: encode::Stamp,
) -> Result<RouteNetlinkMessage, FibError> {
    resolve_interfaces(route, names, transport)
        .map(|interfaces| {
            RouteNetlinkMessage::NewRoute(encode::new_route(route, &interfaces, stamp))
        })
        .map_err(|reason| {
            FibError::new(
                Operation::Replace,
                route.prefix(),
                FibErrorKind::Invalid(reason),
            )
        })
}

/// The two-pass algorithm of the module documentation.
pub(crate) fn apply_blocking(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    changes: Vec<FibChange>,
) -> Vec<Result<(), FibError>> {
    let stamp = config.stamp();
    let mut names = None;
    let mut bodies = Vec::with_capacity(changes.len());
    for change in &changes {
        bodies.push(match change {
            FibChange::Replace(route) => Some(plain_route(route, &mut names, transport, stamp)),
            FibChange::Remove(_) => None,
        });
    }
    apply_prepared(transport, config, &changes, bodies)
}

/// The two passes over already-encoded route bodies: `bodies[i]` is the
/// `RTM_NEWROUTE` for a `Replace` at `changes[i]` (or why it could not be
/// built), `None` for a `Remove`.
pub(crate) fn apply_prepared(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    changes: &[FibChange],
    bodies: Vec<Option<Result<RouteNetlinkMessage, FibError>>>,
) -> Vec<Result<(), FibError>> {
    let stamp = config.stamp();
    let mut results: Vec<Result<(), FibError>> = Vec::with_capacity(changes.len());
    // Pass 1 requests, with the index of the change each belongs to.
    let mut requests: Vec<Request> = Vec::with_capacity(changes.len());
    let mut owners: Vec<usize> = Vec::with_capacity(changes.len());
    // Prepared NEWROUTE bodies, kept for a possible pass 2.
    let mut prepared: BTreeMap<usize, RouteNetlinkMessage> = BTreeMap::new();
    for (index, (change, body)) in changes.iter().zip(bodies).enumerate() {
        match (change, body) {
            (FibChange::Replace(_), Some(Ok(body))) => {
                requests.push((body.clone(), NLM_F_CREATE | NLM_F_EXCL));
                prepared.insert(index, body);
                owners.push(index);
                results.push(Ok(()));
            }
            (FibChange::Replace(_), Some(Err(error))) => results.push(Err(error)),
            (FibChange::Replace(route), None) => {
                results.push(Err(FibError::new(
                    Operation::Replace,
                    route.prefix(),
                    FibErrorKind::Invalid("no route message prepared".into()),
                )));
            }
            (FibChange::Remove(_), _) => {
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
