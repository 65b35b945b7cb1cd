//! Connection collisions (RFC 4271 §6.8, RFC 6286 §2.3): which connection
//! survives, that the other is closed with Cease 6/7, and that the peer's
//! reported state follows the survivor.

use std::net::Ipv4Addr;
use std::time::Instant;

use crate::wire::Message;

use super::super::peer::first_loses;
use super::super::{Action, Direction, Input, Peer, SessionConfig, State};
use super::{config, inbound, outbound, peer_open, received, summarize};

fn drain(peer: &mut Peer) -> Vec<Action> {
    std::iter::from_fn(|| peer.poll_action()).collect()
}

/// A peer that connected out (outbound#0 pending), accepted the peer's
/// connection (inbound#1) first, then saw its own attempt complete: two
/// FSMs in OpenSent, one per connection.
fn two_connections(config: SessionConfig, now: Instant) -> Peer {
    let mut peer = Peer::new(config);
    peer.handle(now, Input::ManualStart);
    peer.handle(
        now,
        Input::TcpConnectionConfirmed {
            connection: inbound(1),
        },
    );
    peer.handle(
        now,
        Input::TcpConnectionSucceeded {
            connection: outbound(0),
        },
    );
    assert_eq!(peer.session().connection(), Some(inbound(1)));
    assert_eq!(
        peer.secondary()
            .and_then(|secondary| secondary.connection()),
        Some(outbound(0))
    );
    let actions = summarize(&drain(&mut peer));
    assert_eq!(
        actions,
        [
            "connect outbound#0",
            "send inbound#1 OPEN",
            "send outbound#0 OPEN"
        ]
    );
    peer
}

#[test]
fn the_connection_opened_by_the_higher_identifier_survives() {
    // (our identifier, the connection that must survive, the one closed)
    let cases = [
        (Ipv4Addr::new(198, 18, 0, 1), inbound(1), outbound(0)),
        (Ipv4Addr::new(198, 18, 0, 9), outbound(0), inbound(1)),
    ];
    for (local_id, survivor, loser) in cases {
        let now = Instant::now();
        let mut config = config();
        config.local_router_id = local_id;
        let mut peer = two_connections(config, now);
        peer.handle(now, received(inbound(1), Message::Open(peer_open())));
        assert_eq!(peer.state(), State::OpenConfirm);
        assert_eq!(
            summarize(&drain(&mut peer)),
            ["send inbound#1 KEEPALIVE"],
            "one OPEN is no collision yet"
        );
        peer.handle(now, received(outbound(0), Message::Open(peer_open())));
        let actions = drain(&mut peer);
        assert_eq!(
            summarize(&actions),
            [
                "send outbound#0 KEEPALIVE".to_string(),
                format!("send {loser} NOTIFICATION 6/7"),
                format!("close {loser}"),
            ],
            "local id {local_id}"
        );
        assert!(
            !actions
                .iter()
                .any(|action| matches!(action, Action::StateChanged { .. })),
            "the peer stays in OpenConfirm throughout: {actions:?}"
        );
        assert_eq!(peer.state(), State::OpenConfirm);
        assert_eq!(peer.session().connection(), Some(survivor));
        assert!(peer.secondary().is_none());
        peer.handle(now, received(survivor, Message::Keepalive));
        assert_eq!(peer.state(), State::Established);
        let established = drain(&mut peer);
        assert!(established.iter().any(|action| matches!(
            action,
            Action::Established { connection, .. } if *connection == survivor
        )));
        // Counters cover both connections: two OPENs out, two in.
        let status = peer.status();
        assert_eq!(status.messages_sent.open, 2);
        assert_eq!(status.messages_received.open, 2);
    }
}

