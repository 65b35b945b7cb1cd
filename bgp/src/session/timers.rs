//! The FSM's timers as deadlines (RFC 4271 §8 and §10).
//!
//! A timer is an `Option<Instant>`: armed or not. The session sets and clears
//! deadlines as the RFC's actions say ("restart the ConnectRetryTimer", "set
//! ConnectRetryTimer to zero"); the driver asks for the earliest deadline
//! with [`Timers::next`] and calls back when it has passed. Expired timers
//! fire in a fixed order so that simultaneous deadlines are deterministic.

use std::time::Instant;

use super::event::Input;

/// The five timers of one connection FSM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timers {
    /// ConnectRetryTimer (RFC 4271 §8.1.3).
    pub connect_retry: Option<Instant>,
    /// HoldTimer.
    pub hold: Option<Instant>,
    /// KeepaliveTimer.
    pub keepalive: Option<Instant>,
    /// DelayOpenTimer.
    pub delay_open: Option<Instant>,
    /// IdleHoldTimer: the backoff before an automatic restart.
    pub idle_hold: Option<Instant>,
}

impl Timers {
    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        [
            self.connect_retry,
            self.hold,
            self.keepalive,
            self.delay_open,
            self.idle_hold,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Disarms the first expired timer and returns its event, checking in the
    /// order hold, delay-open, connect-retry, keepalive, idle-hold:
    /// a dead peer is noticed before we bother to send it a KEEPALIVE.
    pub fn take_expired(&mut self, now: Instant) -> Option<Input> {
        let due = |deadline: &mut Option<Instant>| match deadline {
            Some(at) if *at <= now => {
                *deadline = None;
                true
            }
            _ => false,
        };
        if due(&mut self.hold) {
            Some(Input::HoldTimerExpires)
        } else if due(&mut self.delay_open) {
            Some(Input::DelayOpenTimerExpires)
        } else if due(&mut self.connect_retry) {
            Some(Input::ConnectRetryTimerExpires)
        } else if due(&mut self.keepalive) {
            Some(Input::KeepaliveTimerExpires)
        } else if due(&mut self.idle_hold) {
            Some(Input::IdleHoldTimerExpires)
        } else {
            None
        }
    }

    /// Disarms all timers.
    pub fn clear(&mut self) {
        *self = Timers::default();
    }
}
