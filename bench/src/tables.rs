//! The route sets the scenarios send, and their pre-encoded UPDATEs.
//!
//! Data flow: a scenario asks for prefixes ([`ingest_ipv4`],
//! [`ingest_ipv6`], [`client_prefixes`]); [`encode_announcements`] packs them
//! with one attribute set into as few 4096-byte UPDATEs as fit
//! (`bgp::wire::pack_announcements`, RFC 4271 §4.3 and RFC 4760 §3) and
//! appends End-of-RIB markers (RFC 4724 §2), all into one contiguous buffer
//! written to the socket later without any per-message work.
//!
//! Route tables may hold any prefixes (they are table entries, never
//! traffic); the ranges below avoid martians so that no daemon filters them.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, Family, Message, NextHop, Nlri, Origin,
    PathAttributes, Update, pack_announcements, pack_withdrawals,
};
use bytes::BytesMut;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use crate::error::{BenchError, Result, wire_context};

/// First IPv4 /24 of the ingest table: 32.0.0.0, leaving room for 2^20 /24s.
const INGEST_IPV4_BASE: u32 = 0x2000_0000;
/// First IPv6 /48 of the ingest table: 2400::/12 holds 2^36 of them.
const INGEST_IPV6_BASE: u128 = 0x2400_u128 << 112;

/// `count` consecutive IPv4 /24 prefixes (scenario 1).
pub fn ingest_ipv4(count: u32) -> Result<Vec<Nlri>> {
    (0..count)
        .map(|index| {
            let address = INGEST_IPV4_BASE
                .checked_add(index.checked_mul(256).ok_or_else(too_many)?)
                .ok_or_else(too_many)?;
            ipv4(address, 24)
        })
        .collect()
}

/// `count` consecutive IPv6 /48 prefixes (scenario 1).
pub fn ingest_ipv6(count: u32) -> Result<Vec<Nlri>> {
    (0..count)
        .map(|index| ipv6(INGEST_IPV6_BASE | (u128::from(index) << 80), 48))
        .collect()
}

/// What one route-reflector client originates (scenario 3): four /26 pod
/// blocks and four /32 host routes in IPv4, four /64 blocks and four /128
/// host routes in IPv6. Client indexes must be below 16384.
pub fn client_prefixes(client: u32) -> Result<(Vec<Nlri>, Vec<Nlri>)> {
    if client >= 16384 {
        return Err(too_many());
    }
    let mut ipv4_prefixes = Vec::with_capacity(8);
    let mut ipv6_prefixes = Vec::with_capacity(8);
    for block in 0..4u32 {
        // 100.64.0.0/10: one /24 per client, cut into four /26.
        ipv4_prefixes.push(ipv4(0x6440_0000 + client * 256 + block * 64, 26)?);
        // 100.128.0.0/16 onwards: four host routes per client.
        ipv4_prefixes.push(ipv4(0x6480_0000 + client * 4 + block, 32)?);
        let client_bits = u128::from(client);
        let block_bits = u128::from(block);
        ipv6_prefixes.push(ipv6(
            (0x2402_u128 << 112) | (client_bits << 80) | (block_bits << 64),
            64,
        )?);
        ipv6_prefixes.push(ipv6(
            (0x2403_u128 << 112) | (client_bits << 16) | block_bits,
            128,
        )?);
    }
    Ok((ipv4_prefixes, ipv6_prefixes))
}

fn ipv4(address: u32, length: u8) -> Result<Nlri> {
    Ipv4Network::new(Ipv4Addr::from(address), length)
        .map(|network| Nlri::new(IpNetwork::V4(network)))
        .map_err(|error| BenchError::Other(format!("bad IPv4 prefix: {error}")))
}

fn ipv6(address: u128, length: u8) -> Result<Nlri> {
    Ipv6Network::new(Ipv6Addr::from(address), length)
        .map(|network| Nlri::new(IpNetwork::V6(network)))
        .map_err(|error| BenchError::Other(format!("bad IPv6 prefix: {error}")))
}

fn too_many() -> BenchError {
    BenchError::Other("too many prefixes for the benchmark's address plan".into())
}

/// The attributes a benchmark peer sends: ORIGIN IGP and an AS_PATH of
/// `asn` for eBGP (RFC 4271 §5.1.2), or an empty AS_PATH and LOCAL_PREF 100
/// for iBGP (RFC 4271 §5.1.5).
pub fn attributes(asn: u32, internal: bool) -> PathAttributes {
    let segments = if internal {
        Vec::new()
    } else {
        vec![AsPathSegment {
            kind: AsPathSegmentKind::Sequence,
            asns: vec![asn],
        }]
    };
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath { segments }),
        local_pref: internal.then_some(100),
        ..PathAttributes::default()
    }
}

