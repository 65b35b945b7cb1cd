//! Nexthop-object mode of [`super::NetlinkFib`]: routes refer to kernel
//! nexthop objects (`RTA_NH_ID`) instead of carrying their own gateways.
//!
//! A batch flows through [`apply_with_objects`] in four steps:
//!
//! 1. each unicast route's next hops get an interface (named ones from a
//!    link dump, unnamed ones from an `RTM_GETROUTE` lookup per distinct
//!    gateway, since the kernel requires `NHA_OIF` on a gateway object) and
//!    become a set; the [`Registry`] maps the set to an object, naming the
//!    objects to create (one per gateway, one group per ECMP set);
//! 2. the new objects are created, create-exclusive, members before groups;
//! 3. the routes go through the same two passes as without objects
//!    ([`super::apply::apply_prepared`]), their bodies carrying `RTA_NH_ID`;
//! 4. the registry records what the kernel accepted, and objects no route
//!    uses any more are deleted (groups before their members).
//!
//! A route whose gateway cannot be looked up as on-link (no route, or only
//! through another gateway), a route whose object the kernel refuses as
//! unsupported (`EOPNOTSUPP`, `EINVAL`, `EAFNOSUPPORT`) and a blackhole are
//! installed as before, with no object, so the kernel reports its usual error or accepts its usual
//! shape. [`remove_gateways_with_objects`] is the point of the mode: a
//! gateway's failure replaces each group containing it once, so every route
//! using the group follows in that one operation.
//!
//! The registry is rebuilt from a dump on first use and after any failure
//! that leaves the kernel's state in doubt, and on every `list_owned`
//! (adoption at start, resyncs), which also deletes objects of ours that no
//! route uses and converts routes left in the other form by a run with the
//! other setting (`list_owned_adopting`, `list_owned_plain`).
//!
//! Limits: the kernel has no conditional delete for objects, so a route of
//! another program that points at one of our objects by id would vanish
//! with it; and nexthop events (`RTNLGRP_NEXTHOP`) are not watched, so an
//! object someone else deletes is noticed at the next failed request.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{
    Emitable, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, Parseable,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{RouteAttribute, RouteMessage};

use super::apply::{apply_blocking, apply_prepared, plain_route, resolve_interfaces};
use super::nexthop_message::{
    GroupMember, NexthopBody, NexthopObject, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP,
    decode_nexthop, delete_nexthop, dump_nexthops, new_blackhole_nexthop, new_nexthop,
};
use super::nexthop_registry::{Member, Registry, normalize};
use super::transport::{RawRequest, Transport};
use super::{NetlinkFibConfig, decode, encode, transport_error};
use crate::error::{FibError, FibErrorKind, Operation};
use crate::kernel_route::{KernelNextHop, KernelRoute, KernelRouteType};
use crate::route::{FibChange, Route, RouteKind};

/// `RTM_GETROUTE` and its answer `RTM_NEWROUTE`.
const RTM_GETROUTE: u16 = 26;
const RTM_NEWROUTE: u16 = 24;

/// The id range podroute's nexthop objects live in (linux nexthop ids are
/// `u32`, unique per network namespace and shared by every program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NexthopObjects {
    /// First id podroute may use.
    pub first_id: u32,
    /// Last id podroute may use (inclusive).
    pub last_id: u32,
}

impl Default for NexthopObjects {
    /// 2^29 + 2^20 onwards, 2^20 ids: above the low ids `ip nexthop` users
    /// pick by hand and the ranges routing suites allocate from the bottom.
    fn default() -> Self {
        NexthopObjects {
            first_id: 0x2010_0000,
            last_id: 0x201f_ffff,
        }
    }
}

/// What [`super::NetlinkFib::remove_gateway`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayRemoval {
    /// Routes that lost the gateway and still forward through the rest.
    pub routes_changed: usize,
    /// Those routes' prefixes, sorted: a caller keeping its own picture of
    /// the kernel updates exactly these (and `routes_removed`).
    pub changed_prefixes: Vec<IpNetwork>,
    /// Routes whose every next hop was the gateway, now removed.
    pub routes_removed: Vec<IpNetwork>,
    /// Kernel requests sent to get there (objects replaced or deleted,
    /// routes replaced or deleted; dumps not counted).
    pub kernel_operations: usize,
}

