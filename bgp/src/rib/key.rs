//! Compact, fast-to-compare map keys for prefixes, used by the Loc-RIB
//! ([`super::table::Table`]) and the Adj-RIB-Out ([`super::adj_rib_out`]).
//!
//! A full table means millions of tree searches, and each step of a search
//! compares two keys. `Ipv4Network` and `Ipv6Network` compare their
//! addresses octet by octet; these keys hold the address as integers, so a
//! step is one or two integer comparisons, in the same order (a big-endian
//! integer orders like its octets, then the prefix length breaks ties). They
//! are packed: an IPv4 key is 5 bytes and an IPv6 key 17, as small as the
//! `ipnetwork` types, and 9 and 21 bytes with a path identifier. Keys are
//! built only from valid networks, so turning one back always succeeds; the
//! conversions still return `Option` so that nothing here can panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};

/// An IPv4 prefix as a map key: address, then length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed)]
pub(super) struct Ipv4Key {
    address: u32,
    length: u8,
}

impl Ipv4Key {
    pub(super) fn of(network: &Ipv4Network) -> Ipv4Key {
        Ipv4Key {
            address: u32::from(network.ip()),
            length: network.prefix(),
        }
    }

    pub(super) fn network(self) -> Option<Ipv4Network> {
        Ipv4Network::new(Ipv4Addr::from(self.address), self.length).ok()
    }
}

/// An IPv6 prefix as a map key: address (high, then low half), then length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed)]
pub(super) struct Ipv6Key {
    high: u64,
    low: u64,
    length: u8,
}

impl Ipv6Key {
    pub(super) fn of(network: &Ipv6Network) -> Ipv6Key {
        let bits = u128::from(network.ip());
        Ipv6Key {
            high: (bits >> 64) as u64,
            low: bits as u64,
            length: network.prefix(),
        }
    }

    pub(super) fn network(self) -> Option<Ipv6Network> {
        let bits = (u128::from(self.high) << 64) | u128::from(self.low);
        Ipv6Network::new(Ipv6Addr::from(bits), self.length).ok()
    }
}

/// An IPv4 prefix and a path identifier (RFC 7911), in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed)]
pub(super) struct Ipv4PathKey {
    prefix: Ipv4Key,
    id: u32,
}

impl Ipv4PathKey {
    pub(super) fn of(network: &Ipv4Network, id: u32) -> Ipv4PathKey {
        Ipv4PathKey {
            prefix: Ipv4Key::of(network),
            id,
        }
    }

    pub(super) fn network(self) -> Option<Ipv4Network> {
        self.prefix.network()
    }

    pub(super) fn id(self) -> u32 {
        self.id
    }
}

/// An IPv6 prefix and a path identifier (RFC 7911), in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed)]
pub(super) struct Ipv6PathKey {
    prefix: Ipv6Key,
    id: u32,
}

impl Ipv6PathKey {
    pub(super) fn of(network: &Ipv6Network, id: u32) -> Ipv6PathKey {
        Ipv6PathKey {
            prefix: Ipv6Key::of(network),
            id,
        }
    }

    pub(super) fn network(self) -> Option<Ipv6Network> {
        self.prefix.network()
    }

    pub(super) fn id(self) -> u32 {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_like_networks_and_convert_back() {
        let ipv4: Vec<Ipv4Network> = [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.0.0.0/24",
            "10.0.1.0/24",
            "128.0.0.0/1",
            "198.18.0.0/15",
            "255.255.255.255/32",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        for a in &ipv4 {
            assert_eq!(Ipv4Key::of(a).network(), Some(*a));
            for b in &ipv4 {
                assert_eq!(Ipv4Key::of(a).cmp(&Ipv4Key::of(b)), a.cmp(b), "{a} {b}");
                for (x, y) in [(0, 1), (1, 0), (7, 7)] {
                    assert_eq!(
                        Ipv4PathKey::of(a, x).cmp(&Ipv4PathKey::of(b, y)),
                        (a, x).cmp(&(b, y))
                    );
                }
            }
        }
        let ipv6: Vec<Ipv6Network> = [
            "::/0",
            "2001:db8::/32",
            "2001:db8::/48",
            "2001:db8:0:0:8000::/65",
            "2001:db8:0:0:0:0:0:1/128",
            "2001:db9::/32",
            "ffff::/16",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        for a in &ipv6 {
            assert_eq!(Ipv6Key::of(a).network(), Some(*a));
            assert_eq!(Ipv6PathKey::of(a, 9).id(), 9);
            for b in &ipv6 {
                assert_eq!(Ipv6Key::of(a).cmp(&Ipv6Key::of(b)), a.cmp(b), "{a} {b}");
                for (x, y) in [(0, 1), (1, 0), (7, 7)] {
                    assert_eq!(
                        Ipv6PathKey::of(a, x).cmp(&Ipv6PathKey::of(b, y)),
                        (a, x).cmp(&(b, y))
                    );
                }
            }
        }
        assert_eq!(std::mem::size_of::<Ipv4Key>(), 5);
        assert_eq!(std::mem::size_of::<Ipv6PathKey>(), 21);
    }
}
