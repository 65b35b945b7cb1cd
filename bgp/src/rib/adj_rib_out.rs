//! One peer's Adj-RIB-Out (RFC 4271 §3.2): what it has been sent, per
//! prefix and path identifier, so that the outbound side sends only
//! differences (`outbound.rs`).
//!
//! Entries are written by the outbound diff after each flush, read back by
//! the next diff, by route refresh re-advertisement and by the CLI, and all
//! dropped when the session goes down. This is the one structure of the RIB
//! that grows with peers × routes, so its entries are small: IPv4 and IPv6
//! have their own maps with packed integer keys (`key.rs`), path
//! identifier 0 (every route sent without ADD-PATH) in maps keyed by the
//! prefix alone (5 bytes for IPv4) and other identifiers (RFC 7911) in maps
//! keyed by prefix and identifier; and an entry holds a 4-byte handle on
//! the peer's table of distinct attribute sets ([`Sets`]) instead of an
//! 8-byte `Arc`. A full table costs about 18 bytes an entry instead of 33.
//! Without ADD-PATH, [`AdjRibOut::set_single`] finds what a prefix was sent
//! and records the change with one search.

use std::sync::Arc;

use ipnetwork::IpNetwork;

use super::fast_hash::FastMap;
use super::key::{Ipv4Key, Ipv4PathKey, Ipv6Key, Ipv6PathKey};
use super::sorted_map::{SortedMap, Update, merge_by};
use super::types::{PeerId, SharedAttributes, Source};

/// An attribute set in a peer's [`Sets`].
type Handle = u32;

/// Which peer a shared table's entry came from (`shared_out.rs`): a
/// [`PeerId`]'s number, [`LOCAL_SOURCE`], or [`NO_SOURCE`] in a peer's own
/// table, where it does not matter.
pub(super) type SourceTag = u32;

/// The tag of entries of a peer's own table.
pub(super) const NO_SOURCE: SourceTag = u32::MAX;

/// The tag of this speaker's own routes.
pub(super) const LOCAL_SOURCE: SourceTag = u32::MAX - 1;

/// The tag of `source`.
pub(super) fn source_tag(source: Source) -> SourceTag {
    match source {
        Source::Local => LOCAL_SOURCE,
        Source::Peer(PeerId(number)) => number,
    }
}

/// One distinct (attribute set, source) pair and how many entries use it.
#[derive(Debug)]
struct Held {
    attributes: SharedAttributes,
    count: u32,
    source: SourceTag,
}

/// The distinct attribute sets one table holds, each once per source tag,
/// with the number of entries using it.
#[derive(Debug, Default)]
struct Sets {
    held: Vec<Option<Held>>,
    free: Vec<Handle>,
    /// By the set's address (sets are interned, so identity is equality)
    /// and source tag.
    index: FastMap<(usize, SourceTag), Handle>,
}

impl Sets {
    /// A handle on `attributes` from `source` for one more entry. `None`
    /// only past 2^32 distinct sets, which no memory holds.
    fn acquire(&mut self, attributes: &SharedAttributes, source: SourceTag) -> Option<Handle> {
        let key = (Arc::as_ptr(attributes) as usize, source);
        if let Some(handle) = self.index.get(&key).copied() {
            if let Some(Some(held)) = self.slot_mut(handle) {
                held.count = held.count.saturating_add(1);
                return Some(handle);
            }
        }
        let entry = Some(Held {
            attributes: Arc::clone(attributes),
            count: 1,
            source,
        });
        let handle = match self.free.pop() {
            Some(handle) => {
                let slot = self.slot_mut(handle)?;
                *slot = entry;
                handle
            }
            None => {
                let handle = Handle::try_from(self.held.len()).ok()?;
                self.held.push(entry);
                handle
            }
        };
        self.index.insert(key, handle);
        Some(handle)
    }

    fn held(&self, handle: Handle) -> Option<&Held> {
        let index = usize::try_from(handle).ok()?;
        self.held.get(index).and_then(Option::as_ref)
    }

