//! Golden vectors: hand-built messages in the layouts of RFC 4271 §4, RFC 4760,
//! RFC 5492, RFC 6793, RFC 7911, RFC 8950, RFC 9003 and RFC 2918, each checked
//! both ways (bytes decode to the value, the value encodes to the bytes).

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    AddPathFamily, AddPathMode, AsPath, AsPathSegment, AsPathSegmentKind, Capability, CodecContext,
    Family, GracefulRestart, GracefulRestartFamily, LargeCommunity, Message, MpReach, MpUnreach,
    NextHop, Nlri, Notification, Open, Origin, PathAttributes, RouteRefresh, RouteRefreshSubtype,
    Update,
};
use common::{both_ways, bytes, message};

fn prefix(text: &str) -> Nlri {
    Nlri::new(text.parse().unwrap())
}

fn sequence(asns: &[u32]) -> AsPath {
    AsPath {
        segments: vec![AsPathSegment {
            kind: AsPathSegmentKind::Sequence,
            asns: asns.to_vec(),
        }],
    }
}

#[test]
fn keepalive() {
    both_ways(
        &bytes("ffffffffffffffffffffffffffffffff 0013 04"),
        &Message::Keepalive,
        &CodecContext::new(),
    );
}

#[test]
fn open_with_every_common_capability() {
    let wire = message(
        1,
        "04 5ba0 005a c6120001 2f
         02 2d
           01 04 0001 00 01
           01 04 0002 00 01
           02 00
           41 04 fa56ea00
           40 06 8078 0001 01 80
           45 04 0001 01 03
           06 00
           49 07 05 6e6f646531 00",
    );
    let open = Open {
        version: 4,
        my_as: 23456,
        hold_time: 90,
        bgp_identifier: Ipv4Addr::new(198, 18, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
            },
            Capability::Multiprotocol {
                family: Family::IPV6_UNICAST,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs { asn: 4_200_000_000 },
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: false,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding_state: true,
                }],
            }),
            Capability::AddPath {
                families: vec![AddPathFamily {
                    family: Family::IPV4_UNICAST,
                    mode: AddPathMode::Both,
                }],
            },
            Capability::ExtendedMessage,
            Capability::Hostname {
                hostname: "node1".into(),
                domain: String::new(),
            },
        ],
    };
    assert_eq!(open.asn(), 4_200_000_000);
    both_ways(&wire, &Message::Open(open), &CodecContext::new());
}

#[test]
fn open_with_one_parameter_per_capability_decodes_the_same() {
    // RFC 5492 §4 allows one capability per parameter (older speakers do
    // this); the encoder always groups them, so only the decode is golden.
    let wire = message(
        1,
        "04 fc00 00b4 c6120002 10  02 06 0104 0001 0001  02 06 4104 0000fc00",
    );
    let Message::Open(open) = Message::decode(&wire, &CodecContext::new()).unwrap() else {
        panic!()
    };
    assert_eq!(open.capabilities.len(), 2);
    assert_eq!(open.asn(), 64512);
}

#[test]
fn open_with_rfc9072_extended_parameters_length() {
    let wire = message(
        1,
        "04 fc00 00b4 c6120002 ff ff 0009  02 0006 41 04 0000fc00",
    );
    let Message::Open(open) = Message::decode(&wire, &CodecContext::new()).unwrap() else {
        panic!()
    };
    assert_eq!(
        open.capabilities,
        vec![Capability::FourOctetAs { asn: 64512 }]
    );
}

#[test]
fn update_with_classic_ipv4_fields() {
    let wire = message(
        2,
        "0004 18 c61309
         003c
           40 01 01 00
           40 02 0a 02 02 0000fc00 0000fc01
           40 03 04 c6120001
           80 04 04 00000064
           40 05 04 00000064
           c0 08 04 fc000064
           c0 20 0c 0000fc00 00000001 00000002
         18 c61301  20 c6130202  10 c612",
    );
    let update = Update {
        withdrawn: vec![prefix("198.19.9.0/24")],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(sequence(&[64512, 64513])),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
            med: Some(100),
            local_pref: Some(100),
            communities: vec![0xfc00_0064],
            large_communities: vec![LargeCommunity {
                global_admin: 64512,
                local_data_1: 1,
                local_data_2: 2,
            }],
            ..PathAttributes::default()
        },
        nlri: vec![
            prefix("198.19.1.0/24"),
            prefix("198.19.2.2/32"),
            prefix("198.18.0.0/16"),
        ],
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &CodecContext::new());
}

#[test]
fn update_with_ipv6_mp_reach_and_link_local_next_hop() {
    let wire = message(
        2,
        "0000 004e
           80 0e 3d 0002 01 20
              20010db8000000000000000000000001
              fe800000000000000000000000000001
              00
              30 20010db80001
              80 20010db8000000000000000000000005
           40 01 01 00
           40 02 00
           40 05 04 00000064",
    );
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            local_pref: Some(100),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: NextHop::Ipv6 {
                global: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                link_local: Some("fe80::1".parse::<Ipv6Addr>().unwrap()),
            },
            nlri: vec![prefix("2001:db8:1::/48"), prefix("2001:db8::5/128")],
        }),
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &CodecContext::new());
}

#[test]
fn ipv4_prefixes_over_an_ipv6_next_hop_rfc8950() {
    let wire = message(
        2,
        "0000 0023
           80 0e 19 0001 01 10 20010db8000000000000000000000001 00 18 c61301
           40 01 01 00
           40 02 00",
    );
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV4_UNICAST,
            next_hop: NextHop::Ipv6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            },
            nlri: vec![prefix("198.19.1.0/24")],
        }),
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &CodecContext::new());
}

