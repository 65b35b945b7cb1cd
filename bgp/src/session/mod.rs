//! The per-peer BGP session: RFC 4271 §8's finite state machine, sans I/O.
//!
//! How data flows:
//!
//! 1. The daemon builds a [`SessionConfig`] per neighbor and wraps it in a
//!    [`Peer`] (or a bare [`Session`] when collisions cannot happen).
//! 2. Everything that happens becomes an [`Input`]: start and stop commands,
//!    TCP outcomes tagged with a [`ConnectionId`], decoded messages, decoding
//!    errors, and expired timers (the driver sleeps until `next_timeout()`
//!    and calls `handle_timeout(now)`). Time is always passed in.
//! 3. The FSM answers with [`Action`]s drained by `poll_action()`: connect,
//!    send, close, and, for the RIB, `Established` (with the [`Negotiated`]
//!    result and codec contexts), `SessionDown` (with the reason and whether
//!    graceful restart keeps routes), `DeliverUpdate` and
//!    `DeliverRouteRefresh`.
//! 4. `status()` snapshots counters, last error and uptime for the CLI.
//!
//! Modules: `event` (inputs, actions, states), `config`, `open_check`
//! (RFC 4271 §6.2), `negotiated` (capability outcomes), `fsm` (data and
//! shared steps), `states` (§8.2.2 per state), `peer` (collisions, §6.8),
//! `backoff`, `timers`, `notification`, `status`.

pub mod backoff;
pub mod config;
pub mod event;
pub mod fsm;
pub mod negotiated;
pub mod notification;
pub mod open_check;
pub mod peer;
mod states;
pub mod status;
pub mod timers;

#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use config::{
    DEFAULT_HOLD_TIME, ExpectedPeerAs, LocalCapabilities, RequiredCapability, SessionConfig,
    SessionConfigError,
};
pub use event::{Action, ConnectionId, Direction, Input, SessionDownReason, State};
pub use fsm::Session;
pub use negotiated::{Negotiated, negotiate};
pub use open_check::check_open;
pub use peer::Peer;
pub use status::{LastError, LastErrorKind, MessageCounters, SessionStatus};
pub use timers::Timers;
