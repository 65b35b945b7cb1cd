//! The route model shared by every `Fib`: what podroute wants in the kernel.
//!
//! Data flows in one direction: the daemon turns Loc-RIB best paths (or its
//! own originated blocks) into [`Route`] values, hands them to a
//! [`crate::Fib`] as [`FibChange`]s, and reads them back from
//! [`crate::Fib::list_owned`]. Constructors normalise on the way in (host bits
//! cleared, next hops sorted and de-duplicated), so two routes that mean the
//! same forwarding state compare equal whatever order they were built in.

use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

/// Largest next-hop weight the kernel can carry: `rtnh_hops` is one octet
/// holding `weight - 1` (linux/rtnetlink.h, `struct rtnexthop`).
pub const MAX_WEIGHT: u16 = 256;

/// The interface a next hop leaves by.
///
/// Routes read back from the kernel always carry [`Interface::Index`]; a
/// caller may name an interface instead and let the `Fib` resolve it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    /// Kernel interface index (`RTA_OIF`, `rtnh_ifindex`).
    Index(u32),
    /// Interface name, resolved to an index when the route is installed.
    Name(String),
}

impl fmt::Display for Interface {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interface::Index(index) => write!(formatter, "ifindex {index}"),
            Interface::Name(name) => write!(formatter, "dev {name}"),
        }
    }
}

/// One next hop of a unicast route (RFC 4271 §5.1.3 NEXT_HOP, as resolved to
/// a forwarding gateway). An IPv4 prefix may use an IPv6 gateway (RFC 8950);
/// the kernel carries that gateway in `RTA_VIA`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NextHop {
    /// Address of the neighbouring router packets are forwarded to.
    pub gateway: IpAddr,
    /// Outgoing interface; `None` lets the kernel pick the connected route
    /// that covers the gateway.
    pub interface: Option<Interface>,
    /// Relative share of traffic within an ECMP set, 1 ..= [`MAX_WEIGHT`];
    /// always 1 for a route's only next hop.
    pub weight: u16,
}

impl NextHop {
    /// A next hop of weight 1 with no interface pinned.
    pub fn via(gateway: IpAddr) -> Self {
        NextHop {
            gateway,
            interface: None,
            weight: 1,
        }
    }

    /// The same next hop, leaving by `interface`.
    pub fn with_interface(mut self, interface: Interface) -> Self {
        self.interface = Some(interface);
        self
    }

    /// The same next hop with another ECMP weight.
    pub fn with_weight(mut self, weight: u16) -> Self {
        self.weight = weight;
        self
    }
}

/// What the kernel does with packets that match a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// Forward through the next hops (one, or an ECMP set).
    Unicast,
    /// Drop silently (`RTN_BLACKHOLE`): installed for a host's own pod CIDR
    /// block so traffic to unassigned pod addresses does not follow the
    /// default route back out.
    Blackhole,
}

/// Why a route could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A unicast route needs at least one next hop.
    #[error("unicast route {prefix} has no next hop")]
    NoNextHop {
        /// The route's prefix.
        prefix: IpNetwork,
    },
    /// The weight does not fit the kernel's one-octet field.
    #[error("next hop {gateway} of {prefix} has weight {weight}; allowed 1..={MAX_WEIGHT}")]
    Weight {
        /// The route's prefix.
        prefix: IpNetwork,
        /// The offending next hop.
        gateway: IpAddr,
        /// The weight given.
        weight: u16,
    },
    /// An IPv6 prefix cannot be reached through an IPv4 gateway (RFC 8950
    /// only defines the other direction).
    #[error("IPv6 prefix {prefix} cannot use IPv4 gateway {gateway}")]
    GatewayFamily {
        /// The route's prefix.
        prefix: IpNetwork,
        /// The offending gateway.
        gateway: IpAddr,
    },
}

/// A route podroute owns in the kernel FIB.
///
/// Fields are private so that every value is normalised: the prefix has its
/// host bits cleared and next hops are sorted and unique, which makes
/// equality independent of the order next hops were learned in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RouteFields")]
pub struct Route {
    prefix: IpNetwork,
    next_hops: Vec<NextHop>,
    kind: RouteKind,
}