    fn get(&self, handle: Handle) -> Option<&SharedAttributes> {
        self.held(handle).map(|held| &held.attributes)
    }

    /// One entry lets go of `handle`; the set comes back when it was the last.
    fn release(&mut self, handle: Handle) -> Option<SharedAttributes> {
        let slot = self.slot_mut(handle)?;
        let last = slot.as_ref().is_some_and(|held| held.count <= 1);
        if !last {
            if let Some(held) = slot {
                held.count = held.count.saturating_sub(1);
            }
            return None;
        }
        let held = slot.take()?;
        self.index
            .remove(&(Arc::as_ptr(&held.attributes) as usize, held.source));
        self.free.push(handle);
        Some(held.attributes)
    }

    fn slot_mut(&mut self, handle: Handle) -> Option<&mut Option<Held>> {
        let index = usize::try_from(handle).ok()?;
        self.held.get_mut(index)
    }

    fn into_attributes(self) -> impl Iterator<Item = SharedAttributes> {
        self.held.into_iter().flatten().map(|held| held.attributes)
    }
}

/// What one peer has been sent; see the module overview.
#[derive(Debug, Default)]
pub(super) struct AdjRibOut {
    ipv4: SortedMap<Ipv4Key, Handle>,
    ipv6: SortedMap<Ipv6Key, Handle>,
    ipv4_paths: SortedMap<Ipv4PathKey, Handle>,
    ipv6_paths: SortedMap<Ipv6PathKey, Handle>,
    sets: Sets,
}

impl AdjRibOut {
    /// Routes held, both families.
    pub(super) fn len(&self) -> usize {
        self.ipv4
            .len()
            .saturating_add(self.ipv6.len())
            .saturating_add(self.ipv4_paths.len())
            .saturating_add(self.ipv6_paths.len())
    }

    /// Appends the (path id, attributes) sent for `prefix` to `out`, in path
    /// id order. `add_path` says whether the family is sent with path
    /// identifiers (RFC 7911); without, only id 0 can be present.
    pub(super) fn sent<T>(
        &self,
        prefix: &IpNetwork,
        add_path: bool,
        out: &mut Vec<T>,
        mut map: impl FnMut(u32, &SharedAttributes) -> T,
    ) {
        let single = match prefix {
            IpNetwork::V4(network) => self.ipv4.get(&Ipv4Key::of(network)),
            IpNetwork::V6(network) => self.ipv6.get(&Ipv6Key::of(network)),
        };
        out.extend(
            single
                .and_then(|handle| self.sets.get(*handle))
                .map(|held| map(0, held)),
        );
        if !add_path {
            return;
        }
        let sets = &self.sets;
        match prefix {
            IpNetwork::V4(network) => out.extend(
                self.ipv4_paths
                    .range(
                        Ipv4PathKey::of(network, 1),
                        Ipv4PathKey::of(network, u32::MAX),
                    )
                    .filter_map(|(key, handle)| sets.get(*handle).map(|held| map(key.id(), held))),
            ),
            IpNetwork::V6(network) => out.extend(
                self.ipv6_paths
                    .range(
                        Ipv6PathKey::of(network, 1),
                        Ipv6PathKey::of(network, u32::MAX),
                    )
                    .filter_map(|(key, handle)| sets.get(*handle).map(|held| map(key.id(), held))),
            ),
        }
    }

    /// Brings a prefix sent without path identifiers (id 0) to `desired`
    /// in one search, and says what changed, so the caller can announce or
    /// withdraw it; this is the outbound diff of a peer alone in its update
    /// group, the case of every eBGP peer with its own policy.
    pub(super) fn set_single(
        &mut self,
        prefix: &IpNetwork,
        desired: Option<&SharedAttributes>,
    ) -> SingleChange {
        let (before, gone) =
            self.replace_single(prefix, desired.map(|attributes| (attributes, NO_SOURCE)));
        let before = before.map(|(address, _)| address);
        let after = desired.map(|attributes| Arc::as_ptr(attributes) as usize);
        match after {
            _ if before == after => SingleChange::Unchanged,
            // Past 2^32 distinct sets the entry is not recorded; it is still announced.
            Some(_) => SingleChange::Announced(gone),
            None => SingleChange::Withdrawn(gone),
        }
    }

