//! Malformed messages, one table row each, with the exact NOTIFICATION code,
//! subcode and data, the byte offset where known, and the RFC 7606 action.
//! Every row also goes through `frame_length` and `Message::decode` with no
//! panic, which is the point of the table as much as the error values.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp::wire::framing::frame_length;
use bgp::wire::{CodecContext, ErrorAction, Family, Message, WireError};
use common::{bytes, message};

/// An UPDATE whose length fields are computed from the parts (hex).
fn update(withdrawn: &str, attributes: &str, nlri: &str) -> Vec<u8> {
    let withdrawn = bytes(withdrawn);
    let attributes = bytes(attributes);
    let mut body = Vec::new();
    body.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&withdrawn);
    body.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&attributes);
    body.extend_from_slice(&bytes(nlri));
    message(2, &hex::encode(body))
}

/// A header claiming `length` and `message_type`, followed by `body` (hex).
fn raw(length: u16, message_type: u8, body: &str) -> Vec<u8> {
    let mut out = vec![0xff; 16];
    out.extend_from_slice(&length.to_be_bytes());
    out.push(message_type);
    out.extend_from_slice(&bytes(body));
    out
}

/// ORIGIN IGP, empty AS_PATH, NEXT_HOP 198.18.0.1: enough to announce.
const BASE: &str = "40010100 400200 400304c6120001";
/// A /24 in the classic NLRI field.
const ONE_PREFIX: &str = "18c61301";

/// What a row expects.
struct Expected {
    code: u8,
    subcode: u8,
    data: &'static str,
    action: ErrorAction,
    offset: Option<usize>,
}

const fn expect(code: u8, subcode: u8, data: &'static str, action: ErrorAction) -> Expected {
    Expected {
        code,
        subcode,
        data,
        action,
        offset: None,
    }
}

const fn at(expected: Expected, offset: usize) -> Expected {
    Expected {
        offset: Some(offset),
        ..expected
    }
}

use ErrorAction::{
    AttributeDiscard as DISCARD, SessionReset as RESET, TreatAsWithdraw as WITHDRAW,
};

/// The error a message produces: from framing, from decoding, or reported
/// inside the UPDATE (treat-as-withdraw first, then the first discard).
fn outcome(wire: &[u8], context: &CodecContext) -> Option<WireError> {
    let framed = frame_length(wire, context);
    let decoded = Message::decode(wire, context);
    match framed {
        Err(error) => {
            assert_eq!(
                decoded.as_ref().err(),
                Some(&error),
                "decode agrees with framing"
            );
            Some(error)
        }
        Ok(length) => {
            assert_eq!(length, Some(wire.len()), "a whole message is framed");
            match decoded {
                Err(error) => Some(error),
                Ok(Message::Update(update)) => update
                    .treat_as_withdraw
                    .or_else(|| update.discarded.into_iter().next()),
                Ok(_) => None,
            }
        }
    }
}

fn check(name: &str, wire: Vec<u8>, context: &CodecContext, expected: Option<Expected>) {
    let found = outcome(&wire, context);
    match (found, expected) {
        (None, None) => {}
        (Some(error), Some(expected)) => {
            assert_eq!(
                (error.code, error.subcode),
                (expected.code, expected.subcode),
                "{name}: {error}"
            );
            assert_eq!(
                hex::encode(&error.data),
                expected.data.replace(' ', ""),
                "{name}: data"
            );
            assert_eq!(error.action, expected.action, "{name}: action");
            if let Some(offset) = expected.offset {
                assert_eq!(error.offset, offset, "{name}: offset ({error})");
            }
        }
        (found, expected) => panic!(
            "{name}: found {found:?}, expected error: {}",
            expected.is_some()
        ),
    }
}

