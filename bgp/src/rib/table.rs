//! The Loc-RIB: every path of every prefix, kept in decision order.
//!
//! A prefix's [`Destination`] holds its paths from all sources; the
//! post-policy Adj-RIB-In of each peer is the set of paths whose source is
//! that peer, so a route is stored once. After every change the RIB core
//! re-runs [`super::decision::select`] and stores the paths best first,
//! then the rest of the multipath set, then the others; `multipath()` says
//! how many lead (a single inline path is eligible by construction; one
//! that is not is boxed with its count of 0). A path is a source, two identifiers and a pointer to the
//! interned attributes, a few dozen bytes in all; the usual single path
//! of a prefix is stored inline ([`PathList`]), with no allocation of its own,
//! and each family has its own map so that an IPv4 key costs 5 bytes, not
//! the 20 of an `IpNetwork`, and compares as integers (`key.rs`, [`Table`]).
//! The maps are sorted vectors that a table arriving in prefix order is
//! simply appended to (`sorted_map.rs`).

use std::ops::{Deref, DerefMut};

use ipnetwork::IpNetwork;

use super::key::{Ipv4Key, Ipv6Key};
use super::sorted_map::{FINGER_STEPS, Finger, SortedMap};

use super::types::{SharedAttributes, Source};

/// One path of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Where it came from.
    pub source: Source,
    /// Path identifier as received (RFC 7911; 0 without ADD-PATH).
    pub path_id: u32,
    /// Path identifier we send it with to ADD-PATH peers: stable for the
    /// life of the path, unique within the prefix (RFC 7911 §3).
    pub local_id: u32,
    /// Interned attributes and next hop.
    pub attributes: SharedAttributes,
}

/// A prefix's paths: none, one held inline, or several on the heap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PathList {
    /// No path (only transiently, while a prefix is being removed).
    #[default]
    Empty,
    /// The common case: one path, no allocation.
    One(Path),
    /// Two or more paths, or one that is not eligible (its next hop does
    /// not resolve), with the size of the multipath set. Boxed so that the
    /// list is no bigger than one path: a full table is almost all `One`,
    /// and every byte here is paid per prefix.
    Many(Box<Paths>),
}

/// The paths of a [`PathList::Many`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// In decision order.
    pub list: Vec<Path>,
    /// How many leading paths form the multipath set (0: none eligible).
    pub multipath: u8,
}

impl PathList {
    /// Appends a path.
    pub fn push(&mut self, path: Path) {
        *self = match std::mem::take(self) {
            PathList::Empty => PathList::One(path),
            PathList::One(first) => PathList::Many(Box::new(Paths {
                list: vec![first, path],
                multipath: 1,
            })),
            PathList::Many(mut paths) => {
                paths.list.push(path);
                PathList::Many(paths)
            }
        };
    }

    /// The paths, moved out in order.
    pub fn into_vec(self) -> Vec<Path> {
        match self {
            PathList::Empty => Vec::new(),
            PathList::One(path) => vec![path],
            PathList::Many(paths) => paths.list,
        }
    }

    /// How many leading paths form the multipath set (0: none eligible).
    pub fn multipath(&self) -> u8 {
        match self {
            PathList::Empty => 0,
            PathList::One(_) => 1,
            PathList::Many(paths) => paths.multipath,
        }
    }

    /// Sets the size of the multipath set. A single path is kept inline
    /// when eligible and boxed when not, so the common case stores no count.
    pub fn set_multipath(&mut self, multipath: u8) {
        *self = match std::mem::take(self) {
            PathList::Empty => PathList::Empty,
            PathList::One(path) if multipath == 0 => PathList::Many(Box::new(Paths {
                list: vec![path],
                multipath: 0,
            })),
            PathList::One(path) => PathList::One(path),
            PathList::Many(mut paths) => {
                if paths.list.len() == 1 && multipath > 0 {
                    match paths.list.pop() {
                        Some(path) => PathList::One(path),
                        None => PathList::Empty,
                    }
                } else {
                    paths.multipath = multipath;
                    PathList::Many(paths)
                }
            }
        };
    }
}

