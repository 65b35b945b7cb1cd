//! Property tests: every message type encodes and decodes back to the same
//! value, under 2- and 4-octet AS, with and without ADD-PATH and extended
//! messages, for IPv4 and IPv6 prefixes.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::{
    AddPathFamily, AddPathMode, Afi, Aggregator, AsPath, AsPathSegment, AsPathSegmentKind,
    Capability, CodecContext, ExtendedCommunity, ExtendedNextHopEntry, Family, GracefulRestart,
    GracefulRestartFamily, LargeCommunity, Message, MpReach, MpUnreach, NextHop, Nlri,
    Notification, Open, Origin, PathAttributes, RawAttribute, RouteRefresh, RouteRefreshSubtype,
    Safi, Update,
};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn context() -> impl Strategy<Value = CodecContext> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(four_octet_as, add_path_v4, add_path_v6, extended_message)| {
            let mut add_path = BTreeSet::new();
            if add_path_v4 {
                add_path.insert(Family::IPV4_UNICAST);
            }
            if add_path_v6 {
                add_path.insert(Family::IPV6_UNICAST);
            }
            CodecContext {
                four_octet_as,
                add_path,
                extended_message,
                ..CodecContext::new()
            }
        },
    )
}

fn family() -> impl Strategy<Value = Family> {
    (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| Family {
        afi: Afi(afi),
        safi: Safi(safi),
    })
}

fn ipv4_prefix() -> impl Strategy<Value = IpNetwork> {
    (any::<u32>(), 0u8..=32).prop_map(|(bits, length)| {
        IpNetwork::V4(Ipv4Network::new(Ipv4Addr::from(bits), length).unwrap())
    })
}

fn ipv6_prefix() -> impl Strategy<Value = IpNetwork> {
    (any::<u128>(), 0u8..=128).prop_map(|(bits, length)| {
        IpNetwork::V6(Ipv6Network::new(Ipv6Addr::from(bits), length).unwrap())
    })
}

fn prefixes(v6: bool) -> BoxedStrategy<Vec<(IpNetwork, u32)>> {
    let prefix = if v6 {
        ipv6_prefix().boxed()
    } else {
        ipv4_prefix().boxed()
    };
    vec((prefix, any::<u32>()), 0..20).boxed()
}

/// Prefixes as the decoder returns them: normalized, with a path
/// identifier exactly where the context says so.
fn nlri(raw: &[(IpNetwork, u32)], add_path: bool) -> Vec<Nlri> {
    raw.iter()
        .map(|(prefix, id)| {
            if add_path {
                Nlri::with_path_id(*prefix, *id)
            } else {
                Nlri::new(*prefix)
            }
        })
        .collect()
}

fn unicast_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u16>().prop_map(|low| {
        let [a, b] = low.to_be_bytes();
        Ipv4Addr::new(198, 18, a, b)
    })
}

fn as_path() -> impl Strategy<Value = AsPath> {
    let asn = prop_oneof![any::<u32>(), 1u32..65535, Just(23456u32)];
    let confed = vec(
        (
            prop_oneof![
                Just(AsPathSegmentKind::ConfedSequence),
                Just(AsPathSegmentKind::ConfedSet)
            ],
            vec(1u32..65535, 1..5),
        ),
        0..2,
    );
    let ordinary = vec(
        (
            prop_oneof![
                Just(AsPathSegmentKind::Sequence),
                Just(AsPathSegmentKind::Set)
            ],
            vec(asn, 1..10),
        ),
        0..4,
    );
    (confed, ordinary).prop_map(|(confed, ordinary)| AsPath {
        segments: confed
            .into_iter()
            .chain(ordinary)
            .map(|(kind, asns)| AsPathSegment { kind, asns })
            .collect(),
    })
}