#[test]
fn header_errors() {
    let context = CodecContext::new();
    let mut bad_marker = raw(19, 4, "");
    bad_marker[15] = 0xfe;
    let cases: Vec<(&str, Vec<u8>, Option<Expected>)> = vec![
        ("marker", bad_marker, Some(at(expect(1, 1, "", RESET), 15))),
        (
            "length 18",
            raw(18, 4, ""),
            Some(at(expect(1, 2, "0012", RESET), 16)),
        ),
        (
            "length 4097",
            raw(4097, 2, ""),
            Some(expect(1, 2, "1001", RESET)),
        ),
        (
            "type 6",
            raw(19, 6, ""),
            Some(at(expect(1, 3, "06", RESET), 18)),
        ),
        ("type 0", raw(19, 0, ""), Some(expect(1, 3, "00", RESET))),
        (
            "OPEN 28",
            raw(28, 1, "04fc0000b4c6120001"),
            Some(expect(1, 2, "001c", RESET)),
        ),
        ("OPEN 29", raw(29, 1, "04fc0000b4c612000100"), None),
        (
            "UPDATE 22",
            raw(22, 2, "000000"),
            Some(expect(1, 2, "0016", RESET)),
        ),
        ("UPDATE 23", raw(23, 2, "00000000"), None),
        (
            "KEEPALIVE 20",
            raw(20, 4, "00"),
            Some(expect(1, 2, "0014", RESET)),
        ),
        (
            "NOTIFICATION 20",
            raw(20, 3, "06"),
            Some(expect(1, 2, "0014", RESET)),
        ),
        ("NOTIFICATION 21", raw(21, 3, "0602"), None),
        (
            "ROUTE-REFRESH 22",
            raw(22, 5, "000100"),
            Some(expect(1, 2, "0016", RESET)),
        ),
        ("ROUTE-REFRESH 23", raw(23, 5, "00010001"), None),
        (
            "ROUTE-REFRESH 24 request",
            raw(24, 5, "0001000100"),
            Some(expect(1, 2, "0018", RESET)),
        ),
        (
            "ROUTE-REFRESH 24 BoRR",
            raw(24, 5, "0001010100"),
            Some(expect(
                7,
                1,
                "ffffffffffffffffffffffffffffffff 0018 05 0001010100",
                RESET,
            )),
        ),
    ];
    for (name, wire, expected) in cases {
        check(name, wire, &context, expected);
    }
}

#[test]
fn length_limits_follow_extended_messages() {
    let mut context = CodecContext::new();
    assert!(frame_length(&raw(4096, 2, ""), &context).unwrap().is_none());
    assert!(frame_length(&raw(4097, 2, ""), &context).is_err());
    context.extended_message = true;
    assert!(frame_length(&raw(4097, 2, ""), &context).unwrap().is_none());
    assert!(
        frame_length(&raw(65535, 2, ""), &context)
            .unwrap()
            .is_none()
    );
}

#[test]
fn message_must_be_exactly_one_frame() {
    let context = CodecContext::new();
    let mut long = raw(19, 4, "");
    long.push(0);
    let error = Message::decode(&long, &context).unwrap_err();
    assert_eq!(
        (error.code, error.subcode, error.data.clone()),
        (1, 2, vec![0, 19])
    );
    let error = Message::decode(&raw(23, 2, "00"), &context).unwrap_err();
    assert_eq!((error.code, error.subcode), (1, 2));
}

#[test]
fn open_errors() {
    let context = CodecContext::new();
    let cases: Vec<(&str, Vec<u8>, Option<Expected>)> = vec![
        (
            "parameter type 1",
            message(1, "04 fc00 00b4 c6120001 04 01 02 abcd"),
            Some(at(expect(2, 4, "", RESET), 29)),
        ),
        (
            "parameters length too long",
            message(1, "04 fc00 00b4 c6120001 09 02 06 4104 0000fc00"),
            Some(expect(2, 0, "", RESET)),
        ),
        (
            "parameters length too short",
            message(1, "04 fc00 00b4 c6120001 07 02 06 4104 0000fc00"),
            Some(expect(2, 0, "", RESET)),
        ),
        (
            "capability overruns parameter",
            message(1, "04 fc00 00b4 c6120001 06 02 04 4104 0000"),
            Some(expect(2, 0, "", RESET)),
        ),
        (
            "4-octet AS of 2 bytes",
            message(1, "04 fc00 00b4 c6120001 06 02 04 4102 fc00"),
            Some(expect(2, 0, "", RESET)),
        ),
        (
            "ADD-PATH mode 4",
            message(1, "04 fc00 00b4 c6120001 08 02 06 4504 0001 0104"),
            Some(expect(2, 0, "", RESET)),
        ),
        (
            "empty parameter",
            message(1, "04 fc00 00b4 c6120001 02 02 00"),
            None,
        ),
        (
            "hostname with bad UTF-8",
            message(1, "04 fc00 00b4 c6120001 08 02 06 4904 02 ff fe 00"),
            None,
        ),
        (
            "hostname length past the end",
            message(1, "04 fc00 00b4 c6120001 05 02 03 4901 09"),
            Some(expect(2, 0, "", RESET)),
        ),
    ];
    for (name, wire, expected) in cases {
        check(name, wire, &context, expected);
    }
}