/// The nexthop object one of our routes forwards through, for
/// `podroute fib`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteObject {
    /// `RTA_NH_ID` of the route: a single-gateway object or a group.
    pub id: u32,
    /// The group's members (single-gateway objects and their ECMP
    /// weights); empty when the route uses a single-gateway object.
    pub group: Vec<GroupMember>,
}

/// The mutable state of object mode, kept beside the socket.
#[derive(Debug)]
pub(crate) struct ObjectState {
    registry: Registry,
    synced: bool,
}

impl ObjectState {
    pub(crate) fn new(protocol: u8, range: NexthopObjects) -> ObjectState {
        ObjectState {
            registry: Registry::new(protocol, range.first_id, range.last_id),
            synced: false,
        }
    }
}

/// Asks the kernel whether it takes nexthop objects: creates a blackhole
/// object at a free id of `range`, stamped with our protocol, and deletes
/// it again. `Err(errno)` is the kernel's refusal (`EOPNOTSUPP` before
/// Linux 5.3, `EINVAL` where the message type is unknown); the caller then
/// installs plain routes.
pub(crate) fn probe_objects(
    transport: &mut Transport,
    protocol: u8,
    range: NexthopObjects,
) -> Result<(), i32> {
    let taken: BTreeSet<u32> = dump_objects(transport)
        .map_err(|error| error.errno().unwrap_or(5))?
        .iter()
        .map(|object| object.id)
        .collect();
    let id = (range.first_id..=range.last_id)
        .rev()
        .find(|id| !taken.contains(id))
        .ok_or(28)?;
    let create = RawRequest {
        message_type: RTM_NEWNEXTHOP,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        payload: new_blackhole_nexthop(id, protocol),
    };
    let answers = transport.execute_raw(vec![create]).map_err(|_| 5)?;
    if let Some(Err(errno)) = answers.first() {
        return Err(*errno);
    }
    let delete = RawRequest {
        message_type: RTM_DELNEXTHOP,
        flags: 0,
        payload: delete_nexthop(id),
    };
    // The object is ours and unused; failing to delete it only leaves one
    // blackhole object that the next adoption collects.
    let _ = transport.execute_raw(vec![delete]);
    Ok(())
}

/// `list_owned` in object mode: the same answer as
/// [`list_owned_resolving_objects`], and on the way the registry is
/// rebuilt from the same dumps and every object of ours that no route uses
/// (left by a previous run, or by a failure) is deleted, so adoption and
/// resyncs never leak objects. Unicast routes of ours left in plain form
/// (by a run without objects) are re-installed through objects, with the
/// same next hops, so a gateway's failure covers them too.
pub(crate) fn list_owned_adopting(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    state: &mut ObjectState,
) -> Result<Vec<Route>, FibError> {
    let objects = dump_objects(transport)?;
    let routes = dump_owned(transport, config)?;
    let using: Vec<(IpNetwork, u32)> = routes
        .iter()
        .filter_map(|(route, id)| Some((route.prefix, (*id)?)))
        .collect();
    state.registry.rebuild(&objects, &using);
    state.synced = true;
    delete_unused(transport, state);
    let plain: BTreeSet<IpNetwork> = routes
        .iter()
        .filter(|(route, id)| id.is_none() && route.route_type == KernelRouteType::Unicast)
        .map(|(route, _)| route.prefix)
        .collect();
    let by_id: BTreeMap<u32, NexthopObject> = objects
        .into_iter()
        .map(|object| (object.id, object))
        .collect();
    let owned = resolve_routes(routes, &by_id);
    let conversions: Vec<FibChange> = owned
        .iter()
        .filter(|route| plain.contains(&route.prefix()))
        .cloned()
        .map(FibChange::Replace)
        .collect();
    if !conversions.is_empty() {
        // Same forwarding either way; a route the kernel will not take as
        // an object simply stays as it is.
        let _ = apply_with_objects(transport, config, state, conversions);
    }
    Ok(owned)
}

