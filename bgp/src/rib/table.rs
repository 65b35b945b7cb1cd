//! The Loc-RIB: every path of every prefix, kept in decision order.
//!
//! A prefix's [`Destination`] holds its paths from all sources; the
//! post-policy Adj-RIB-In of each peer is the set of paths whose source is
//! that peer, so a route is stored once. After every change the RIB core
//! re-runs [`super::decision::select`] and stores the paths best first,
//! then the rest of the multipath set, then the others; `multipath` says
//! how many lead. A path is a source, two identifiers and a pointer to the
//! interned attributes, a few dozen bytes in all.

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

/// The paths of one prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// Paths in decision order.
    pub paths: Vec<Path>,
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
        Some(self.paths.remove(position).attributes)
    }

    /// Removes every path from `source`; returns their attributes.
    pub fn remove_source(&mut self, source: Source) -> Vec<SharedAttributes> {
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.paths.len());
        for path in self.paths.drain(..) {
            if path.source == source {
                removed.push(path.attributes);
            } else {
                kept.push(path);
            }
        }
        self.paths = kept;
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
        self.paths
            .get(..usize::from(self.multipath))
            .unwrap_or(&self.paths)
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
