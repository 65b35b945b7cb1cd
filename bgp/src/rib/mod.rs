//! The routing information bases (RFC 4271 §3.2, §9): Adj-RIB-In per
//! peer, the Loc-RIB with the decision process, route reflection (RFC
//! 4456), ADD-PATH (RFC 7911), policy, and Adj-RIB-Out per peer with update
//! generation.
//!
//! The speaker's owner task drives one [`Rib`] and is its only user; it is
//! pure: time is passed in, nothing here does I/O or spawns. Data flows:
//!
//! 1. Sessions come and go with [`Rib::peer_up`] / [`Rib::peer_down`];
//!    local pod CIDRs with [`Rib::originate`].
//! 2. Decoded UPDATEs enter through [`Rib::receive_update`] (`inbound.rs`):
//!    loop checks, import policy (`policy.rs`), interning of attributes
//!    (`interner.rs`), then every path change goes through one function
//!    that re-runs the decision process (`decision.rs`) on that prefix's
//!    paths (`table.rs`) and records FIB and outbound work (`core.rs`).
//! 3. [`Rib::poll_outbound`] (`outbound.rs`) turns that work into encoded
//!    UPDATEs per update group, applying reflection and the export rules
//!    (`export.rs`), and [`Rib::poll_fib_changes`] hands forwarding changes
//!    to the daemon.
//! 4. A gracefully restarting peer's routes are kept, stale, across its
//!    restart (`graceful.rs`, RFC 4724 §4.2).
//! 5. The CLI reads [`Rib::routes`] and friends (`query.rs`).

mod core;
pub mod decision;
pub mod export;
mod graceful;
mod inbound;
pub mod interner;
mod outbound;
pub mod policy;
mod query;
pub mod table;
pub mod types;

#[cfg(test)]
mod tests;

pub use core::{NextHopState, Rib};
pub use decision::DecisionStep;
pub use policy::{
    AsPathLength, Policy, PolicyAction, PolicyDefault, PrefixFilter, Term, TermMatch, TermSet,
};
pub use query::{AdjRibRoute, PathView, PrefixView, RouteFilter};
pub use types::{
    FamilyCounts, FibUpdate, MaxPrefixAction, MaxPrefixes, MaxPrefixesExceeded, NextHopMode,
    Outbound, PeerId, PeerInfo, PeerRouteCounters, PolicyOutcome, RibCounts, RibSettings,
    RouteAttributes, SharedAttributes, Source, UpdateOutcome,
};