/// `list_owned` without objects: routes left through objects of ours (our
/// protocol, ids in the default range) by a run with objects are
/// re-installed with their next hops in plain form, then those objects,
/// used by nothing any more, are deleted. Nothing to do, and no nexthop
/// dump, when no route of ours uses an object.
pub(crate) fn list_owned_plain(
    transport: &mut Transport,
    config: NetlinkFibConfig,
) -> Result<Vec<Route>, FibError> {
    let routes = dump_owned(transport, config)?;
    if routes.iter().all(|(_, id)| id.is_none()) {
        return Ok(resolve_routes(routes, &BTreeMap::new()));
    }
    let objects = dump_objects(transport)?;
    let mut state = ObjectState::new(config.protocol, NexthopObjects::default());
    let through_ours: BTreeSet<IpNetwork> = routes
        .iter()
        .filter(|(_, id)| {
            id.and_then(|id| objects.iter().find(|object| object.id == id))
                .is_some_and(|object| state.registry.owns(object))
        })
        .map(|(route, _)| route.prefix)
        .collect();
    let by_id: BTreeMap<u32, NexthopObject> = objects
        .iter()
        .map(|object| (object.id, object.clone()))
        .collect();
    let owned = resolve_routes(routes, &by_id);
    let conversions: Vec<FibChange> = owned
        .iter()
        .filter(|route| through_ours.contains(&route.prefix()))
        .cloned()
        .map(FibChange::Replace)
        .collect();
    if !conversions.is_empty() {
        let _ = apply_blocking(transport, config, conversions);
        let using: Vec<(IpNetwork, u32)> = dump_owned(transport, config)?
            .into_iter()
            .filter_map(|(route, id)| Some((route.prefix, id?)))
            .collect();
        state.registry.rebuild(&dump_objects(transport)?, &using);
        delete_unused(transport, &mut state);
    }
    Ok(owned)
}

/// The objects our routes use, from the registry.
pub(crate) fn route_objects(state: &ObjectState) -> BTreeMap<IpNetwork, RouteObject> {
    state
        .registry
        .route_objects()
        .into_iter()
        .map(|(prefix, (id, group))| (prefix, RouteObject { id, group }))
        .collect()
}

fn list_error(error: impl ToString) -> FibError {
    transport_error(Operation::List, None, error)
}

/// Every nexthop object in the namespace.
pub(crate) fn dump_objects(transport: &mut Transport) -> Result<Vec<NexthopObject>, FibError> {
    let request = RawRequest {
        message_type: RTM_GETNEXTHOP,
        flags: NLM_F_DUMP,
        payload: dump_nexthops(),
    };
    match transport.request_raw(request, RTM_NEWNEXTHOP) {
        Ok(Ok(payloads)) => Ok(payloads
            .iter()
            .filter_map(|payload| decode_nexthop(payload))
            .collect()),
        // No nexthop support at all (kernel < 5.3): no objects exist.
        Ok(Err(errno)) if errno == 95 || errno == 22 => Ok(Vec::new()),
        Ok(Err(errno)) => Err(FibError {
            operation: Operation::List,
            prefix: None,
            kind: crate::error::kernel_kind(errno),
        }),
        Err(error) => Err(list_error(error)),
    }
}

/// Our routes as kernel routes with the `RTA_NH_ID` each carries, the
/// next hops of object routes filled in from `objects` when given.
fn dump_owned(
    transport: &mut Transport,
    config: NetlinkFibConfig,
) -> Result<Vec<(KernelRoute, Option<u32>)>, FibError> {
    let mut routes = Vec::new();
    for ipv6 in [false, true] {
        let request = RouteNetlinkMessage::GetRoute(encode::dump_request(
            ipv6,
            Some(config.table),
            Some(config.protocol),
        ));
        let replies = transport.dump(request).map_err(list_error)?;
        for reply in &replies {
            let RouteNetlinkMessage::NewRoute(message) = reply else {
                continue;
            };
            let Some(route) = decode::kernel_route(message).filter(|route| config.owns(route))
            else {
                continue;
            };
            let object = message
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    RouteAttribute::NhId(id) => Some(*id),
                    _ => None,
                });
            routes.push((route, object));
        }
    }
    Ok(routes)
}

/// The next hops object `id` forwards through, resolving a group through
/// its members.
fn object_next_hops(id: u32, objects: &BTreeMap<u32, NexthopObject>) -> Vec<KernelNextHop> {
    let single = |id: u32, weight: u16| match objects.get(&id).map(|object| &object.body) {
        Some(NexthopBody::Gateway { gateway, interface }) => Some(KernelNextHop {
            gateway: Some(*gateway),
            interface: Some(*interface),
            weight,
        }),
        _ => None,
    };
    let mut hops: Vec<KernelNextHop> = match objects.get(&id).map(|object| &object.body) {
        Some(NexthopBody::Group(members)) => members
            .iter()
            .filter_map(|member| single(member.id, member.weight))
            .collect(),
        _ => single(id, 1).into_iter().collect(),
    };
    if let [only] = hops.as_mut_slice() {
        only.weight = 1;
    }
    hops.sort();
    hops
}

