//! What a reload must do about a change: the vocabulary of the diff.
//!
//! Data flow: the field comparisons in `diff::neighbor` and `diff::settings`
//! label each change with a [`Reaction`] (for sessions) or an [`Effect`]
//! (for router-wide settings); the daemon's reload applies them.

use std::fmt;

/// How a changed session must be brought in line with the new config.
///
/// Flags combine: a reset makes the two refreshes redundant, but they are
/// kept so the reason for each stays visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Reaction {
    /// Close and re-establish the session: the change alters OPEN
    /// parameters, transport or identity (RFC 4271 §8.2.2 ManualStop/Start).
    pub reset: bool,
    /// Re-run import policy over the routes received: from the kept copy with
    /// `soft_reconfiguration_inbound`, else by a ROUTE-REFRESH (RFC 2918, RFC 7313).
    pub soft_in: bool,
    /// Recompute and re-advertise what is sent to the peer; no reset needed.
    pub soft_out: bool,
}

impl Reaction {
    /// A full session reset.
    pub const RESET: Reaction = Reaction {
        reset: true,
        soft_in: false,
        soft_out: false,
    };
    /// Inbound soft reconfiguration only.
    pub const SOFT_IN: Reaction = Reaction {
        reset: false,
        soft_in: true,
        soft_out: false,
    };
    /// Outbound soft reconfiguration only.
    pub const SOFT_OUT: Reaction = Reaction {
        reset: false,
        soft_in: false,
        soft_out: true,
    };
    /// Nothing to do to the session; the new value applies as it is used.
    pub const NONE: Reaction = Reaction {
        reset: false,
        soft_in: false,
        soft_out: false,
    };

    /// Both reactions' needs together.
    pub fn merge(self, other: Reaction) -> Reaction {
        Reaction {
            reset: self.reset || other.reset,
            soft_in: self.soft_in || other.soft_in,
            soft_out: self.soft_out || other.soft_out,
        }
    }

    /// True when the session can be left alone.
    pub fn is_none(self) -> bool {
        self == Reaction::NONE
    }
}

impl fmt::Display for Reaction {
    /// `reset`, `soft in`, `soft out`, `soft in + soft out` or `none`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reset {
            return formatter.write_str("reset");
        }
        match (self.soft_in, self.soft_out) {
            (true, true) => formatter.write_str("soft in + soft out"),
            (true, false) => formatter.write_str("soft in"),
            (false, true) => formatter.write_str("soft out"),
            (false, false) => formatter.write_str("none"),
        }
    }
}

/// When a changed router-wide setting takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Applied by the running daemon at once (rebind, recompute, re-scan).
    Live,
    /// Sent in OPEN: applies to each session the next time it is established;
    /// existing sessions are not reset for it.
    NextSession,
    /// Identity or kernel ownership changes: the daemon must be restarted.
    Restart,
}

impl fmt::Display for Effect {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Effect::Live => "live",
            Effect::NextSession => "next session",
            Effect::Restart => "restart",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_merge_and_print() {
        assert_eq!(
            Reaction::SOFT_IN.merge(Reaction::SOFT_OUT).to_string(),
            "soft in + soft out"
        );
        assert_eq!(
            Reaction::SOFT_IN.merge(Reaction::RESET).to_string(),
            "reset"
        );
        assert!(Reaction::NONE.merge(Reaction::NONE).is_none());
        assert!(!Reaction::SOFT_OUT.is_none());
    }
}
