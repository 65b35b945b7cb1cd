//! Real messages captured from BIRD 2, FRR 8 and GoBGP 3 (see
//! `vectors/captured/README.md`): every message of every file decodes, and
//! the facts tshark read from the same bytes hold for podroute's value.
//!
//! Re-encoding: KEEPALIVE, NOTIFICATION and ROUTE-REFRESH have exactly one
//! encoding, so their bytes must come back identical. OPEN must too when
//! the sender put all capabilities in one optional parameter (as podroute
//! does); RFC 5492 §4 also allows one parameter per capability. UPDATE has
//! many valid encodings (RFC 4271 §5 only says attributes SHOULD be in type
//! order, RFC 7606 §5.1 asks for MP_REACH first, and a sender may set the
//! Extended Length bit on short attributes), so an UPDATE must re-encode to
//! bytes that decode to the same value, and must be byte-identical when the
//! sender made the same choices as podroute ([`canonical_layout`]). In these
//! captures BIRD and FRR set Extended Length on short MP_REACH_NLRI,
//! MP_UNREACH_NLRI and (FRR) AS_PATH attributes, and GoBGP puts
//! MP_REACH_NLRI after the other attributes; every other UPDATE must come
//! back identical. The test prints how many did.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bgp::wire::framing::frame_length;
use bgp::wire::{
    AddPathMode, AsPathSegmentKind, Capability, CodecContext, Family, Message, NextHop, Nlri, Open,
    Update,
};
use serde_json::Value;

fn vector_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/captured");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    files
}

fn family_from(name: &str) -> Family {
    match name {
        "ipv4-unicast" => Family::IPV4_UNICAST,
        "ipv6-unicast" => Family::IPV6_UNICAST,
        other => panic!("unexpected family {other}"),
    }
}

