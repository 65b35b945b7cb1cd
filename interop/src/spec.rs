//! A small, daemon-neutral description of one BGP router: what a test says
//! once and every config generator ([`crate::daemon`]) renders in its own
//! dialect. Only the features the lab exercises are here; each field names
//! the RFC behaviour it asks for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address families a session carries (RFC 4760 AFI/SAFI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// AFI 1, SAFI 1.
    Ipv4Unicast,
    /// AFI 2, SAFI 1.
    Ipv6Unicast,
}

impl Family {
    /// The family a prefix text belongs to (`:` means IPv6).
    pub fn of_prefix(prefix: &str) -> Family {
        if prefix.contains(':') {
            Family::Ipv6Unicast
        } else {
            Family::Ipv4Unicast
        }
    }
}

/// One configured BGP neighbor (RFC 4271 §8 peer).
#[derive(Debug, Clone, PartialEq)]
pub struct NeighborSpec {
    /// The peer's address; its family picks the transport.
    pub address: IpAddr,
    /// The peer's AS (RFC 6793 4-octet allowed).
    pub asn: u32,
    /// Local AS on this session when it differs from the router's (BIRD and
    /// GoBGP only; FRR would need `local-as`, which the lab does not use).
    pub local_asn: Option<u32>,
    /// TCP-MD5 password (RFC 2385).
    pub password: Option<String>,
    /// eBGP multihop TTL.
    pub multihop: Option<u8>,
    /// GTSM, RFC 5082 (expect TTL 255 from a directly connected peer).
    pub ttl_security: bool,
    /// Treat the peer as a route-reflector client (RFC 4456).
    pub route_reflector_client: bool,
    /// Families carried; empty means the family of the transport.
    pub families: Vec<Family>,
    /// Negotiate ADD-PATH send and receive for every family (RFC 7911).
    pub add_path: bool,
    /// IPv4 NLRI with IPv6 next hops (RFC 8950 extended next hop).
    pub extended_next_hop: bool,
    /// Offer extended messages up to 65535 octets (RFC 8654). BIRD needs
    /// it switched on; FRR offers it always; GoBGP does not implement it.
    pub extended_message: bool,
    /// Hold time offered in OPEN (RFC 4271 §4.2).
    pub hold_time: u16,
    /// ConnectRetry time in seconds (RFC 4271 §10); short in the lab so
    /// sessions come back quickly after a fault.
    pub connect_retry: u16,
}

impl NeighborSpec {
    /// A plain neighbor with defaults: hold time 90, connect retry 2 s,
    /// transport family only.
    pub fn new(address: IpAddr, asn: u32) -> NeighborSpec {
        NeighborSpec {
            address,
            asn,
            local_asn: None,
            password: None,
            multihop: None,
            ttl_security: false,
            route_reflector_client: false,
            families: Vec::new(),
            add_path: false,
            extended_next_hop: false,
            extended_message: false,
            hold_time: 90,
            connect_retry: 2,
        }
    }

    /// The families this session carries, defaulting to the transport's.
    pub fn effective_families(&self) -> Vec<Family> {
        if !self.families.is_empty() {
            return self.families.clone();
        }
        match self.address {
            IpAddr::V4(_) => vec![Family::Ipv4Unicast],
            IpAddr::V6(_) => vec![Family::Ipv6Unicast],
        }
    }
}

/// A prefix this router originates, with the path attributes it carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Origination {
    /// `a.b.c.d/len` or `x::/len`.
    pub prefix: String,
    /// RFC 1997 communities as `(asn, value)`.
    pub communities: Vec<(u16, u16)>,
    /// RFC 8092 large communities.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub med: Option<u32>,
    /// LOCAL_PREF (RFC 4271 §5.1.5), sent on iBGP sessions only.
    pub local_pref: Option<u32>,
}

impl Origination {
    /// A prefix with no extra attributes.
    pub fn prefix(prefix: &str) -> Origination {
        Origination {
            prefix: prefix.to_string(),
            ..Origination::default()
        }
    }
}

/// Everything a daemon needs to be configured as one lab router.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterSpec {
    /// Local AS.
    pub asn: u32,
    /// BGP identifier (RFC 4271 §4.2).
    pub router_id: Ipv4Addr,
    /// This router's IPv4 address on the lab network (session source).
    pub ipv4: Ipv4Addr,
    /// This router's IPv6 address, when the network has one.
    pub ipv6: Option<Ipv6Addr>,
    /// Configured neighbors.
    pub neighbors: Vec<NeighborSpec>,
    /// Prefixes to originate.
    pub originate: Vec<Origination>,
    /// Advertise graceful restart (RFC 4724).
    pub graceful_restart: bool,
    /// Route-reflector cluster id (RFC 4456), when reflecting.
    pub cluster_id: Option<Ipv4Addr>,
    /// Equal-cost paths used per prefix (ECMP multipath): FRR's
    /// `maximum-paths` and `maximum-paths ibgp`, podroute's `max_paths`.
    /// BIRD and GoBGP configs do not render it. `None` keeps each daemon's
    /// default.
    pub max_paths: Option<u8>,
}

impl RouterSpec {
    /// A router with no neighbors and nothing to originate.
    pub fn new(asn: u32, ipv4: Ipv4Addr, ipv6: Option<Ipv6Addr>) -> RouterSpec {
        RouterSpec {
            asn,
            router_id: ipv4,
            ipv4,
            ipv6,
            neighbors: Vec::new(),
            originate: Vec::new(),
            graceful_restart: false,
            cluster_id: None,
            max_paths: None,
        }
    }

    /// The local address matching the family of `peer`, used as session source.
    pub fn local_address_for(&self, peer: IpAddr) -> Option<IpAddr> {
        match peer {
            IpAddr::V4(_) => Some(IpAddr::V4(self.ipv4)),
            IpAddr::V6(_) => self.ipv6.map(IpAddr::V6),
        }
    }
}
