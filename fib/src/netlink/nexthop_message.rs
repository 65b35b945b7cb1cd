//! Kernel nexthop objects on the wire (`RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`,
//! `RTM_GETNEXTHOP`; linux/nexthop.h, Linux 5.3+).
//!
//! netlink-packet-route 0.34 knows `RTA_NH_ID` on routes but has no nexthop
//! message, so this module encodes and decodes the few shapes podroute uses
//! by hand: an [`NexthopObject`] becomes an `nhmsg` header followed by
//! attributes, and a dump reply's payload becomes an [`NexthopObject`] again.
//! Decoding checks every length through `get(..)`; a malformed reply decodes
//! to `None` instead of panicking.
//!
//! ```text
//!  struct nhmsg { u8 family; u8 scope; u8 protocol; u8 reserved; u32 flags; }
//!  NHA_ID u32 | NHA_GATEWAY in_addr/in6_addr | NHA_OIF u32
//!  NHA_GROUP [ struct nexthop_grp { u32 id; u8 weight-1; u8 weight_high; u16 reserved; } ]
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `RTM_NEWNEXTHOP`.
pub const RTM_NEWNEXTHOP: u16 = 104;
/// `RTM_DELNEXTHOP`.
pub const RTM_DELNEXTHOP: u16 = 105;
/// `RTM_GETNEXTHOP`.
pub const RTM_GETNEXTHOP: u16 = 106;

