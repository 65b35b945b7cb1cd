//! One peer's Adj-RIB-Out (RFC 4271 §3.2): what it has been sent, per
//! prefix and path identifier, so that the outbound side sends only
//! differences (`outbound.rs`).
//!
//! Entries are written by the outbound diff after each flush, read back by
//! the next diff, by route refresh re-advertisement and by the CLI, and all
//! dropped when the session goes down. IPv4 and IPv6 have their own maps
//! with packed integer keys (`key.rs`), so an IPv4 entry's key is 9 bytes
//! rather than the 24 of an `(IpNetwork, u32)`, and a search step compares
//! integers, not enums of octet arrays. Without ADD-PATH in a family only
//! path identifier 0 is ever stored (the outbound side sends nothing else),
//! so [`AdjRibOut::sent`] then finds a prefix with one exact look-up instead
//! of a range search.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use ipnetwork::IpNetwork;

use super::key::{Ipv4PathKey, Ipv6PathKey};
use super::types::SharedAttributes;

/// What one peer has been sent; see the module overview.
#[derive(Debug, Default)]
pub(super) struct AdjRibOut {
    ipv4: BTreeMap<Ipv4PathKey, SharedAttributes>,
    ipv6: BTreeMap<Ipv6PathKey, SharedAttributes>,
}

impl AdjRibOut {
    /// Routes held, both families.
    pub(super) fn len(&self) -> usize {
        self.ipv4.len().saturating_add(self.ipv6.len())
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
        match (prefix, add_path) {
            (IpNetwork::V4(network), false) => {
                let key = Ipv4PathKey::of(network, 0);
                out.extend(self.ipv4.get(&key).map(|held| map(0, held)));
            }
            (IpNetwork::V6(network), false) => {
                let key = Ipv6PathKey::of(network, 0);
                out.extend(self.ipv6.get(&key).map(|held| map(0, held)));
            }
            (IpNetwork::V4(network), true) => out.extend(
                self.ipv4
                    .range(Ipv4PathKey::of(network, 0)..=Ipv4PathKey::of(network, u32::MAX))
                    .map(|(key, held)| map(key.id(), held)),
            ),
            (IpNetwork::V6(network), true) => out.extend(
                self.ipv6
                    .range(Ipv6PathKey::of(network, 0)..=Ipv6PathKey::of(network, u32::MAX))
                    .map(|(key, held)| map(key.id(), held)),
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
        match prefix {
            IpNetwork::V4(network) => {
                set_entry(&mut self.ipv4, Ipv4PathKey::of(network, 0), desired)
            }
            IpNetwork::V6(network) => {
                set_entry(&mut self.ipv6, Ipv6PathKey::of(network, 0), desired)
            }
        }
    }

    /// Records that `prefix` was sent with `id`; returns what it replaces.
    pub(super) fn insert(
        &mut self,
        prefix: IpNetwork,
        id: u32,
        attributes: SharedAttributes,
    ) -> Option<SharedAttributes> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.insert(Ipv4PathKey::of(&network, id), attributes),
            IpNetwork::V6(network) => self.ipv6.insert(Ipv6PathKey::of(&network, id), attributes),
        }
    }

    /// Records that `prefix` with `id` was withdrawn; returns what was sent.
    pub(super) fn remove(&mut self, prefix: &IpNetwork, id: u32) -> Option<SharedAttributes> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.remove(&Ipv4PathKey::of(network, id)),
            IpNetwork::V6(network) => self.ipv6.remove(&Ipv6PathKey::of(network, id)),
        }
    }

    /// Every entry in (prefix, id) order, IPv4 first (the order of `IpNetwork`).
    pub(super) fn iter(&self) -> impl Iterator<Item = (IpNetwork, u32, &SharedAttributes)> {
        let ipv4 = self.ipv4.iter().filter_map(|(key, held)| {
            key.network()
                .map(|network| (IpNetwork::V4(network), key.id(), held))
        });
        let ipv6 = self.ipv6.iter().filter_map(|(key, held)| {
            key.network()
                .map(|network| (IpNetwork::V6(network), key.id(), held))
        });
        ipv4.chain(ipv6)
    }

    /// Every attribute handle held, emptying the table (to release them).
    pub(super) fn into_attributes(self) -> impl Iterator<Item = SharedAttributes> {
        self.ipv4.into_values().chain(self.ipv6.into_values())
    }
}

/// What [`AdjRibOut::set_single`] changed.
#[derive(Debug)]
pub(super) enum SingleChange {
    /// The peer already has exactly this (or nothing was and is wanted).
    Unchanged,
    /// The desired attributes were recorded (announce them); holds what they replaced.
    Announced(Option<SharedAttributes>),
    /// The prefix was removed (withdraw it); holds what had been sent.
    Withdrawn(SharedAttributes),
}

fn set_entry<K: Ord>(
    map: &mut BTreeMap<K, SharedAttributes>,
    key: K,
    desired: Option<&SharedAttributes>,
) -> SingleChange {
    match (map.entry(key), desired) {
        (Entry::Vacant(_), None) => SingleChange::Unchanged,
        (Entry::Vacant(vacant), Some(attributes)) => {
            vacant.insert(Arc::clone(attributes));
            SingleChange::Announced(None)
        }
        (Entry::Occupied(occupied), Some(attributes))
            if Arc::ptr_eq(occupied.get(), attributes) =>
        {
            SingleChange::Unchanged
        }
        (Entry::Occupied(mut occupied), Some(attributes)) => {
            SingleChange::Announced(Some(occupied.insert(Arc::clone(attributes))))
        }
        (Entry::Occupied(occupied), None) => SingleChange::Withdrawn(occupied.remove()),
    }
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
        assert!(table.remove(&prefix("2001:db8::/32"), 0).is_some());
        assert!(table.remove(&prefix("2001:db8::/32"), 0).is_none());
        assert_eq!(table.into_attributes().count(), 3);
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
            SingleChange::Withdrawn(old) => assert!(Arc::ptr_eq(&old, &second)),
            other => panic!("expected a withdrawal, got {other:?}"),
        }
        assert_eq!(table.len(), 0);
    }
}
