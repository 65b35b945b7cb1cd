//! A small multiplicative hasher for the outbound side's look-up tables,
//! whose keys are attribute-set pointers, peer ids and families: values
//! this speaker made, never chosen by a peer, so the flooding resistance of
//! the standard SipHash buys nothing there, and it cost more than the
//! look-ups themselves once per prefix of a full table.
//!
//! Maps built with it are only ever used for look-up (`update_group.rs`,
//! `outbound.rs`); their iteration order depends on pointer values and must
//! never reach output, logs or encoding. The benchmark's sinks use it too,
//! for the sets of prefixes they count (only ever asked for size and
//! membership), so that the harness is not what a benchmark measures.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-rotate hasher (the scheme of rustc's FxHasher).
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    state: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (slot, byte) in word.iter_mut().zip(chunk) {
                *slot = *byte;
            }
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u16(&mut self, value: u16) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

/// A look-up-only hash map with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A look-up-only hash set with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_find_each_other_and_different_keys_stay_apart() {
        let mut map: FastMap<(usize, u32, u16), usize> = FastMap::default();
        for index in 0..10_000usize {
            map.insert((index * 64, (index % 7) as u32, 1), index);
        }
        assert_eq!(map.len(), 10_000);
        for index in 0..10_000usize {
            assert_eq!(map.get(&(index * 64, (index % 7) as u32, 1)), Some(&index));
        }
        assert_eq!(map.get(&(64, 2, 1)), None);
        let mut hasher = FastHasher::default();
        hasher.write(b"abcdefghij");
        let mut other = FastHasher::default();
        other.write(b"abcdefghik");
        assert_ne!(hasher.finish(), other.finish());
    }
}
