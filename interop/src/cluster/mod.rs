//! A container cluster with pods, routed by BGP: the topology the demo and
//! the kernel tests share.
//!
//! How a cluster comes to life ([`Cluster::start`], in [`topology`]): one
//! fabric network; one container per host, each running podroute with the
//! kernel FIB on (or BIRD, Calico-style), with pods as network namespaces
//! ([`host`]); optionally a podroute route reflector and an FRR top-of-rack
//! router over eBGP; configuration text from [`config`]. Pod packets cross
//! the fabric as plain IP, forwarded by the routes BGP put into each host's
//! kernel; [`firewall`] lets them cross Docker's internal bridge.
//!
//! Reading what happened: [`kernel`] parses `ip route` and `ip -d link`;
//! [`capture`] runs tcpdump inside a host; [`Host`] wraps pings from pods
//! and podroute's CLI; [`graceful`] reads a host's graceful restart state
//! (stale routes per neighbor, its own restart done); [`traffic`] keeps a
//! ping running in the background while a test restarts daemons.

pub mod capture;
pub mod config;
pub mod firewall;
pub mod graceful;
pub mod host;
pub mod kernel;
pub mod topology;
pub mod traffic;

pub use graceful::GracefulView;
pub use host::{Host, Ping, Pod};
pub use kernel::KernelRoute;
pub use topology::{CLUSTER_AS, Cluster, ClusterSpec, HostSpec, Peering, TOR_AS};
pub use traffic::{ContinuousPing, PingTally};