#[test]
fn end_of_rib_markers_for_both_families() {
    let ipv4 = message(2, "0000 0000");
    let ipv6 = message(2, "0000 0006 80 0f 03 0002 01");
    let context = CodecContext::new();
    both_ways(
        &ipv4,
        &Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)),
        &context,
    );
    both_ways(
        &ipv6,
        &Message::Update(Update::end_of_rib(Family::IPV6_UNICAST)),
        &context,
    );
    for (wire, family) in [(ipv4, Family::IPV4_UNICAST), (ipv6, Family::IPV6_UNICAST)] {
        let Message::Update(update) = Message::decode(&wire, &context).unwrap() else {
            panic!()
        };
        assert_eq!(update.is_end_of_rib(), Some(family));
        assert!(update.treat_as_withdraw.is_none());
    }
}

#[test]
fn withdrawal_is_not_end_of_rib() {
    let update = Update {
        withdrawn: vec![prefix("198.19.1.0/24")],
        ..Update::default()
    };
    assert_eq!(update.is_end_of_rib(), None);
}

#[test]
fn two_octet_session_carries_the_real_path_in_as4_path() {
    let wire = message(
        2,
        "0000 0021
           40 01 01 00
           40 02 06 02 02 fde8 5ba0
           40 03 04 c6120002
           c0 11 0a 02 02 0000fde8 fa56ea00
         18 c61303",
    );
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(sequence(&[65000, 4_200_000_000])),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 2)),
            ..PathAttributes::default()
        },
        nlri: vec![prefix("198.19.3.0/24")],
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &common::legacy());
}

#[test]
fn add_path_identifiers_precede_prefixes() {
    let mut context = CodecContext::new();
    context.add_path.insert(Family::IPV4_UNICAST);
    let wire = message(
        2,
        "0000 000e 40 01 01 00 40 02 00 40 03 04 c6120001 00000007 18 c61301",
    );
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
            ..PathAttributes::default()
        },
        nlri: vec![Nlri::with_path_id("198.19.1.0/24".parse().unwrap(), 7)],
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &context);
}

#[test]
fn host_bits_are_cleared_and_encoding_is_minimal() {
    // 198.19.1.0/23 on the wire: the last bit sent is past the prefix length.
    let wire = message(2, "0000 0000 17 c61301");
    let context = CodecContext::new();
    let Message::Update(update) = Message::decode(&wire, &context).unwrap() else {
        panic!()
    };
    assert_eq!(update.nlri, vec![prefix("198.19.0.0/23")]);
    assert_eq!(update.nlri[0].prefix.to_string(), "198.19.0.0/23");
    let encoded = Message::Update(update).to_bytes(&context).unwrap();
    assert_eq!(hex::encode(&encoded[19..]), "0000000017c61300");
}

#[test]
fn notification_with_shutdown_communication() {
    let wire = message(3, "06 02 0b 6d61696e74656e616e6365");
    let notification = Notification::shutdown(2, "maintenance");
    assert_eq!(
        notification.shutdown_communication().as_deref(),
        Some("maintenance")
    );
    both_ways(
        &wire,
        &Message::Notification(notification),
        &CodecContext::new(),
    );
}

#[test]
fn route_refresh_request_and_enhanced_markers() {
    let context = CodecContext::new();
    let request = RouteRefresh {
        family: Family::IPV6_UNICAST,
        subtype: RouteRefreshSubtype::Request,
    };
    both_ways(
        &message(5, "0002 00 01"),
        &Message::RouteRefresh(request),
        &context,
    );
    let end = RouteRefresh {
        family: Family::IPV4_UNICAST,
        subtype: RouteRefreshSubtype::EndOfRefresh,
    };
    both_ways(
        &message(5, "0001 02 01"),
        &Message::RouteRefresh(end),
        &context,
    );
}

#[test]
fn mp_unreach_withdraws_ipv6_prefixes() {
    let wire = message(2, "0000 000d 80 0f 0a 0002 01 30 20010db80001");
    let update = Update {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![prefix("2001:db8:1::/48")],
        }),
        ..Update::default()
    };
    both_ways(&wire, &Message::Update(update), &CodecContext::new());
}

#[test]
fn unknown_optional_transitive_attribute_is_passed_on_with_partial_bit() {
    // Type 99, optional transitive, value 0xabcd; it comes back with P set.
    let wire = message(2, "0000 0005 c0 63 02 abcd");
    let context = CodecContext::new();
    let Message::Update(update) = Message::decode(&wire, &context).unwrap() else {
        panic!()
    };
    assert_eq!(update.attributes.unknown.len(), 1);
    assert_eq!(update.attributes.unknown[0].flags, 0xe0);
    let encoded = Message::Update(update).to_bytes(&context).unwrap();
    assert_eq!(hex::encode(&encoded[19..]), "00000005e06302abcd");
}

#[test]
fn unknown_optional_non_transitive_attribute_is_dropped_quietly() {
    let wire = message(2, "0000 0005 80 63 02 abcd");
    let Message::Update(update) = Message::decode(&wire, &CodecContext::new()).unwrap() else {
        panic!()
    };
    assert!(update.attributes.unknown.is_empty());
    assert!(update.discarded.is_empty());
}

#[test]
fn long_attribute_values_use_the_extended_length_flag() {
    // 70 communities = 280 bytes > 255: flags 0xd0 and a 2-octet length.
    let communities: Vec<u32> = (0..70).map(|value| 0xfc00_0000 | value).collect();
    let update = Update {
        attributes: PathAttributes {
            communities: communities.clone(),
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    let context = CodecContext::new();
    let encoded = Message::Update(update.clone()).to_bytes(&context).unwrap();
    assert_eq!(hex::encode(&encoded[23..27]), "d0080118");
    assert_eq!(
        Message::decode(&encoded, &context).unwrap(),
        Message::Update(update)
    );
}
