//! The Loc-RIB: every path of every prefix, kept in decision order.
//!
//! A prefix's [`Destination`] holds its paths from all sources; the
//! post-policy Adj-RIB-In of each peer is the set of paths whose source is
//! that peer, so a route is stored once. After every change the RIB core
//! re-runs [`super::decision::select`] and stores the paths best first,
//! then the rest of the multipath set, then the others; `multipath` says
//! how many lead. A path is a source, two identifiers and a pointer to the
//! interned attributes, a few dozen bytes in all; the usual single path
//! of a prefix is stored inline ([`PathList`]), with no allocation of its own,
//! and each family has its own map so that an IPv4 key costs 5 bytes, not
//! the 20 of an `IpNetwork`, and compares as integers (`key.rs`, [`Table`]).

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use ipnetwork::IpNetwork;

use super::key::{Ipv4Key, Ipv6Key};

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
    /// Two or more paths. Boxed so that the list is no bigger than one
    /// path: a full table is almost all `One`, and every byte here is paid
    /// per prefix.
    Many(Box<Vec<Path>>),
}

impl PathList {
    /// Appends a path.
    pub fn push(&mut self, path: Path) {
        *self = match std::mem::take(self) {
            PathList::Empty => PathList::One(path),
            PathList::One(first) => PathList::Many(Box::new(vec![first, path])),
            PathList::Many(mut paths) => {
                paths.push(path);
                PathList::Many(paths)
            }
        };
    }

    /// The paths, moved out in order.
    pub fn into_vec(self) -> Vec<Path> {
        match self {
            PathList::Empty => Vec::new(),
            PathList::One(path) => vec![path],
            PathList::Many(paths) => *paths,
        }
    }
}

impl From<Vec<Path>> for PathList {
    fn from(mut paths: Vec<Path>) -> Self {
        match paths.len() {
            0 => PathList::Empty,
            1 => paths.pop().map_or(PathList::Empty, PathList::One),
            _ => PathList::Many(Box::new(paths)),
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
            PathList::Many(paths) => paths,
        }
    }
}

impl DerefMut for PathList {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            PathList::Empty => &mut [],
            PathList::One(path) => std::slice::from_mut(path),
            PathList::Many(paths) => paths,
        }
    }
}

/// The paths of one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// Paths in decision order.
    pub paths: PathList,
    /// How many leading paths form the multipath set (0: none eligible).
    pub multipath: u8,
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
        if self.multipath == 0 {
            None
        } else {
            self.paths.first()
        }
    }

    /// The multipath set (best first).
    pub fn multipath_set(&self) -> &[Path] {
        self.paths.get(..usize::from(self.multipath)).unwrap_or(&[])
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
    ipv4: BTreeMap<Ipv4Key, Destination>,
    ipv6: BTreeMap<Ipv6Key, Destination>,
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
            IpNetwork::V4(network) => self.ipv4.entry(Ipv4Key::of(&network)).or_default(),
            IpNetwork::V6(network) => self.ipv6.entry(Ipv6Key::of(&network)).or_default(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_costs_no_more_than_one_path_and_its_count() {
        // The per-prefix cost of a full table: one inline path, no tag word.
        assert_eq!(std::mem::size_of::<PathList>(), std::mem::size_of::<Path>());
        assert!(std::mem::size_of::<Destination>() <= std::mem::size_of::<Path>() + 8);
    }
}
