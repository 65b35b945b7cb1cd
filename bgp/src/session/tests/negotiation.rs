//! What two OPENs agree on: hold and keepalive, families, ADD-PATH in each
//! direction, 4-octet AS, extended next hop and messages, graceful restart,
//! hostname, and the codec contexts derived from it all.

use std::collections::BTreeSet;

use crate::wire::{
    AS_TRANS, AddPathFamily, AddPathMode, Afi, Capability, ExtendedNextHopEntry, Family,
    GracefulRestart, GracefulRestartFamily, Notification, Open,
};

use super::super::{SessionConfig, SessionDownReason, negotiate};
use super::{LOCAL_AS, config, open_with, peer_open};

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;

#[test]
fn hold_time_is_the_smaller_and_keepalive_a_third_at_most() {
    // (our hold, our keepalive, their hold) -> (hold, keepalive)
    let cases = [
        (90, None, 90, 90, 30),
        (90, None, 180, 90, 30),
        (90, None, 9, 9, 3),
        (90, None, 3, 3, 1),
        (90, None, 0, 0, 0),
        (0, None, 90, 0, 0),
        (90, Some(10), 90, 90, 10),
        (90, Some(30), 30, 30, 10),
        (240, Some(60), 240, 240, 60),
    ];
    for (ours, keepalive, theirs, hold, expected_keepalive) in cases {
        let mut config = config();
        config.hold_time = ours;
        config.keepalive = keepalive;
        let negotiated = negotiate(
            &config,
            &Open {
                hold_time: theirs,
                ..peer_open()
            },
        );
        assert_eq!(
            (negotiated.hold_time, negotiated.keepalive),
            (hold, expected_keepalive),
            "ours {ours} keepalive {keepalive:?} theirs {theirs}"
        );
    }
}

fn families_of(list: &[Family]) -> Vec<Capability> {
    list.iter()
        .map(|family| Capability::Multiprotocol { family: *family })
        .collect()
}

#[test]
fn families_are_the_intersection_with_ipv4_implied_by_silence() {
    // (ours, theirs, negotiated); an empty list sends no multiprotocol
    // capability at all, which means IPv4 unicast only (RFC 4760 §8).
    let other = Family {
        afi: Afi(25),
        safi: crate::wire::Safi(70),
    };
    let cases: [(&[Family], &[Family], &[Family]); 7] = [
        (&[V4, V6], &[V4, V6], &[V4, V6]),
        (&[V4, V6], &[V6], &[V6]),
        (&[V4], &[V6], &[]),
        (&[V4, V6], &[], &[V4]),
        (&[], &[V4, V6], &[V4]),
        (&[V6], &[], &[]),
        (&[V4, V6], &[V4, other], &[V4]),
    ];
    for (ours, theirs, expected) in cases {
        let mut config = config();
        config.capabilities.families = ours.iter().copied().collect();
        let negotiated = negotiate(&config, &open_with(families_of(theirs)));
        let expected: BTreeSet<Family> = expected.iter().copied().collect();
        assert_eq!(
            negotiated.families, expected,
            "ours {ours:?} theirs {theirs:?}"
        );
        assert_eq!(negotiated.decode_context().families, expected);
        assert_eq!(negotiated.encode_context().families, expected);
    }
}

#[test]
fn add_path_directions_follow_the_matrix() {
    use AddPathMode::{Both, Receive, Send};
    // (ours, theirs) -> (we receive path ids, we send path ids) (RFC 7911 §4).
    let cases = [
        (None, Some(Both), false, false),
        (Some(Both), None, false, false),
        (Some(Receive), Some(Send), true, false),
        (Some(Receive), Some(Receive), false, false),
        (Some(Receive), Some(Both), true, false),
        (Some(Send), Some(Receive), false, true),
        (Some(Send), Some(Send), false, false),
        (Some(Send), Some(Both), false, true),
        (Some(Both), Some(Both), true, true),
        (Some(Both), Some(Send), true, false),
        (Some(Both), Some(Receive), false, true),
    ];
    for (ours, theirs, receive, send) in cases {
        let mut config = config();
        if let Some(mode) = ours {
            config.capabilities.add_path.insert(V6, mode);
        }
        let mut capabilities = families_of(&[V4, V6]);
        if let Some(mode) = theirs {
            capabilities.push(Capability::AddPath {
                families: vec![AddPathFamily { family: V6, mode }],
            });
        }
        let negotiated = negotiate(&config, &open_with(capabilities));
        let label = format!("ours {ours:?} theirs {theirs:?}");
        assert_eq!(
            negotiated.add_path_receive.contains(&V6),
            receive,
            "{label}"
        );
        assert_eq!(negotiated.add_path_send.contains(&V6), send, "{label}");
        assert!(!negotiated.add_path_receive.contains(&V4), "{label}");
        assert_eq!(
            negotiated.decode_context().has_path_id(V6),
            receive,
            "{label}"
        );
        assert_eq!(negotiated.encode_context().has_path_id(V6), send, "{label}");
    }
}

#[test]
fn add_path_needs_the_family_negotiated() {
    let mut config = config();
    config.capabilities.add_path.insert(V6, AddPathMode::Both);
    let capabilities = vec![
        Capability::Multiprotocol { family: V4 },
        Capability::AddPath {
            families: vec![AddPathFamily {
                family: V6,
                mode: AddPathMode::Both,
            }],
        },
    ];
    let negotiated = negotiate(&config, &open_with(capabilities));
    assert!(negotiated.add_path_receive.is_empty());
    assert!(negotiated.add_path_send.is_empty());
}

