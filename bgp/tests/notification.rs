//! NOTIFICATION helpers: names, constructors for the session's errors, the
//! RFC 9003 shutdown communication, the RFC 8538 Hard Reset, and the JSON
//! form of decoded messages.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp::wire::{
    Capability, CodecContext, Family, Message, Notification, Origin, PathAttributes, Update, code,
    subcode,
};

#[test]
fn every_code_and_subcode_has_its_iana_name() {
    let table: &[(u8, u8, &str, &str)] = &[
        (1, 1, "Message Header Error", "Connection Not Synchronized"),
        (1, 2, "Message Header Error", "Bad Message Length"),
        (1, 3, "Message Header Error", "Bad Message Type"),
        (2, 1, "OPEN Message Error", "Unsupported Version Number"),
        (2, 2, "OPEN Message Error", "Bad Peer AS"),
        (2, 3, "OPEN Message Error", "Bad BGP Identifier"),
        (2, 4, "OPEN Message Error", "Unsupported Optional Parameter"),
        (2, 6, "OPEN Message Error", "Unacceptable Hold Time"),
        (2, 7, "OPEN Message Error", "Unsupported Capability"),
        (2, 11, "OPEN Message Error", "Role Mismatch"),
        (3, 1, "UPDATE Message Error", "Malformed Attribute List"),
        (
            3,
            2,
            "UPDATE Message Error",
            "Unrecognized Well-known Attribute",
        ),
        (3, 3, "UPDATE Message Error", "Missing Well-known Attribute"),
        (3, 4, "UPDATE Message Error", "Attribute Flags Error"),
        (3, 5, "UPDATE Message Error", "Attribute Length Error"),
        (3, 6, "UPDATE Message Error", "Invalid ORIGIN Attribute"),
        (3, 8, "UPDATE Message Error", "Invalid NEXT_HOP Attribute"),
        (3, 9, "UPDATE Message Error", "Optional Attribute Error"),
        (3, 10, "UPDATE Message Error", "Invalid Network Field"),
        (3, 11, "UPDATE Message Error", "Malformed AS_PATH"),
        (4, 0, "Hold Timer Expired", "Unspecific"),
        (
            5,
            1,
            "Finite State Machine Error",
            "Receive Unexpected Message in OpenSent State",
        ),
        (
            5,
            2,
            "Finite State Machine Error",
            "Receive Unexpected Message in OpenConfirm State",
        ),
        (
            5,
            3,
            "Finite State Machine Error",
            "Receive Unexpected Message in Established State",
        ),
        (6, 1, "Cease", "Maximum Number of Prefixes Reached"),
        (6, 2, "Cease", "Administrative Shutdown"),
        (6, 3, "Cease", "Peer De-configured"),
        (6, 4, "Cease", "Administrative Reset"),
        (6, 5, "Cease", "Connection Rejected"),
        (6, 6, "Cease", "Other Configuration Change"),
        (6, 7, "Cease", "Connection Collision Resolution"),
        (6, 8, "Cease", "Out of Resources"),
        (6, 9, "Cease", "Hard Reset"),
        (6, 10, "Cease", "BFD Down"),
        (
            7,
            1,
            "ROUTE-REFRESH Message Error",
            "Invalid Message Length",
        ),
        (8, 0, "Send Hold Timer Expired", "Unspecific"),
        (9, 1, "Unknown", "Unknown"),
        (6, 200, "Cease", "Unknown"),
    ];
    for (error_code, error_subcode, code_name, subcode_name) in table {
        let notification = Notification::new(*error_code, *error_subcode, Vec::new());
        assert_eq!(
            (notification.code_name(), notification.subcode_name()),
            (*code_name, *subcode_name),
            "{error_code}/{error_subcode}"
        );
    }
}

