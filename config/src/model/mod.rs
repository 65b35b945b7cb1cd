//! The typed, validated configuration: plain Rust values, no spans.
//!
//! Data flow: [`crate::validate`] builds these types from the raw TOML
//! structures once every value has been checked, so code that receives a
//! [`Config`] can trust it (addresses parse, prefixes have no host bits, ranges
//! hold, policy names resolve). Defaults are already applied; nothing here is
//! optional unless "unset" means something different from any value.
//! Collections are ordered as in the file, or keyed by `BTreeMap`, so their
//! iteration order is deterministic.

mod neighbor;
mod policy;
mod sections;

pub use neighbor::{
    AddPath, Family, ListenRange, MaxPrefixAction, MaxPrefixes, Neighbor, NextHopMode,
};
pub use policy::{
    AsPathLength, BuiltinPolicy, Policy, PolicyAction, PolicyDefault, PrefixFilter, Term,
    TermMatch, TermSet,
};
pub use sections::{
    Api, Fib, GracefulRestart, ImportKernel, KernelProtocol, LogFormat, Logging, Originate, Router,
};

use std::collections::BTreeMap;
use std::net::IpAddr;

/// A complete, validated podroute configuration (DESIGN.md "Public interfaces").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[router]`: identity and decision-process knobs.
    pub router: Router,
    /// `[fib]`: how learned routes reach the kernel.
    pub fib: Fib,
    /// `[graceful_restart]`: RFC 4724 / RFC 8538 / RFC 9494 settings.
    pub graceful_restart: GracefulRestart,
    /// `[[originate]]`: prefixes this host announces, in file order.
    pub originate: Vec<Originate>,
    /// `[[import_kernel]]`: kernel routes redistributed into BGP, in file order.
    pub import_kernel: Vec<ImportKernel>,
    /// `[[neighbor]]`: configured peers, in file order (addresses are unique).
    pub neighbors: Vec<Neighbor>,
    /// `[[listen_range]]`: dynamic neighbors, in file order (ranges never overlap).
    pub listen_ranges: Vec<ListenRange>,
    /// `[[policy]]`: named policies, keyed by name.
    pub policies: BTreeMap<String, Policy>,
    /// `[logging]`.
    pub logging: Logging,
    /// `[api]`: control socket and metrics listener.
    pub api: Api,
}

impl Config {
    /// The configured neighbor with this address, if any.
    pub fn neighbor(&self, address: IpAddr) -> Option<&Neighbor> {
        self.neighbors
            .iter()
            .find(|neighbor| neighbor.address == address)
    }

    /// The listen range an unconfigured peer at `address` falls in, if any.
    ///
    /// A configured neighbor takes precedence over a range that also covers
    /// its address, so callers look up [`Config::neighbor`] first.
    pub fn listen_range_for(&self, address: IpAddr) -> Option<&ListenRange> {
        self.listen_ranges
            .iter()
            .find(|range| range.prefix.contains(address))
    }

    /// True when a session with this neighbor is internal BGP (same AS).
    pub fn is_internal(&self, neighbor: &Neighbor) -> bool {
        neighbor.asn == self.router.asn
    }

    /// Graceful restart as it applies to one neighbor: the per-neighbor
    /// override when set, else the global `[graceful_restart] enabled`.
    pub fn graceful_restart_for(&self, neighbor: &Neighbor) -> bool {
        neighbor
            .graceful_restart
            .unwrap_or(self.graceful_restart.enabled)
    }
}