fn attributes() -> impl Strategy<Value = PathAttributes> {
    let unknown = proptest::sample::subsequence(vec![33u8, 40, 99, 128, 200, 255], 0..3)
        .prop_flat_map(|codes| {
            codes
                .into_iter()
                .map(|type_code| {
                    vec(any::<u8>(), 0..300).prop_map(move |value| RawAttribute {
                        flags: 0xe0,
                        type_code,
                        value,
                    })
                })
                .collect::<Vec<_>>()
        });
    let first = (
        option::of(prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ]),
        option::of(as_path()),
        option::of(unicast_ipv4()),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
        any::<bool>(),
        option::of((any::<u32>(), any::<u32>())),
    );
    let second = (
        vec(any::<u32>(), 0..5),
        option::of(any::<u32>()),
        vec(any::<u32>(), 0..4),
        vec(any::<[u8; 8]>(), 0..4),
        vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3),
        unknown,
    );
    (first, second).prop_map(
        |(
            (origin, as_path, next_hop, med, local_pref, atomic_aggregate, aggregator),
            (communities, originator_id, cluster_list, extended, large, unknown),
        )| PathAttributes {
            origin,
            as_path,
            next_hop,
            med,
            local_pref,
            atomic_aggregate,
            aggregator: aggregator.map(|(asn, address)| Aggregator {
                asn,
                address: Ipv4Addr::from(address),
            }),
            communities,
            originator_id: originator_id.map(Ipv4Addr::from),
            cluster_list: cluster_list.into_iter().map(Ipv4Addr::from).collect(),
            extended_communities: extended.into_iter().map(ExtendedCommunity).collect(),
            large_communities: large
                .into_iter()
                .map(
                    |(global_admin, local_data_1, local_data_2)| LargeCommunity {
                        global_admin,
                        local_data_1,
                        local_data_2,
                    },
                )
                .collect(),
            unknown,
        },
    )
}

fn next_hop(v6: bool) -> BoxedStrategy<NextHop> {
    let ipv6 =
        (any::<u128>(), option::of(any::<u128>())).prop_map(|(global, link_local)| NextHop::Ipv6 {
            global: Ipv6Addr::from(global),
            link_local: link_local.map(Ipv6Addr::from),
        });
    if v6 {
        ipv6.boxed()
    } else {
        prop_oneof![
            unicast_ipv4().prop_map(|address| NextHop::Ipv4 { address }),
            ipv6
        ]
        .boxed()
    }
}

/// An UPDATE and the context to carry it in, adjusted so that the value is
/// one the decoder can return unchanged: mandatory attributes present when
/// prefixes are announced, and (on 2-octet sessions) no AGGREGATOR that
/// RFC 6793 §4.2.3 would take as a sign that AS4_PATH is stale.
fn update_case() -> impl Strategy<Value = (CodecContext, Update)> {
    let reach =
        option::of(any::<bool>().prop_flat_map(|v6| (Just(v6), next_hop(v6), prefixes(v6))));
    let unreach = option::of(any::<bool>().prop_flat_map(|v6| (Just(v6), prefixes(v6))));
    (
        context(),
        prefixes(false),
        attributes(),
        reach,
        unreach,
        prefixes(false),
    )
        .prop_map(
            |(context, withdrawn, mut attributes, reach, unreach, announced)| {
                let classic_add_path = context.has_path_id(Family::IPV4_UNICAST);
                let family_of = |v6: bool| {
                    if v6 {
                        Family::IPV6_UNICAST
                    } else {
                        Family::IPV4_UNICAST
                    }
                };
                let mp_reach = reach.map(|(v6, next_hop, raw)| MpReach {
                    family: family_of(v6),
                    next_hop,
                    nlri: nlri(&raw, context.has_path_id(family_of(v6))),
                });
                let mp_unreach = unreach.map(|(v6, raw)| MpUnreach {
                    family: family_of(v6),
                    withdrawn: nlri(&raw, context.has_path_id(family_of(v6))),
                });
                let announced = nlri(&announced, classic_add_path);
                let announces = !announced.is_empty()
                    || mp_reach
                        .as_ref()
                        .is_some_and(|reach| !reach.nlri.is_empty());
                if announces {
                    attributes.origin.get_or_insert(Origin::Igp);
                    attributes.as_path.get_or_insert_with(AsPath::default);
                }
                if !announced.is_empty() {
                    attributes
                        .next_hop
                        .get_or_insert(Ipv4Addr::new(198, 18, 0, 1));
                }
                let path_needs_four = attributes.as_path.as_ref().is_some_and(|path| {
                    path.segments
                        .iter()
                        .flat_map(|segment| &segment.asns)
                        .any(|asn| *asn > 65535)
                });
                if let Some(aggregator) = attributes.aggregator.as_mut() {
                    if !context.four_octet_as && path_needs_four && aggregator.asn <= 65535 {
                        aggregator.asn |= 0x1_0000;
                    }
                }
                let update = Update {
                    withdrawn: nlri(&withdrawn, classic_add_path),
                    attributes,
                    mp_reach,
                    mp_unreach,
                    nlri: announced,
                    ..Update::default()
                };
                (context, update)
            },
        )
}