#[test]
fn identifier_comparison_is_numeric_with_the_as_as_tie_break() {
    use Direction::{Inbound, Outbound};
    // (local id, local AS, peer id, peer AS, first, second) -> first loses
    let cases = [
        (1, 64512, 2, 64512, Outbound, Inbound, true),
        (1, 64512, 2, 64512, Inbound, Outbound, false),
        (2, 64512, 1, 64512, Outbound, Inbound, false),
        (2, 64512, 1, 64512, Inbound, Outbound, true),
        // 200.0.0.0 > 9.0.0.0 as u32 even though "200..." < "9..." as text.
        (0xc800_0000, 1, 0x0900_0000, 1, Inbound, Outbound, true),
        // Equal identifiers between ASes: the larger AS's connection survives.
        (5, 65002, 5, 65001, Inbound, Outbound, true),
        (5, 65001, 5, 65002, Inbound, Outbound, false),
        // Two connections of one direction cannot be told apart: keep the first.
        (1, 1, 2, 2, Inbound, Inbound, false),
    ];
    for (local_id, local_as, peer_id, peer_as, first, second, expected) in cases {
        assert_eq!(
            first_loses(local_id, local_as, peer_id, peer_as, first, second),
            expected,
            "{local_id} {local_as} {peer_id} {peer_as} {first:?} {second:?}"
        );
    }
}

#[test]
fn a_new_connection_to_an_established_peer_is_closed() {
    let now = Instant::now();
    let mut peer = Peer::new(config());
    peer.handle(now, Input::ManualStart);
    peer.handle(
        now,
        Input::TcpConnectionSucceeded {
            connection: outbound(0),
        },
    );
    peer.handle(now, received(outbound(0), Message::Open(peer_open())));
    peer.handle(now, received(outbound(0), Message::Keepalive));
    assert_eq!(peer.state(), State::Established);
    drain(&mut peer);
    peer.handle(
        now,
        Input::TcpConnectionConfirmed {
            connection: inbound(4),
        },
    );
    assert_eq!(summarize(&drain(&mut peer)), ["close inbound#4"]);
    assert_eq!(peer.state(), State::Established);
    assert!(peer.secondary().is_none());
}

#[test]
fn an_open_on_the_second_connection_loses_to_an_established_session() {
    let now = Instant::now();
    let mut peer = two_connections(config(), now);
    peer.handle(now, received(inbound(1), Message::Open(peer_open())));
    peer.handle(now, received(inbound(1), Message::Keepalive));
    assert_eq!(peer.state(), State::Established);
    drain(&mut peer);
    peer.handle(now, received(outbound(0), Message::Open(peer_open())));
    assert_eq!(
        summarize(&drain(&mut peer)),
        [
            "send outbound#0 KEEPALIVE",
            "send outbound#0 NOTIFICATION 6/7",
            "close outbound#0"
        ]
    );
    assert_eq!(peer.state(), State::Established);
    assert_eq!(peer.session().connection(), Some(inbound(1)));
}

#[test]
fn the_second_connection_takes_over_when_the_first_fails() {
    let now = Instant::now();
    let mut peer = two_connections(config(), now);
    peer.handle(
        now,
        Input::TcpConnectionFails {
            connection: inbound(1),
            error: "reset".into(),
        },
    );
    let actions = drain(&mut peer);
    assert_eq!(summarize(&actions), ["close inbound#1"]);
    assert_eq!(peer.state(), State::OpenSent);
    assert_eq!(peer.session().connection(), Some(outbound(0)));
    assert!(peer.secondary().is_none());
    peer.handle(now, received(outbound(0), Message::Open(peer_open())));
    peer.handle(now, received(outbound(0), Message::Keepalive));
    assert_eq!(peer.state(), State::Established);
}

#[test]
fn a_third_connection_is_refused_and_stop_closes_both() {
    let now = Instant::now();
    let mut peer = two_connections(config(), now);
    peer.handle(
        now,
        Input::TcpConnectionConfirmed {
            connection: inbound(2),
        },
    );
    assert_eq!(summarize(&drain(&mut peer)), ["close inbound#2"]);
    peer.handle(
        now,
        Input::ManualStop {
            communication: None,
        },
    );
    let actions = summarize(&drain(&mut peer));
    assert_eq!(
        actions,
        [
            "send inbound#1 NOTIFICATION 6/2",
            "close inbound#1",
            "send outbound#0 NOTIFICATION 6/2",
            "close outbound#0"
        ]
    );
    assert_eq!(peer.state(), State::Idle);
    assert!(peer.secondary().is_none());
}