/// The unchecked shape of a [`Route`], used to validate deserialised input.
#[derive(Deserialize)]
struct RouteFields {
    prefix: IpNetwork,
    #[serde(default)]
    next_hops: Vec<NextHop>,
    kind: RouteKind,
}

impl TryFrom<RouteFields> for Route {
    type Error = RouteError;

    fn try_from(fields: RouteFields) -> Result<Self, Self::Error> {
        match fields.kind {
            RouteKind::Unicast => Route::unicast(fields.prefix, fields.next_hops),
            RouteKind::Blackhole => Ok(Route::blackhole(fields.prefix)),
        }
    }
}

/// Clears the host bits, so `198.19.1.7/24` and `198.19.1.0/24` are one key.
pub fn normalize_prefix(prefix: IpNetwork) -> IpNetwork {
    // The network address and the same length always form a valid network.
    IpNetwork::new(prefix.network(), prefix.prefix()).unwrap_or(prefix)
}

impl Route {
    /// A unicast route through `next_hops` (one, or several for ECMP).
    pub fn unicast(prefix: IpNetwork, mut next_hops: Vec<NextHop>) -> Result<Route, RouteError> {
        let prefix = normalize_prefix(prefix);
        if next_hops.is_empty() {
            return Err(RouteError::NoNextHop { prefix });
        }
        for hop in &next_hops {
            if hop.weight == 0 || hop.weight > MAX_WEIGHT {
                return Err(RouteError::Weight {
                    prefix,
                    gateway: hop.gateway,
                    weight: hop.weight,
                });
            }
            if prefix.is_ipv6() && hop.gateway.is_ipv4() {
                return Err(RouteError::GatewayFamily {
                    prefix,
                    gateway: hop.gateway,
                });
            }
        }
        // Weight only shares traffic within an ECMP set; the kernel does not
        // keep it for a lone next hop, so neither do we (reads compare equal).
        if let [only] = next_hops.as_mut_slice() {
            only.weight = 1;
        }
        next_hops.sort();
        next_hops.dedup();
        Ok(Route {
            prefix,
            next_hops,
            kind: RouteKind::Unicast,
        })
    }

    /// A blackhole route for `prefix` (no next hops).
    pub fn blackhole(prefix: IpNetwork) -> Route {
        Route {
            prefix: normalize_prefix(prefix),
            next_hops: Vec::new(),
            kind: RouteKind::Blackhole,
        }
    }

    /// The destination prefix, host bits cleared.
    pub fn prefix(&self) -> IpNetwork {
        self.prefix
    }

    /// Next hops, sorted; empty for a blackhole.
    pub fn next_hops(&self) -> &[NextHop] {
        &self.next_hops
    }

    /// Unicast or blackhole.
    pub fn kind(&self) -> RouteKind {
        self.kind
    }

