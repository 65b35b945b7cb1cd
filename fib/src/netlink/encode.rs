//! Route -> netlink request (`RTM_NEWROUTE`, `RTM_DELROUTE`, dump requests).
//!
//! Every request is stamped with our table, protocol and metric, so the
//! kernel's own matching (linux `fib_table_delete`, `ip6_route_del`, both of
//! which compare `rtm_protocol` when it is non-zero) keeps us off routes of
//! other protocols. Interface names are resolved by the caller; this module
//! only turns already-checked values into messages.

use std::net::IpAddr;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType, RouteVia,
};

use crate::route::{Route, RouteKind};

/// `RT_TABLE_COMPAT`: what `rtm_table` says when the real table (in
/// `RTA_TABLE`) does not fit one octet.
const TABLE_COMPAT: u8 = 252;

/// The ownership stamp on every route we install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Kernel table.
    pub table: u32,
    /// `rtm_protocol`.
    pub protocol: u8,
    /// `RTA_PRIORITY`.
    pub metric: u32,
}

fn family_of(address: IpAddr) -> AddressFamily {
    match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn header_table(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(TABLE_COMPAT)
}

/// The gateway attribute: `RTA_GATEWAY` within a family, `RTA_VIA` for an
/// IPv6 gateway of an IPv4 prefix (RFC 8950; linux `fib_gw_from_via`).
fn gateway_attribute(prefix_is_ipv4: bool, gateway: IpAddr) -> RouteAttribute {
    match gateway {
        IpAddr::V6(v6) if prefix_is_ipv4 => RouteAttribute::Via(RouteVia::Inet6(v6)),
        other => RouteAttribute::Gateway(RouteAddress::from(other)),
    }
}

/// `RTM_NEWROUTE` body for `route`. `interfaces[i]` is the resolved
/// interface index of `route.next_hops()[i]`, if one was asked for.
pub fn new_route(route: &Route, interfaces: &[Option<u32>], stamp: Stamp) -> RouteMessage {
    let prefix = route.prefix();
    let prefix_is_ipv4 = prefix.is_ipv4();
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        address_family: family_of(prefix.network()),
        destination_prefix_length: prefix.prefix(),
        table: header_table(stamp.table),
        protocol: RouteProtocol::from(stamp.protocol),
        scope: RouteScope::Universe,
        kind: match route.kind() {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Blackhole => RouteType::BlackHole,
        },
        ..RouteHeader::default()
    };
    message.attributes = vec![
        RouteAttribute::Destination(RouteAddress::from(prefix.network())),
        RouteAttribute::Table(stamp.table),
        RouteAttribute::Priority(stamp.metric),
    ];
    let hops = route.next_hops();
    match hops {
        [] => {}
        [only] => {
            message
                .attributes
                .push(gateway_attribute(prefix_is_ipv4, only.gateway));
            if let Some(Some(index)) = interfaces.first() {
                message.attributes.push(RouteAttribute::Oif(*index));
            }
        }
        many => {
            let encoded = many
                .iter()
                .enumerate()
                .map(|(position, hop)| {
                    let mut next_hop = RouteNextHop::default();
                    // Route::unicast keeps weights within 1..=256.
                    next_hop.hops = u8::try_from(hop.weight.saturating_sub(1)).unwrap_or(u8::MAX);
                    next_hop.interface_index =
                        interfaces.get(position).copied().flatten().unwrap_or(0);
                    next_hop.attributes = vec![gateway_attribute(prefix_is_ipv4, hop.gateway)];
                    next_hop
                })
                .collect();
            message.attributes.push(RouteAttribute::MultiPath(encoded));
        }
    }
    message
}

/// `RTM_NEWROUTE` body for a unicast route to `prefix` that forwards
/// through kernel nexthop object `nexthop_id` (`RTA_NH_ID`, Linux 5.3+)
/// instead of carrying its own gateways: replacing the object re-points
/// every route that uses it at once.
pub fn new_route_with_object(
    prefix: ipnetwork::IpNetwork,
    nexthop_id: u32,
    stamp: Stamp,
) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        address_family: family_of(prefix.network()),
        destination_prefix_length: prefix.prefix(),
        table: header_table(stamp.table),
        protocol: RouteProtocol::from(stamp.protocol),
        scope: RouteScope::Universe,
        kind: RouteType::Unicast,
        ..RouteHeader::default()
    };
    message.attributes = vec![
        RouteAttribute::Destination(RouteAddress::from(prefix.network())),
        RouteAttribute::Table(stamp.table),
        RouteAttribute::Priority(stamp.metric),
        RouteAttribute::NhId(nexthop_id),
    ];
    message
}

/// `RTM_GETROUTE` (no dump) asking the kernel how it reaches `address`:
/// the reply's `RTA_OIF` is the interface a nexthop object for that
/// gateway needs; an `RTA_GATEWAY` in it means the address is not on-link.
pub fn lookup_request(address: IpAddr) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        address_family: family_of(address),
        destination_prefix_length: if address.is_ipv4() { 32 } else { 128 },
        ..RouteHeader::default()
    };
    message.attributes = vec![RouteAttribute::Destination(RouteAddress::from(address))];
    message
}

/// `RTM_DELROUTE` body removing our route for `prefix` (and only ours:
/// the protocol is part of the match). Scope `RT_SCOPE_NOWHERE` and type
/// unspecified mean "any", as `ip route del` sends them.
pub fn delete_route(prefix: ipnetwork::IpNetwork, stamp: Stamp) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        address_family: family_of(prefix.network()),
        destination_prefix_length: prefix.prefix(),
        table: header_table(stamp.table),
        protocol: RouteProtocol::from(stamp.protocol),
        scope: RouteScope::NoWhere,
        kind: RouteType::Unspec,
        ..RouteHeader::default()
    };
    message.attributes = vec![
        RouteAttribute::Destination(RouteAddress::from(prefix.network())),
        RouteAttribute::Table(stamp.table),
        RouteAttribute::Priority(stamp.metric),
    ];
    message
}

/// `RTM_GETROUTE` dump request for one family, filtered (when the socket has
/// `NETLINK_GET_STRICT_CHK`) by table and, if given, protocol. Callers still
/// filter replies themselves: older kernels ignore the filter.
/// `table: None` dumps every table.
pub fn dump_request(ipv6: bool, table: Option<u32>, protocol: Option<u8>) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = RouteHeader {
        address_family: if ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        },
        table: table.map_or(0, header_table),
        protocol: RouteProtocol::from(protocol.unwrap_or(0)),
        scope: RouteScope::Universe,
        kind: RouteType::Unspec,
        ..RouteHeader::default()
    };
    message.attributes = table.map(RouteAttribute::Table).into_iter().collect();
    message
}
