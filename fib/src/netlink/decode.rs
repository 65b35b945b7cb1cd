//! Netlink route message -> [`KernelRoute`].
//!
//! Used for dump replies and for route events alike. Attributes the kernel
//! may or may not send are defaulted the way the kernel defines them: no
//! `RTA_DST` means the default route, no `RTA_TABLE` means `rtm_table`, no
//! `RTA_PRIORITY` means metric 0. Messages that are not IP routes (MPLS,
//! cloned cache entries) decode to `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteType, RouteVia,
};

use crate::kernel_route::{KernelNextHop, KernelRoute, KernelRouteType};
use crate::route::normalize_prefix;

fn address(value: &RouteAddress) -> Option<IpAddr> {
    match value {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via(value: &RouteVia) -> Option<IpAddr> {
    match value {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn gateway_in(attributes: &[RouteAttribute]) -> Option<IpAddr> {
    attributes.iter().find_map(|attribute| match attribute {
        RouteAttribute::Gateway(value) => address(value),
        RouteAttribute::Via(value) => via(value),
        _ => None,
    })
}

fn route_type(kind: RouteType) -> KernelRouteType {
    match kind {
        RouteType::Unicast => KernelRouteType::Unicast,
        RouteType::Local => KernelRouteType::Local,
        RouteType::BlackHole => KernelRouteType::Blackhole,
        RouteType::Unreachable => KernelRouteType::Unreachable,
        RouteType::Prohibit => KernelRouteType::Prohibit,
        other => KernelRouteType::Other(u8::from(other)),
    }
}

/// Decodes one route message; `None` when it is not an IPv4/IPv6 FIB entry.
pub fn kernel_route(message: &RouteMessage) -> Option<KernelRoute> {
    let header = &message.header;
    if header.flags.contains(RouteFlags::Cloned) {
        return None;
    }
    let unspecified = match header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut destination = unspecified;
    let mut table = u32::from(header.table);
    let mut metric = 0;
    let mut single_interface = None;
    let mut multipath = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(value) => destination = address(value)?,
            RouteAttribute::Table(value) => table = *value,
            RouteAttribute::Priority(value) => metric = *value,
            RouteAttribute::Oif(value) => single_interface = Some(*value),
            RouteAttribute::MultiPath(hops) => multipath = Some(hops),
            _ => {}
        }
    }
    let prefix =
        normalize_prefix(IpNetwork::new(destination, header.destination_prefix_length).ok()?);
    let mut next_hops: Vec<KernelNextHop> = match multipath {
        Some(hops) => hops
            .iter()
            .map(|hop| KernelNextHop {
                gateway: gateway_in(&hop.attributes),
                interface: (hop.interface_index != 0).then_some(hop.interface_index),
                weight: u16::from(hop.hops).saturating_add(1),
            })
            .collect(),
        None => {
            let gateway = gateway_in(&message.attributes);
            if gateway.is_some() || single_interface.is_some() {
                vec![KernelNextHop {
                    gateway,
                    interface: single_interface,
                    weight: 1,
                }]
            } else {
                Vec::new()
            }
        }
    };
    next_hops.sort();
    Some(KernelRoute {
        prefix,
        table,
        protocol: u8::from(header.protocol),
        metric,
        scope: u8::from(header.scope),
        route_type: route_type(header.kind),
        next_hops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::encode::{Stamp, delete_route, new_route};
    use crate::route::{Interface, NextHop, Route};
    use netlink_packet_core::{Emitable, Parseable};

    const STAMP: Stamp = Stamp {
        table: 1000,
        protocol: 201,
        metric: 20,
    };

    /// Encodes to bytes and parses back, as the kernel would see it.
    fn round_trip(message: &RouteMessage) -> RouteMessage {
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        RouteMessage::parse(bytes.as_slice()).unwrap()
    }

    #[test]
    fn ecmp_route_round_trips_with_weights_and_interfaces() {
        let route = Route::unicast(
            "198.19.1.0/24".parse().unwrap(),
            vec![
                NextHop::via("198.18.0.2".parse().unwrap()).with_weight(3),
                NextHop::via("198.18.0.3".parse().unwrap()).with_interface(Interface::Index(9)),
            ],
        )
        .unwrap();
        let decoded =
            kernel_route(&round_trip(&new_route(&route, &[None, Some(9)], STAMP))).unwrap();
        assert_eq!(decoded.table, 1000);
        assert_eq!(decoded.protocol, 201);
        assert_eq!(decoded.metric, 20);
        assert_eq!(decoded.route_type, KernelRouteType::Unicast);
        assert_eq!(
            decoded.next_hops,
            vec![
                KernelNextHop {
                    gateway: Some("198.18.0.2".parse().unwrap()),
                    interface: None,
                    weight: 3
                },
                KernelNextHop {
                    gateway: Some("198.18.0.3".parse().unwrap()),
                    interface: Some(9),
                    weight: 1
                },
            ]
        );
    }

    #[test]
    fn ipv4_prefix_with_ipv6_gateway_uses_via() {
        let route = Route::unicast(
            "198.19.2.0/24".parse().unwrap(),
            vec![NextHop::via("2001:db8::2".parse().unwrap())],
        )
        .unwrap();
        let message = new_route(&route, &[Some(4)], STAMP);
        assert!(
            message
                .attributes
                .iter()
                .any(|attribute| matches!(attribute, RouteAttribute::Via(RouteVia::Inet6(_))))
        );
        let decoded = kernel_route(&round_trip(&message)).unwrap();
        let owned = decoded.to_owned_route().unwrap().unwrap();
        assert_eq!(
            owned.next_hops()[0].gateway,
            "2001:db8::2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(owned.next_hops()[0].interface, Some(Interface::Index(4)));
    }

    #[test]
    fn blackhole_and_delete_carry_the_stamp() {
        let route = Route::blackhole("2001:db8:5::/48".parse().unwrap());
        let decoded = kernel_route(&round_trip(&new_route(&route, &[], STAMP))).unwrap();
        assert_eq!(decoded.route_type, KernelRouteType::Blackhole);
        assert_eq!(decoded.to_owned_route().unwrap().unwrap(), route);
        let delete = delete_route("2001:db8:5::/48".parse().unwrap(), STAMP);
        assert_eq!(u8::from(delete.header.protocol), 201);
        assert_eq!(delete.header.table, 252);
    }

    #[test]
    fn non_ip_or_cloned_messages_are_skipped() {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Unspec;
        assert!(kernel_route(&message).is_none());
        message.header.address_family = AddressFamily::Inet6;
        message.header.flags = RouteFlags::Cloned;
        assert!(kernel_route(&message).is_none());
    }
}