fn capability() -> impl Strategy<Value = Capability> {
    let add_path_mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    prop_oneof![
        family().prop_map(|family| Capability::Multiprotocol { family }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs { asn }),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec((family(), any::<bool>()), 0..4)
        )
            .prop_map(|(restart_state, notification, restart_time, families)| {
                Capability::GracefulRestart(GracefulRestart {
                    restart_state,
                    notification,
                    restart_time,
                    families: families
                        .into_iter()
                        .map(|(family, forwarding_state)| GracefulRestartFamily {
                            family,
                            forwarding_state,
                        })
                        .collect(),
                })
            }),
        vec(any::<u8>(), 0..20).prop_map(|value| Capability::LongLivedGracefulRestart { value }),
        vec((family(), add_path_mode), 0..4).prop_map(|families| Capability::AddPath {
            families: families
                .into_iter()
                .map(|(family, mode)| AddPathFamily { family, mode })
                .collect(),
        }),
        vec((family(), any::<u16>()), 0..4).prop_map(|entries| Capability::ExtendedNextHop {
            entries: entries
                .into_iter()
                .map(|(family, afi)| ExtendedNextHopEntry {
                    family,
                    next_hop_afi: Afi(afi)
                })
                .collect(),
        }),
        ("[a-z0-9.-]{0,30}", "\\PC{0,10}")
            .prop_map(|(hostname, domain)| Capability::Hostname { hostname, domain }),
        (
            prop_oneof![
                Just(3u8),
                Just(4),
                Just(66),
                Just(128),
                Just(131),
                Just(200)
            ],
            vec(any::<u8>(), 0..20)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn other_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Keepalive),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            vec(capability(), 0..24)
        )
            .prop_map(|(version, my_as, hold_time, identifier, capabilities)| {
                Message::Open(Open {
                    version,
                    my_as,
                    hold_time,
                    bgp_identifier: Ipv4Addr::from(identifier),
                    capabilities,
                })
            }),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..100)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification {
                code,
                subcode,
                data,
            })
        }),
        (
            family(),
            prop_oneof![Just(0u8), Just(1), Just(2), 3u8..=255]
        )
            .prop_map(|(family, subtype)| {
                let subtype = match subtype {
                    0 => RouteRefreshSubtype::Request,
                    1 => RouteRefreshSubtype::BeginningOfRefresh,
                    2 => RouteRefreshSubtype::EndOfRefresh,
                    other => RouteRefreshSubtype::Unknown(other),
                };
                Message::RouteRefresh(RouteRefresh { family, subtype })
            }),
    ]
}

proptest! {
    #[test]
    fn updates_round_trip((context, update) in update_case()) {
        let message = Message::Update(update);
        let wire = message.to_bytes(&context).expect("encodes");
        prop_assert!(wire.len() <= context.max_message_len());
        let decoded = Message::decode(&wire, &context).expect("decodes");
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn other_messages_round_trip(message in other_message(), context in context()) {
        let wire = message.to_bytes(&context).expect("encodes");
        let decoded = Message::decode(&wire, &context).expect("decodes");
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn any_bytes_after_a_valid_header_never_panic(
        message_type in 1u8..=5,
        body in vec(any::<u8>(), 0..200),
        context in context(),
    ) {
        let wire = common::message(message_type, &hex::encode(&body));
        let _ = Message::decode(&wire, &context);
    }
}
