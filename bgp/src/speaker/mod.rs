//! The tokio side of the protocol: sockets, per-peer I/O tasks, and the one
//! owner task that drives every session and the RIB.
//!
//! Bytes arrive on a per-peer reader task, which frames and decodes them
//! with [`crate::wire`] and sends typed messages to the owner task. The owner
//! feeds them to the pure session state machines and the RIB, and hands the
//! resulting messages to per-peer writer tasks. Socket set-up that the
//! standard library cannot express (TCP-MD5, GTSM) lives in [`socket_options`].

pub mod connection;
pub mod socket_options;
pub mod transport;