/// Every UPDATE announcing `ipv4_prefixes` (classic NLRI, NEXT_HOP
/// `ipv4_next_hop`) and `ipv6_prefixes` (MP_REACH_NLRI, next hop
/// `ipv6_next_hop`), then End-of-RIB (RFC 4724 §2) for IPv4 and, when any
/// IPv6 route is sent, for IPv6, as one buffer.
/// Returns the buffer and the number of messages in it.
pub fn encode_announcements(
    attributes: &PathAttributes,
    ipv4_prefixes: &[Nlri],
    ipv4_next_hop: Ipv4Addr,
    ipv6_prefixes: &[Nlri],
    ipv6_next_hop: Ipv6Addr,
) -> Result<(Vec<u8>, usize)> {
    let context = CodecContext::new();
    let mut messages = pack_announcements(
        Family::IPV4_UNICAST,
        attributes,
        Some(NextHop::Ipv4 {
            address: ipv4_next_hop,
        }),
        ipv4_prefixes,
        &context,
    )
    .map_err(wire_context("packing IPv4 announcements"))?;
    messages.extend(
        pack_announcements(
            Family::IPV6_UNICAST,
            attributes,
            Some(NextHop::Ipv6 {
                global: ipv6_next_hop,
                link_local: None,
            }),
            ipv6_prefixes,
            &context,
        )
        .map_err(wire_context("packing IPv6 announcements"))?,
    );
    let mut buffer = BytesMut::with_capacity(messages.iter().map(|message| message.len()).sum());
    for message in &messages {
        buffer.extend_from_slice(message);
    }
    // No IPv6 End-of-RIB without IPv6 routes: an IPv4-only peer (BIRD 1.6)
    // has not negotiated the family.
    let families: &[Family] = if ipv6_prefixes.is_empty() {
        &[Family::IPV4_UNICAST]
    } else {
        &[Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    };
    for family in families {
        Message::Update(Update::end_of_rib(*family))
            .encode(&context, &mut buffer)
            .map_err(wire_context("encoding End-of-RIB"))?;
    }
    Ok((buffer.to_vec(), messages.len() + families.len()))
}

/// UPDATEs withdrawing `ipv4_prefixes` (classic field) and `ipv6_prefixes`
/// (MP_UNREACH_NLRI, RFC 4760 §4), as one buffer.
pub fn encode_withdrawals(ipv4_prefixes: &[Nlri], ipv6_prefixes: &[Nlri]) -> Result<Vec<u8>> {
    let context = CodecContext::new();
    let mut buffer = Vec::new();
    for (family, prefixes) in [
        (Family::IPV4_UNICAST, ipv4_prefixes),
        (Family::IPV6_UNICAST, ipv6_prefixes),
    ] {
        for message in pack_withdrawals(family, prefixes, &context)
            .map_err(wire_context("packing withdrawals"))?
        {
            buffer.extend_from_slice(&message);
        }
    }
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ingest_prefixes_are_distinct_and_of_the_asked_length() {
        let ipv4_prefixes = ingest_ipv4(1000).unwrap();
        let ipv6_prefixes = ingest_ipv6(1000).unwrap();
        let distinct: BTreeSet<_> = ipv4_prefixes.iter().map(|n| n.prefix).collect();
        assert_eq!(distinct.len(), 1000);
        assert!(ipv4_prefixes.iter().all(|n| n.prefix.prefix() == 24));
        assert_eq!(ipv4_prefixes[1].prefix.to_string(), "32.0.1.0/24");
        assert_eq!(ipv6_prefixes[1].prefix.to_string(), "2400:0:1::/48");
        assert!(ingest_ipv4(1 << 25).is_err());
    }

    #[test]
    fn clients_never_share_a_prefix() {
        let mut seen = BTreeSet::new();
        for client in 0..1000 {
            let (ipv4_prefixes, ipv6_prefixes) = client_prefixes(client).unwrap();
            assert_eq!((ipv4_prefixes.len(), ipv6_prefixes.len()), (8, 8));
            for nlri in ipv4_prefixes.iter().chain(&ipv6_prefixes) {
                assert!(seen.insert(nlri.prefix), "{} twice", nlri.prefix);
            }
        }
    }

    #[test]
    fn encoded_stream_decodes_back_to_every_prefix() {
        let ipv4_prefixes = ingest_ipv4(5000).unwrap();
        let ipv6_prefixes = ingest_ipv6(3000).unwrap();
        let (buffer, count) = encode_announcements(
            &attributes(65001, false),
            &ipv4_prefixes,
            Ipv4Addr::new(198, 18, 0, 10),
            &ipv6_prefixes,
            "2001:db8::10".parse().unwrap(),
        )
        .unwrap();
        let context = CodecContext::new();
        let mut rest = BytesMut::from(&buffer[..]);
        let mut counter = crate::count::PrefixCounter::default();
        let mut messages = 0;
        while let Some(frame) = bgp::wire::framing::split_message(&mut rest, &context).unwrap() {
            messages += 1;
            let Message::Update(update) = Message::decode(&frame, &context).unwrap() else {
                panic!("not an UPDATE");
            };
            counter.record(&update);
        }
        assert_eq!(messages, count);
        assert_eq!(counter.ipv4_announced(), 5000);
        assert_eq!(counter.ipv6_announced(), 3000);
        assert_eq!(counter.end_of_rib, BTreeSet::from([4, 6]));
    }
}
