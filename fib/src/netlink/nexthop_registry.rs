//! Which nexthop objects podroute owns, what each forwards to, and which
//! routes use it: the bookkeeping behind nexthop-object mode, with no I/O.
//!
//! Data flows in three ways. [`Registry::rebuild`] takes a dump of every
//! nexthop object and of our routes (startup, or after an error made the
//! picture doubtful). [`Registry::object_for`] turns a route's next-hop set
//! into the id of an object that forwards that way, naming the objects that
//! must be created first; [`Registry::route_installed`] records what the
//! kernel accepted. [`Registry::collect_garbage`] then names the objects no
//! route uses any more, in an order the kernel accepts (groups before their
//! members). [`Registry::remove_gateway`] plans a node failure: the groups
//! to replace in place and the routes left with no next hop.
//!
//! Ownership (DESIGN.md "Own only what is ours"): an object is ours when it
//! carries our protocol and its id lies in our range. Ids in the range held
//! by anyone else are skipped when allocating and never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::nexthop_message::{GroupMember, NexthopBody, NexthopObject};

/// One next hop of a set, interface resolved (objects need one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    /// The neighbouring router.
    pub gateway: IpAddr,
    /// Interface index.
    pub interface: u32,
    /// ECMP weight; 1 for a set of one.
    pub weight: u16,
}

/// Sorts a set and drops the meaningless weight of a lone member, so one
/// forwarding state has one key.
pub fn normalize(mut set: Vec<Member>) -> Vec<Member> {
    set.sort();
    set.dedup();
    if let [only] = set.as_mut_slice() {
        only.weight = 1;
    }
    set
}

#[derive(Debug, Clone)]
struct Entry {
    body: NexthopBody,
    set: Vec<Member>,
    /// Routes whose `RTA_NH_ID` is this object.
    routes: usize,
    /// Groups listing this object as a member.
    groups: usize,
}

/// What a gateway's failure takes (see [`Registry::remove_gateway`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayPlan {
    /// Groups to replace in place (`RTM_NEWNEXTHOP` with `NLM_F_REPLACE`).
    pub replacements: Vec<NexthopObject>,
    /// Routes whose every next hop was the gateway: to be removed.
    pub orphaned_routes: Vec<IpNetwork>,
}

/// The bookkeeping of the module documentation.
#[derive(Debug, Clone)]
pub struct Registry {
    protocol: u8,
    first_id: u32,
    last_id: u32,
    objects: BTreeMap<u32, Entry>,
    taken: BTreeSet<u32>,
    sets: BTreeMap<Vec<Member>, u32>,
    routes: BTreeMap<IpNetwork, u32>,
    next_candidate: u32,
}

impl Registry {
    /// An empty registry owning ids `first_id ..= last_id` with `protocol`.
    pub fn new(protocol: u8, first_id: u32, last_id: u32) -> Registry {
        Registry {
            protocol,
            first_id,
            last_id,
            objects: BTreeMap::new(),
            taken: BTreeSet::new(),
            sets: BTreeMap::new(),
            routes: BTreeMap::new(),
            next_candidate: first_id,
        }
    }

    /// True when `object` is podroute's: our protocol, an id in our range.
    pub fn owns(&self, object: &NexthopObject) -> bool {
        object.protocol == self.protocol && (self.first_id..=self.last_id).contains(&object.id)
    }

    /// Rebuilds from a dump of every object in the namespace and the
    /// `(prefix, RTA_NH_ID)` of each of our routes that uses one.
    pub fn rebuild(&mut self, objects: &[NexthopObject], routes: &[(IpNetwork, u32)]) {
        *self = Registry::new(self.protocol, self.first_id, self.last_id);
        let singles: BTreeMap<u32, (IpAddr, u32)> = objects
            .iter()
            .filter_map(|object| match object.body {
                NexthopBody::Gateway { gateway, interface } => {
                    Some((object.id, (gateway, interface)))
                }
                _ => None,
            })
            .collect();
        for object in objects {
            if !(self.first_id..=self.last_id).contains(&object.id) {
                continue;
            }
            if !self.owns(object) {
                self.taken.insert(object.id);
                continue;
            }
            let set = match &object.body {
                NexthopBody::Gateway { gateway, interface } => vec![Member {
                    gateway: *gateway,
                    interface: *interface,
                    weight: 1,
                }],
                NexthopBody::Group(members) => members
                    .iter()
                    .filter_map(|member| {
                        singles.get(&member.id).map(|(gateway, interface)| Member {
                            gateway: *gateway,
                            interface: *interface,
                            weight: member.weight,
                        })
                    })
                    .collect(),
                NexthopBody::Other => Vec::new(),
            };
            self.insert(object.id, object.body.clone(), normalize(set));
        }
        let group_members: Vec<u32> = self
            .objects
            .values()
            .filter_map(|entry| match &entry.body {
                NexthopBody::Group(members) => Some(members.iter().map(|member| member.id)),
                _ => None,
            })
            .flatten()
            .collect();
        for id in group_members {
            if let Some(entry) = self.objects.get_mut(&id) {
                entry.groups = entry.groups.saturating_add(1);
            }
        }
        for (prefix, id) in routes {
            if self.objects.contains_key(id) {
                self.route_installed(*prefix, Some(*id));
            }
        }
    }