#[test]
fn update_field_errors() {
    let context = CodecContext::new();
    let cases: Vec<(&str, Vec<u8>, Option<Expected>)> = vec![
        (
            "withdrawn length past the end",
            message(2, "0009 18c61301 0000"),
            Some(expect(3, 1, "", RESET)),
        ),
        (
            "attribute length past the end",
            message(2, "0000 0009 40010100"),
            Some(expect(3, 1, "", RESET)),
        ),
        (
            "NLRI /33",
            update("", BASE, "21c6130101ff"),
            Some(at(expect(3, 10, "", RESET), 37)),
        ),
        (
            "withdrawn /33",
            update("21c6130101ff", "", ""),
            Some(at(expect(3, 10, "", RESET), 21)),
        ),
        (
            "NLRI overrun",
            update("", BASE, "18c613"),
            Some(expect(3, 10, "", RESET)),
        ),
        (
            "withdraw-only without attributes",
            update(ONE_PREFIX, "", ""),
            None,
        ),
        (
            "MP_REACH /129",
            update(
                "",
                "800e16 0002 01 10 20010db8000000000000000000000001 00 81",
                "",
            ),
            Some(expect(
                3,
                9,
                "800e16 0002 01 10 20010db8000000000000000000000001 00 81",
                RESET,
            )),
        ),
        (
            "MP_UNREACH /129",
            update("", "800f04 0002 01 81", ""),
            Some(expect(3, 9, "800f04 0002 01 81", RESET)),
        ),
        (
            "MP_REACH IPv6 next hop of 4 bytes",
            update("", "800e0a 0002 01 04 c6120001 00 00", ""),
            Some(expect(3, 9, "800e0a 0002 01 04 c6120001 00 00", RESET)),
        ),
        (
            "MP_REACH of 2 bytes",
            update("", "800e02 0002", ""),
            Some(expect(3, 9, "800e02 0002", RESET)),
        ),
    ];
    for (name, wire, expected) in cases {
        check(name, wire, &context, expected);
    }
}