impl From<Vec<Path>> for PathList {
    fn from(mut paths: Vec<Path>) -> Self {
        match paths.len() {
            0 => PathList::Empty,
            1 => paths.pop().map_or(PathList::Empty, PathList::One),
            _ => PathList::Many(Box::new(Paths {
                list: paths,
                multipath: 1,
            })),
        }
    }
}

impl FromIterator<Path> for PathList {
    fn from_iter<I: IntoIterator<Item = Path>>(iterator: I) -> Self {
        PathList::from(iterator.into_iter().collect::<Vec<Path>>())
    }
}

impl Deref for PathList {
    type Target = [Path];

    fn deref(&self) -> &[Path] {
        match self {
            PathList::Empty => &[],
            PathList::One(path) => std::slice::from_ref(path),
            PathList::Many(paths) => &paths.list,
        }
    }
}

impl DerefMut for PathList {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            PathList::Empty => &mut [],
            PathList::One(path) => std::slice::from_mut(path),
            PathList::Many(paths) => &mut paths.list,
        }
    }
}

/// The paths of one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// Paths in decision order, with the size of the multipath set.
    pub paths: PathList,
}

impl Destination {
    /// The path from `source` with received identifier `path_id`.
    pub fn find(&self, source: Source, path_id: u32) -> Option<&Path> {
        self.paths
            .iter()
            .find(|path| path.source == source && path.path_id == path_id)
    }

    /// Inserts or replaces a path; returns the attributes it replaced. A
    /// replaced path keeps its local identifier.
    pub fn upsert(
        &mut self,
        source: Source,
        path_id: u32,
        attributes: SharedAttributes,
    ) -> Option<SharedAttributes> {
        if let Some(existing) = self
            .paths
            .iter_mut()
            .find(|path| path.source == source && path.path_id == path_id)
        {
            return Some(std::mem::replace(&mut existing.attributes, attributes));
        }
        let local_id = self.free_local_id();
        self.paths.push(Path {
            source,
            path_id,
            local_id,
            attributes,
        });
        None
    }

    /// Removes a path; returns its attributes.
    pub fn remove(&mut self, source: Source, path_id: u32) -> Option<SharedAttributes> {
        let position = self
            .paths
            .iter()
            .position(|path| path.source == source && path.path_id == path_id)?;
        let mut paths = std::mem::take(&mut self.paths).into_vec();
        let removed = paths.remove(position);
        self.paths = PathList::from(paths);
        Some(removed.attributes)
    }

    /// Removes every path from `source`; returns their attributes.
    pub fn remove_source(&mut self, source: Source) -> Vec<SharedAttributes> {
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.paths.len());
        for path in std::mem::take(&mut self.paths).into_vec() {
            if path.source == source {
                removed.push(path.attributes);
            } else {
                kept.push(path);
            }
        }
        self.paths = PathList::from(kept);
        removed
    }

    /// The best path, if one is eligible.
    pub fn best(&self) -> Option<&Path> {
        if self.multipath() == 0 {
            None
        } else {
            self.paths.first()
        }
    }

    /// The multipath set (best first).
    pub fn multipath_set(&self) -> &[Path] {
        self.paths
            .get(..usize::from(self.multipath()))
            .unwrap_or(&[])
    }

    /// How many leading paths form the multipath set (0: none eligible).
    pub fn multipath(&self) -> u8 {
        self.paths.multipath()
    }

    /// Sets the size of the multipath set (the decision process does).
    pub fn set_multipath(&mut self, multipath: u8) {
        self.paths.set_multipath(multipath);
    }

    /// The smallest identifier from 1 up that no path of this prefix uses.
    fn free_local_id(&self) -> u32 {
        let mut used: Vec<u32> = self.paths.iter().map(|path| path.local_id).collect();
        used.sort_unstable();
        let mut candidate = 1u32;
        for id in used {
            if id == candidate {
                candidate = candidate.saturating_add(1);
            } else if id > candidate {
                break;
            }
        }
        candidate
    }
}

