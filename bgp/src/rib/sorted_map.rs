//! The ordered map under the Loc-RIB and the Adj-RIBs-Out: a sorted vector
//! with a small B-tree beside it.
//!
//! Tables are filled mostly in key order: a peer sends its table in prefix
//! order, and the outbound side records a flush's prefixes sorted. A
//! `BTreeMap` makes every such insert a full search (down the right edge of
//! the tree, scanning each node to its end) and leaves its nodes a little
//! over half full. Here a key above every key of the sorted run is simply
//! pushed on it; any other new key goes to the overflow tree, which is
//! merged into the run, in place, once it holds an eighth of it; a removed
//! entry leaves a hole (`None`) that a later insert of the same key fills
//! and a compaction clears once holes are half of the run. A look-up is a
//! binary search of the run (of a small index of every 64th key, then of
//! one block of keys), then of the tree when the tree is not empty.
//! In the scenario 1 ingest (1.2M prefixes in order) the two searches per
//! route this replaced were a third of the daemon's CPU time.
//!
//! Invariant: a key is in the run (live or a hole) or in the tree, never in
//! both.

use std::collections::{BTreeMap, btree_map};
use std::iter::Peekable;

/// The tree is merged into the run once it holds more than this and more
/// than an eighth of the run.
const MIN_OVERFLOW: usize = 1024;

/// Keys of the run per entry of its index.
const BLOCK: usize = 64;

/// What [`SortedMap::update`] does with a key.
pub(super) enum Update<V> {
    /// Leave it as it is.
    Keep,
    /// Set it to this value.
    Set(V),
    /// Take it out.
    Remove,
}

/// Where a key is or goes ([`SortedMap::place`]).
#[derive(Clone, Copy)]
enum Place {
    /// At this index of the run, with a value.
    Live(usize),
    /// At this index of the run, a hole.
    Hole(usize),
    /// In the tree, or absent and going there (between keys of the run).
    Tree,
    /// Absent, past the run's last key.
    End,
}

/// An ordered map (see the module overview).
#[derive(Debug, Clone)]
pub(super) struct SortedMap<K, V> {
    /// The run's keys, sorted, no key twice. Apart from the values, so
    /// that a binary search touches as few cache lines as a tree search.
    keys: Vec<K>,
    /// The run's values, by the index of their key; `None` is a removed
    /// entry's hole.
    values: Vec<Option<V>>,
    /// Every [`BLOCK`]th key of the run, from the first: small enough to
    /// stay in cache, so that a search misses it only in one block.
    index: Vec<K>,
    /// Entries of the run that are not holes.
    run_live: usize,
    /// Keys that are not in `run`.
    overflow: BTreeMap<K, V>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            keys: Vec::new(),
            values: Vec::new(),
            index: Vec::new(),
            run_live: 0,
            overflow: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy, V> SortedMap<K, V> {
    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.run_live.saturating_add(self.overflow.len())
    }

    /// Where `key` is or would be in the run.
    fn search(&self, key: &K) -> Result<usize, usize> {
        match self.keys.last() {
            // The common case of a table filled in order: past the end.
            Some(last) if *last < *key => Err(self.keys.len()),
            _ => {
                let block = self.index.partition_point(|first| first <= key);
                let Some(start) = block.checked_sub(1).map(|block| block * BLOCK) else {
                    return Err(0);
                };
                let end = (start + BLOCK).min(self.keys.len());
                match self
                    .keys
                    .get(start..end)
                    .map(|keys| keys.binary_search(key))
                {
                    Some(Ok(offset)) => Ok(start + offset),
                    Some(Err(offset)) => Err(start + offset),
                    // Not reached: the index only holds keys of the run.
                    None => self.keys.binary_search(key),
                }
            }
        }
    }

    /// The value of `key`.
    pub(super) fn get(&self, key: &K) -> Option<&V> {
        match self.search(key) {
            Ok(index) => self.values.get(index).and_then(Option::as_ref),
            Err(_) if self.overflow.is_empty() => None,
            Err(_) => self.overflow.get(key),
        }
    }