#[test]
fn attribute_errors() {
    let context = CodecContext::new();
    let with = |attributes: &str| update("", attributes, ONE_PREFIX);
    let cases: Vec<(&str, Vec<u8>, Option<Expected>)> = vec![
        ("valid", with(BASE), None),
        (
            "ORIGIN flags",
            with("c0010100 400200 400304c6120001"),
            Some(at(expect(3, 4, "c0010100", WITHDRAW), 23)),
        ),
        (
            "ORIGIN length 2",
            with("4001020000 400200 400304c6120001"),
            Some(expect(3, 5, "4001020000", WITHDRAW)),
        ),
        (
            "ORIGIN value 3",
            with("40010103 400200 400304c6120001"),
            Some(expect(3, 6, "40010103", WITHDRAW)),
        ),
        (
            "AS_PATH segment overrun",
            with("40010100 40020602030000fc00 400304c6120001"),
            Some(at(expect(3, 11, "", WITHDRAW), 30)),
        ),
        (
            "AS_PATH empty segment",
            with("40010100 4002020200 400304c6120001"),
            Some(expect(3, 11, "", WITHDRAW)),
        ),
        (
            "AS_PATH segment type 5",
            with("40010100 40020605010000fc00 400304c6120001"),
            Some(expect(3, 11, "", WITHDRAW)),
        ),
        (
            "AS_PATH lone trailing octet",
            with("40010100 40020702010000fc0002 400304c6120001"),
            Some(expect(3, 11, "", WITHDRAW)),
        ),
        (
            "NEXT_HOP length 5",
            with("40010100 400200 400305c612000100"),
            Some(expect(3, 5, "400305c612000100", WITHDRAW)),
        ),
        (
            "NEXT_HOP 0.0.0.0",
            with("40010100 400200 40030400000000"),
            Some(expect(3, 8, "40030400000000", WITHDRAW)),
        ),
        (
            "NEXT_HOP multicast",
            with("40010100 400200 400304e0000001"),
            Some(expect(3, 8, "400304e0000001", WITHDRAW)),
        ),
        (
            "NEXT_HOP bad without classic NLRI",
            update("", "40010100 400200 40030400000000", ""),
            Some(expect(3, 8, "40030400000000", DISCARD)),
        ),
        (
            "missing ORIGIN",
            with("400200 400304c6120001"),
            Some(expect(3, 3, "01", WITHDRAW)),
        ),
        (
            "missing AS_PATH",
            with("40010100 400304c6120001"),
            Some(expect(3, 3, "02", WITHDRAW)),
        ),
        (
            "missing NEXT_HOP",
            with("40010100 400200"),
            Some(expect(3, 3, "03", WITHDRAW)),
        ),
        (
            "MED length 3",
            with("40010100 400200 400304c6120001 800403000000"),
            Some(expect(3, 5, "800403000000", WITHDRAW)),
        ),
        (
            "ATOMIC_AGGREGATE length 1",
            with("40010100 400200 400304c6120001 40060100"),
            Some(expect(3, 5, "40060100", DISCARD)),
        ),
        (
            "AGGREGATOR length 7",
            with("40010100 400200 400304c6120001 c00707 0000fc00 c61200"),
            Some(expect(3, 5, "c00707 0000fc00 c61200", DISCARD)),
        ),
        (
            "COMMUNITIES length 5",
            with("40010100 400200 400304c6120001 c00805 fc00006400"),
            Some(expect(3, 5, "c00805 fc00006400", WITHDRAW)),
        ),
        (
            "COMMUNITIES flags non-transitive",
            with("40010100 400200 400304c6120001 800804 fc000064"),
            Some(expect(3, 4, "800804 fc000064", WITHDRAW)),
        ),
        (
            "ORIGINATOR_ID length 3",
            with("40010100 400200 400304c6120001 800903 c61200"),
            Some(expect(3, 5, "800903 c61200", WITHDRAW)),
        ),
        (
            "CLUSTER_LIST length 6",
            with("40010100 400200 400304c6120001 800a06 c6120001 0000"),
            Some(expect(3, 5, "800a06 c6120001 0000", WITHDRAW)),
        ),
        (
            "CLUSTER_LIST empty",
            with("40010100 400200 400304c6120001 800a00"),
            Some(expect(3, 5, "800a00", WITHDRAW)),
        ),
        (
            "EXTENDED_COMMUNITIES length 7",
            with("40010100 400200 400304c6120001 c01007 00020000fc0000"),
            Some(expect(3, 5, "c01007 00020000fc0000", WITHDRAW)),
        ),
        (
            "LARGE_COMMUNITY length 11",
            with("40010100 400200 400304c6120001 c0200b 0000fc00 00000001 000000"),
            Some(expect(3, 5, "c0200b 0000fc00 00000001 000000", WITHDRAW)),
        ),
        (
            "duplicate ORIGIN",
            with("40010100 40010102 400200 400304c6120001"),
            Some(expect(3, 1, "", DISCARD)),
        ),
        (
            "duplicate MP_REACH",
            update(
                "",
                "800e0900010104c612000100 800e0900010104c612000100 40010100 400200",
                "",
            ),
            Some(expect(3, 1, "", RESET)),
        ),
        (
            "unrecognized well-known",
            with("40630100 40010100 400200 400304c6120001"),
            Some(expect(3, 2, "40630100", RESET)),
        ),
        (
            "attribute overruns section",
            with("40010100 400200 400304c6120001 40050500"),
            Some(expect(3, 1, "", WITHDRAW)),
        ),
        (
            "lone octet at end of section",
            with("40010100 400200 400304c6120001 40"),
            Some(expect(3, 1, "", WITHDRAW)),
        ),
        (
            "MP_REACH overruns section",
            with("40010100 400200 400304c6120001 800e0900"),
            Some(expect(3, 1, "", RESET)),
        ),
        (
            "MP_REACH for an unknown family",
            update("", "800e0a 0019 46 04c6120001 00 00 40010100 400200", ""),
            Some(expect(3, 9, "800e0a 0019 46 04c6120001 00 00", DISCARD)),
        ),
    ];
    for (name, wire, expected) in cases {
        check(name, wire, &context, expected);
    }
}