/// Every prefix's paths, IPv4 and IPv6 apart; iteration is in prefix
/// order, IPv4 first (the order of `IpNetwork`).
#[derive(Debug, Default)]
pub struct Table {
    ipv4: SortedMap<Ipv4Key, Destination>,
    ipv6: SortedMap<Ipv6Key, Destination>,
}

impl Table {
    /// The paths of `prefix`.
    pub fn get(&self, prefix: &IpNetwork) -> Option<&Destination> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.get(&Ipv4Key::of(network)),
            IpNetwork::V6(network) => self.ipv6.get(&Ipv6Key::of(network)),
        }
    }

    /// The paths of `prefix`, to change.
    pub fn get_mut(&mut self, prefix: &IpNetwork) -> Option<&mut Destination> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.get_mut(&Ipv4Key::of(network)),
            IpNetwork::V6(network) => self.ipv6.get_mut(&Ipv6Key::of(network)),
        }
    }

    /// The paths of `prefix`, created empty if absent.
    pub fn get_or_default(&mut self, prefix: IpNetwork) -> &mut Destination {
        match prefix {
            IpNetwork::V4(network) => self
                .ipv4
                .get_or_insert_with(Ipv4Key::of(&network), Destination::default),
            IpNetwork::V6(network) => self
                .ipv6
                .get_or_insert_with(Ipv6Key::of(&network), Destination::default),
        }
    }

    /// Forgets `prefix`.
    pub fn remove(&mut self, prefix: &IpNetwork) -> Option<Destination> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.remove(&Ipv4Key::of(network)),
            IpNetwork::V6(network) => self.ipv6.remove(&Ipv6Key::of(network)),
        }
    }

    /// Every prefix with its paths, in order.
    pub fn iter(&self) -> impl Iterator<Item = (IpNetwork, &Destination)> {
        let ipv4 = self.ipv4.iter().filter_map(|(key, destination)| {
            key.network()
                .map(|network| (IpNetwork::V4(network), destination))
        });
        let ipv6 = self.ipv6.iter().filter_map(|(key, destination)| {
            key.network()
                .map(|network| (IpNetwork::V6(network), destination))
        });
        ipv4.chain(ipv6)
    }

    /// How many IPv4 and IPv6 prefixes have paths.
    pub fn prefix_counts(&self) -> (usize, usize) {
        (self.ipv4.len(), self.ipv6.len())
    }

    /// Every prefix, in order.
    pub fn keys(&self) -> impl Iterator<Item = IpNetwork> {
        self.iter().map(|(prefix, _)| prefix)
    }

    /// A look-up for prefixes asked in ascending order, as the outbound
    /// side asks for a flush's changed prefixes ([`OrderedLookup`]).
    pub fn ordered_lookup(&self) -> OrderedLookup<'_> {
        OrderedLookup {
            ipv4: self.ipv4.finger(),
            ipv6: self.ipv6.finger(),
        }
    }
}

/// Looks prefixes up in a [`Table`] when they come in ascending order:
/// it walks the table alongside them, so that the next prefix, usually a
/// few entries on (a full table's flush is most of the table), costs a
/// step or two instead of a search from the root; a prefix further away
/// than [`OrderedLookup::MAX_STEPS`] entries is searched for, so a sparse
/// flush costs no more than the plain [`Table::get`]. A prefix asked out of
/// order is still found, by a search.
pub struct OrderedLookup<'a> {
    ipv4: Finger<'a, Ipv4Key, Destination>,
    ipv6: Finger<'a, Ipv6Key, Destination>,
}

impl<'a> OrderedLookup<'a> {
    /// How far the walk goes before it searches instead.
    pub const MAX_STEPS: usize = FINGER_STEPS;

