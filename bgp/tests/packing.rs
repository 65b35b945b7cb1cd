//! Packing prefixes that share attributes into as few UPDATEs as the size
//! limit allows, for both families, classic and MP encodings, ADD-PATH,
//! extended messages and 2-octet AS sessions.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, ExtendedCommunity, Family, Message,
    NextHop, Nlri, Origin, PathAttributes, Update, pack_announcements, pack_withdrawals,
};
use bytes::Bytes;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

fn attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![AsPathSegment {
                kind: AsPathSegmentKind::Sequence,
                asns: vec![64512, 4_200_000_000],
            }],
        }),
        med: Some(10),
        communities: vec![0xfc00_0064],
        extended_communities: vec![ExtendedCommunity::route_target(64512, 100)],
        ..PathAttributes::default()
    }
}

fn ipv4_slash24s(count: u32) -> Vec<Nlri> {
    (0..count)
        .map(|index| {
            let address = Ipv4Addr::from(0x0a00_0000 | (index << 8));
            Nlri::new(IpNetwork::V4(Ipv4Network::new(address, 24).unwrap()))
        })
        .collect()
}

fn ipv6_slash48s(count: u32) -> Vec<Nlri> {
    (0..count)
        .map(|index| {
            let address = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(index) << 80));
            Nlri::new(IpNetwork::V6(Ipv6Network::new(address, 48).unwrap()))
        })
        .collect()
}

fn decode_all(messages: &[Bytes], context: &CodecContext) -> Vec<Update> {
    messages
        .iter()
        .map(|wire| {
            assert!(wire.len() <= context.max_message_len());
            match Message::decode(wire, context).unwrap() {
                Message::Update(update) => {
                    assert!(
                        update.treat_as_withdraw.is_none(),
                        "{:?}",
                        update.treat_as_withdraw
                    );
                    update
                }
                other => panic!("not an UPDATE: {other:?}"),
            }
        })
        .collect()
}

/// Bytes an UPDATE spends on `attributes` when encoded alone.
fn attributes_len(attributes: &PathAttributes, context: &CodecContext) -> usize {
    let update = Update {
        attributes: attributes.clone(),
        ..Update::default()
    };
    Message::Update(update).to_bytes(context).unwrap().len() - 23
}

#[test]
fn ipv4_announcements_fill_each_message() {
    let context = CodecContext::new();
    let next_hop = Ipv4Addr::new(198, 18, 0, 1);
    let prefixes = ipv4_slash24s(5000);
    let messages = pack_announcements(
        Family::IPV4_UNICAST,
        &attributes(),
        Some(NextHop::Ipv4 { address: next_hop }),
        &prefixes,
        &context,
    )
    .unwrap();
    let mut with_next_hop = attributes();
    with_next_hop.next_hop = Some(next_hop);
    let per_message = (4096 - 23 - attributes_len(&with_next_hop, &context)) / 4;
    assert_eq!(messages.len(), prefixes.len().div_ceil(per_message));
    let updates = decode_all(&messages, &context);
    for update in &updates[..updates.len() - 1] {
        assert_eq!(
            update.nlri.len(),
            per_message,
            "every message but the last is full"
        );
    }
    assert!(
        updates
            .iter()
            .all(|update| update.attributes == with_next_hop && update.mp_reach.is_none())
    );
    let carried: Vec<Nlri> = updates.into_iter().flat_map(|update| update.nlri).collect();
    assert_eq!(carried, prefixes, "every prefix once, in order");
}