    fn insert(&mut self, id: u32, body: NexthopBody, set: Vec<Member>) {
        if !set.is_empty() {
            self.sets.entry(set.clone()).or_insert(id);
        }
        self.objects.insert(
            id,
            Entry {
                body,
                set,
                routes: 0,
                groups: 0,
            },
        );
    }

    fn allocate(&mut self) -> Option<u32> {
        let span = u64::from(self.last_id.saturating_sub(self.first_id)) + 1;
        for _ in 0..span {
            let candidate = self.next_candidate;
            self.next_candidate = if candidate >= self.last_id {
                self.first_id
            } else {
                candidate + 1
            };
            if !self.objects.contains_key(&candidate) && !self.taken.contains(&candidate) {
                return Some(candidate);
            }
        }
        None
    }

    /// The object a route for `prefix` should use to forward through `set`
    /// (normalised, non-empty), plus the objects to create before the route
    /// can refer to it (members before groups). The route's current object
    /// is kept when it already forwards that way. `None`: the id range is
    /// exhausted.
    pub fn object_for(
        &mut self,
        prefix: IpNetwork,
        set: &[Member],
    ) -> Option<(u32, Vec<NexthopObject>)> {
        if let Some(current) = self.routes.get(&prefix) {
            if self
                .objects
                .get(current)
                .is_some_and(|entry| entry.set == set)
            {
                return Some((*current, Vec::new()));
            }
        }
        if let Some(id) = self.sets.get(set) {
            return Some((*id, Vec::new()));
        }
        let mut created = Vec::new();
        match self.create_objects(set, &mut created) {
            Some(id) => Some((id, created)),
            None => {
                // Out of ids half way: undo the members already recorded.
                for object in created.iter().rev() {
                    self.drop_entry(object.id);
                }
                None
            }
        }
    }

    fn create_objects(&mut self, set: &[Member], created: &mut Vec<NexthopObject>) -> Option<u32> {
        let mut members = Vec::with_capacity(set.len());
        for member in set {
            let single = vec![Member {
                weight: 1,
                ..*member
            }];
            let id = match self.sets.get(&single) {
                Some(id) => *id,
                None => {
                    let id = self.allocate()?;
                    let body = NexthopBody::Gateway {
                        gateway: member.gateway,
                        interface: member.interface,
                    };
                    self.insert(id, body.clone(), single);
                    created.push(self.object(id, body));
                    id
                }
            };
            members.push(GroupMember {
                id,
                weight: member.weight,
            });
        }
        if let [only] = members.as_slice() {
            return Some(only.id);
        }
        let id = self.allocate()?;
        for member in &members {
            if let Some(entry) = self.objects.get_mut(&member.id) {
                entry.groups = entry.groups.saturating_add(1);
            }
        }
        let body = NexthopBody::Group(members);
        self.insert(id, body.clone(), set.to_vec());
        created.push(self.object(id, body));
        Some(id)
    }

    fn object(&self, id: u32, body: NexthopBody) -> NexthopObject {
        NexthopObject {
            id,
            protocol: self.protocol,
            body,
        }
    }

    /// Records that our route for `prefix` now uses object `id` (`None`: no
    /// object, or no route at all).
    pub fn route_installed(&mut self, prefix: IpNetwork, id: Option<u32>) {
        let previous = match id {
            Some(id) => self.routes.insert(prefix, id),
            None => self.routes.remove(&prefix),
        };
        if let Some(entry) = previous.and_then(|old| self.objects.get_mut(&old)) {
            entry.routes = entry.routes.saturating_sub(1);
        }
        if let Some(entry) = id.and_then(|new| self.objects.get_mut(&new)) {
            entry.routes = entry.routes.saturating_add(1);
        }
    }

    /// The object our route for `prefix` uses, if any.
    pub fn route_object(&self, prefix: IpNetwork) -> Option<u32> {
        self.routes.get(&prefix).copied()
    }

    /// Forgets objects whose creation the kernel refused.
    pub fn forget(&mut self, id: u32) {
        self.drop_entry(id);
        self.routes.retain(|_, object| *object != id);
    }

