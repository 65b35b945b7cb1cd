//! Per-prefix work recorded between two polls: the prefixes whose outbound
//! state must be compared again, and the forwarding changes for the FIB.
//!
//! Every path change appends one entry here (`core.rs`), and the next poll
//! takes them all, sorted by prefix with one entry per prefix, the last
//! recorded value winning. Appending to a vector and sorting once per poll
//! costs a fraction of keeping a sorted tree up to date on every change: a
//! full table arrives in prefix order, which the sort finds already in runs.
//! So that a prefix changing again and again between two polls cannot grow
//! the vector without bound, it is compacted whenever it has doubled since
//! the last compaction, which keeps it under twice the distinct prefixes
//! (plus a small floor) at an amortised constant cost per change.

use ipnetwork::IpNetwork;

/// Below this many entries no compaction happens before the poll.
const COMPACTION_FLOOR: usize = 4096;

/// Prefixes with a value each, in the order recorded; see the module overview.
#[derive(Debug)]
pub(super) struct Pending<V> {
    entries: Vec<(IpNetwork, V)>,
    /// Entries left by the last compaction (all distinct).
    compacted: usize,
}

impl<V> Default for Pending<V> {
    fn default() -> Self {
        Pending {
            entries: Vec::new(),
            compacted: 0,
        }
    }
}

impl<V> Pending<V> {
    /// Records `value` for `prefix`, replacing what an earlier call recorded.
    pub(super) fn insert(&mut self, prefix: IpNetwork, value: V) {
        self.entries.push((prefix, value));
        if self.entries.len() >= self.compacted.max(COMPACTION_FLOOR).saturating_mul(2) {
            self.compact();
        }
    }

    /// Whether nothing is recorded.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Everything recorded, one entry per prefix in prefix order; leaves
    /// nothing behind.
    pub(super) fn take(&mut self) -> Vec<(IpNetwork, V)> {
        self.compact();
        self.compacted = 0;
        std::mem::take(&mut self.entries)
    }

    /// Sorts by prefix (stably, so later entries stay after earlier ones)
    /// and keeps the last entry of each prefix.
    fn compact(&mut self) {
        self.entries.sort_by_key(|entry| entry.0);
        // `dedup_by` keeps the first of equal neighbours; moving the later
        // value into it makes the last one win.
        self.entries.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                std::mem::swap(&mut later.1, &mut kept.1);
                true
            } else {
                false
            }
        });
        self.compacted = self.entries.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    #[test]
    fn the_last_value_of_each_prefix_wins_in_prefix_order() {
        let mut pending = Pending::default();
        pending.insert(prefix("2001:db8::/32"), 1);
        pending.insert(prefix("198.18.1.0/24"), 2);
        pending.insert(prefix("198.18.0.0/24"), 3);
        pending.insert(prefix("198.18.1.0/24"), 4);
        pending.insert(prefix("2001:db8::/32"), 5);
        assert_eq!(
            pending.take(),
            vec![
                (prefix("198.18.0.0/24"), 3),
                (prefix("198.18.1.0/24"), 4),
                (prefix("2001:db8::/32"), 5),
            ]
        );
        assert!(pending.entries.is_empty());
        assert!(pending.take().is_empty());
    }

    #[test]
    fn repeated_changes_to_few_prefixes_stay_bounded() {
        let mut pending = Pending::default();
        let prefixes = [prefix("198.18.0.0/24"), prefix("198.18.1.0/24")];
        for round in 0..100_000u32 {
            for (index, network) in prefixes.iter().enumerate() {
                pending.insert(*network, (round, index));
            }
            assert!(pending.entries.len() <= 2 * COMPACTION_FLOOR);
        }
        assert_eq!(
            pending.take(),
            vec![(prefixes[0], (99_999, 0)), (prefixes[1], (99_999, 1))]
        );
    }
}
