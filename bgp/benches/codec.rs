//! Codec throughput on UPDATE-heavy streams: IPv4 /24 and /32, IPv6 /48 and
//! /128, packed as densely as 4096-byte messages allow (what a full-table
//! transfer looks like on the wire). Reported in prefixes per second.
//!
//! `cargo bench -p bgp --bench codec`

// Benchmark setup may unwrap: a panic there is a broken benchmark.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bgp::wire::framing::frame_length;
use bgp::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, Family, Message, NextHop, Nlri, Origin,
    PathAttributes, pack_announcements,
};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

const PREFIXES: u32 = 100_000;

fn attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsPathSegment {
                kind: AsPathSegmentKind::Sequence,
                asns: vec![64512, 64513, 4_200_000_000],
            }],
        }),
        med: Some(0),
        communities: vec![0xfc00_0064],
        ..PathAttributes::default()
    }
}

/// A stream's prefixes, family and next hop.
struct Stream {
    name: &'static str,
    family: Family,
    next_hop: NextHop,
    prefixes: Vec<Nlri>,
}

fn streams() -> Vec<Stream> {
    let v4 = |length: u8, shift: u32| -> Vec<Nlri> {
        (0..PREFIXES)
            .map(|index| {
                Nlri::new(IpNetwork::V4(
                    Ipv4Network::new(Ipv4Addr::from(0x0a00_0000 + (index << shift)), length)
                        .unwrap(),
                ))
            })
            .collect()
    };
    let v6 = |length: u8, shift: u32| -> Vec<Nlri> {
        (0..PREFIXES)
            .map(|index| {
                let address =
                    Ipv6Addr::from((0x2001_0db8_u128 << 96) + (u128::from(index) << shift));
                Nlri::new(IpNetwork::V6(Ipv6Network::new(address, length).unwrap()))
            })
            .collect()
    };
    let ipv4_hop = NextHop::Ipv4 {
        address: Ipv4Addr::new(198, 18, 0, 1),
    };
    let ipv6_hop = NextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    vec![
        Stream {
            name: "ipv4-24",
            family: Family::IPV4_UNICAST,
            next_hop: ipv4_hop,
            prefixes: v4(24, 8),
        },
        Stream {
            name: "ipv4-32",
            family: Family::IPV4_UNICAST,
            next_hop: ipv4_hop,
            prefixes: v4(32, 0),
        },
        Stream {
            name: "ipv6-48",
            family: Family::IPV6_UNICAST,
            next_hop: ipv6_hop,
            prefixes: v6(48, 80),
        },
        Stream {
            name: "ipv6-128",
            family: Family::IPV6_UNICAST,
            next_hop: ipv6_hop,
            prefixes: v6(128, 0),
        },
    ]
}

fn pack(stream: &Stream, context: &CodecContext) -> Vec<Bytes> {
    pack_announcements(
        stream.family,
        &attributes(),
        Some(stream.next_hop),
        &stream.prefixes,
        context,
    )
    .unwrap()
}

/// Frames and decodes a contiguous byte stream, as a peer's reader does.
fn decode_stream(bytes: &[u8], context: &CodecContext) -> usize {
    let mut offset = 0;
    let mut prefixes = 0;
    while let Some(length) = frame_length(&bytes[offset..], context).unwrap() {
        if let Message::Update(update) =
            Message::decode(&bytes[offset..offset + length], context).unwrap()
        {
            prefixes += update.nlri.len() + update.mp_reach.map_or(0, |reach| reach.nlri.len());
        }
        offset += length;
        if offset == bytes.len() {
            break;
        }
    }
    prefixes
}

fn codec(criterion: &mut Criterion) {
    let context = CodecContext::new();
    for stream in streams() {
        let messages = pack(&stream, &context);
        let bytes: Vec<u8> = messages
            .iter()
            .flat_map(|message| message.iter().copied())
            .collect();
        assert_eq!(decode_stream(&bytes, &context), stream.prefixes.len());
        let mut group = criterion.benchmark_group(stream.name);
        group.throughput(Throughput::Elements(u64::from(PREFIXES)));
        group.bench_function("decode", |bencher| {
            bencher.iter(|| decode_stream(black_box(&bytes), &context))
        });
        group.bench_function("encode", |bencher| {
            bencher.iter(|| pack(black_box(&stream), &context))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = codec
}
criterion_main!(benches);