fn context_from(file: &Value) -> CodecContext {
    let context = &file["context"];
    let mut result = CodecContext::new();
    result.four_octet_as = context["four_octet_as"].as_bool().unwrap();
    result.extended_message = context["extended_message"].as_bool().unwrap();
    result.add_path = context["add_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| family_from(name.as_str().unwrap()))
        .collect();
    result
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

fn numbers(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_u64().unwrap())
        .collect()
}

fn prefix_texts(prefixes: &[Nlri]) -> Vec<String> {
    prefixes
        .iter()
        .map(|nlri| nlri.prefix.to_string())
        .collect()
}

fn path_ids(prefixes: &[Nlri]) -> Vec<u64> {
    prefixes
        .iter()
        .map(|nlri| u64::from(nlri.path_id.expect("ADD-PATH id")))
        .collect()
}

fn capability_code(capability: &Capability) -> u64 {
    match capability {
        Capability::Multiprotocol { .. } => 1,
        Capability::RouteRefresh => 2,
        Capability::ExtendedNextHop { .. } => 5,
        Capability::ExtendedMessage => 6,
        Capability::GracefulRestart(_) => 64,
        Capability::FourOctetAs { .. } => 65,
        Capability::AddPath { .. } => 69,
        Capability::EnhancedRouteRefresh => 70,
        Capability::LongLivedGracefulRestart { .. } => 71,
        Capability::Hostname { .. } => 73,
        Capability::Unknown { code, .. } => u64::from(*code),
    }
}

fn check_open(open: &Open, expect: &Value, wire: &[u8], name: &str) -> bool {
    assert_eq!(
        u64::from(open.version),
        expect["version"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(open.my_as),
        expect["my_as"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(open.asn()),
        expect["asn"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        u64::from(open.hold_time),
        expect["hold_time"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        open.bgp_identifier.to_string(),
        expect["bgp_identifier"].as_str().unwrap(),
        "{name}"
    );
    let codes: Vec<u64> = open.capabilities.iter().map(capability_code).collect();
    assert_eq!(
        codes,
        numbers(&expect["capabilities"]),
        "{name}: capability codes"
    );
    let families: Vec<String> = open
        .capabilities
        .iter()
        .filter_map(|capability| match capability {
            Capability::Multiprotocol { family } => Some(family.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(families, strings(&expect["families"]), "{name}: families");
    let add_path: Vec<(String, u64)> = open
        .capabilities
        .iter()
        .flat_map(|capability| match capability {
            Capability::AddPath { families } => families.clone(),
            _ => Vec::new(),
        })
        .map(|entry| {
            let mode = match entry.mode {
                AddPathMode::Receive => 1,
                AddPathMode::Send => 2,
                AddPathMode::Both => 3,
            };
            (entry.family.to_string(), mode)
        })
        .collect();
    let expected_add_path: Vec<(String, u64)> = expect["add_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["family"].as_str().unwrap().to_owned(),
                entry["send_receive"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(add_path, expected_add_path, "{name}: ADD-PATH");
    // Byte 28 is the optional parameters length, byte 30 the first
    // parameter's: one parameter holds everything exactly when they add up.
    usize::from(wire[28]) == usize::from(wire[30]) + 2
}

/// Whether an UPDATE's attributes are laid out as podroute writes them: MP
/// attributes first, then ascending type codes, Extended Length only on
/// values longer than 255 bytes.
fn canonical_layout(wire: &[u8]) -> bool {
    let withdrawn = usize::from(u16::from_be_bytes([wire[19], wire[20]]));
    let mut position = 21 + withdrawn;
    let end = position + 2 + usize::from(u16::from_be_bytes([wire[position], wire[position + 1]]));
    position += 2;
    let mut order = Vec::new();
    while position < end {
        let (flags, type_code) = (wire[position], wire[position + 1]);
        let (header, length) = if flags & 0x10 != 0 {
            (
                4,
                usize::from(u16::from_be_bytes([wire[position + 2], wire[position + 3]])),
            )
        } else {
            (3, usize::from(wire[position + 2]))
        };
        if flags & 0x10 != 0 && length <= 255 {
            return false;
        }
        order.push(type_code);
        position += header + length;
    }
    let rank = |code: &u8| {
        if matches!(code, 14 | 15) {
            (0, *code)
        } else {
            (1, *code)
        }
    };
    order.windows(2).all(|pair| rank(&pair[0]) < rank(&pair[1]))
}

fn optional_number(value: &Value) -> Option<u64> {
    value.as_u64()
}

fn check_update(update: &Update, expect: &Value, name: &str) {
    assert!(
        update.treat_as_withdraw.is_none(),
        "{name}: {:?}",
        update.treat_as_withdraw
    );
    assert!(
        update.discarded.is_empty(),
        "{name}: {:?}",
        update.discarded
    );
    assert_eq!(
        prefix_texts(&update.withdrawn),
        strings(&expect["withdrawn"]),
        "{name}: withdrawn"
    );
    assert_eq!(
        prefix_texts(&update.nlri),
        strings(&expect["nlri"]),
        "{name}: nlri"
    );
    let attributes = &update.attributes;
    let types: BTreeSet<u64> = numbers(&expect["attribute_types"]).into_iter().collect();
    let present: BTreeSet<u64> = [
        (1, attributes.origin.is_some()),
        (2, attributes.as_path.is_some()),
        (3, attributes.next_hop.is_some()),
        (4, attributes.med.is_some()),
        (5, attributes.local_pref.is_some()),
        (6, attributes.atomic_aggregate),
        (7, attributes.aggregator.is_some()),
        (8, !attributes.communities.is_empty()),
        (9, attributes.originator_id.is_some()),
        (10, !attributes.cluster_list.is_empty()),
        (14, update.mp_reach.is_some()),
        (15, update.mp_unreach.is_some()),
        (16, !attributes.extended_communities.is_empty()),
        (32, !attributes.large_communities.is_empty()),
    ]
    .into_iter()
    .filter_map(|(code, here)| here.then_some(code))
    .chain(
        attributes
            .unknown
            .iter()
            .map(|raw| u64::from(raw.type_code)),
    )
    .collect();
    assert_eq!(present, types, "{name}: attribute types");
    let origin = attributes.origin.map(|origin| origin as u64);
    assert_eq!(origin, optional_number(&expect["origin"]), "{name}: origin");
    let segments = attributes
        .as_path
        .as_ref()
        .map(|path| path.segments.clone())
        .unwrap_or_default();
    let flat: Vec<u64> = segments
        .iter()
        .flat_map(|segment| &segment.asns)
        .map(|asn| u64::from(*asn))
        .collect();
    assert_eq!(flat, numbers(&expect["as_path"]), "{name}: as_path");
    let expected_segments: Vec<(u64, Vec<u64>)> = expect["as_path_segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| (segment["type"].as_u64().unwrap(), numbers(&segment["asns"])))
        .collect();
    let found_segments: Vec<(u64, Vec<u64>)> = segments
        .iter()
        .map(|segment| {
            let kind = match segment.kind {
                AsPathSegmentKind::Set => 1,
                AsPathSegmentKind::Sequence => 2,
                AsPathSegmentKind::ConfedSequence => 3,
                AsPathSegmentKind::ConfedSet => 4,
            };
            (
                kind,
                segment.asns.iter().map(|asn| u64::from(*asn)).collect(),
            )
        })
        .collect();
    assert_eq!(found_segments, expected_segments, "{name}: segments");
    assert_eq!(
        attributes.next_hop.map(|hop| hop.to_string()),
        expect["next_hop"].as_str().map(str::to_owned)
    );
    assert_eq!(
        attributes.med.map(u64::from),
        optional_number(&expect["med"]),
        "{name}: med"
    );
    assert_eq!(
        attributes.local_pref.map(u64::from),
        optional_number(&expect["local_pref"]),
        "{name}: local_pref"
    );
    let communities: Vec<String> = attributes
        .communities
        .iter()
        .map(|value| bgp::wire::community::community_text(*value))
        .collect();
    assert_eq!(
        communities,
        strings(&expect["communities"]),
        "{name}: communities"
    );
    let large: Vec<String> = attributes
        .large_communities
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        large,
        strings(&expect["large_communities"]),
        "{name}: large communities"
    );
    assert_eq!(
        attributes.originator_id.map(|id| id.to_string()),
        expect["originator_id"].as_str().map(str::to_owned)
    );
    let clusters: Vec<String> = attributes
        .cluster_list
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        clusters,
        strings(&expect["cluster_list"]),
        "{name}: cluster list"
    );
    let reach = update.mp_reach.as_ref();
    assert_eq!(
        reach.map(|reach| reach.family.to_string()),
        expect["mp_reach_family"].as_str().map(str::to_owned)
    );
    let next_hops: Vec<String> = match reach.map(|reach| reach.next_hop) {
        None => Vec::new(),
        Some(NextHop::Ipv4 { address }) => vec![address.to_string()],
        Some(NextHop::Ipv6 { global, link_local }) => std::iter::once(global.to_string())
            .chain(link_local.map(|address| address.to_string()))
            .collect(),
    };
    assert_eq!(
        next_hops,
        strings(&expect["mp_next_hops"]),
        "{name}: MP next hops"
    );
    let mp_nlri = reach.map(|reach| reach.nlri.clone()).unwrap_or_default();
    assert_eq!(
        prefix_texts(&mp_nlri),
        strings(&expect["mp_nlri"]),
        "{name}: MP NLRI"
    );
    let unreach = update.mp_unreach.as_ref();
    assert_eq!(
        unreach.map(|unreach| unreach.family.to_string()),
        expect["mp_unreach_family"].as_str().map(str::to_owned),
        "{name}: MP_UNREACH family"
    );
    let mp_withdrawn = unreach
        .map(|unreach| unreach.withdrawn.clone())
        .unwrap_or_default();
    assert_eq!(
        prefix_texts(&mp_withdrawn),
        strings(&expect["mp_withdrawn"]),
        "{name}: MP withdrawn"
    );
    assert_eq!(
        update.is_end_of_rib().map(|family| family.to_string()),
        expect["end_of_rib"].as_str().map(str::to_owned),
        "{name}: End-of-RIB"
    );
    if let Some(ids) = expect.get("path_ids") {
        assert_eq!(
            path_ids(&update.withdrawn),
            numbers(&ids["withdrawn"]),
            "{name}: withdrawn ids"
        );
        assert_eq!(
            path_ids(&update.nlri),
            numbers(&ids["nlri"]),
            "{name}: nlri ids"
        );
        assert_eq!(
            path_ids(&mp_nlri),
            numbers(&ids["mp_nlri"]),
            "{name}: MP NLRI ids"
        );
        assert_eq!(
            path_ids(&mp_withdrawn),
            numbers(&ids["mp_withdrawn"]),
            "{name}: MP withdrawn ids"
        );
    }
}

#[test]
fn every_captured_message_decodes_to_its_facts_and_re_encodes() {
    let files = vector_files();
    assert!(
        !files.is_empty(),
        "no captured vectors in tests/vectors/captured"
    );
    let (mut messages, mut updates, mut identical_updates) = (0usize, 0usize, 0usize);
    let mut senders = BTreeSet::new();
    for path in &files {
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        senders.insert(
            file["sender"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned(),
        );
        let context = context_from(&file);
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (index, entry) in file["messages"].as_array().unwrap().iter().enumerate() {
            let name = format!("{file_name} message {index}");
            let wire = hex::decode(entry["hex"].as_str().unwrap()).unwrap();
            let expect = &entry["expect"];
            assert_eq!(
                wire.len() as u64,
                expect["length"].as_u64().unwrap(),
                "{name}: length"
            );
            assert_eq!(
                frame_length(&wire, &context),
                Ok(Some(wire.len())),
                "{name}: framing"
            );
            let message =
                Message::decode(&wire, &context).unwrap_or_else(|error| panic!("{name}: {error}"));
            let re_encoded = message
                .to_bytes(&context)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            let must_be_identical = match (&message, expect["type"].as_str().unwrap()) {
                (Message::Open(open), "open") => check_open(open, expect, &wire, &name),
                (Message::Keepalive, "keepalive") => true,
                (Message::Notification(notification), "notification") => {
                    assert_eq!(
                        u64::from(notification.code),
                        expect["code"].as_u64().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        u64::from(notification.subcode),
                        expect["subcode"].as_u64().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        notification.shutdown_communication(),
                        expect["shutdown_communication"].as_str().map(str::to_owned),
                        "{name}: shutdown communication"
                    );
                    true
                }
                (Message::RouteRefresh(refresh), "route_refresh") => {
                    assert_eq!(
                        refresh.family.to_string(),
                        expect["family"].as_str().unwrap(),
                        "{name}"
                    );
                    true
                }
                (Message::Update(update), "update") => {
                    check_update(update, expect, &name);
                    updates += 1;
                    identical_updates += usize::from(re_encoded.as_ref() == wire.as_slice());
                    canonical_layout(&wire)
                }
                (message, expected) => panic!("{name}: decoded {message:?}, expected a {expected}"),
            };
            if must_be_identical {
                assert_eq!(
                    hex::encode(&re_encoded),
                    hex::encode(&wire),
                    "{name}: re-encoding"
                );
            }
            let again = Message::decode(&re_encoded, &context)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(
                again, message,
                "{name}: re-encoded bytes decode to the same value"
            );
            messages += 1;
        }
    }
    assert!(messages > 0, "the captured files hold no messages");
    println!(
        "{messages} captured messages from {senders:?} in {} files; {identical_updates} of {updates} UPDATEs re-encode byte-identical",
        files.len()
    );
}