/// `list_owned` in either mode: routes that use objects are resolved
/// through one nexthop dump (taken only when some route uses an object),
/// so the answer is right whether or not `nexthop_compat_mode` also
/// expands them.
pub(crate) fn list_owned_resolving_objects(
    transport: &mut Transport,
    config: NetlinkFibConfig,
) -> Result<Vec<Route>, FibError> {
    let routes = dump_owned(transport, config)?;
    let objects: BTreeMap<u32, NexthopObject> = if routes.iter().any(|(_, id)| id.is_some()) {
        dump_objects(transport)?
            .into_iter()
            .map(|object| (object.id, object))
            .collect()
    } else {
        BTreeMap::new()
    };
    Ok(resolve_routes(routes, &objects))
}

/// Our dumped routes as [`Route`]s, object routes resolved through
/// `objects`, sorted.
fn resolve_routes(
    routes: Vec<(KernelRoute, Option<u32>)>,
    objects: &BTreeMap<u32, NexthopObject>,
) -> Vec<Route> {
    let mut owned: Vec<Route> = routes
        .into_iter()
        .filter_map(|(mut route, object)| {
            if let Some(id) = object {
                route.next_hops = object_next_hops(id, objects);
            }
            route.to_owned_route().and_then(Result::ok)
        })
        .collect();
    owned.sort();
    owned
}

/// Rebuilds the registry from the kernel when it is not known to match.
fn ensure_synced(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    state: &mut ObjectState,
) -> Result<(), FibError> {
    if state.synced {
        return Ok(());
    }
    let objects = dump_objects(transport)?;
    let routes: Vec<(IpNetwork, u32)> = dump_owned(transport, config)?
        .into_iter()
        .filter_map(|(route, id)| Some((route.prefix, id?)))
        .collect();
    state.registry.rebuild(&objects, &routes);
    state.synced = true;
    Ok(())
}

/// The interface through which `gateway` is on-link, or `None` when the
/// kernel reaches it only through another gateway or not at all.
fn on_link_interface(transport: &mut Transport, gateway: IpAddr) -> Option<u32> {
    let message = encode::lookup_request(gateway);
    let mut payload = vec![0; message.buffer_len()];
    message.emit(&mut payload);
    let request = RawRequest {
        message_type: RTM_GETROUTE,
        flags: 0,
        payload,
    };
    let replies = transport.request_raw(request, RTM_NEWROUTE).ok()?.ok()?;
    let reply = RouteMessage::parse(replies.first()?.as_slice()).ok()?;
    let mut interface = None;
    for attribute in &reply.attributes {
        match attribute {
            RouteAttribute::Gateway(_) | RouteAttribute::Via(_) => return None,
            RouteAttribute::Oif(index) => interface = Some(*index),
            _ => {}
        }
    }
    interface
}

/// The next-hop set of `route` with every interface resolved, or `None`
/// when some gateway cannot be expressed as an object.
fn member_set(
    route: &Route,
    names: &mut Option<Result<BTreeMap<String, u32>, String>>,
    lookups: &mut BTreeMap<IpAddr, Option<u32>>,
    transport: &mut Transport,
) -> Result<Option<Vec<Member>>, String> {
    let interfaces = resolve_interfaces(route, names, transport)?;
    let mut set = Vec::with_capacity(interfaces.len());
    for (hop, interface) in route.next_hops().iter().zip(interfaces) {
        let interface = match interface {
            Some(index) => index,
            None => {
                let found = match lookups.get(&hop.gateway) {
                    Some(found) => *found,
                    None => {
                        let found = on_link_interface(transport, hop.gateway);
                        lookups.insert(hop.gateway, found);
                        found
                    }
                };
                let Some(index) = found else {
                    return Ok(None);
                };
                index
            }
        };
        set.push(Member {
            gateway: hop.gateway,
            interface,
            weight: hop.weight,
        });
    }
    Ok(Some(normalize(set)))
}