#[test]
fn ipv6_announcements_use_mp_reach() {
    let context = CodecContext::new();
    let next_hop = NextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    let prefixes = ipv6_slash48s(3000);
    let mut with_next_hop = attributes();
    with_next_hop.next_hop = Some(Ipv4Addr::new(198, 18, 0, 1));
    let messages = pack_announcements(
        Family::IPV6_UNICAST,
        &with_next_hop,
        Some(next_hop),
        &prefixes,
        &context,
    )
    .unwrap();
    let updates = decode_all(&messages, &context);
    let per_message = updates[0].mp_reach.as_ref().unwrap().nlri.len();
    assert_eq!(messages.len(), prefixes.len().div_ceil(per_message));
    assert!(messages[0].len() > 4096 - 7, "the first message is full");
    let carried: Vec<Nlri> = updates
        .iter()
        .flat_map(|update| {
            let reach = update.mp_reach.as_ref().unwrap();
            assert_eq!(
                (reach.family, reach.next_hop),
                (Family::IPV6_UNICAST, next_hop)
            );
            assert_eq!(
                update.attributes,
                attributes(),
                "NEXT_HOP is left out of MP-only UPDATEs"
            );
            reach.nlri.clone()
        })
        .collect();
    assert_eq!(carried, prefixes);
}

#[test]
fn ipv4_over_ipv6_next_hop_uses_mp_reach_with_afi_1() {
    let context = CodecContext::new();
    let next_hop = NextHop::Ipv6 {
        global: "2001:db8::7".parse().unwrap(),
        link_local: None,
    };
    let prefixes = ipv4_slash24s(10);
    let messages = pack_announcements(
        Family::IPV4_UNICAST,
        &attributes(),
        Some(next_hop),
        &prefixes,
        &context,
    )
    .unwrap();
    let updates = decode_all(&messages, &context);
    assert_eq!(updates.len(), 1);
    let reach = updates[0].mp_reach.as_ref().unwrap();
    assert_eq!(
        (reach.family, reach.next_hop, &reach.nlri),
        (Family::IPV4_UNICAST, next_hop, &prefixes)
    );
    assert!(updates[0].nlri.is_empty());
}

#[test]
fn withdrawals_use_the_classic_field_or_mp_unreach() {
    let context = CodecContext::new();
    let ipv4 = ipv4_slash24s(2500);
    let messages = pack_withdrawals(Family::IPV4_UNICAST, &ipv4, &context).unwrap();
    assert_eq!(messages.len(), 2500usize.div_ceil((4096 - 23) / 4));
    let withdrawn: Vec<Nlri> = decode_all(&messages, &context)
        .into_iter()
        .flat_map(|update| update.withdrawn)
        .collect();
    assert_eq!(withdrawn, ipv4);

    let ipv6 = ipv6_slash48s(1000);
    let messages = pack_withdrawals(Family::IPV6_UNICAST, &ipv6, &context).unwrap();
    assert_eq!(messages.len(), 1000usize.div_ceil((4096 - 23 - 7) / 7));
    let withdrawn: Vec<Nlri> = decode_all(&messages, &context)
        .into_iter()
        .flat_map(|update| update.mp_unreach.unwrap().withdrawn)
        .collect();
    assert_eq!(withdrawn, ipv6);
}

#[test]
fn extended_messages_need_fewer_updates() {
    let mut context = CodecContext::new();
    context.extended_message = true;
    let prefixes = ipv4_slash24s(10_000);
    let hop = Some(NextHop::Ipv4 {
        address: Ipv4Addr::new(198, 18, 0, 1),
    });
    let messages = pack_announcements(
        Family::IPV4_UNICAST,
        &attributes(),
        hop,
        &prefixes,
        &context,
    )
    .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].len(),
        23 + 40_000
            + attributes_len(
                &PathAttributes {
                    next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
                    ..attributes()
                },
                &context
            )
    );
}

#[test]
fn add_path_identifiers_are_packed_with_their_prefixes() {
    let mut context = CodecContext::new();
    context.add_path.insert(Family::IPV6_UNICAST);
    let prefixes: Vec<Nlri> = ipv6_slash48s(700)
        .into_iter()
        .enumerate()
        .map(|(index, nlri)| Nlri {
            path_id: Some(index as u32 % 3),
            ..nlri
        })
        .collect();
    let hop = Some(NextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    });
    let messages = pack_announcements(
        Family::IPV6_UNICAST,
        &attributes(),
        hop,
        &prefixes,
        &context,
    )
    .unwrap();
    let carried: Vec<Nlri> = decode_all(&messages, &context)
        .into_iter()
        .flat_map(|update| update.mp_reach.unwrap().nlri)
        .collect();
    assert_eq!(carried, prefixes);
}