    fn drop_entry(&mut self, id: u32) {
        let Some(entry) = self.objects.remove(&id) else {
            return;
        };
        if self.sets.get(&entry.set) == Some(&id) {
            self.sets.remove(&entry.set);
            // Another object may forward the same way (after a failure).
            if let Some((other, _)) = self
                .objects
                .iter()
                .find(|(_, other)| other.set == entry.set)
            {
                self.sets.insert(entry.set.clone(), *other);
            }
        }
        if let NexthopBody::Group(members) = entry.body {
            for member in members {
                if let Some(single) = self.objects.get_mut(&member.id) {
                    single.groups = single.groups.saturating_sub(1);
                }
            }
        }
    }

    /// Removes every object nothing uses and returns their ids in a safe
    /// delete order: unused groups first, then the members they freed.
    pub fn collect_garbage(&mut self) -> Vec<u32> {
        let mut order = Vec::new();
        for groups_pass in [true, false] {
            let unused: Vec<u32> = self
                .objects
                .iter()
                .filter(|(_, entry)| {
                    matches!(entry.body, NexthopBody::Group(_)) == groups_pass
                        && entry.routes == 0
                        && entry.groups == 0
                })
                .map(|(id, _)| *id)
                .collect();
            for id in unused {
                self.drop_entry(id);
                order.push(id);
            }
        }
        order
    }

    /// Plans the failure of `gateway`: every group containing it is
    /// replaced by the group without it (one kernel operation per group,
    /// whatever the number of routes using it), and every route left with
    /// no next hop is listed for removal. The registry is updated as if the
    /// plan succeeded; the orphaned routes are still recorded until
    /// [`Registry::route_installed`] clears them.
    pub fn remove_gateway(&mut self, gateway: IpAddr) -> GatewayPlan {
        let mut plan = GatewayPlan::default();
        let failed: BTreeSet<u32> = self
            .objects
            .iter()
            .filter(|(_, entry)| {
                matches!(entry.body, NexthopBody::Gateway { gateway: held, .. } if held == gateway)
            })
            .map(|(id, _)| *id)
            .collect();
        if failed.is_empty() {
            return plan;
        }
        let mut orphaned_objects: BTreeSet<u32> = failed.clone();
        let groups: Vec<(u32, Vec<GroupMember>)> = self
            .objects
            .iter()
            .filter_map(|(id, entry)| match &entry.body {
                NexthopBody::Group(members)
                    if members.iter().any(|member| failed.contains(&member.id)) =>
                {
                    Some((*id, members.clone()))
                }
                _ => None,
            })
            .collect();
        for (id, members) in groups {
            let (lost, kept): (Vec<GroupMember>, Vec<GroupMember>) = members
                .into_iter()
                .partition(|member| failed.contains(&member.id));
            if kept.is_empty() {
                orphaned_objects.insert(id);
                continue;
            }
            for member in &lost {
                if let Some(single) = self.objects.get_mut(&member.id) {
                    single.groups = single.groups.saturating_sub(1);
                }
            }
            let set = normalize(
                kept.iter()
                    .filter_map(|member| {
                        let entry = self.objects.get(&member.id)?;
                        let first = entry.set.first()?;
                        Some(Member {
                            weight: member.weight,
                            ..*first
                        })
                    })
                    .collect(),
            );
            let body = NexthopBody::Group(kept);
            if let Some(entry) = self.objects.get_mut(&id) {
                let old_set = std::mem::replace(&mut entry.set, set.clone());
                entry.body = body.clone();
                if self.sets.get(&old_set) == Some(&id) {
                    self.sets.remove(&old_set);
                }
                self.sets.entry(set).or_insert(id);
            }
            plan.replacements.push(self.object(id, body));
        }
        plan.orphaned_routes = self
            .routes
            .iter()
            .filter(|(_, id)| orphaned_objects.contains(id))
            .map(|(prefix, _)| *prefix)
            .collect();
        plan
    }

    /// Every route using an object, with the object's id and, for a
    /// group, its members (empty for a single gateway), by prefix.
    pub fn route_objects(&self) -> BTreeMap<IpNetwork, (u32, Vec<GroupMember>)> {
        self.routes
            .iter()
            .map(|(prefix, id)| {
                let members = match self.objects.get(id).map(|entry| &entry.body) {
                    Some(NexthopBody::Group(members)) => members.clone(),
                    _ => Vec::new(),
                };
                (*prefix, (*id, members))
            })
            .collect()
    }

    /// The prefixes of our routes using one of `ids`, sorted.
    pub fn prefixes_using(&self, ids: &BTreeSet<u32>) -> Vec<IpNetwork> {
        self.routes
            .iter()
            .filter(|(_, id)| ids.contains(id))
            .map(|(prefix, _)| *prefix)
            .collect()
    }

    /// How many of our routes use one of `ids`.
    pub fn routes_using(&self, ids: &BTreeSet<u32>) -> usize {
        self.routes.values().filter(|id| ids.contains(id)).count()
    }