/// Deletes the objects the registry no longer needs; returns requests sent.
fn delete_unused(transport: &mut Transport, state: &mut ObjectState) -> usize {
    let unused = state.registry.collect_garbage();
    let requests: Vec<RawRequest> = unused
        .iter()
        .map(|id| RawRequest {
            message_type: RTM_DELNEXTHOP,
            flags: 0,
            payload: delete_nexthop(*id),
        })
        .collect();
    let count = requests.len();
    match transport.execute_raw(requests) {
        // ENOENT: already gone, which is what we wanted.
        Ok(answers)
            if answers
                .iter()
                .all(|answer| matches!(answer, Ok(()) | Err(2))) => {}
        _ => state.synced = false,
    }
    count
}

/// The four steps of the module documentation.
pub(crate) fn apply_with_objects(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    state: &mut ObjectState,
    changes: Vec<FibChange>,
) -> Vec<Result<(), FibError>> {
    if let Err(error) = ensure_synced(transport, config, state) {
        return changes
            .iter()
            .map(|change| {
                Err(FibError {
                    prefix: Some(change.prefix()),
                    operation: match change {
                        FibChange::Replace(_) => Operation::Replace,
                        FibChange::Remove(_) => Operation::Remove,
                    },
                    kind: error.kind.clone(),
                })
            })
            .collect();
    }
    let stamp = config.stamp();
    let mut names = None;
    let mut lookups = BTreeMap::new();
    let mut objects_of: Vec<Option<u32>> = Vec::with_capacity(changes.len());
    let mut bodies = Vec::with_capacity(changes.len());
    let mut creates: Vec<NexthopObject> = Vec::new();
    for change in &changes {
        let FibChange::Replace(route) = change else {
            objects_of.push(None);
            bodies.push(None);
            continue;
        };
        let plain = |interfaces: &[Option<u32>]| {
            RouteNetlinkMessage::NewRoute(encode::new_route(route, interfaces, stamp))
        };
        let invalid = |reason: String| {
            FibError::new(
                Operation::Replace,
                route.prefix(),
                FibErrorKind::Invalid(reason),
            )
        };
        if route.kind() != RouteKind::Unicast {
            objects_of.push(None);
            bodies.push(Some(Ok(plain(&[]))));
            continue;
        }
        match member_set(route, &mut names, &mut lookups, transport) {
            Err(reason) => {
                objects_of.push(None);
                bodies.push(Some(Err(invalid(reason))));
            }
            Ok(Some(set)) => match state.registry.object_for(route.prefix(), &set) {
                Some((id, mut created)) => {
                    creates.append(&mut created);
                    objects_of.push(Some(id));
                    bodies.push(Some(Ok(RouteNetlinkMessage::NewRoute(
                        encode::new_route_with_object(route.prefix(), id, stamp),
                    ))));
                }
                None => {
                    objects_of.push(None);
                    bodies.push(Some(Err(invalid("nexthop object ids exhausted".into()))));
                }
            },
            Ok(None) => {
                // Not on-link: let the kernel judge the plain route.
                objects_of.push(None);
                bodies.push(Some(plain_route(route, &mut names, transport, stamp)));
            }
        }
    }
    let failed = create_objects(transport, state, creates);
    for ((change, body), object) in changes
        .iter()
        .zip(bodies.iter_mut())
        .zip(objects_of.iter_mut())
    {
        let Some(errno) = object.and_then(|id| failed.get(&id).copied()) else {
            continue;
        };
        // A kernel that takes objects in general may still refuse this
        // one (an older kernel and a mixed-family group, say): the route
        // goes in plain instead of failing until the kernel changes.
        if let (FibChange::Replace(route), true) = (change, refused_as_object(errno)) {
            *object = None;
            *body = Some(plain_route(route, &mut names, transport, stamp));
            continue;
        }
        *body = Some(Err(FibError::kernel(
            Operation::Replace,
            change.prefix(),
            errno,
        )));
    }
    let results = apply_prepared(transport, config, &changes, bodies);
    for ((change, result), object) in changes.iter().zip(&results).zip(&objects_of) {
        match (change, result) {
            (FibChange::Replace(_), Ok(())) => {
                state.registry.route_installed(change.prefix(), *object);
            }
            (FibChange::Remove(_), Ok(())) => {
                state.registry.route_installed(change.prefix(), None);
            }
            (_, Err(error)) if !error.is_conflict() => state.synced = false,
            _ => {}
        }
    }
    delete_unused(transport, state);
    results
}

/// True for the errors with which a kernel refuses a nexthop object it
/// does not support (`EOPNOTSUPP`, `EINVAL`, `EAFNOSUPPORT`) rather than
/// one it cannot create now.
fn refused_as_object(errno: i32) -> bool {
    matches!(errno, 95 | 22 | 97)
}

