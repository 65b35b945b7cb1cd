//! `podroute decode` end to end: the binary reads captured messages and
//! prints one JSON object per message, reports malformed ones with the
//! NOTIFICATION they cause, and exits non-zero when any failed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

use std::net::Ipv4Addr;

use assert_cmd::Command;
use bgp::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, Message, Nlri, Origin, PathAttributes,
    Update,
};
use serde_json::Value;

const KEEPALIVE: &str = "ffffffffffffffffffffffffffffffff001304";

/// An OPEN captured from BIRD 2.0.12 (AS 4200000001, ADD-PATH, GR, LLGR).
const BIRD_OPEN: &str = "ffffffffffffffffffffffffffffffff004d01045ba0005ac612980230022e0104000100010104000200010200400a007800010100000201004104fa56ea014508000101030002010346004700";

fn decode(arguments: &[&str], input: impl Into<Vec<u8>>) -> (Vec<Value>, i32) {
    let output = Command::cargo_bin("podroute")
        .unwrap()
        .arg("decode")
        .args(arguments)
        .write_stdin(input)
        .output()
        .unwrap();
    let records = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (records, output.status.code().unwrap())
}

fn update_hex(as_path: Vec<u32>, context: &CodecContext) -> String {
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![AsPathSegment {
                    kind: AsPathSegmentKind::Sequence,
                    asns: as_path,
                }],
            }),
            next_hop: Some(Ipv4Addr::new(198, 18, 0, 1)),
            ..PathAttributes::default()
        },
        nlri: vec![Nlri {
            path_id: None,
            prefix: "198.19.1.0/24".parse().unwrap(),
        }],
        ..Update::default()
    };
    hex::encode(Message::Update(update).to_bytes(context).unwrap())
}

#[test]
fn hex_lines_decode_to_one_object_each_with_comments_and_blanks_skipped() {
    let input = format!("# a BIRD session\n{BIRD_OPEN}\n\n{KEEPALIVE}  # keepalive\n");
    let (records, status) = decode(&["--add-path", "ipv4,ipv6"], input);
    assert_eq!(status, 0);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["type"], "open");
    assert_eq!(records[0]["asn"], 4_200_000_001u64);
    assert_eq!(records[0]["my_as"], 23456, "AS_TRANS in the 2-octet field");
    assert_eq!(records[0]["line"], 2);
    assert_eq!(records[1]["type"], "keepalive");
    assert_eq!(records[1]["line"], 4);
}

#[test]
fn updates_group_prefixes_by_family_with_their_next_hop() {
    let (records, status) = decode(
        &[],
        update_hex(vec![64512, 4_200_000_001], &CodecContext::new()),
    );
    assert_eq!(status, 0);
    let update = &records[0];
    assert_eq!(update["type"], "update");
    assert_eq!(
        update["nlri"]["ipv4-unicast"]["prefixes"][0],
        "198.19.1.0/24"
    );
    assert_eq!(update["nlri"]["ipv4-unicast"]["next_hop"], "198.18.0.1");
    assert_eq!(
        update["attributes"]["as_path"][0]["asns"][1],
        4_200_000_001u64
    );
    assert_eq!(update["attributes"]["origin"], "igp");
}

#[test]
fn as2_decodes_two_octet_as_paths() {
    let legacy = CodecContext::legacy();
    let (records, status) = decode(&["--as2"], update_hex(vec![64512, 65001], &legacy));
    assert_eq!(status, 0);
    assert_eq!(
        records[0]["attributes"]["as_path"][0]["asns"],
        serde_json::json!([64512, 65001])
    );
}

#[test]
fn a_malformed_line_reports_field_offset_and_notification_and_the_rest_still_decodes() {
    let bad_marker = format!("ff00{}", &KEEPALIVE[4..]);
    let (records, status) = decode(&[], format!("{bad_marker}\n{KEEPALIVE}\n"));
    assert_eq!(status, 1, "a failed message makes the exit status 1");
    assert_eq!(records.len(), 2);
    let error = &records[0]["error"];
    assert_eq!(error["notification"]["code"], 1, "Message Header Error");
    assert_eq!(
        error["notification"]["subcode"], 1,
        "Connection Not Synchronized"
    );
    assert_eq!(error["offset"], 1);
    assert_eq!(error["action"], "session-reset");
    assert_eq!(records[1]["type"], "keepalive");
}

#[test]
fn a_line_longer_than_its_header_says_is_an_error() {
    let (records, status) = decode(&[], format!("{KEEPALIVE}00\n"));
    assert_eq!(status, 1);
    assert!(
        records[0]["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("header says 19 bytes")
    );
}

#[test]
fn raw_streams_split_into_messages_with_their_offsets() {
    let mut stream = hex::decode(BIRD_OPEN).unwrap();
    stream.extend(hex::decode(KEEPALIVE).unwrap());
    stream.extend(hex::decode(KEEPALIVE).unwrap());
    let (records, status) = decode(&["--raw"], stream.clone());
    assert_eq!(status, 0);
    let offsets: Vec<_> = records
        .iter()
        .map(|record| record["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, vec![0, 77, 96]);

    stream.truncate(stream.len() - 3);
    let (records, status) = decode(&["--raw"], stream);
    assert_eq!(status, 1, "a stream that ends inside a message fails");
    assert!(
        records[2]["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("16 bytes left over")
    );
}