    /// Number of objects podroute owns.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(gateway: &str) -> Member {
        Member {
            gateway: gateway.parse().unwrap(),
            interface: 2,
            weight: 1,
        }
    }

    fn prefix(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    #[test]
    fn routes_with_one_set_share_one_group_and_its_members() {
        let mut registry = Registry::new(201, 100, 199);
        let set = normalize(vec![member("198.18.0.3"), member("198.18.0.2")]);
        let (group, created) = registry.object_for(prefix("198.19.1.0/24"), &set).unwrap();
        assert_eq!(created.len(), 3, "two members, then the group");
        assert!(matches!(created[2].body, NexthopBody::Group(_)));
        assert_eq!(created[2].id, group);
        registry.route_installed(prefix("198.19.1.0/24"), Some(group));
        let (again, created) = registry.object_for(prefix("198.19.2.0/24"), &set).unwrap();
        assert_eq!((again, created.len()), (group, 0));
        registry.route_installed(prefix("198.19.2.0/24"), Some(group));
        // A single-gateway route reuses the group's member object.
        let (single, created) = registry
            .object_for(prefix("198.19.3.0/24"), &[member("198.18.0.2")])
            .unwrap();
        assert!(created.is_empty());
        assert_ne!(single, group);
        // The unused member is still part of the group: nothing to collect.
        assert_eq!(registry.collect_garbage(), Vec::<u32>::new());
        assert_eq!(registry.object_count(), 3);
    }

    #[test]
    fn unused_objects_are_collected_groups_first() {
        let mut registry = Registry::new(201, 100, 199);
        let set = normalize(vec![member("198.18.0.2"), member("198.18.0.3")]);
        let (group, _) = registry.object_for(prefix("198.19.1.0/24"), &set).unwrap();
        registry.route_installed(prefix("198.19.1.0/24"), Some(group));
        assert!(registry.collect_garbage().is_empty());
        registry.route_installed(prefix("198.19.1.0/24"), None);
        let order = registry.collect_garbage();
        assert_eq!(order.len(), 3);
        assert_eq!(order[0], group);
        assert_eq!(registry.object_count(), 0);
    }

    #[test]
    fn gateway_failure_replaces_each_group_once_and_orphans_lone_routes() {
        let mut registry = Registry::new(201, 100, 199);
        let pair = normalize(vec![member("198.18.0.2"), member("198.18.0.3")]);
        let (group, _) = registry.object_for(prefix("198.19.1.0/24"), &pair).unwrap();
        for index in 1..=50 {
            registry.route_installed(prefix(&format!("198.19.{index}.0/24")), Some(group));
        }
        let (lone, _) = registry
            .object_for(prefix("198.19.99.0/24"), &[member("198.18.0.2")])
            .unwrap();
        registry.route_installed(prefix("198.19.99.0/24"), Some(lone));
        let plan = registry.remove_gateway("198.18.0.2".parse().unwrap());
        assert_eq!(plan.replacements.len(), 1);
        assert_eq!(plan.replacements[0].id, group);
        assert_eq!(plan.orphaned_routes, vec![prefix("198.19.99.0/24")]);
        // The group now forwards through the survivor only, so a route
        // asking for just the survivor keeps using the group.
        let (kept, created) = registry
            .object_for(prefix("198.19.1.0/24"), &[member("198.18.0.3")])
            .unwrap();
        assert_eq!((kept, created.len()), (group, 0));
        registry.route_installed(prefix("198.19.99.0/24"), None);
        assert_eq!(registry.collect_garbage(), vec![lone]);
        // Nothing left to do for a gateway nobody uses.
        assert_eq!(
            registry.remove_gateway("198.18.0.9".parse().unwrap()),
            GatewayPlan::default()
        );
    }

    #[test]
    fn foreign_ids_in_range_are_skipped_and_rebuild_adopts_ours() {
        let mut registry = Registry::new(201, 100, 101);
        let foreign = NexthopObject {
            id: 100,
            protocol: 4,
            body: NexthopBody::Gateway {
                gateway: "198.18.0.9".parse().unwrap(),
                interface: 2,
            },
        };
        let ours = NexthopObject {
            id: 101,
            protocol: 201,
            body: NexthopBody::Gateway {
                gateway: "198.18.0.2".parse().unwrap(),
                interface: 2,
            },
        };
        assert!(!registry.owns(&foreign) && registry.owns(&ours));
        registry.rebuild(&[foreign, ours], &[(prefix("198.19.1.0/24"), 101)]);
        assert_eq!(registry.route_object(prefix("198.19.1.0/24")), Some(101));
        assert_eq!(registry.object_count(), 1);
        // The only free id is none: 100 is foreign, 101 is ours.
        assert!(
            registry
                .object_for(prefix("198.19.2.0/24"), &[member("198.18.0.3")])
                .is_none()
        );
    }
}