const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`: flag bits of `nla_type`.
const NLA_TYPE_MASK: u16 = 0x3fff;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `sizeof(struct nhmsg)`.
const HEADER_BYTES: usize = 8;
/// `sizeof(struct nexthop_grp)`.
const GROUP_ENTRY_BYTES: usize = 8;

/// One member of a multipath group: another object's id and its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct GroupMember {
    /// `nexthop_grp.id`: a single-gateway object.
    pub id: u32,
    /// ECMP weight, 1 ..= 256 (carried as `weight - 1`).
    pub weight: u16,
}

/// What a nexthop object forwards to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NexthopBody {
    /// One gateway on one interface (`NHA_GATEWAY` + `NHA_OIF`). The kernel
    /// requires the interface for a gateway object.
    Gateway {
        /// The neighbouring router.
        gateway: IpAddr,
        /// Its interface index.
        interface: u32,
    },
    /// A multipath group of other objects (`NHA_GROUP`, type mpath).
    Group(Vec<GroupMember>),
    /// Any other shape (blackhole, device only, fdb, resilient...): never
    /// created by podroute, kept only so its id is known to be taken.
    Other,
}

/// A nexthop object as podroute creates it or a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NexthopObject {
    /// `NHA_ID`, unique in the network namespace.
    pub id: u32,
    /// `nh_protocol`: who owns it.
    pub protocol: u8,
    /// What it forwards to.
    pub body: NexthopBody,
}

fn push_attribute(buffer: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let length = u16::try_from(value.len().saturating_add(4)).unwrap_or(u16::MAX);
    buffer.extend_from_slice(&length.to_ne_bytes());
    buffer.extend_from_slice(&kind.to_ne_bytes());
    buffer.extend_from_slice(value);
    while buffer.len() % 4 != 0 {
        buffer.push(0);
    }
}

fn header(family: u8, protocol: u8) -> Vec<u8> {
    // nh_scope 0 lets the kernel pick link scope for a gateway.
    vec![family, 0, protocol, 0, 0, 0, 0, 0]
}

/// `RTM_NEWNEXTHOP` payload for `object` (create or, with
/// `NLM_F_REPLACE`, replace in place: every route using it follows).
pub fn new_nexthop(object: &NexthopObject) -> Vec<u8> {
    match &object.body {
        NexthopBody::Gateway { gateway, interface } => {
            let (family, address) = match gateway {
                IpAddr::V4(v4) => (AF_INET, v4.octets().to_vec()),
                IpAddr::V6(v6) => (AF_INET6, v6.octets().to_vec()),
            };
            let mut payload = header(family, object.protocol);
            push_attribute(&mut payload, NHA_ID, &object.id.to_ne_bytes());
            push_attribute(&mut payload, NHA_GATEWAY, &address);
            push_attribute(&mut payload, NHA_OIF, &interface.to_ne_bytes());
            payload
        }
        NexthopBody::Group(members) => {
            let mut payload = header(AF_UNSPEC, object.protocol);
            push_attribute(&mut payload, NHA_ID, &object.id.to_ne_bytes());
            let mut entries = Vec::with_capacity(members.len().saturating_mul(GROUP_ENTRY_BYTES));
            for member in members {
                let share = member.weight.clamp(1, 256).saturating_sub(1);
                entries.extend_from_slice(&member.id.to_ne_bytes());
                entries.push(u8::try_from(share & 0xff).unwrap_or(u8::MAX));
                entries.push(0);
                entries.extend_from_slice(&[0, 0]);
            }
            push_attribute(&mut payload, NHA_GROUP, &entries);
            payload
        }
        NexthopBody::Other => header(AF_UNSPEC, object.protocol),
    }
}

/// `RTM_NEWNEXTHOP` payload for a blackhole object (`NHA_BLACKHOLE`):
/// forwards nothing, needs no interface, so creating one is the cheapest
/// way to ask the kernel whether it accepts nexthop objects at all.
pub fn new_blackhole_nexthop(id: u32, protocol: u8) -> Vec<u8> {
    let mut payload = header(AF_INET, protocol);
    push_attribute(&mut payload, NHA_ID, &id.to_ne_bytes());
    push_attribute(&mut payload, NHA_BLACKHOLE, &[]);
    payload
}

/// `RTM_DELNEXTHOP` payload for `id`. The kernel insists on an all-zero
/// header here (no protocol match, unlike route deletes), so ownership is
/// checked by the caller against a dump before an id is ever deleted.
pub fn delete_nexthop(id: u32) -> Vec<u8> {
    let mut payload = header(AF_UNSPEC, 0);
    push_attribute(&mut payload, NHA_ID, &id.to_ne_bytes());
    payload
}

/// `RTM_GETNEXTHOP` dump request for every object (strict checking wants
/// an all-zero header; filtering by protocol happens on the replies).
pub fn dump_nexthops() -> Vec<u8> {
    header(AF_UNSPEC, 0)
}

fn read_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

/// Decodes one `RTM_NEWNEXTHOP` payload; `None` when it is malformed.
pub fn decode_nexthop(payload: &[u8]) -> Option<NexthopObject> {
    let family = *payload.first()?;
    let protocol = *payload.get(2)?;
    let mut id = None;
    let mut gateway = None;
    let mut interface = None;
    let mut group = None;
    let mut other = false;
    let mut offset = HEADER_BYTES;
    while let Some(rest) = payload.get(offset..).filter(|rest| rest.len() >= 4) {
        let length = usize::from(u16::from_ne_bytes(rest.get(..2)?.try_into().ok()?));
        let kind = u16::from_ne_bytes(rest.get(2..4)?.try_into().ok()?) & NLA_TYPE_MASK;
        let value = rest.get(4..length)?;
        match kind {
            NHA_ID => id = read_u32(value),
            NHA_OIF => interface = read_u32(value),
            NHA_GATEWAY => {
                gateway = match (family, value.len()) {
                    (AF_INET, 4) => {
                        Some(IpAddr::V4(Ipv4Addr::from(read_u32(value)?.to_ne_bytes())))
                    }
                    (AF_INET6, 16) => {
                        let octets: [u8; 16] = value.try_into().ok()?;
                        Some(IpAddr::V6(Ipv6Addr::from(octets)))
                    }
                    _ => return None,
                }
            }
            NHA_GROUP => {
                let members = value
                    .chunks(GROUP_ENTRY_BYTES)
                    .map(|entry| {
                        let low = u16::from(*entry.get(4)?);
                        let high = u16::from(*entry.get(5)?);
                        Some(GroupMember {
                            id: read_u32(entry)?,
                            weight: (high << 8 | low).saturating_add(1),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                group = Some(members);
            }
            NHA_BLACKHOLE => other = true,
            _ => {}
        }
        offset = offset
            .saturating_add(length.saturating_add(3) & !3)
            .max(offset + 4);
    }
    let body = match (group, gateway, interface) {
        (Some(members), _, _) if !other => NexthopBody::Group(members),
        (None, Some(gateway), Some(interface)) if !other => {
            NexthopBody::Gateway { gateway, interface }
        }
        _ => NexthopBody::Other,
    };
    Some(NexthopObject {
        id: id?,
        protocol,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_object_round_trips_in_both_families() {
        for gateway in ["198.18.0.2", "2001:db8::2"] {
            let object = NexthopObject {
                id: 7,
                protocol: 201,
                body: NexthopBody::Gateway {
                    gateway: gateway.parse().unwrap(),
                    interface: 3,
                },
            };
            let payload = new_nexthop(&object);
            assert_eq!(payload.len() % 4, 0);
            assert_eq!(decode_nexthop(&payload), Some(object));
        }
    }

    #[test]
    fn group_round_trips_with_weights() {
        let object = NexthopObject {
            id: 9,
            protocol: 201,
            body: NexthopBody::Group(vec![
                GroupMember { id: 7, weight: 1 },
                GroupMember { id: 8, weight: 256 },
            ]),
        };
        let payload = new_nexthop(&object);
        // nhmsg, NHA_ID (8), NHA_GROUP (4 + 2 * 8).
        assert_eq!(payload.len(), 8 + 8 + 20);
        assert_eq!(payload.get(16..18), Some(&20u16.to_ne_bytes()[..]));
        assert_eq!(decode_nexthop(&payload), Some(object));
    }

    #[test]
    fn delete_and_dump_headers_are_all_zero() {
        let delete = delete_nexthop(5);
        assert_eq!(delete.get(..8), Some(&[0u8; 8][..]));
        assert_eq!(decode_nexthop(&delete).map(|object| object.id), Some(5));
        assert_eq!(dump_nexthops(), vec![0; 8]);
    }

    #[test]
    fn malformed_payloads_decode_to_none() {
        assert_eq!(decode_nexthop(&[]), None);
        // An attribute claiming more octets than there are.
        let mut payload = header(AF_INET, 201);
        payload.extend_from_slice(&[40, 0, 1, 0, 7, 0, 0, 0]);
        assert_eq!(decode_nexthop(&payload), None);
        // No NHA_ID at all.
        assert_eq!(decode_nexthop(&header(AF_INET, 201)), None);
        // A blackhole object is kept as Other.
        let mut blackhole = header(AF_INET, 4);
        push_attribute(&mut blackhole, NHA_ID, &3u32.to_ne_bytes());
        push_attribute(&mut blackhole, NHA_BLACKHOLE, &[]);
        assert_eq!(
            decode_nexthop(&blackhole).map(|object| object.body),
            Some(NexthopBody::Other)
        );
    }
}
