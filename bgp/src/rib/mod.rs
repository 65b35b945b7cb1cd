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
//!    paths (`table.rs`) and records FIB and outbound work (`core.rs`,
//!    appended to `pending.rs` and sorted once per poll).
//! 3. [`Rib::poll_outbound`] (`outbound.rs`) turns that work into encoded
//!    UPDATEs per update group, applying reflection and the export rules
//!    (`export.rs`), and [`Rib::poll_fib_changes`] hands forwarding changes
//!    to the daemon.
//! 4. A gracefully restarting peer's routes are kept, stale, across its
//!    restart (`graceful.rs`, RFC 4724 §4.2).
//! 5. The CLI reads [`Rib::routes`] and friends (`query.rs`).
//!
//! How the owner task drives it, here with two RIBs passing bytes directly:
//!
//! ```
//! use std::time::Instant;
//! use bgp::rib::{PeerId, PeerInfo, Rib, RibSettings, RouteFilter};
//! use bgp::wire::{CodecContext, Message};
//!
//! let now = Instant::now();
//! let mut host = Rib::new(RibSettings::new(64512, "198.18.0.3".parse().unwrap()));
//! let mut reflector = Rib::new(RibSettings::new(64512, "198.18.0.1".parse().unwrap()));
//! let mut towards_reflector = PeerInfo::internal("198.18.0.1".parse().unwrap(), 64512, "198.18.0.1".parse().unwrap());
//! towards_reflector.local_ipv4 = Some("198.18.0.3".parse().unwrap());
//! let mut towards_host = PeerInfo::internal("198.18.0.3".parse().unwrap(), 64512, "198.18.0.3".parse().unwrap());
//! towards_host.route_reflector_client = true;
//! host.peer_up(now, PeerId(1), towards_reflector);
//! reflector.peer_up(now, PeerId(7), towards_host);
//! host.originate(now, "198.19.3.0/24".parse().unwrap(), None);
//!
//! // The speaker writes each Outbound's messages to each of its peers...
//! for outbound in host.poll_outbound(now) {
//!     assert_eq!(outbound.peers, vec![PeerId(1)]);
//!     for bytes in &outbound.messages {
//!         // ...and the other side's reader decodes them for its RIB.
//!         if let Ok(Message::Update(update)) = Message::decode(bytes, &CodecContext::new()) {
//!             reflector.receive_update(now, PeerId(7), update);
//!         }
//!     }
//! }
//! let routes = reflector.routes(RouteFilter::default());
//! assert_eq!(routes[0].prefix.to_string(), "198.19.3.0/24");
//! let fib = reflector.poll_fib_changes();
//! assert_eq!(fib[0].next_hops, vec!["198.18.0.3".parse::<std::net::IpAddr>().unwrap()]);
//! ```

mod adj_rib_out;
mod core;
pub mod decision;
pub mod export;
pub mod fast_hash;
mod graceful;
mod inbound;
pub mod interner;
mod key;
mod outbound;
mod pending;
pub mod policy;
mod pre_policy;
mod query;
mod shared_out;
mod sorted_map;
pub mod table;
pub mod types;
mod update_group;

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
