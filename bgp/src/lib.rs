//! The BGP protocol as podroute speaks it.
//!
//! Data flows through this crate in one direction per layer:
//!
//! - [`wire`] turns bytes into typed messages and back. It is pure: no I/O,
//!   no clock, and no input can make it panic. Every decoding error carries
//!   the field, the byte offset, and the NOTIFICATION (RFC 4271 §6) or the
//!   RFC 7606 action it calls for.
//!
//! - [`session`] runs one peer's RFC 4271 §8 state machine: inputs (commands,
//!   TCP outcomes, decoded messages, timers) in, actions (connect, send,
//!   close, established, down) out, with time passed in and no I/O.
//!
//! - [`rib`] holds the Adj-RIBs-In, the Loc-RIB and the Adj-RIBs-Out: the
//!   decision process, route reflection, policy and UPDATE generation.
//!
//! The session state machine, the RIB and the tokio speaker are built on top
//! of these types; none of them reach past the wire module's public API.

pub mod rib;
pub mod session;
pub mod speaker;
pub mod wire;
