//! Kernel route programming for podroute: `trait Fib`, `NetlinkFib`,
//! `MemoryFib`, route events, next-hop resolution and startup adoption.
//!
//! Data flows from the daemon's FIB task into this crate and back:
//!
//! ```text
//!  BGP speaker ──route changes──▶ FIB task ──Vec<FibChange>──▶ Fib::apply
//!                                   ▲                          ├─ NetlinkFib ─▶ kernel
//!                                   │                          └─ MemoryFib  (tests)
//!        RouteMonitor (route events)┘  list_owned + reconcile (startup adoption)
//! ```
//!
//! - [`route`]: the normalised [`Route`] model and [`FibChange`].
//! - [`fib`]: the [`Fib`] contract every implementation keeps.
//! - [`memory`]: [`MemoryFib`], a `BTreeMap` with a journal and faults.
//! - [`netlink`]: [`NetlinkFib`] (batched rtnetlink, optionally through
//!   kernel nexthop objects) and [`RouteMonitor`].
//! - [`kernel_route`], [`resolve`]: kernel routes of any protocol, and
//!   next-hop resolution over a snapshot of them.
//! - [`mod@reconcile`]: from the routes we own to the routes we want.
//!
//! Ownership rule (DESIGN.md): every route installed carries our
//! `rtm_protocol` in our table; no operation here ever modifies or removes
//! a route of another protocol.

pub mod error;
pub mod fib;
pub mod kernel_route;
pub mod memory;
pub mod netlink;
pub mod reconcile;
pub mod resolve;
pub mod route;

pub use error::{FibError, FibErrorKind, Operation};
pub use fib::{Fib, FibFuture};
pub use kernel_route::{KernelNextHop, KernelRoute, KernelRouteType};
pub use memory::{Effect, JournalEntry, JournalOperation, MemoryFib};
pub use netlink::{
    GatewayRemoval, InterfaceAddress, NetlinkFib, NetlinkFibConfig, NexthopObjects, Notification,
    RouteEvent, RouteEventKind, RouteMonitor, RouteObject,
};
pub use reconcile::reconcile;
pub use resolve::{Resolution, resolve_next_hop};
pub use route::{FibChange, Interface, MAX_WEIGHT, NextHop, Route, RouteError, RouteKind};
