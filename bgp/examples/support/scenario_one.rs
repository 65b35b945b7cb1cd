//! The bench generator's scenario 1 stream (bench/src/tables.rs), shared
//! by the `ingest` and `ingest_speaker` drivers: the same address plan
//! (IPv4 /24 from 32.0.0.0, IPv6 /48 from 2400::), the same attributes
//! (ORIGIN IGP, AS_PATH 65001) and the same packing.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, Family, NextHop, Nlri, Origin,
    PathAttributes, pack_announcements,
};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// `ipv4` IPv4 then `ipv6` IPv6 announcements, encoded back to back
/// (no End-of-RIB).
#[allow(dead_code)] // each driver uses one of the two
pub fn announcements(ipv4: u32, ipv6: u32) -> Vec<u8> {
    announcements_in_order(ipv4, ipv6, false)
}

/// As [`announcements`]; with `shuffled` the prefixes are in a fixed
/// pseudo-random order instead of ascending, the worst case for tables
/// that are appended to in order.
pub fn announcements_in_order(ipv4: u32, ipv6: u32, shuffled: bool) -> Vec<u8> {
    let mut ipv4_prefixes: Vec<Nlri> = (0..ipv4)
        .map(|index| {
            let address = Ipv4Addr::from(0x2000_0000 + index * 256);
            Nlri::new(IpNetwork::V4(Ipv4Network::new(address, 24).unwrap()))
        })
        .collect();
    let mut ipv6_prefixes: Vec<Nlri> = (0..ipv6)
        .map(|index| {
            let address = Ipv6Addr::from((0x2400_u128 << 112) | (u128::from(index) << 80));
            Nlri::new(IpNetwork::V6(Ipv6Network::new(address, 48).unwrap()))
        })
        .collect();
    if shuffled {
        shuffle(&mut ipv4_prefixes);
        shuffle(&mut ipv6_prefixes);
    }
    let attributes = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsPathSegment {
                kind: AsPathSegmentKind::Sequence,
                asns: vec![65001],
            }],
        }),
        ..PathAttributes::default()
    };
    let context = CodecContext::new();
    let hop4 = NextHop::Ipv4 {
        address: Ipv4Addr::new(198, 18, 0, 10),
    };
    let hop6 = NextHop::Ipv6 {
        global: "2001:db8::10".parse().unwrap(),
        link_local: None,
    };
    let mut buffer = Vec::new();
    for (family, hop, prefixes) in [
        (Family::IPV4_UNICAST, hop4, &ipv4_prefixes),
        (Family::IPV6_UNICAST, hop6, &ipv6_prefixes),
    ] {
        for message in
            pack_announcements(family, &attributes, Some(hop), prefixes, &context).unwrap()
        {
            buffer.extend_from_slice(&message);
        }
    }
    buffer
}

/// Fisher-Yates with a fixed xorshift generator: the same order every run.
fn shuffle<T>(items: &mut [T]) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for index in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let other = (state % (index as u64 + 1)) as usize;
        items.swap(index, other);
    }
}