    /// Sets the id-0 entry of `prefix` to `desired` (with the route's
    /// source) with one search, for a shared table (`shared_out.rs`):
    /// returns the address and source of what the entry held before (to
    /// compare with, by identity) and the set itself when the table no
    /// longer holds it.
    pub(super) fn replace_single(
        &mut self,
        prefix: &IpNetwork,
        desired: Option<(&SharedAttributes, SourceTag)>,
    ) -> (Option<(usize, SourceTag)>, Option<SharedAttributes>) {
        match prefix {
            IpNetwork::V4(network) => replace_entry(
                &mut self.ipv4,
                &mut self.sets,
                Ipv4Key::of(network),
                desired,
            ),
            IpNetwork::V6(network) => replace_entry(
                &mut self.ipv6,
                &mut self.sets,
                Ipv6Key::of(network),
                desired,
            ),
        }
    }

    /// Every id-0 entry with its source tag, in prefix order, IPv4 first.
    pub(super) fn iter_sourced(
        &self,
    ) -> impl Iterator<Item = (IpNetwork, &SharedAttributes, SourceTag)> {
        let sets = &self.sets;
        let ipv4 = self.ipv4.iter().filter_map(|(key, handle)| {
            let held = sets.held(*handle)?;
            Some((IpNetwork::V4(key.network()?), &held.attributes, held.source))
        });
        let ipv6 = self.ipv6.iter().filter_map(|(key, handle)| {
            let held = sets.held(*handle)?;
            Some((IpNetwork::V6(key.network()?), &held.attributes, held.source))
        });
        ipv4.chain(ipv6)
    }

    /// Records that `prefix` was sent with `id`; returns the attribute set
    /// the peer's table no longer holds, if the replaced entry was its last.
    pub(super) fn insert(
        &mut self,
        prefix: IpNetwork,
        id: u32,
        attributes: SharedAttributes,
    ) -> Option<SharedAttributes> {
        let handle = self.sets.acquire(&attributes, NO_SOURCE)?;
        let replaced = match (prefix, id) {
            (IpNetwork::V4(network), 0) => self.ipv4.insert(Ipv4Key::of(&network), handle),
            (IpNetwork::V6(network), 0) => self.ipv6.insert(Ipv6Key::of(&network), handle),
            (IpNetwork::V4(network), _) => self
                .ipv4_paths
                .insert(Ipv4PathKey::of(&network, id), handle),
            (IpNetwork::V6(network), _) => self
                .ipv6_paths
                .insert(Ipv6PathKey::of(&network, id), handle),
        };
        replaced.and_then(|old| self.sets.release(old))
    }

    /// Records that `prefix` with `id` was withdrawn; returns the attribute
    /// set the peer's table no longer holds, if this entry was its last.
    pub(super) fn remove(&mut self, prefix: &IpNetwork, id: u32) -> Option<SharedAttributes> {
        let removed = match (prefix, id) {
            (IpNetwork::V4(network), 0) => self.ipv4.remove(&Ipv4Key::of(network)),
            (IpNetwork::V6(network), 0) => self.ipv6.remove(&Ipv6Key::of(network)),
            (IpNetwork::V4(network), _) => self.ipv4_paths.remove(&Ipv4PathKey::of(network, id)),
            (IpNetwork::V6(network), _) => self.ipv6_paths.remove(&Ipv6PathKey::of(network, id)),
        };
        removed.and_then(|handle| self.sets.release(handle))
    }