    /// The value of `key`, to change.
    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self.search(key) {
            Ok(index) => self.values.get_mut(index).and_then(Option::as_mut),
            Err(_) if self.overflow.is_empty() => None,
            Err(_) => self.overflow.get_mut(key),
        }
    }

    /// Where `key` is, or goes: one search of the run, and of the tree
    /// only for a key past the run's end while the tree is not empty.
    fn place(&self, key: &K) -> Place {
        match self.search(key) {
            Ok(index) if self.values.get(index).is_some_and(Option::is_some) => Place::Live(index),
            Ok(index) => Place::Hole(index),
            Err(index)
                if index == self.keys.len()
                    && (self.overflow.is_empty() || !self.overflow.contains_key(key)) =>
            {
                Place::End
            }
            Err(_) => Place::Tree,
        }
    }

    /// The tree's entry for `key`, after merging the tree into the run if
    /// it is full and `key` would be one more.
    fn tree_entry(&mut self, key: K) -> btree_map::Entry<'_, K, V> {
        if self.overflow.len() >= self.merge_threshold() && !self.overflow.contains_key(&key) {
            // The key is new: it starts the emptied tree.
            self.merge();
        }
        self.overflow.entry(key)
    }

    /// Sets `key`, found at `place`, to `value`.
    fn put(&mut self, place: Place, key: K, value: V) -> &mut V {
        match place {
            Place::End => return self.push(key, value),
            Place::Live(index) | Place::Hole(index) => {
                if let Some(slot) = self.values.get_mut(index) {
                    if slot.is_none() {
                        self.run_live += 1;
                    }
                    return slot.insert(value);
                }
                // Not reached: the place came from a search of the run.
                return overwrite(self.overflow.entry(key), value);
            }
            Place::Tree => {}
        }
        overwrite(self.tree_entry(key), value)
    }

    /// The value of `key`, inserted from `make` when absent.
    pub(super) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        match self.place(&key) {
            Place::Live(index) => {
                if let Some(Some(value)) = self.values.get_mut(index) {
                    return value;
                }
                // Not reached: the place came from a search of the run.
                return self.overflow.entry(key).or_insert_with(make);
            }
            Place::Tree => {}
            vacant => return self.put(vacant, key, make()),
        }
        self.tree_entry(key).or_insert_with(make)
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.place(&key) {
            Place::Live(index) => self
                .values
                .get_mut(index)
                .and_then(|slot| slot.replace(value)),
            Place::Tree => match self.tree_entry(key) {
                btree_map::Entry::Occupied(mut occupied) => Some(occupied.insert(value)),
                btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(value);
                    None
                }
            },
            vacant => {
                self.put(vacant, key, value);
                None
            }
        }
    }

    /// Changes the value of `key` as `decide` says, given the value now
    /// (`None`: absent), with one search: what a per-prefix diff needs.
    pub(super) fn update(&mut self, key: K, decide: impl FnOnce(Option<&V>) -> Update<V>) {
        let place = self.place(&key);
        let current = match place {
            Place::Live(index) => self.values.get(index).and_then(Option::as_ref),
            Place::Tree => self.overflow.get(&key),
            Place::Hole(_) | Place::End => None,
        };
        match (decide(current), place) {
            (Update::Keep, _) => {}
            (Update::Set(value), place) => {
                self.put(place, key, value);
            }
            (Update::Remove, Place::Live(index)) => {
                self.remove_at(index);
            }
            (Update::Remove, Place::Tree) => {
                self.overflow.remove(&key);
            }
            (Update::Remove, Place::Hole(_) | Place::End) => {}
        }
    }

    /// Takes `key` out.
    pub(super) fn remove(&mut self, key: &K) -> Option<V> {
        match self.search(key) {
            Ok(index) => self.remove_at(index),
            Err(_) if self.overflow.is_empty() => None,
            Err(_) => self.overflow.remove(key),
        }
    }

    /// Leaves a hole at `index` of the run.
    fn remove_at(&mut self, index: usize) -> Option<V> {
        let removed = self.values.get_mut(index).and_then(Option::take);
        if removed.is_some() {
            self.run_live = self.run_live.saturating_sub(1);
            self.compact_if_sparse();
        }
        removed
    }

    /// Entries in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        by_key(live(&self.keys, &self.values), self.overflow.iter())
    }

    /// Entries with keys from `low` to `high` inclusive, in key order.
    pub(super) fn range(&self, low: K, high: K) -> impl Iterator<Item = (&K, &V)> {
        let start = self.keys.partition_point(|key| *key < low);
        let run = live(
            self.keys.get(start..).unwrap_or(&[]),
            self.values.get(start..).unwrap_or(&[]),
        )
        .take_while(move |(key, _)| **key <= high);
        let overflow = (low <= high)
            .then(|| self.overflow.range(low..=high))
            .into_iter()
            .flatten();
        by_key(run, overflow)
    }

    /// A cursor for look-ups in ascending key order (see [`Finger::get`]).
    pub(super) fn finger(&self) -> Finger<'_, K, V> {
        Finger {
            map: self,
            position: 0,
        }
    }

    fn merge_threshold(&self) -> usize {
        MIN_OVERFLOW.max(self.keys.len() / 8)
    }

    /// Appends past the last key, growing by a quarter rather than doubling:
    /// a table's run is most of its memory.
    fn push(&mut self, key: K, value: V) -> &mut V {
        if self.keys.len() == self.keys.capacity() {
            self.keys.reserve_exact((self.keys.len() / 4).max(16));
        }
        if self.values.len() == self.values.capacity() {
            self.values.reserve_exact((self.values.len() / 4).max(16));
        }
        if self.keys.len() % BLOCK == 0 {
            self.index.push(key);
        }
        self.keys.push(key);
        self.values.push(None);
        match self.values.last_mut() {
            Some(slot) => {
                self.run_live += 1;
                slot.insert(value)
            }
            // Not reached: the push just made a last entry.
            None => self.overflow.entry(key).or_insert(value),
        }
    }

    /// Moves the tree into the run, merging from the back in place so that
    /// the run is never held twice.
    fn merge(&mut self) {
        let overflow = std::mem::take(&mut self.overflow);
        let extra = overflow.len();
        let Some(filler) = overflow.keys().next().copied() else {
            return;
        };
        let mut incoming: Vec<(K, V)> = overflow.into_iter().collect();
        let mut old = self.keys.len();
        let total = old + extra;
        if self.keys.capacity() < total {
            self.keys.reserve_exact(extra + old / 8);
        }
        if self.values.capacity() < total {
            self.values.reserve_exact(extra + old / 8);
        }
        self.keys.resize(total, filler);
        self.values.resize_with(total, || None);
        let mut write = total;
        while write > 0 {
            write -= 1;
            let existing = old.checked_sub(1).and_then(|index| self.keys.get(index));
            let take_incoming = match (existing, incoming.last()) {
                (Some(existing), Some((key, _))) => key > existing,
                (None, Some(_)) => true,
                // The rest of the run is already in place.
                (_, None) => break,
            };
            if take_incoming {
                if let Some((key, value)) = incoming.pop() {
                    if let (Some(key_slot), Some(value_slot)) =
                        (self.keys.get_mut(write), self.values.get_mut(write))
                    {
                        *key_slot = key;
                        *value_slot = Some(value);
                    }
                }
            } else {
                old -= 1;
                self.keys.swap(old, write);
                self.values.swap(old, write);
            }
        }
        self.run_live += extra;
        self.reindex();
    }

    fn reindex(&mut self) {
        self.index = self.keys.iter().step_by(BLOCK).copied().collect();
    }

    /// Drops the holes once they are half the run.
    fn compact_if_sparse(&mut self) {
        if self.run_live == 0 {
            self.keys = Vec::new();
            self.values = Vec::new();
            self.index = Vec::new();
        } else if self.run_live < self.keys.len() / 2 {
            let mut write = 0;
            for read in 0..self.values.len() {
                if self.values.get(read).is_some_and(Option::is_some) {
                    self.keys.swap(read, write);
                    self.values.swap(read, write);
                    write += 1;
                }
            }
            self.keys.truncate(write);
            self.values.truncate(write);
            self.keys.shrink_to(write + write / 4);
            self.values.shrink_to(write + write / 4);
            self.reindex();
        }
    }
}

