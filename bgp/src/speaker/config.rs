//! What the speaker is told to do: its identity, where to listen, its
//! neighbors and listen ranges. The daemon builds this from the TOML config;
//! the speaker never reads files.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnetwork::IpNetwork;

use super::connection::ConnectionSettings;
use super::transport::TransportSettings;
use crate::rib::{MaxPrefixes, NextHopMode, RibSettings};
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
    /// Decision process, reflection and policies.
    pub rib: RibSettings,
    /// This host's own prefixes (its pod CIDRs), advertised to every neighbor
    /// whose export policy allows them.
    pub originate: Vec<IpNetwork>,
    /// Set when this speaker restarted with its forwarding state kept (RFC
    /// 4724 §4.1): the neighbors' OPENs carry the Restart State bit, and
    /// route advertisement waits for End-of-RIB from the neighbors that are
    /// up, at most this long (the selection deferral time).
    pub restarting: Option<std::time::Duration>,
    /// This host's interface addresses, to pick a next hop of the other
    /// family on a session's own interface (see [`NeighborRouting::next_hop_ipv6`]).
    pub host_addresses: Vec<HostAddress>,
    /// After a restarting neighbor is back, how long its stale routes wait
    /// for its End-of-RIB before they are swept (RFC 4724 §4.2 stale timer).
    pub stale_time: std::time::Duration,
}

/// One address of one of this host's interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostAddress {
    /// Interface index.
    pub interface: u32,
    /// The address.
    pub address: IpAddr,
    /// Usable beyond the link (not link-local, not loopback).
    pub global: bool,
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
    /// How the RIB treats the neighbor's routes and what it sends it.
    pub routing: NeighborRouting,
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
        // Graceful restart and hostname only change what the next OPEN says
        // (RFC 4724 §3): they are applied without a reset.
        let comparable = |settings: &NeighborSettings| {
            let mut session = settings.session.clone();
            session.capabilities.graceful_restart = None;
            session.capabilities.hostname = None;
            session
        };
        comparable(self) != comparable(other)
            || self.port != other.port
            || self.transport != other.transport
            || self.route_reflector_client != other.route_reflector_client
            || self.routing.needs_reset_for(&other.routing)
    }
}

/// The RIB's view of a neighbor beyond what its OPEN negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborRouting {
    /// Next hop on routes sent to it.
    pub next_hop: NextHopMode,
    /// Import policy name.
    pub import_policy: String,
    /// Export policy name.
    pub export_policy: String,
    /// Accept routes with our AS this many times in AS_PATH.
    pub allowas_in: u8,
    /// Prefix limit and what to do past it (RFC 4486).
    pub max_prefixes: Option<MaxPrefixes>,
    /// After a prefix-limit teardown, start the session again after this long
    /// (never, when `None`).
    pub max_prefixes_restart: Option<std::time::Duration>,
    /// Keep routes before import policy so a policy change needs no refresh.
    pub soft_reconfiguration_inbound: bool,
    /// Paths per prefix to send where ADD-PATH send was negotiated (RFC 7911).
    pub add_path_send: u8,
    /// Next hop self for IPv4 routes when the session is not over IPv4;
    /// by default the session interface's IPv4 address.
    pub next_hop_ipv4: Option<std::net::Ipv4Addr>,
    /// Next hop self for IPv6 routes when the session is not over IPv6 (IPv6
    /// routes over an IPv4 session); by default the session interface's
    /// global IPv6 address, as FRR picks it.
    pub next_hop_ipv6: Option<std::net::Ipv6Addr>,
}

impl NeighborRouting {
    /// Routing for an iBGP full-mesh neighbor: everything in and out.
    pub fn open() -> NeighborRouting {
        NeighborRouting {
            next_hop: NextHopMode::Auto,
            import_policy: "all".into(),
            export_policy: "all".into(),
            allowas_in: 0,
            max_prefixes: None,
            max_prefixes_restart: None,
            soft_reconfiguration_inbound: false,
            add_path_send: 0,
            next_hop_ipv4: None,
            next_hop_ipv6: None,
        }
    }

    /// Whether a change needs the session reset; policy and prefix-limit
    /// changes do not (policies are applied with a route refresh or the
    /// stored pre-policy routes).
    pub fn needs_reset_for(&self, other: &NeighborRouting) -> bool {
        self.next_hop != other.next_hop
            || self.allowas_in != other.allowas_in
            || self.soft_reconfiguration_inbound != other.soft_reconfiguration_inbound
            || self.add_path_send != other.add_path_send
            || self.next_hop_ipv4 != other.next_hop_ipv4
            || self.next_hop_ipv6 != other.next_hop_ipv6
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
