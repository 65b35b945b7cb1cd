//! A session over time: hold timer expiry, keepalive scheduling, route
//! refresh validation, decoding errors that do not reset, and the status.

use std::time::Instant;

use crate::wire::{ErrorAction, Family, Message, Open, RouteRefreshSubtype};

use super::super::{Action, Input, Session, SessionDownReason, State};
use super::{
    config, drain, empty_update, outbound, peer_open, received, route_refresh, seconds,
    sent_messages, session_in, state_changes, summarize, wire_error,
};

/// Established with the peer proposing `their_hold`, our hold being 90.
fn established_with_hold(their_hold: u16, now: Instant) -> Session {
    let mut session = session_in(config(), State::OpenSent, now);
    let open = Open {
        hold_time: their_hold,
        ..peer_open()
    };
    session.handle(now, received(outbound(0), Message::Open(open)));
    session.handle(now, received(outbound(0), Message::Keepalive));
    assert_eq!(session.state(), State::Established);
    drain(&mut session);
    session
}

#[test]
fn hold_timer_expiry_sends_4_0_and_reports_session_down() {
    let start = Instant::now();
    let mut session = established_with_hold(90, start);
    // Keepalives from the peer push the deadline out.
    session.handle(
        start + seconds(60),
        received(outbound(0), Message::Keepalive),
    );
    assert_eq!(session.timers().hold, Some(start + seconds(150)));
    // Our own keepalives (every 30 s) do not: drive time until the hold timer fires.
    let mut now = start + seconds(60);
    while session.state() == State::Established {
        now = session
            .next_timeout()
            .expect("timers run while Established");
        session.handle_timeout(now);
    }
    assert_eq!(now, start + seconds(150));
    let actions = drain(&mut session);
    let summary = summarize(&actions);
    // Up long enough to be stable: the automatic restart is immediate.
    assert_eq!(
        summary[summary.len() - 4..],
        [
            "send outbound#0 NOTIFICATION 4/0",
            "close outbound#0",
            "down hold-timer",
            "connect outbound#1"
        ]
    );
    assert!(actions.contains(&Action::SessionDown {
        reason: SessionDownReason::HoldTimerExpired,
        retain_routes: false
    }));
    assert_eq!(
        state_changes(&actions),
        [
            (State::Established, State::Idle),
            (State::Idle, State::Connect)
        ]
    );
    let status = session.status();
    assert_eq!(status.flap_count, 1);
    assert_eq!(
        status.last_error.map(|error| error.description),
        Some(String::from("sent Hold Timer Expired (4/0)"))
    );
}

/// Keepalives over 10 minutes of simulated time, for hold 90, 3 and 0.
#[test]
fn keepalives_follow_the_negotiated_hold_time() {
    for (hold, expected_keepalives) in [(90u16, 20u64), (3, 600), (0, 0)] {
        let start = Instant::now();
        let mut session = established_with_hold(hold, start);
        let end = start + seconds(600);
        let mut sent = 0u64;
        // The peer answers every keepalive, as a live peer would.
        while let Some(deadline) = session.next_timeout().filter(|deadline| *deadline <= end) {
            session.handle_timeout(deadline);
            for message in sent_messages(&drain(&mut session)) {
                assert_eq!(message, Message::Keepalive);
                sent += 1;
            }
            session.handle(deadline, received(outbound(0), Message::Keepalive));
        }
        assert_eq!(session.state(), State::Established, "hold {hold}");
        assert_eq!(sent, expected_keepalives, "hold {hold}");
        if hold == 0 {
            assert_eq!(session.next_timeout(), None, "hold 0 runs no timers");
        }
        assert_eq!(
            session.status().messages_sent.keepalive,
            1 + expected_keepalives
        );
    }
}

#[test]
fn open_sent_waits_four_minutes_for_the_open() {
    let start = Instant::now();
    let mut session = session_in(config(), State::OpenSent, start);
    assert_eq!(session.next_timeout(), Some(start + seconds(240)));
    session.handle_timeout(start + seconds(239));
    assert_eq!(session.state(), State::OpenSent);
    session.handle_timeout(start + seconds(240));
    assert_eq!(session.state(), State::Idle);
}

