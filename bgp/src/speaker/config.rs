//! What the speaker is told to do: its identity, where to listen, its
//! neighbors and listen ranges. The daemon builds this from the TOML config;
//! the speaker never reads files.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnetwork::IpNetwork;

use super::connection::ConnectionSettings;
use super::transport::TransportSettings;
use crate::session::SessionConfig;

/// The whole speaker configuration.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Addresses to accept connections on.
    pub listen: Vec<SocketAddr>,
    /// Configured neighbors.
    pub neighbors: Vec<NeighborSettings>,
    /// Ranges from which unconfigured peers may connect (dynamic neighbors).
    pub listen_ranges: Vec<ListenRangeSettings>,
    /// Per-connection task settings.
    pub connection: ConnectionSettings,
}

/// One neighbor: its session, its transport, and its place in the RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSettings {
    /// The session's FSM settings; `session.peer_address` is the neighbor.
    pub session: SessionConfig,
    /// The neighbor's TCP port (179).
    pub port: u16,
    /// MD5, GTSM, TTL and source address.
    pub transport: TransportSettings,
    /// Route reflection client (RFC 4456).
    pub route_reflector_client: bool,
    /// Free text shown by `podroute neighbors`.
    pub description: Option<String>,
    /// Administratively down: configured but not started.
    pub shutdown: bool,
}

impl NeighborSettings {
    /// The neighbor's address.
    pub fn address(&self) -> IpAddr {
        self.session.peer_address
    }

    /// Whether moving from `self` to `other` needs the session torn down:
    /// anything the OPEN, the socket or the peer's identity depends on.
    pub fn needs_reset_for(&self, other: &NeighborSettings) -> bool {
        self.session != other.session
            || self.port != other.port
            || self.transport != other.transport
    }
}

/// A listen range (dynamic neighbors): any peer connecting from `prefix` is
/// accepted with the template's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRangeSettings {
    /// The range.
    pub prefix: IpNetwork,
    /// Settings for each neighbor accepted from the range; the session's
    /// peer address is replaced by the connecting address.
    pub template: NeighborSettings,
    /// Most neighbors accepted from this range at once.
    pub max_neighbors: Option<usize>,
}