/// Creates `objects` in order; returns the errno of each one refused (and
/// of each group whose member was refused).
fn create_objects(
    transport: &mut Transport,
    state: &mut ObjectState,
    objects: Vec<NexthopObject>,
) -> BTreeMap<u32, i32> {
    let ids: Vec<u32> = objects.iter().map(|object| object.id).collect();
    let requests = objects
        .iter()
        .map(|object| RawRequest {
            message_type: RTM_NEWNEXTHOP,
            flags: NLM_F_CREATE | NLM_F_EXCL,
            payload: new_nexthop(object),
        })
        .collect();
    let answers = match transport.execute_raw(requests) {
        Ok(answers) => answers,
        Err(_) => vec![Err(5); ids.len()],
    };
    let mut failed = BTreeMap::new();
    for (id, answer) in ids.iter().zip(answers) {
        if let Err(errno) = answer {
            failed.insert(*id, errno);
        }
    }
    if !failed.is_empty() {
        for id in failed.keys() {
            state.registry.forget(*id);
        }
        state.synced = false;
    }
    failed
}

/// Gateways' failures with objects (see [`Registry::remove_gateway`]), in
/// three kernel round trips however many gateways failed together (a rack
/// of hosts, many sessions lost at once): replace every group containing
/// one of them, remove the routes they leave with no next hop, then delete
/// the objects nothing uses any more. The removal at index `i` belongs to
/// `gateways[i]`.
pub(crate) fn remove_gateways_with_objects(
    transport: &mut Transport,
    config: NetlinkFibConfig,
    state: &mut ObjectState,
    gateways: &[IpAddr],
) -> Result<Vec<GatewayRemoval>, FibError> {
    ensure_synced(transport, config, state)?;
    // Planned one gateway after the other, so a group holding two of them
    // is replaced twice, in order, and ends without both.
    let plans: Vec<_> = gateways
        .iter()
        .map(|gateway| {
            let plan = state.registry.remove_gateway(*gateway);
            let replaced: BTreeSet<u32> =
                plan.replacements.iter().map(|object| object.id).collect();
            let changed_prefixes = state.registry.prefixes_using(&replaced);
            (plan, changed_prefixes)
        })
        .collect();
    let requests: Vec<RawRequest> = plans
        .iter()
        .flat_map(|(plan, _)| &plan.replacements)
        .map(|object| RawRequest {
            message_type: RTM_NEWNEXTHOP,
            flags: NLM_F_CREATE | NLM_F_REPLACE,
            payload: new_nexthop(object),
        })
        .collect();
    let answers = transport.execute_raw(requests);
    if let Some(errno) = answers
        .as_ref()
        .ok()
        .and_then(|answers| answers.iter().find_map(|answer| answer.err()))
    {
        state.synced = false;
        return Err(FibError {
            operation: Operation::Replace,
            prefix: None,
            kind: crate::error::kernel_kind(errno),
        });
    }
    if let Err(error) = answers {
        state.synced = false;
        return Err(transport_error(Operation::Replace, None, error));
    }
    let orphaned: Vec<IpNetwork> = plans
        .iter()
        .flat_map(|(plan, _)| plan.orphaned_routes.iter().copied())
        .collect();
    let removals: Vec<FibChange> = orphaned
        .iter()
        .map(|prefix| FibChange::Remove(*prefix))
        .collect();
    let results = apply_prepared(transport, config, &removals, vec![None; removals.len()]);
    for (prefix, result) in orphaned.iter().zip(results) {
        result?;
        state.registry.route_installed(*prefix, None);
    }
    let deletions = delete_unused(transport, state);
    // The round trips are shared; each gateway is credited with its own
    // requests, and the first with the deletions.
    let mut removals = Vec::with_capacity(plans.len());
    for (index, (plan, changed_prefixes)) in plans.into_iter().enumerate() {
        let own = plan
            .replacements
            .len()
            .saturating_add(plan.orphaned_routes.len());
        removals.push(GatewayRemoval {
            routes_changed: changed_prefixes.len(),
            changed_prefixes,
            routes_removed: plan.orphaned_routes.into_iter().collect(),
            kernel_operations: if index == 0 {
                own.saturating_add(deletions)
            } else {
                own
            },
        });
    }
    Ok(removals)
}