#[test]
fn local_pref_of_wrong_length_is_treat_as_withdraw() {
    let wire = update("", "40010100 400200 400304c6120001 4005020000", ONE_PREFIX);
    check(
        "LOCAL_PREF length 2",
        wire,
        &CodecContext::new(),
        Some(expect(3, 5, "4005020000", WITHDRAW)),
    );
}

#[test]
fn mp_reach_for_a_family_not_negotiated_is_discarded() {
    let mut context = CodecContext::new();
    context.families.remove(&Family::IPV6_UNICAST);
    let attribute = "800e1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001";
    let wire = update("", &format!("{attribute} 40010100 400200"), "");
    check(
        "MP_REACH IPv6 not negotiated",
        wire.clone(),
        &context,
        Some(expect(3, 9, attribute, DISCARD)),
    );
    let Message::Update(update) = Message::decode(&wire, &context).unwrap() else {
        panic!()
    };
    assert!(update.mp_reach.is_none());
    assert!(update.treat_as_withdraw.is_none());
}

#[test]
fn two_octet_session_attribute_errors() {
    let context = CodecContext::legacy();
    let cases: Vec<(&str, Vec<u8>, Option<Expected>)> = vec![
        (
            "AS4_PATH malformed",
            update(
                "",
                "40010100 40020402015ba0 400304c6120001 c0110602020000fc00",
                ONE_PREFIX,
            ),
            Some(expect(3, 9, "c0110602020000fc00", DISCARD)),
        ),
        (
            "AGGREGATOR of 8 bytes on a 2-octet session",
            update(
                "",
                "40010100 400200 400304c6120001 c00708 0000fc00 c6120001",
                ONE_PREFIX,
            ),
            Some(expect(3, 5, "c00708 0000fc00 c6120001", DISCARD)),
        ),
        (
            "AS_PATH of 4-octet numbers on a 2-octet session",
            update(
                "",
                "40010100 40020a 0202 0000fc00 0000fc01 400304c6120001",
                ONE_PREFIX,
            ),
            Some(at(expect(3, 11, "", WITHDRAW), 36)),
        ),
    ];
    for (name, wire, expected) in cases {
        check(name, wire, &context, expected);
    }
}

#[test]
fn first_duplicate_wins() {
    let wire = update("", "40010100 40010102 400200 400304c6120001", ONE_PREFIX);
    let Message::Update(update) = Message::decode(&wire, &CodecContext::new()).unwrap() else {
        panic!()
    };
    assert_eq!(update.attributes.origin, Some(bgp::wire::Origin::Igp));
    assert!(update.treat_as_withdraw.is_none());
}

#[test]
fn truncating_any_valid_message_never_panics() {
    let context = CodecContext::new();
    let valid = update(
        "18c61309",
        "40010100 4002060201 0000fc00 400304c6120001 c00804fc000064",
        ONE_PREFIX,
    );
    for end in 0..valid.len() {
        let mut cut = valid[..end].to_vec();
        if cut.len() >= 18 {
            let length = u16::try_from(cut.len()).unwrap().to_be_bytes();
            cut[16] = length[0];
            cut[17] = length[1];
        }
        let _ = frame_length(&cut, &context);
        let _ = Message::decode(&cut, &context);
    }
}