    /// True when `self`, read back from the kernel, already forwards the way
    /// `desired` asks. A desired next hop without an interface accepts any
    /// interface the kernel chose; a named interface only matches a name
    /// (the kernel reports indexes), so it is conservatively re-installed.
    pub fn satisfies(&self, desired: &Route) -> bool {
        self.prefix == desired.prefix
            && self.kind == desired.kind
            && self.next_hops.len() == desired.next_hops.len()
            && desired.next_hops.iter().all(|wanted| {
                self.next_hops.iter().any(|have| {
                    have.gateway == wanted.gateway
                        && have.weight == wanted.weight
                        && (wanted.interface.is_none() || have.interface == wanted.interface)
                })
            })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteKind::Blackhole => write!(formatter, "blackhole {}", self.prefix),
            RouteKind::Unicast => {
                write!(formatter, "{}", self.prefix)?;
                for hop in &self.next_hops {
                    write!(formatter, " via {}", hop.gateway)?;
                    if let Some(interface) = &hop.interface {
                        write!(formatter, " {interface}")?;
                    }
                    if hop.weight != 1 {
                        write!(formatter, " weight {}", hop.weight)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// One requested change to the FIB.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FibChange {
    /// Install the route, replacing our previous route for its prefix.
    Replace(Route),
    /// Remove our route for the prefix, if there is one.
    Remove(IpNetwork),
}

impl FibChange {
    /// The prefix this change is about.
    pub fn prefix(&self) -> IpNetwork {
        match self {
            FibChange::Replace(route) => route.prefix(),
            FibChange::Remove(prefix) => normalize_prefix(*prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn next_hop_order_does_not_change_equality() {
        let first = Route::unicast(
            network("198.19.1.0/24"),
            vec![
                NextHop::via(address("198.18.0.3")),
                NextHop::via(address("198.18.0.2")),
            ],
        )
        .unwrap();
        let second = Route::unicast(
            network("198.19.1.0/24"),
            vec![
                NextHop::via(address("198.18.0.2")),
                NextHop::via(address("198.18.0.3")),
            ],
        )
        .unwrap();
        assert_eq!(first, second);
        assert_eq!(first.next_hops()[0].gateway, address("198.18.0.2"));
    }

    #[test]
    fn host_bits_are_cleared() {
        let route = Route::blackhole(network("198.19.1.77/24"));
        assert_eq!(route.prefix(), network("198.19.1.0/24"));
        assert_eq!(
            FibChange::Remove(network("2001:db8::5/64")).prefix(),
            network("2001:db8::/64")
        );
    }

    #[test]
    fn invalid_routes_are_refused() {
        assert_eq!(
            Route::unicast(network("198.19.1.0/24"), vec![]),
            Err(RouteError::NoNextHop {
                prefix: network("198.19.1.0/24")
            })
        );
        assert!(matches!(
            Route::unicast(
                network("198.19.1.0/24"),
                vec![NextHop::via(address("198.18.0.2")).with_weight(0)]
            ),
            Err(RouteError::Weight { weight: 0, .. })
        ));
        assert!(matches!(
            Route::unicast(
                network("198.19.1.0/24"),
                vec![NextHop::via(address("198.18.0.2")).with_weight(257)]
            ),
            Err(RouteError::Weight { weight: 257, .. })
        ));
        assert!(matches!(
            Route::unicast(
                network("2001:db8:1::/64"),
                vec![NextHop::via(address("198.18.0.2"))]
            ),
            Err(RouteError::GatewayFamily { .. })
        ));
        // RFC 8950: the other direction is allowed.
        assert!(
            Route::unicast(
                network("198.19.1.0/24"),
                vec![NextHop::via(address("2001:db8::2"))]
            )
            .is_ok()
        );
    }

    #[test]
    fn satisfies_accepts_any_interface_when_none_is_asked() {
        let desired = Route::unicast(
            network("198.19.1.0/24"),
            vec![NextHop::via(address("198.18.0.2"))],
        )
        .unwrap();
        let installed = Route::unicast(
            network("198.19.1.0/24"),
            vec![NextHop::via(address("198.18.0.2")).with_interface(Interface::Index(4))],
        )
        .unwrap();
        assert!(installed.satisfies(&desired));
        assert!(!desired.satisfies(&installed));
        // A lone next hop's weight means nothing and is normalised away...
        let lone_weighted = Route::unicast(
            network("198.19.1.0/24"),
            vec![NextHop::via(address("198.18.0.2")).with_weight(3)],
        )
        .unwrap();
        assert!(installed.satisfies(&lone_weighted));
        // ...but within an ECMP set it is part of the route.
        let ecmp = |weight| {
            Route::unicast(
                network("198.19.1.0/24"),
                vec![
                    NextHop::via(address("198.18.0.2")).with_weight(weight),
                    NextHop::via(address("198.18.0.3")),
                ],
            )
            .unwrap()
        };
        assert!(ecmp(1).satisfies(&ecmp(1)));
        assert!(!ecmp(1).satisfies(&ecmp(3)));
    }

    #[test]
    fn deserialising_validates() {
        let good: Route = serde_json::from_str(
            r#"{"prefix":"198.19.1.9/24","next_hops":[{"gateway":"198.18.0.2","interface":null,"weight":1}],"kind":"unicast"}"#,
        )
        .unwrap();
        assert_eq!(good.prefix(), network("198.19.1.0/24"));
        let bad = serde_json::from_str::<Route>(
            r#"{"prefix":"198.19.1.0/24","next_hops":[],"kind":"unicast"}"#,
        );
        assert!(bad.is_err());
    }
}
