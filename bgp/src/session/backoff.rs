//! How long to wait before the next connection attempt.
//!
//! Each failure of a peering (a refused connection, a reset session, a
//! connect attempt that timed out) moves the schedule one step: the interval
//! doubles from the initial value up to the cap, and each step gets ±25 %
//! jitter so that many peers restarted together do not retry in lockstep.
//! The jitter comes from a seed, not a random source, so a given seed gives
//! the same schedule every time. This is the "DampPeerOscillations" of
//! RFC 4271 §8.1.1, whose method the RFC leaves to the implementation.
//!
//! A session that was Established and went down restarts at once
//! ([`Backoff::after_session`]) when it had been up long enough (stable) or
//! when it is the first short-lived one: a neighbor that restarts its daemon
//! or loses its link once is back as soon as it reconnects. Only sessions
//! that keep going down soon after coming up wait the doubling schedule.

use std::time::Duration;

/// A deterministic exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    seed: u64,
    failures: u32,
    /// The last session went down before it was stable.
    flapping: bool,
}

/// Mixes the seed and the step into an evenly spread 64-bit value
/// (the SplitMix64 finaliser), so consecutive steps get unrelated jitter.
fn mix(seed: u64, step: u32) -> u64 {
    let mut value = seed ^ u64::from(step).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

impl Backoff {
    /// A schedule starting at `initial`, doubling up to `cap`, jittered by `seed`.
    pub fn new(initial: Duration, cap: Duration, seed: u64) -> Self {
        Backoff {
            initial,
            cap: cap.max(initial),
            seed,
            failures: 0,
            flapping: false,
        }
    }

    /// How many failures the schedule has counted since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The un-jittered interval of the current step: `initial * 2^failures`,
    /// at most the cap.
    pub fn base_interval(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures).unwrap_or(u32::MAX);
        self.initial
            .checked_mul(factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The interval to wait now: the base interval scaled by a factor between
    /// 0.75 and 1.25 drawn from the seed and the step, never above the cap.
    pub fn interval(&self) -> Duration {
        let base = self.base_interval();
        // 750..=1250 per mille.
        let per_mille = 750 + u32::try_from(mix(self.seed, self.failures) % 501).unwrap_or(0);
        let jittered = base
            .checked_mul(per_mille)
            .map(|value| value / 1000)
            .unwrap_or(self.cap);
        jittered.min(self.cap)
    }

    /// Counts one more failure: the next interval is (about) twice as long.
    pub fn record_failure(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// Back to the initial interval, after an operator start.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.flapping = false;
    }

    /// The wait before restarting after an Established session went down:
    /// none after a `stable` session or after the first one that was not
    /// (the schedule starts over), the next step of the schedule after each
    /// further consecutive short-lived session.
    pub fn after_session(&mut self, stable: bool) -> Duration {
        if stable || !self.flapping {
            self.flapping = !stable;
            self.failures = 0;
            return Duration::ZERO;
        }
        let wait = self.interval();
        self.record_failure();
        wait
    }
}