#[test]
fn four_octet_as_needs_both_sides() {
    let with_as4 = peer_open();
    let without_as4 = open_with(families_of(&[V4, V6]));
    // (we announce, they announce, negotiated)
    for (ours, theirs, expected) in [
        (true, &with_as4, true),
        (true, &without_as4, false),
        (false, &with_as4, false),
        (false, &without_as4, false),
    ] {
        let mut config = config();
        config.capabilities.four_octet_as = ours;
        let negotiated = negotiate(&config, theirs);
        assert_eq!(negotiated.four_octet_as, expected, "ours {ours}");
        assert_eq!(negotiated.decode_context().four_octet_as, expected);
        assert_eq!(negotiated.encode_context().four_octet_as, expected);
    }
}

#[test]
fn four_octet_peer_as_comes_from_the_capability() {
    let mut config = config();
    config.peer_as = super::super::ExpectedPeerAs::Exact(4_200_000_000);
    let open = Open {
        my_as: AS_TRANS,
        capabilities: vec![Capability::FourOctetAs { asn: 4_200_000_000 }],
        ..peer_open()
    };
    let negotiated = negotiate(&config, &open);
    assert_eq!(negotiated.peer_as, 4_200_000_000);
    assert!(!negotiated.internal);
    assert_eq!(negotiated.local_as, LOCAL_AS);
    assert!(negotiate(&super::config(), &peer_open()).internal);
}

#[test]
fn extended_next_hop_message_refresh_and_hostname() {
    let v4_over_v6 = ExtendedNextHopEntry {
        family: V4,
        next_hop_afi: Afi::IPV6,
    };
    let v6_over_v4 = ExtendedNextHopEntry {
        family: V6,
        next_hop_afi: Afi::IPV4,
    };
    let mut config = config();
    config.capabilities.extended_next_hop = vec![v4_over_v6, v6_over_v4];
    config.capabilities.hostname = Some((String::from("node-1"), String::new()));
    let theirs = open_with(vec![
        Capability::Multiprotocol { family: V4 },
        Capability::ExtendedNextHop {
            entries: vec![v4_over_v6],
        },
        Capability::ExtendedMessage,
        Capability::RouteRefresh,
        Capability::Hostname {
            hostname: String::from("tor-1"),
            domain: String::from("lab"),
        },
    ]);
    let negotiated = negotiate(&config, &theirs);
    assert_eq!(negotiated.extended_next_hop, vec![v4_over_v6]);
    assert!(negotiated.extended_message);
    assert_eq!(negotiated.decode_context().max_message_len(), 65535);
    assert!(negotiated.route_refresh);
    assert!(!negotiated.enhanced_route_refresh);
    assert_eq!(negotiated.peer_hostname.as_deref(), Some("tor-1"));
    assert_eq!(negotiated.peer_domain.as_deref(), Some("lab"));

    config.capabilities.extended_message = false;
    config.capabilities.route_refresh = false;
    let negotiated = negotiate(&config, &theirs);
    assert!(!negotiated.extended_message);
    assert_eq!(negotiated.encode_context().max_message_len(), 4096);
    assert!(!negotiated.route_refresh);
}

fn graceful_restart(notification: bool) -> GracefulRestart {
    GracefulRestart {
        restart_state: false,
        notification,
        restart_time: 120,
        families: vec![GracefulRestartFamily {
            family: V4,
            forwarding_state: true,
        }],
    }
}

fn with_graceful_restart(ours: Option<bool>, theirs: Option<bool>) -> super::super::Negotiated {
    let mut config: SessionConfig = config();
    config.capabilities.graceful_restart = ours.map(graceful_restart);
    let mut capabilities = families_of(&[V4]);
    if let Some(notification) = theirs {
        capabilities.push(Capability::GracefulRestart(graceful_restart(notification)));
    }
    negotiate(&config, &open_with(capabilities))
}

#[test]
fn graceful_restart_is_kept_as_received() {
    let negotiated = with_graceful_restart(Some(true), Some(true));
    assert_eq!(
        negotiated.peer_graceful_restart,
        Some(graceful_restart(true))
    );
    assert!(negotiated.graceful_restart_notification);
    assert!(!with_graceful_restart(Some(false), Some(true)).graceful_restart_notification);
    assert!(!with_graceful_restart(Some(true), Some(false)).graceful_restart_notification);
    assert_eq!(
        with_graceful_restart(Some(true), None).peer_graceful_restart,
        None
    );
}

#[test]
fn routes_are_retained_as_rfc_4724_and_8538_say() {
    let cease = |subcode| Notification {
        code: 6,
        subcode,
        data: vec![],
    };
    let tcp = SessionDownReason::ConnectionFailed {
        error: String::from("reset"),
    };
    let hold = SessionDownReason::HoldTimerExpired;
    let sent_shutdown = SessionDownReason::NotificationSent {
        notification: cease(2),
    };
    let received_hard_reset = SessionDownReason::NotificationReceived {
        notification: cease(9),
    };
    // (ours, theirs: N bit per side or no GR) -> retained for tcp, hold, shutdown, hard reset
    let cases = [
        (Some(true), Some(true), [true, true, true, false]),
        (Some(true), Some(false), [true, false, false, false]),
        (Some(false), Some(true), [true, false, false, false]),
        (Some(true), None, [false, false, false, false]),
        (None, Some(true), [false, false, false, false]),
    ];
    for (ours, theirs, expected) in cases {
        let negotiated = with_graceful_restart(ours, theirs);
        let got = [&tcp, &hold, &sent_shutdown, &received_hard_reset]
            .map(|reason| negotiated.retains_routes(reason));
        assert_eq!(got, expected, "ours {ours:?} theirs {theirs:?}");
    }
}