    /// Every entry in (prefix, id) order, IPv4 first (the order of `IpNetwork`).
    pub(super) fn iter(&self) -> impl Iterator<Item = (IpNetwork, u32, &SharedAttributes)> {
        let sets = &self.sets;
        let ipv4 = self.ipv4.iter().filter_map(|(key, handle)| {
            Some((IpNetwork::V4(key.network()?), 0, sets.get(*handle)?))
        });
        let ipv4_paths = self.ipv4_paths.iter().filter_map(|(key, handle)| {
            Some((IpNetwork::V4(key.network()?), key.id(), sets.get(*handle)?))
        });
        let ipv6 = self.ipv6.iter().filter_map(|(key, handle)| {
            Some((IpNetwork::V6(key.network()?), 0, sets.get(*handle)?))
        });
        let ipv6_paths = self.ipv6_paths.iter().filter_map(|(key, handle)| {
            Some((IpNetwork::V6(key.network()?), key.id(), sets.get(*handle)?))
        });
        // Path identifier 0 (the single maps) before the others of a prefix.
        type Entry<'a> = (IpNetwork, u32, &'a SharedAttributes);
        let before = |one: &Entry, other: &Entry| (one.0, one.1) <= (other.0, other.1);
        merge_by(ipv4, ipv4_paths, before).chain(merge_by(ipv6, ipv6_paths, before))
    }

    /// Every distinct attribute set held, emptying the table (to release them).
    pub(super) fn into_attributes(self) -> impl Iterator<Item = SharedAttributes> {
        self.sets.into_attributes()
    }
}

/// What [`AdjRibOut::set_single`] changed.
#[derive(Debug)]
pub(super) enum SingleChange {
    /// The peer already has exactly this (or nothing was and is wanted).
    Unchanged,
    /// The desired attributes were recorded (announce them); holds the set
    /// they replaced when the peer's table no longer holds it.
    Announced(Option<SharedAttributes>),
    /// The prefix was removed (withdraw it); holds the set that had been
    /// sent when the peer's table no longer holds it.
    Withdrawn(Option<SharedAttributes>),
}

