//! The kernel synchronizer: keeps the kernel FIB equal to what BGP and the
//! configuration want, and tells `podroute fib` how that is going.
//!
//! ```text
//!  speaker ──Vec<FibUpdate>──▶ ┌──────────── task ────────────┐
//!  KernelHandle ──commands───▶ │ Synchronizer (state machine) │──Fib::apply──▶ kernel
//!  RouteMonitor ──events─────▶ │  desired / installed / retry │◀─list_owned──
//!                              └──────────────────────────────┘◀─kernel_routes (resolution)
//! ```
//!
//! - [`settings`]: [`KernelSettings`] from `[fib]`, `[[originate]]` and
//!   `[graceful_restart]`.
//! - [`synchronizer`]: the state machine (no I/O, time passed in): desired
//!   state, adoption, the sweep, timers. [`batch`] plans and records
//!   `Fib::apply` batches; [`events`] handles route events (drift);
//!   [`failover`] takes a gateway BGP stopped using out of every route at
//!   once (kernel nexthop objects);
//!   [`resolution`] resolves BGP next hops; [`status`] builds [`FibStatus`].
//! - [`task`]: the tokio task and [`KernelHandle`]; [`netlink`] wires it to
//!   the kernel with [`spawn_netlink`].
//!
//! Ownership rule (DESIGN.md): only routes with our protocol in our table
//! at our metric are ever replaced or removed; another protocol's route in
//! the way is reported as a conflict and left alone.

pub mod batch;
pub mod events;
pub mod failover;
pub mod import;
pub mod netlink;
pub mod resolution;
pub mod settings;
pub mod status;
pub mod synchronizer;
pub mod task;

#[cfg(test)]
mod tests;

pub use netlink::spawn_netlink;
pub use settings::KernelSettings;
pub use task::KernelHandle;
