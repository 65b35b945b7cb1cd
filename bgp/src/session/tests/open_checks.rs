//! The OPEN checks of RFC 4271 §6.2 (with RFC 5492, 6286, 6793, 7607): each
//! bad field gets its exact NOTIFICATION, and the FSM sends it and closes.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Instant;

use crate::wire::{
    AS_TRANS, AddPathFamily, AddPathMode, Capability, Family, Message, Notification, Open,
};

use super::super::config::RequiredCapability;
use super::super::{ExpectedPeerAs, SessionConfig, State, check_open};
use super::{
    LOCAL_AS, LOCAL_ID, config, drain, open_with, outbound, peer_open, received, sent_messages,
    session_in, summarize,
};

fn notification(code: u8, subcode: u8, data: &[u8]) -> Result<(), Notification> {
    Err(Notification {
        code,
        subcode,
        data: data.to_vec(),
    })
}

fn ebgp_config() -> SessionConfig {
    let mut config = config();
    config.peer_as = ExpectedPeerAs::Exact(65001);
    config
}

/// An OPEN from AS `asn`, with AS_TRANS in the 2-octet field when needed.
fn open_from(asn: u32) -> Open {
    let mut open = peer_open();
    open.my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
    for capability in &mut open.capabilities {
        if let Capability::FourOctetAs { asn: value } = capability {
            *value = asn;
        }
    }
    open
}

