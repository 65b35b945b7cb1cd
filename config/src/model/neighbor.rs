//! Typed peers: `[[neighbor]]` (configured sessions) and `[[listen_range]]`
//! (dynamic neighbors accepted from a prefix).
//!
//! Data flow: built by `validate::neighbor` with defaults applied (iBGP/eBGP
//! dependent ones resolved against `[router] asn`); the speaker turns each
//! [`Neighbor`] into a session, and [`crate::Config::diff`] compares them
//! field by field to decide between a reset, a route refresh or nothing.

use ipnetwork::IpNetwork;
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// An address family podroute carries (RFC 4760: AFI/SAFI unicast only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6,
}

impl Family {
    /// The configuration spelling: `"ipv4"` or `"ipv6"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `next_hop`: what NEXT_HOP to send this neighbor (RFC 4271 §5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NextHopMode {
    /// RFC behaviour: self towards eBGP peers, unchanged towards iBGP peers
    /// (a route reflector never rewrites reflected next hops).
    Auto,
    /// Always our own session address ("next-hop-self").
    SelfAddress,
    /// Never rewrite, even towards eBGP peers (route-server style).
    Keep,
}

impl NextHopMode {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NextHopMode::Auto => "auto",
            NextHopMode::SelfAddress => "self",
            NextHopMode::Keep => "keep",
        }
    }
}

/// `add_path`: ADD-PATH (RFC 7911) for both families of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddPath {
    /// Accept several paths per prefix from this neighbor (RFC 7911 §4, receive bit).
    pub receive: bool,
    /// Advertise up to this many paths per prefix; 0 sends only the best
    /// path and does not set the send bit.
    pub send: u8,
}

/// What to do when a neighbor exceeds `max_prefixes.limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MaxPrefixAction {
    /// Log and keep the session (extra prefixes are still accepted).
    Warn,
    /// Send a Cease NOTIFICATION, subcode 1 (RFC 4486 §4) and close.
    Teardown,
}

/// `max_prefixes`: a cap on prefixes accepted from one neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPrefixes {
    /// Most prefixes (all families together) accepted after import policy.
    pub limit: u32,
    /// What happens past the limit.
    pub action: MaxPrefixAction,
    /// With `Teardown`: reconnect automatically after this long; `None`
    /// leaves the session down until an operator resets it.
    pub restart_after: Option<Duration>,
}

/// `[[neighbor]]`: one configured BGP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Peer address; unique among neighbors.
    pub address: IpAddr,
    /// Peer AS (RFC 6793); equal to `[router] asn` makes the session iBGP.
    pub asn: u32,
    /// Free text for operators.
    pub description: Option<String>,
    /// Treat the peer as a route-reflector client (RFC 4456 §6).
    pub route_reflector_client: bool,
    /// Never open the TCP connection; only accept it (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// NEXT_HOP handling towards this peer.
    pub next_hop: NextHopMode,
    /// Hold Time proposed in OPEN (RFC 4271 §4.2): zero or at least 3 s.
    pub hold_time: Duration,
    /// Keepalive interval; `None` means a third of the negotiated hold time (RFC 4271 §10).
    pub keepalive: Option<Duration>,
    /// ConnectRetryTimer (RFC 4271 §10).
    pub connect_retry: Duration,
    /// TCP-MD5 key (RFC 2385), 1..=80 bytes.
    pub password: Option<String>,
    /// GTSM (RFC 5082): accept packets only from this many hops away (TTL >= 256 - hops).
    pub ttl_security: Option<u8>,
    /// eBGP multihop: IP TTL of our packets; `None` is 1 for eBGP, 255 for iBGP.
    pub multihop: Option<u8>,
    /// Local address to bind outgoing connections to.
    pub source_address: Option<IpAddr>,
    /// Wait this long for the peer's OPEN before sending ours (RFC 4271
    /// §8.1.1 DelayOpen); `None` sends ours at once.
    pub delay_open: Option<Duration>,
    /// Next hop for IPv4 routes sent with next hop self when the session's
    /// own address is not IPv4 (an IPv6 session without RFC 8950).
    pub next_hop_ipv4: Option<IpAddr>,
    /// Next hop for IPv6 routes sent with next hop self when the session's
    /// own address is not IPv6 (IPv6 routes over an IPv4 session).
    pub next_hop_ipv6: Option<IpAddr>,
    /// Peer TCP port (179 by default).
    pub port: u16,
    /// Families negotiated with Multiprotocol Extensions (RFC 4760 §8), never empty.
    pub families: BTreeSet<Family>,
    /// Import policy name: a `[[policy]]` or a built-in (`all`, `none`, `originated`).
    pub import: String,
    /// Export policy name: a `[[policy]]` or a built-in.
    pub export: String,
    /// ADD-PATH settings (RFC 7911).
    pub add_path: AddPath,
    /// Prefix limit, if any.
    pub max_prefixes: Option<MaxPrefixes>,
    /// Accept routes whose AS_PATH contains our AS up to this many times (0 = RFC 4271 §9.1.2 loop check).
    pub allowas_in: u8,
    /// Keep an unmodified copy of received routes so import policy changes
    /// apply without asking the peer for a route refresh.
    pub soft_reconfiguration_inbound: bool,
    /// Per-neighbor graceful restart override; `None` follows `[graceful_restart] enabled`.
    pub graceful_restart: Option<bool>,
    /// Administratively down: configured but never connected (RFC 4271 §8.1.2 ManualStop).
    pub shutdown: bool,
}

/// `[[listen_range]]`: accept sessions from any address in a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRange {
    /// Source prefix of accepted connections (no host bits; ranges never overlap).
    pub prefix: IpNetwork,
    /// Acceptable peer ASes (one from `asn`, or the `asns` list); never empty.
    pub asns: BTreeSet<u32>,
    /// Treat accepted peers as route-reflector clients (RFC 4456 §6).
    pub route_reflector_client: bool,
    /// TCP-MD5 key (RFC 2385) for the whole range.
    pub password: Option<String>,
    /// Import policy name for accepted peers.
    pub import: String,
    /// Export policy name for accepted peers.
    pub export: String,
    /// Most simultaneous sessions from this range; `None` is unlimited.
    pub max_neighbors: Option<u32>,
}
