//! `KernelRoute`: any route as the kernel reports it, ours or not.
//!
//! Dumps, route events and next-hop resolution all speak this type. It keeps
//! what `Route` leaves out on purpose (protocol, table, metric, scope,
//! connected next hops without a gateway), and [`KernelRoute::to_owned_route`]
//! narrows it to a [`Route`] once we know it is ours.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use crate::route::{Interface, NextHop, Route, RouteError};

/// `rtm_type` of a kernel route (linux/rtnetlink.h `RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelRouteType {
    /// `RTN_UNICAST`: a gateway or directly connected route.
    Unicast,
    /// `RTN_LOCAL`: an address of this host.
    Local,
    /// `RTN_BLACKHOLE`.
    Blackhole,
    /// `RTN_UNREACHABLE`.
    Unreachable,
    /// `RTN_PROHIBIT`.
    Prohibit,
    /// Anything else (broadcast, multicast, throw, ...), by number.
    Other(u8),
}

/// One next hop as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct KernelNextHop {
    /// `RTA_GATEWAY` / `RTA_VIA`; `None` for a connected (scope link) route.
    pub gateway: Option<IpAddr>,
    /// `RTA_OIF` / `rtnh_ifindex`.
    pub interface: Option<u32>,
    /// ECMP weight (`rtnh_hops + 1`); 1 for a single next hop.
    pub weight: u16,
}

/// A route from a kernel dump or route event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct KernelRoute {
    /// Destination, host bits cleared.
    pub prefix: IpNetwork,
    /// Routing table (`RTA_TABLE`, or `rtm_table`).
    pub table: u32,
    /// `rtm_protocol`: who installed it (2 kernel, 3 boot, 4 static, ...).
    pub protocol: u8,
    /// `RTA_PRIORITY`.
    pub metric: u32,
    /// `rtm_scope` (0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `rtm_type`.
    pub route_type: KernelRouteType,
    /// Next hops, sorted.
    pub next_hops: Vec<KernelNextHop>,
}

impl KernelRoute {
    /// The [`Route`] this kernel route programs, if it is a shape podroute
    /// installs: a blackhole, or unicast where every next hop has a gateway.
    pub fn to_owned_route(&self) -> Option<Result<Route, RouteError>> {
        match self.route_type {
            KernelRouteType::Blackhole => Some(Ok(Route::blackhole(self.prefix))),
            KernelRouteType::Unicast => {
                let mut next_hops = Vec::with_capacity(self.next_hops.len());
                for hop in &self.next_hops {
                    let mut next_hop = NextHop::via(hop.gateway?).with_weight(hop.weight);
                    if let Some(index) = hop.interface {
                        next_hop = next_hop.with_interface(Interface::Index(index));
                    }
                    next_hops.push(next_hop);
                }
                Some(Route::unicast(self.prefix, next_hops))
            }
            _ => None,
        }
    }
}