/// Sets a tree entry to `value`, whether it had one or not.
fn overwrite<K: Ord, V>(entry: btree_map::Entry<'_, K, V>, value: V) -> &mut V {
    match entry {
        btree_map::Entry::Occupied(occupied) => {
            let slot = occupied.into_mut();
            *slot = value;
            slot
        }
        btree_map::Entry::Vacant(vacant) => vacant.insert(value),
    }
}

/// The live entries of a run's slices.
fn live<'a, K, V>(keys: &'a [K], values: &'a [Option<V>]) -> impl Iterator<Item = (&'a K, &'a V)> {
    keys.iter()
        .zip(values)
        .filter_map(|(key, value)| value.as_ref().map(|value| (key, value)))
}

/// Look-ups in ascending key order, each a few steps from the last (a
/// flush walks the Loc-RIB alongside its sorted prefixes); a search only
/// when the next key is further away or asked out of order.
pub(super) struct Finger<'a, K, V> {
    map: &'a SortedMap<K, V>,
    position: usize,
}

/// Steps a [`Finger`] takes from its last position before it searches.
pub(super) const FINGER_STEPS: usize = 8;

impl<'a, K: Ord + Copy, V> Finger<'a, K, V> {
    /// The value of `key`.
    pub(super) fn get(&mut self, key: &K) -> Option<&'a V> {
        let keys = &self.map.keys;
        let values = &self.map.values;
        let mut found = None;
        for step in 0..FINGER_STEPS {
            match keys.get(self.position + step) {
                Some(next) if *next < *key => {}
                Some(next) if *next == *key => {
                    found = Some(self.position + step);
                    break;
                }
                Some(_) if step > 0 => {
                    // Past it: absent from the run.
                    self.position += step;
                    return self.in_overflow(key);
                }
                _ => break,
            }
        }
        if let Some(index) = found {
            self.position = index;
            return values.get(index).and_then(Option::as_ref);
        }
        match self.map.search(key) {
            Ok(index) => {
                self.position = index;
                values.get(index).and_then(Option::as_ref)
            }
            Err(index) => {
                self.position = index;
                self.in_overflow(key)
            }
        }
    }

    fn in_overflow(&self, key: &K) -> Option<&'a V> {
        if self.map.overflow.is_empty() {
            None
        } else {
            self.map.overflow.get(key)
        }
    }
}