#[test]
fn session_error_constructors_carry_rfc_data() {
    assert_eq!(
        Notification::unsupported_version(4),
        Notification::new(2, 1, vec![0, 4])
    );
    assert_eq!(Notification::bad_peer_as(), Notification::new(2, 2, vec![]));
    assert_eq!(
        Notification::bad_bgp_identifier(),
        Notification::new(2, 3, vec![])
    );
    assert_eq!(
        Notification::unacceptable_hold_time(),
        Notification::new(2, 6, vec![])
    );
    assert_eq!(
        Notification::role_mismatch(),
        Notification::new(2, 11, vec![])
    );
    assert_eq!(
        Notification::hold_timer_expired(),
        Notification::new(4, 0, vec![])
    );
    assert_eq!(
        Notification::fsm_error(subcode::fsm::UNEXPECTED_IN_OPEN_CONFIRM),
        Notification::new(5, 2, vec![])
    );
    assert_eq!(
        Notification::cease(subcode::cease::PEER_DECONFIGURED),
        Notification::new(6, 3, vec![])
    );
    assert_eq!(
        Notification::maximum_prefixes(Family::IPV6_UNICAST, 1000),
        Notification::new(6, 1, vec![0, 2, 1, 0, 0, 0x03, 0xe8])
    );
    let unsupported =
        Notification::unsupported_capability(&[Capability::FourOctetAs { asn: 64512 }]);
    assert_eq!(
        unsupported,
        Notification::new(2, 7, vec![65, 4, 0, 0, 0xfc, 0])
    );
    assert_eq!(code::CEASE, 6);
}

#[test]
fn shutdown_communication_is_cut_to_255_bytes_on_a_character() {
    let long = "é".repeat(200); // 400 bytes of UTF-8
    let notification = Notification::shutdown(subcode::cease::ADMINISTRATIVE_RESET, &long);
    assert_eq!(notification.data[0], 254);
    assert_eq!(notification.data.len(), 255);
    assert_eq!(notification.shutdown_communication(), Some("é".repeat(127)));
    assert_eq!(Notification::shutdown(2, "").data, Vec::<u8>::new());
}

#[test]
fn shutdown_communication_tolerates_bad_data() {
    // Length 10 but only 3 bytes follow; invalid UTF-8; length 0; wrong subcode.
    assert_eq!(
        Notification::new(6, 2, vec![10, b'a', b'b', b'c'])
            .shutdown_communication()
            .as_deref(),
        Some("abc")
    );
    assert_eq!(
        Notification::new(6, 2, vec![2, 0xff, b'x'])
            .shutdown_communication()
            .as_deref(),
        Some("\u{fffd}x")
    );
    assert_eq!(
        Notification::new(6, 2, vec![0]).shutdown_communication(),
        None
    );
    assert_eq!(
        Notification::new(6, 2, vec![]).shutdown_communication(),
        None
    );
    assert_eq!(
        Notification::new(6, 3, vec![1, b'a']).shutdown_communication(),
        None
    );
    assert_eq!(
        Notification::new(3, 2, vec![1, b'a']).shutdown_communication(),
        None
    );
}

#[test]
fn hard_reset_wraps_and_unwraps() {
    let inner = Notification::shutdown(2, "bye");
    let hard = Notification::hard_reset(&inner);
    assert_eq!((hard.code, hard.subcode), (6, 9));
    assert_eq!(hard.data[..2], [6, 2]);
    assert_eq!(hard.inner(), Some(inner));
    assert_eq!(Notification::new(6, 9, vec![6]).inner(), None);
    assert_eq!(Notification::new(6, 2, vec![6, 2]).inner(), None);
}

#[test]
fn json_is_readable() {
    let notification = Notification::hard_reset(&Notification::shutdown(2, "maintenance"));
    let json = serde_json::to_value(Message::Notification(notification)).unwrap();
    assert_eq!(json["type"], "notification");
    assert_eq!(json["code_name"], "Cease");
    assert_eq!(json["subcode_name"], "Hard Reset");
    assert_eq!(json["inner"]["shutdown_communication"], "maintenance");

    let wire = {
        let update = Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                communities: vec![0xfc00_0064],
                extended_communities: vec![bgp::wire::ExtendedCommunity::route_target(64512, 100)],
                ..PathAttributes::default()
            },
            withdrawn: vec![bgp::wire::Nlri::new("198.19.1.0/24".parse().unwrap())],
            ..Update::default()
        };
        Message::Update(update)
            .to_bytes(&CodecContext::new())
            .unwrap()
    };
    let decoded = Message::decode(&wire, &CodecContext::new()).unwrap();
    let json = serde_json::to_value(&decoded).unwrap();
    assert_eq!(json["withdrawn"][0]["prefix"], "198.19.1.0/24");
    assert!(json["withdrawn"][0].get("path_id").is_none());
    assert_eq!(json["attributes"]["communities"][0], "64512:100");
    assert_eq!(
        json["attributes"]["extended_communities"][0],
        "rt:64512:100"
    );
    assert_eq!(json["attributes"]["origin"], "igp");
}