#[test]
fn mixed_prefix_lengths_keep_their_order() {
    let context = CodecContext::new();
    let prefixes: Vec<Nlri> = ["198.19.1.1/32", "10.0.0.0/8", "0.0.0.0/0", "198.19.0.0/23"]
        .iter()
        .map(|text| Nlri::new(text.parse().unwrap()))
        .collect();
    let hop = Some(NextHop::Ipv4 {
        address: Ipv4Addr::new(198, 18, 0, 1),
    });
    let messages = pack_announcements(
        Family::IPV4_UNICAST,
        &attributes(),
        hop,
        &prefixes,
        &context,
    )
    .unwrap();
    assert_eq!(decode_all(&messages, &context)[0].nlri, prefixes);
}

#[test]
fn two_octet_sessions_get_as4_path() {
    let context = CodecContext::legacy();
    let hop = Some(NextHop::Ipv4 {
        address: Ipv4Addr::new(198, 18, 0, 1),
    });
    let messages = pack_announcements(
        Family::IPV4_UNICAST,
        &attributes(),
        hop,
        &ipv4_slash24s(3),
        &context,
    )
    .unwrap();
    // AS_PATH says 64512 AS_TRANS; AS4_PATH (type 17) carries the real path.
    assert!(hex::encode(&messages[0]).contains("4002060202fc005ba0"));
    assert!(hex::encode(&messages[0]).contains("c0110a02020000fc00fa56ea00"));
    let update = &decode_all(&messages, &context)[0];
    assert_eq!(update.attributes.as_path, attributes().as_path);
}

#[test]
fn nothing_to_pack_gives_no_message() {
    let context = CodecContext::new();
    assert!(
        pack_announcements(Family::IPV4_UNICAST, &attributes(), None, &[], &context)
            .unwrap()
            .is_empty()
    );
    assert!(
        pack_withdrawals(Family::IPV6_UNICAST, &[], &context)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn impossible_packings_are_errors() {
    let context = CodecContext::new();
    let huge = PathAttributes {
        communities: (0..1100).collect(),
        ..attributes()
    };
    assert!(
        pack_announcements(
            Family::IPV4_UNICAST,
            &huge,
            None,
            &ipv4_slash24s(1),
            &context
        )
        .is_err()
    );
    assert!(
        pack_announcements(
            Family::IPV6_UNICAST,
            &attributes(),
            None,
            &ipv6_slash48s(1),
            &context
        )
        .is_err()
    );
    assert!(pack_withdrawals(Family::IPV4_UNICAST, &ipv6_slash48s(1), &context).is_err());
    let hop = Some(NextHop::Ipv6 {
        global: Ipv6Addr::LOCALHOST,
        link_local: None,
    });
    assert!(
        pack_announcements(
            Family::IPV6_UNICAST,
            &attributes(),
            hop,
            &ipv4_slash24s(1),
            &context
        )
        .is_err()
    );
}

#[test]
fn end_of_rib_encodes_as_rfc4724_says() {
    let context = CodecContext::new();
    let ipv4 = Message::Update(Update::end_of_rib(Family::IPV4_UNICAST))
        .to_bytes(&context)
        .unwrap();
    assert_eq!(hex::encode(&ipv4[16..]), "00170200000000");
    let ipv6 = Message::Update(Update::end_of_rib(Family::IPV6_UNICAST))
        .to_bytes(&context)
        .unwrap();
    assert_eq!(hex::encode(&ipv6[16..]), "001d0200000006800f03000201");
}