    /// The paths of `prefix`.
    pub fn get(&mut self, prefix: &IpNetwork) -> Option<&'a Destination> {
        match prefix {
            IpNetwork::V4(network) => self.ipv4.get(&Ipv4Key::of(network)),
            IpNetwork::V6(network) => self.ipv6.get(&Ipv6Key::of(network)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(peer: u32) -> Path {
        Path {
            source: Source::Peer(super::super::types::PeerId(peer)),
            path_id: 0,
            local_id: 1,
            attributes: std::sync::Arc::new(super::super::types::RouteAttributes {
                path: crate::wire::PathAttributes::default(),
                next_hop: None,
            }),
        }
    }

    #[test]
    fn the_multipath_size_survives_every_shape_of_the_list() {
        let mut destination = Destination::default();
        assert_eq!(destination.multipath(), 0);
        destination.paths.push(path(1));
        // One eligible path: inline, counted as a multipath set of one.
        assert!(matches!(destination.paths, PathList::One(_)));
        assert_eq!(destination.multipath_set().len(), 1);
        // Not eligible: boxed with a count of 0, and no best path.
        destination.set_multipath(0);
        assert!(matches!(destination.paths, PathList::Many(_)));
        assert!(destination.best().is_none());
        assert!(destination.multipath_set().is_empty());
        assert_eq!(destination.paths.len(), 1);
        // Eligible again: back inline.
        destination.set_multipath(1);
        assert!(matches!(destination.paths, PathList::One(_)));
        assert!(destination.best().is_some());
        // Two paths, both in the set, then none.
        destination.paths.push(path(2));
        destination.set_multipath(2);
        assert_eq!(destination.multipath_set().len(), 2);
        destination.set_multipath(0);
        assert!(destination.best().is_none());
        assert_eq!(destination.paths.len(), 2);
        // Removing one leaves one path, eligible once the decision says so.
        destination.remove(Source::Peer(super::super::types::PeerId(2)), 0);
        destination.set_multipath(1);
        assert!(matches!(destination.paths, PathList::One(_)));
    }

    #[test]
    fn the_ordered_look_up_finds_what_get_finds_in_any_order() {
        let mut table = Table::default();
        let prefixes: Vec<IpNetwork> = (0..200u32)
            .map(|index| {
                IpNetwork::V4(
                    ipnetwork::Ipv4Network::new(std::net::Ipv4Addr::from(index << 8), 24).unwrap(),
                )
            })
            .chain((0..50u128).map(|index| {
                IpNetwork::V6(
                    ipnetwork::Ipv6Network::new(std::net::Ipv6Addr::from(index << 80), 48).unwrap(),
                )
            }))
            .collect();
        // Every third prefix is in the table.
        for prefix in prefixes.iter().step_by(3) {
            table.get_or_default(*prefix).paths.push(path(1));
        }
        // Ascending (dense and sparse), descending, and repeated asks.
        let mut orders: Vec<Vec<IpNetwork>> = vec![
            prefixes.clone(),
            prefixes.iter().step_by(40).copied().collect(),
            prefixes.iter().rev().copied().collect(),
        ];
        orders.push(
            prefixes
                .iter()
                .flat_map(|prefix| [*prefix, *prefix])
                .collect(),
        );
        for order in orders {
            let mut lookup = table.ordered_lookup();
            for prefix in &order {
                assert_eq!(
                    lookup.get(prefix).is_some(),
                    table.get(prefix).is_some(),
                    "{prefix}"
                );
            }
        }
    }

    #[test]
    fn a_destination_costs_no_more_than_one_path() {
        // The per-prefix cost of a full table: one inline path, no tag word.
        assert_eq!(std::mem::size_of::<PathList>(), std::mem::size_of::<Path>());
        assert_eq!(
            std::mem::size_of::<Destination>(),
            std::mem::size_of::<Path>()
        );
    }
}