#[test]
fn route_refresh_is_validated_against_the_negotiation() {
    let now = Instant::now();
    let other = Family {
        afi: crate::wire::Afi(25),
        safi: crate::wire::Safi(70),
    };
    // (family, subtype, enhanced negotiated) -> delivered?
    let cases = [
        (
            Family::IPV4_UNICAST,
            RouteRefreshSubtype::Request,
            true,
            true,
        ),
        (
            Family::IPV6_UNICAST,
            RouteRefreshSubtype::BeginningOfRefresh,
            true,
            true,
        ),
        (
            Family::IPV6_UNICAST,
            RouteRefreshSubtype::EndOfRefresh,
            true,
            true,
        ),
        (
            Family::IPV6_UNICAST,
            RouteRefreshSubtype::BeginningOfRefresh,
            false,
            false,
        ),
        (
            Family::IPV4_UNICAST,
            RouteRefreshSubtype::Unknown(9),
            true,
            false,
        ),
        (other, RouteRefreshSubtype::Request, true, false),
    ];
    for (family, subtype, enhanced, delivered) in cases {
        let mut config = config();
        config.capabilities.enhanced_route_refresh = enhanced;
        let mut session = session_in(config, State::Established, now);
        session.handle(now, received(outbound(0), route_refresh(family, subtype)));
        let actions = drain(&mut session);
        let label = format!("{family} {subtype:?} enhanced {enhanced}");
        assert_eq!(!actions.is_empty(), delivered, "{label}");
        assert_eq!(session.state(), State::Established, "{label}");
    }
}

#[test]
fn a_route_refresh_of_bad_length_resets_with_7_1() {
    let now = Instant::now();
    let mut session = session_in(config(), State::Established, now);
    let error = wire_error(7, 1, ErrorAction::SessionReset);
    session.handle(
        now,
        Input::DecodeError {
            connection: outbound(0),
            error,
        },
    );
    assert_eq!(
        summarize(&drain(&mut session)),
        [
            "send outbound#0 NOTIFICATION 7/1",
            "close outbound#0",
            "down sent 7/1"
        ]
    );
}

#[test]
fn gentler_decoding_errors_keep_the_session() {
    for action in [ErrorAction::TreatAsWithdraw, ErrorAction::AttributeDiscard] {
        let now = Instant::now();
        let mut session = session_in(config(), State::Established, now);
        let later = now + seconds(50);
        let error = wire_error(3, 11, action);
        session.handle(
            later,
            Input::DecodeError {
                connection: outbound(0),
                error,
            },
        );
        assert!(drain(&mut session).is_empty(), "{action:?}");
        assert_eq!(session.state(), State::Established);
        assert_eq!(
            session.timers().hold,
            Some(later + seconds(90)),
            "a message arrived"
        );
        let description = session.status().last_error.map(|error| error.description);
        assert!(description.is_some_and(|text| text.starts_with("malformed message: test field")));
        // The UPDATE the codec produced alongside is delivered as usual.
        let mut update = empty_update();
        update.treat_as_withdraw = Some(wire_error(3, 11, ErrorAction::TreatAsWithdraw));
        session.handle(
            later,
            received(outbound(0), Message::Update(update.clone())),
        );
        assert_eq!(
            drain(&mut session),
            [Action::DeliverUpdate(Box::new(update))]
        );
    }
}

#[test]
fn status_counts_messages_and_uptime() {
    let start = Instant::now();
    let mut session = session_in(config(), State::Established, start);
    for _ in 0..3 {
        session.handle(
            start,
            received(outbound(0), Message::Update(empty_update())),
        );
    }
    let status = session.status();
    assert_eq!(status.messages_received.update, 3);
    assert_eq!(status.messages_received.open, 1);
    assert_eq!(status.messages_received.keepalive, 1);
    assert_eq!(status.messages_received.total(), 5);
    assert_eq!(status.messages_sent.open, 1);
    assert_eq!(status.messages_sent.keepalive, 1);
    assert_eq!(status.state, State::Established);
    assert_eq!(status.uptime(start + seconds(42)), Some(seconds(42)));
    assert_eq!(status.peer_router_id, Some(super::PEER_ID));
    assert_eq!(status.hold_time, Some(90));
    assert_eq!(status.keepalive, Some(30));
    assert!(session.decode_context().four_octet_as);
    session.handle(
        start,
        Input::ManualStop {
            communication: None,
        },
    );
    let status = session.status();
    assert_eq!(status.uptime(start + seconds(50)), None);
    assert_eq!(status.hold_time, None);
    assert!(
        !session.decode_context().four_octet_as,
        "legacy until Established"
    );
}
