//! One shared copy of every distinct attribute set in the RIB.
//!
//! Routes arriving in one UPDATE share their attributes, and a full table
//! holds far fewer attribute sets than prefixes. Every path therefore holds
//! an `Arc` handed out by [`Interner::intern`]; the interner keeps one `Arc`
//! of each set in a hash set (used for look-up only, never iterated into
//! output). When a path is dropped it hands its `Arc` back to
//! [`Interner::release`], which forgets the set once no path uses it.

use std::collections::HashSet;
use std::sync::Arc;

use super::types::{RouteAttributes, SharedAttributes};

/// The hash set of shared attribute sets.
#[derive(Debug, Default)]
pub struct Interner {
    sets: HashSet<SharedAttributes>,
}

impl Interner {
    /// The shared copy of `attributes`, created on first use.
    pub fn intern(&mut self, attributes: RouteAttributes) -> SharedAttributes {
        if let Some(existing) = self.sets.get(&attributes) {
            return Arc::clone(existing);
        }
        let shared = Arc::new(attributes);
        self.sets.insert(Arc::clone(&shared));
        shared
    }

    /// The shared copy of an attribute set some other `Arc` holds (for
    /// example one built by policy from a shared set).
    pub fn intern_shared(&mut self, attributes: &SharedAttributes) -> SharedAttributes {
        if let Some(existing) = self.sets.get(attributes.as_ref()) {
            return Arc::clone(existing);
        }
        self.sets.insert(Arc::clone(attributes));
        Arc::clone(attributes)
    }

    /// Gives back one user's handle; the set is forgotten when only the
    /// interner's own handle would be left.
    pub fn release(&mut self, attributes: SharedAttributes) {
        // Two strong references: the interner's and the one being released.
        // Checked first, so that the common case costs no hashing.
        if Arc::strong_count(&attributes) != 2 {
            return;
        }
        let ours = self
            .sets
            .get(attributes.as_ref())
            .is_some_and(|held| Arc::ptr_eq(held, &attributes));
        if ours {
            self.sets.remove(attributes.as_ref());
        }
    }

    /// Distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no attribute set is held.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}
