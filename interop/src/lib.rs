//! The container lab: topologies of BIRD, FRR, GoBGP and podroute in Docker.
//!
//! How a test flows through this crate:
//!
//! 1. [`Lab::new`] makes sure the lab image exists ([`image`]: debootstrap
//!    from the machine's own mirror, `docker import`, cached by recipe hash).
//! 2. [`Lab::network`] creates internal dual-stack networks in
//!    198.18.0.0/15 and 2001:db8::/32 ([`network`]).
//! 3. [`Lab::node`] starts containers ([`node`]); [`Lab::router`] renders a
//!    neutral [`RouterSpec`] ([`spec`]) into the daemon's own config and
//!    starts BIRD, FRR or GoBGP on a node ([`daemon`]); [`Lab::podroute`]
//!    does the same for podroute with its TOML config, and
//!    [`Lab::podroute_with_spec`] renders that TOML from the same spec
//!    plus podroute's listen ranges.
//! 4. The test polls the daemons' CLIs, parsed into [`NeighborStatus`] and
//!    [`Route`] ([`status`]), through [`Lab::wait_until`].
//! 5. Dropping the [`Lab`] removes every container and network it created,
//!    printing every daemon's state and log first if the test is failing.
//!
//! [`cluster`] builds container clusters with pods routed by BGP (the demo
//! and the kernel tests).
//!
//! [`capture`] turns packet captures of real daemons into the golden vectors
//! in `bgp/tests/vectors/captured/`.

pub mod capture;
pub mod cluster;
pub mod command;
pub mod daemon;
pub mod error;
pub mod image;
pub mod lab;
pub mod network;
pub mod node;
pub mod spec;
pub mod status;

pub use daemon::podroute::{NeighborAction, PodrouteNeighbor};
pub use daemon::podroute_config::{
    ListenRange, MaxPrefixes, PodrouteNeighborOptions, PodrouteOptions,
};
pub use daemon::podroute_routes::{PodrouteNextHop, PodroutePath, PodroutePrefix};
pub use daemon::{DaemonKind, Router};
pub use error::{Error, Result};
pub use lab::{DEFAULT_TIMEOUT, Lab, podroute_binary};
pub use network::Network;
pub use node::Node;
pub use spec::{Family, NeighborSpec, Origination, RouterSpec};
pub use status::{NeighborStatus, Route};
