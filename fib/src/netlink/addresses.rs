//! The host's interface addresses, from one netlink dump: what the speaker
//! needs to pick a next hop of the other family on a session's interface
//! (an IPv6 next hop for IPv6 routes sent over an IPv4 session).

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use serde::Serialize;

use super::transport::Transport;

/// One address of one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct InterfaceAddress {
    /// Interface index.
    pub interface: u32,
    /// The address.
    pub address: IpAddr,
    /// Its prefix length on the interface.
    pub prefix_len: u8,
    /// Scope universe: usable beyond the link (not link-local, not host).
    pub global: bool,
}

/// Every address of every interface, sorted.
pub(crate) fn dump_addresses(transport: &mut Transport) -> std::io::Result<Vec<InterfaceAddress>> {
    let replies = transport.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
    let mut addresses: Vec<InterfaceAddress> = replies
        .iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewAddress(message) => address_of(message),
            _ => None,
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}

fn address_of(message: &AddressMessage) -> Option<InterfaceAddress> {
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on a
    // point-to-point link, and the only one IPv6 sends.
    let local = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Local(address) => Some(*address),
            _ => None,
        });
    let address = local.or_else(|| {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                AddressAttribute::Address(address) => Some(*address),
                _ => None,
            })
    })?;
    Some(InterfaceAddress {
        interface: message.header.index,
        address,
        prefix_len: message.header.prefix_len,
        global: message.header.scope == AddressScope::Universe,
    })
}