#[test]
fn each_bad_field_gets_its_notification() {
    let without_four_octet: Vec<Capability> = peer_open()
        .capabilities
        .into_iter()
        .filter(|capability| !matches!(capability, Capability::FourOctetAs { .. }))
        .collect();
    let four_byte_config = || {
        let mut config = config();
        config.peer_as = ExpectedPeerAs::Exact(4_200_000_000);
        config
    };
    type Case = (&'static str, SessionConfig, Open, Result<(), Notification>);
    let cases: Vec<Case> = vec![
        ("a clean iBGP OPEN", config(), peer_open(), Ok(())),
        (
            "version 3",
            config(),
            Open {
                version: 3,
                ..peer_open()
            },
            notification(2, 1, &[0, 4]),
        ),
        (
            "version 5",
            config(),
            Open {
                version: 5,
                ..peer_open()
            },
            notification(2, 1, &[0, 4]),
        ),
        (
            "unexpected AS",
            config(),
            open_from(65001),
            notification(2, 2, &[]),
        ),
        ("expected eBGP AS", ebgp_config(), open_from(65001), Ok(())),
        (
            "AS 0 (RFC 7607)",
            ebgp_config(),
            open_from(0),
            notification(2, 2, &[]),
        ),
        (
            "4-octet AS in the capability",
            four_byte_config(),
            open_from(4_200_000_000),
            Ok(()),
        ),
        (
            "4-octet AS without the capability: only AS_TRANS is seen",
            four_byte_config(),
            Open {
                my_as: AS_TRANS,
                capabilities: without_four_octet.clone(),
                ..peer_open()
            },
            notification(2, 2, &[]),
        ),
        (
            "AS_TRANS claimed as the real AS",
            SessionConfig {
                peer_as: ExpectedPeerAs::Any,
                ..config()
            },
            Open {
                my_as: AS_TRANS,
                capabilities: without_four_octet.clone(),
                ..peer_open()
            },
            notification(2, 2, &[]),
        ),
        (
            "2-octet field neither AS_TRANS nor the 4-octet AS",
            ebgp_config(),
            Open {
                my_as: 65002,
                ..open_from(65001)
            },
            notification(2, 2, &[]),
        ),
        (
            "2-octet AS with no capability at all",
            ebgp_config(),
            Open {
                my_as: 65001,
                capabilities: without_four_octet,
                ..peer_open()
            },
            Ok(()),
        ),
        (
            "any AS of a listen range",
            SessionConfig {
                peer_as: ExpectedPeerAs::OneOf(BTreeSet::from([65001, 65002])),
                ..config()
            },
            open_from(65002),
            Ok(()),
        ),
        (
            "an AS outside the listen range's set",
            SessionConfig {
                peer_as: ExpectedPeerAs::OneOf(BTreeSet::from([65001, 65002])),
                ..config()
            },
            open_from(65003),
            notification(2, 2, &[]),
        ),
        (
            "hold time 1",
            config(),
            Open {
                hold_time: 1,
                ..peer_open()
            },
            notification(2, 6, &[]),
        ),
        (
            "hold time 2",
            config(),
            Open {
                hold_time: 2,
                ..peer_open()
            },
            notification(2, 6, &[]),
        ),
        (
            "hold time 0",
            config(),
            Open {
                hold_time: 0,
                ..peer_open()
            },
            Ok(()),
        ),
        (
            "hold time 3",
            config(),
            Open {
                hold_time: 3,
                ..peer_open()
            },
            Ok(()),
        ),
        (
            "identifier 0.0.0.0",
            config(),
            Open {
                bgp_identifier: Ipv4Addr::UNSPECIFIED,
                ..peer_open()
            },
            notification(2, 3, &[]),
        ),
        (
            "our identifier on iBGP (RFC 6286 §2.2)",
            config(),
            Open {
                bgp_identifier: LOCAL_ID,
                ..peer_open()
            },
            notification(2, 3, &[]),
        ),
        (
            "our identifier on eBGP is allowed (RFC 6286 §2.2)",
            ebgp_config(),
            Open {
                bgp_identifier: LOCAL_ID,
                ..open_from(65001)
            },
            Ok(()),
        ),
    ];
    for (label, config, open, expected) in cases {
        assert_eq!(check_open(&config, &open), expected, "{label}");
    }
}

#[test]
fn missing_required_capabilities_are_named_in_the_data() {
    let mut config = config();
    config.required_capabilities =
        BTreeSet::from([RequiredCapability::Family(Family::IPV6_UNICAST)]);
    let only_ipv4 = open_with(vec![
        Capability::Multiprotocol {
            family: Family::IPV4_UNICAST,
        },
        Capability::FourOctetAs { asn: LOCAL_AS },
    ]);
    // Our IPv6 unicast multiprotocol tuple: code 1, length 4, AFI 2, 0, SAFI 1.
    assert_eq!(
        check_open(&config, &only_ipv4),
        notification(2, 7, &[1, 4, 0, 2, 0, 1])
    );
    assert_eq!(check_open(&config, &peer_open()), Ok(()));

    config.required_capabilities = BTreeSet::from([
        RequiredCapability::RouteRefresh,
        RequiredCapability::FourOctetAs,
    ]);
    let bare = open_with(vec![]);
    // Both tuples, in the set's order: route refresh (2, 0), then 4-octet AS
    // (65, 4, our AS 64512 = 0x0000fc00).
    assert_eq!(
        check_open(&config, &bare),
        notification(2, 7, &[2, 0, 65, 4, 0, 0, 0xfc, 0])
    );
    // The pre-standard route refresh code 128 satisfies a route refresh requirement.
    let old_style = open_with(vec![
        Capability::Unknown {
            code: 128,
            value: vec![],
        },
        Capability::FourOctetAs { asn: LOCAL_AS },
    ]);
    assert_eq!(check_open(&config, &old_style), Ok(()));

    config
        .capabilities
        .add_path
        .insert(Family::IPV4_UNICAST, AddPathMode::Receive);
    config.required_capabilities =
        BTreeSet::from([RequiredCapability::AddPath(Family::IPV4_UNICAST)]);
    let add_path = |mode| {
        open_with(vec![Capability::AddPath {
            families: vec![AddPathFamily {
                family: Family::IPV4_UNICAST,
                mode,
            }],
        }])
    };
    assert_eq!(check_open(&config, &add_path(AddPathMode::Send)), Ok(()));
    assert_eq!(check_open(&config, &add_path(AddPathMode::Both)), Ok(()));
    // A peer that only receives cannot send us paths: our tuple (69, 4, AFI 1, SAFI 1, receive 1).
    assert_eq!(
        check_open(&config, &add_path(AddPathMode::Receive)),
        notification(2, 7, &[69, 4, 0, 1, 1, 1])
    );
}

#[test]
fn a_bad_open_is_answered_on_the_wire_and_closes() {
    let now = Instant::now();
    let mut session = session_in(config(), State::OpenSent, now);
    session.handle(
        now,
        received(
            outbound(0),
            Message::Open(Open {
                hold_time: 2,
                ..peer_open()
            }),
        ),
    );
    let actions = drain(&mut session);
    assert_eq!(
        sent_messages(&actions),
        [Message::Notification(Notification {
            code: 2,
            subcode: 6,
            data: vec![]
        })]
    );
    assert_eq!(
        summarize(&actions).last().map(String::as_str),
        Some("close outbound#0")
    );
    assert_eq!(session.state(), State::Idle);
    let status = session.status();
    assert_eq!(
        status.last_error.map(|error| error.description),
        Some(String::from(
            "sent OPEN Message Error / Unacceptable Hold Time (2/6)"
        ))
    );
    assert_eq!(status.messages_sent.notification, 1);
    assert_eq!(status.peer_router_id, None);
}

#[test]
fn our_open_carries_as_trans_for_a_four_octet_as() {
    let mut config = config();
    config.local_as = 4_200_000_000;
    let open = config.open_message();
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_000);
    assert_eq!(open.version, 4);
    assert_eq!(open.hold_time, 90);
    assert!(config.validate().is_ok());
    config.capabilities.four_octet_as = false;
    assert!(
        config.validate().is_err(),
        "a 4-octet AS cannot be spoken without the capability"
    );
}

#[test]
fn configuration_rules() {
    let with = |change: fn(&mut SessionConfig)| {
        let mut config = config();
        change(&mut config);
        config.validate()
    };
    assert!(with(|_| {}).is_ok());
    assert!(with(|config| config.hold_time = 0).is_ok());
    assert!(with(|config| config.hold_time = 3).is_ok());
    assert!(with(|config| config.hold_time = 1).is_err());
    assert!(with(|config| config.hold_time = 2).is_err());
    assert!(with(|config| config.keepalive = Some(30)).is_ok());
    assert!(with(|config| config.keepalive = Some(31)).is_err());
    assert!(with(|config| config.keepalive = Some(0)).is_err());
    assert!(with(|config| config.local_as = 0).is_err());
    assert!(with(|config| config.local_router_id = Ipv4Addr::UNSPECIFIED).is_err());
    assert!(with(|config| config.connect_retry_cap = super::seconds(1)).is_err());
}