fn replace_entry<K: Ord + Copy>(
    map: &mut SortedMap<K, Handle>,
    sets: &mut Sets,
    key: K,
    desired: Option<(&SharedAttributes, SourceTag)>,
) -> (Option<(usize, SourceTag)>, Option<SharedAttributes>) {
    let mut result = (None, None);
    map.update(key, |current| {
        let Some(&held) = current else {
            return match desired.and_then(|(attributes, source)| sets.acquire(attributes, source)) {
                Some(handle) => Update::Set(handle),
                None => Update::Keep,
            };
        };
        let before = sets
            .held(held)
            .map(|sent| (Arc::as_ptr(&sent.attributes) as usize, sent.source));
        result.0 = before;
        match desired {
            Some((attributes, source))
                if before == Some((Arc::as_ptr(attributes) as usize, source)) =>
            {
                Update::Keep
            }
            Some((attributes, source)) => match sets.acquire(attributes, source) {
                Some(handle) => {
                    result.1 = sets.release(held);
                    Update::Set(handle)
                }
                None => Update::Keep,
            },
            None => {
                result.1 = sets.release(held);
                Update::Remove
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::types::RouteAttributes;
    use crate::wire::PathAttributes;

    fn attributes() -> SharedAttributes {
        Arc::new(RouteAttributes {
            path: PathAttributes::default(),
            next_hop: None,
        })
    }

    fn prefix(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    #[test]
    fn entries_come_back_in_prefix_order_ipv4_first_and_by_path_id() {
        let mut table = AdjRibOut::default();
        let shared = attributes();
        for (text, id) in [
            ("2001:db8::/32", 0),
            ("198.18.1.0/24", 2),
            ("198.18.1.0/24", 1),
            ("198.18.0.0/24", 0),
        ] {
            assert!(
                table
                    .insert(prefix(text), id, Arc::clone(&shared))
                    .is_none()
            );
        }
        let order: Vec<(String, u32)> = table
            .iter()
            .map(|(network, id, _)| (network.to_string(), id))
            .collect();
        assert_eq!(
            order,
            [
                ("198.18.0.0/24".to_string(), 0),
                ("198.18.1.0/24".to_string(), 1),
                ("198.18.1.0/24".to_string(), 2),
                ("2001:db8::/32".to_string(), 0),
            ]
        );
        assert_eq!(table.len(), 4);
        let mut ids = Vec::new();
        table.sent(&prefix("198.18.1.0/24"), true, &mut ids, |id, _| id);
        assert_eq!(ids, [1, 2]);
        ids.clear();
        table.sent(&prefix("2001:db8::/32"), false, &mut ids, |id, _| id);
        assert_eq!(ids, [0]);
        // One set shared by four entries is held once, and given back
        // only with its last entry.
        assert!(table.remove(&prefix("2001:db8::/32"), 0).is_none());
        assert_eq!(table.len(), 3);
        assert!(table.remove(&prefix("2001:db8::/32"), 0).is_none());
        assert_eq!(table.len(), 3);
        assert!(table.remove(&prefix("198.18.1.0/24"), 1).is_none());
        assert!(table.remove(&prefix("198.18.1.0/24"), 2).is_none());
        let last = table.remove(&prefix("198.18.0.0/24"), 0);
        assert!(last.is_some_and(|last| Arc::ptr_eq(&last, &shared)));
        assert_eq!(table.len(), 0);
        assert_eq!(table.into_attributes().count(), 0);
    }

    #[test]
    fn sets_are_counted_per_entry_and_handles_reused() {
        let mut table = AdjRibOut::default();
        let first = attributes();
        let second = attributes();
        for (text, attributes) in [
            ("198.18.0.0/24", &first),
            ("198.18.1.0/24", &first),
            ("198.18.2.0/24", &second),
        ] {
            assert!(
                table
                    .insert(prefix(text), 0, Arc::clone(attributes))
                    .is_none()
            );
        }
        // Replacing one of two users of `first` gives nothing back...
        assert!(
            table
                .insert(prefix("198.18.0.0/24"), 0, Arc::clone(&second))
                .is_none()
        );
        // ...replacing its last user gives it back, once.
        let back = table.insert(prefix("198.18.1.0/24"), 0, Arc::clone(&second));
        assert!(back.is_some_and(|back| Arc::ptr_eq(&back, &first)));
        // A new set takes the freed handle; what each prefix was sent stays right.
        let third = attributes();
        assert!(
            table
                .insert(prefix("198.18.3.0/24"), 0, Arc::clone(&third))
                .is_none()
        );
        let sent: Vec<(String, bool)> = table
            .iter()
            .map(|(network, _, held)| (network.to_string(), Arc::ptr_eq(held, &third)))
            .collect();
        assert_eq!(
            sent,
            [
                ("198.18.0.0/24".to_string(), false),
                ("198.18.1.0/24".to_string(), false),
                ("198.18.2.0/24".to_string(), false),
                ("198.18.3.0/24".to_string(), true),
            ]
        );
        assert_eq!(table.into_attributes().count(), 2);
    }

    #[test]
    fn set_single_announces_replaces_keeps_and_withdraws() {
        let mut table = AdjRibOut::default();
        let network = prefix("198.18.0.0/24");
        let first = attributes();
        let second = attributes();
        assert!(matches!(
            table.set_single(&network, None),
            SingleChange::Unchanged
        ));
        assert!(matches!(
            table.set_single(&network, Some(&first)),
            SingleChange::Announced(None)
        ));
        assert!(matches!(
            table.set_single(&network, Some(&first)),
            SingleChange::Unchanged
        ));
        match table.set_single(&network, Some(&second)) {
            SingleChange::Announced(Some(old)) => assert!(Arc::ptr_eq(&old, &first)),
            other => panic!("expected a replacement, got {other:?}"),
        }
        match table.set_single(&network, None) {
            SingleChange::Withdrawn(Some(old)) => assert!(Arc::ptr_eq(&old, &second)),
            other => panic!("expected a withdrawal, got {other:?}"),
        }
        assert_eq!(table.len(), 0);
    }
}