/// Two sorted iterators merged into one; `before(a, b)` says whether `a`
/// of the first goes before `b` of the second.
pub(super) struct MergeBy<A: Iterator, B: Iterator<Item = A::Item>, F> {
    first: Peekable<A>,
    second: Peekable<B>,
    before: F,
}

/// Merges `first` and `second`, both sorted (see [`MergeBy`]).
pub(super) fn merge_by<A, B, F>(first: A, second: B, before: F) -> MergeBy<A, B, F>
where
    A: Iterator,
    B: Iterator<Item = A::Item>,
    F: Fn(&A::Item, &A::Item) -> bool,
{
    MergeBy {
        first: first.peekable(),
        second: second.peekable(),
        before,
    }
}

impl<A, B, F> Iterator for MergeBy<A, B, F>
where
    A: Iterator,
    B: Iterator<Item = A::Item>,
    F: Fn(&A::Item, &A::Item) -> bool,
{
    type Item = A::Item;

    fn next(&mut self) -> Option<Self::Item> {
        let take_first = match (self.first.peek(), self.second.peek()) {
            (Some(one), Some(other)) => (self.before)(one, other),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_first {
            self.first.next()
        } else {
            self.second.next()
        }
    }
}

/// The entries of a run and of a tree (no key is in both), in key order.
fn by_key<'a, K: Ord + 'a, V: 'a>(
    run: impl Iterator<Item = (&'a K, &'a V)>,
    tree: impl Iterator<Item = (&'a K, &'a V)>,
) -> impl Iterator<Item = (&'a K, &'a V)> {
    merge_by(run, tree, |(one, _): &(&K, &V), (other, _): &(&K, &V)| {
        one < other
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `BTreeMap` run through the same operations is the reference.
    fn check(map: &SortedMap<u32, u32>, reference: &BTreeMap<u32, u32>) {
        assert_eq!(map.len(), reference.len());
        let entries: Vec<(u32, u32)> = map.iter().map(|(key, value)| (*key, *value)).collect();
        let expected: Vec<(u32, u32)> = reference
            .iter()
            .map(|(key, value)| (*key, *value))
            .collect();
        assert_eq!(entries, expected);
    }

    #[test]
    fn in_order_inserts_go_to_the_run_and_others_are_merged_in() {
        let mut map = SortedMap::default();
        let mut reference = BTreeMap::new();
        for key in (0..5000u32).map(|key| key * 2) {
            assert_eq!(map.insert(key, key), None);
            reference.insert(key, key);
        }
        assert!(map.overflow.is_empty(), "in order: all in the run");
        // Odd keys fall between: the tree, then merged when it is large.
        for key in (0..3000u32).map(|key| key * 2 + 1).rev() {
            assert_eq!(map.insert(key, key + 1), None);
            reference.insert(key, key + 1);
            assert!(map.overflow.len() <= map.merge_threshold());
        }
        assert!(map.keys.len() > 5000, "the tree was merged into the run");
        check(&map, &reference);
        for key in [0, 1, 5999, 9998] {
            assert_eq!(map.get(&key), reference.get(&key));
        }
        assert_eq!(map.get(&10_001), None);
    }

    #[test]
    fn holes_are_filled_again_and_compacted_away() {
        let mut map = SortedMap::default();
        let mut reference = BTreeMap::new();
        for key in 0..100u32 {
            map.insert(key, key);
            reference.insert(key, key);
        }
        assert_eq!(map.remove(&10), Some(10));
        assert_eq!(map.remove(&10), None);
        reference.remove(&10);
        check(&map, &reference);
        // Re-inserting a removed key fills its hole, not the tree.
        assert_eq!(map.insert(10, 11), None);
        reference.insert(10, 11);
        assert!(map.overflow.is_empty());
        check(&map, &reference);
        for key in 0..70u32 {
            assert_eq!(map.remove(&key), reference.remove(&key));
        }
        assert!(map.keys.len() < 100, "compacted once holes were half");
        check(&map, &reference);
        for key in 70..100u32 {
            map.remove(&key);
        }
        assert_eq!(map.len(), 0);
        assert!(map.keys.is_empty() && map.values.is_empty());
    }

    #[test]
    fn any_order_of_operations_matches_a_btree() {
        // A fixed pseudo-random sequence (xorshift), so the test is repeatable.
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut map = SortedMap::default();
        let mut reference = BTreeMap::new();
        for round in 0..40_000u32 {
            let key = next() % 6000;
            match next() % 4 {
                0 => assert_eq!(map.remove(&key), reference.remove(&key)),
                1 => {
                    let value = map.get_or_insert_with(key, || round);
                    *value += 1;
                    *reference.entry(key).or_insert(round) += 1;
                }
                _ => assert_eq!(map.insert(key, round), reference.insert(key, round)),
            }
            assert_eq!(map.get(&key), reference.get(&key));
        }
        check(&map, &reference);
        let ranged: Vec<u32> = map.range(1000, 2000).map(|(key, _)| *key).collect();
        let expected: Vec<u32> = reference.range(1000..=2000).map(|(key, _)| *key).collect();
        assert_eq!(ranged, expected);
        // The finger finds what `get` finds, in order and out of it.
        let mut finger = map.finger();
        for key in (0..6000u32).step_by(3).chain([5, 4, 3000, 2]) {
            assert_eq!(finger.get(&key), reference.get(&key), "key {key}");
        }
    }
}
