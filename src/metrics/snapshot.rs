//! What one scrape reports: the speaker's and the kernel synchronizer's
//! answers, reduced to the numbers the metrics and the readiness check use.
//!
//! Data flow: the handlers ask the tasks once per request, convert each
//! [`NeighborStatus`] into a [`NeighborSnapshot`] (the metrics depend on
//! these few fields only, not on the whole operator view), and hand the
//! [`Snapshot`] to the collector or the readiness check.

use std::net::IpAddr;

use bgp::rib::RibCounts;
use bgp::speaker::status::{MessageCountView, NeighborStatus};

use crate::kernel::status::FibStatus;

/// One neighbor's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSnapshot {
    /// The neighbor's address.
    pub address: IpAddr,
    /// Its AS: negotiated, else configured; `None` for a dynamic neighbor
    /// before its OPEN.
    pub remote_asn: Option<u32>,
    /// RFC 4271 §8.2.2 state name, e.g. `"Established"`.
    pub state: String,
    /// Seconds in Established (0 when not Established).
    pub established_seconds: u64,
    /// Times the session left Established.
    pub flaps: u64,
    /// Messages received per type (RFC 4271 §4.1 types, RFC 2918).
    pub messages_received: MessageCountView,
    /// Messages sent per type.
    pub messages_sent: MessageCountView,
    /// Prefixes held from the neighbor before import policy.
    pub prefixes_received: u64,
    /// Prefixes import policy accepted.
    pub prefixes_accepted: u64,
    /// Prefixes advertised to the neighbor.
    pub prefixes_advertised: u64,
    /// The neighbor's routes kept stale while it restarts (RFC 4724).
    pub stale_routes: u64,
    /// Accepted from a listen range rather than configured.
    pub dynamic: bool,
    /// Administratively shut down.
    pub shutdown: bool,
}

impl From<&NeighborStatus> for NeighborSnapshot {
    fn from(status: &NeighborStatus) -> Self {
        NeighborSnapshot {
            address: status.address,
            remote_asn: status.remote_asn,
            state: status.state.clone(),
            established_seconds: status.uptime_seconds,
            flaps: status.flaps,
            messages_received: status.messages_received_by_type,
            messages_sent: status.messages_sent_by_type,
            prefixes_received: status.prefixes_received,
            prefixes_accepted: status.prefixes_accepted,
            prefixes_advertised: status.prefixes_advertised,
            stale_routes: status.stale_routes,
            dynamic: status.dynamic,
            shutdown: status.shutdown,
        }
    }
}

impl NeighborSnapshot {
    /// Every neighbor of the speaker's answer.
    pub fn all(statuses: &[NeighborStatus]) -> Vec<NeighborSnapshot> {
        statuses.iter().map(NeighborSnapshot::from).collect()
    }
}

/// The kernel synchronizer as a scrape found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibSnapshot {
    /// `[fib] enabled = false`: no FIB metrics beyond `podroute_fib_enabled`.
    Disabled,
    /// Enabled, but the synchronizer task did not answer (it has stopped).
    Stopped,
    /// The synchronizer's state.
    Running(Box<FibStatus>),
}

/// Everything one scrape reports.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every neighbor (configured and dynamic), any order.
    pub neighbors: Vec<NeighborSnapshot>,
    /// Table sizes of the Loc-RIB.
    pub rib: RibCounts,
    /// The kernel side.
    pub fib: FibSnapshot,
    /// Time from an UPDATE's arrival to the re-advertisement it caused.
    pub propagation: bgp::speaker::status::LatencyHistogram,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_unix_seconds: u64,
    /// Log lines dropped because the log writer's queue was full.
    pub log_lines_dropped: u64,
    /// podroute's version, for `podroute_build_info`.
    pub version: String,
}
