//! Every (state, event) pair of RFC 4271 §8.2.2: the state reached and the
//! actions taken. Connect and Active appear twice: without a connection (the
//! usual case, where message events cannot belong to any connection and are
//! ignored) and holding a connection while DelayOpen runs (where the RFC's
//! message rules for those states apply).

use std::time::Instant;

use crate::wire::{ErrorAction, Family, Message, Open, RouteRefreshSubtype};

use super::super::notification::{maximum_prefixes_reached, shutdown};
use super::super::{ConnectionId, Input, Session, State};
use super::{
    config, drain, empty_update, inbound, outbound, peer_open, received, route_refresh, seconds,
    session_in, summarize, wire_error,
};

#[derive(Debug, Clone, Copy)]
enum Fixture {
    Idle,
    Connect,
    Active,
    ConnectDelayOpen,
    ActiveDelayOpen,
    OpenSent,
    OpenConfirm,
    Established,
}

/// The session and the connection that message and failure events use.
fn fixture(which: Fixture, now: Instant) -> (Session, ConnectionId) {
    let delayed = || {
        let mut config = config();
        config.delay_open = Some(seconds(5));
        config
    };
    match which {
        Fixture::Idle => (session_in(config(), State::Idle, now), outbound(0)),
        Fixture::Connect => (session_in(config(), State::Connect, now), outbound(0)),
        Fixture::Active => (session_in(config(), State::Active, now), outbound(0)),
        Fixture::ConnectDelayOpen => {
            let mut session = session_in(delayed(), State::Connect, now);
            session.handle(
                now,
                Input::TcpConnectionSucceeded {
                    connection: outbound(0),
                },
            );
            assert_eq!(session.state(), State::Connect);
            assert!(session.timers().delay_open.is_some());
            drain(&mut session);
            (session, outbound(0))
        }
        Fixture::ActiveDelayOpen => {
            let mut session = session_in(delayed(), State::Active, now);
            session.handle(
                now,
                Input::TcpConnectionConfirmed {
                    connection: inbound(1),
                },
            );
            assert_eq!(session.state(), State::Active);
            assert!(session.timers().delay_open.is_some());
            drain(&mut session);
            (session, inbound(1))
        }
        Fixture::OpenSent => (session_in(config(), State::OpenSent, now), outbound(0)),
        Fixture::OpenConfirm => (session_in(config(), State::OpenConfirm, now), outbound(0)),
        Fixture::Established => (session_in(config(), State::Established, now), outbound(0)),
    }
}

fn event(name: &str, connection: ConnectionId) -> Input {
    let notification = |code, subcode| {
        Message::Notification(crate::wire::Notification {
            code,
            subcode,
            data: Vec::new(),
        })
    };
    match name {
        "ManualStart" => Input::ManualStart,
        "ManualStartPassive" => Input::ManualStartPassive,
        "AutomaticStart" => Input::AutomaticStart,
        "AutomaticStartPassive" => Input::AutomaticStartPassive,
        "ManualStop" => Input::ManualStop {
            communication: Some(String::from("maintenance")),
        },
        "AutomaticStop" => Input::AutomaticStop {
            notification: maximum_prefixes_reached(Family::IPV4_UNICAST, 1000),
        },
        "ConnectRetryTimer" => Input::ConnectRetryTimerExpires,
        "HoldTimer" => Input::HoldTimerExpires,
        "KeepaliveTimer" => Input::KeepaliveTimerExpires,
        "DelayOpenTimer" => Input::DelayOpenTimerExpires,
        "IdleHoldTimer" => Input::IdleHoldTimerExpires,
        "TcpSucceeded" => Input::TcpConnectionSucceeded {
            connection: outbound(0),
        },
        "TcpConfirmed" => Input::TcpConnectionConfirmed {
            connection: inbound(7),
        },
        "TcpFails" => Input::TcpConnectionFails {
            connection,
            error: String::from("reset"),
        },
        "Open" => received(connection, Message::Open(peer_open())),
        "HeaderError" => Input::DecodeError {
            connection,
            error: wire_error(1, 2, ErrorAction::SessionReset),
        },
        "BadOpen" => received(
            connection,
            Message::Open(Open {
                version: 3,
                ..peer_open()
            }),
        ),
        "CollisionDump" => Input::OpenCollisionDump,
        "NotificationVersion" => received(connection, notification(2, 1)),
        "Notification" => received(connection, notification(6, 2)),
        "Keepalive" => received(connection, Message::Keepalive),
        "Update" => received(connection, Message::Update(empty_update())),
        "RouteRefresh" => received(
            connection,
            route_refresh(Family::IPV4_UNICAST, RouteRefreshSubtype::Request),
        ),
        "UpdateError" => Input::DecodeError {
            connection,
            error: wire_error(3, 1, ErrorAction::SessionReset),
        },
        other => unreachable!("no event {other}"),
    }
}

const EVENTS: [&str; 24] = [
    "ManualStart",
    "ManualStartPassive",
    "AutomaticStart",
    "AutomaticStartPassive",
    "ManualStop",
    "AutomaticStop",
    "ConnectRetryTimer",
    "HoldTimer",
    "KeepaliveTimer",
    "DelayOpenTimer",
    "IdleHoldTimer",
    "TcpSucceeded",
    "TcpConfirmed",
    "TcpFails",
    "Open",
    "HeaderError",
    "BadOpen",
    "CollisionDump",
    "NotificationVersion",
    "Notification",
    "Keepalive",
    "Update",
    "RouteRefresh",
    "UpdateError",
];

type Row = (&'static str, State, &'static [&'static str]);

use State::{Active, Connect, Established, Idle, OpenConfirm, OpenSent};

const IDLE: [Row; 24] = [
    ("ManualStart", Connect, &["connect outbound#0"]),
    ("ManualStartPassive", Active, &[]),
    ("AutomaticStart", Connect, &["connect outbound#0"]),
    ("AutomaticStartPassive", Active, &[]),
    ("ManualStop", Idle, &[]),
    ("AutomaticStop", Idle, &[]),
    ("ConnectRetryTimer", Idle, &[]),
    ("HoldTimer", Idle, &[]),
    ("KeepaliveTimer", Idle, &[]),
    ("DelayOpenTimer", Idle, &[]),
    ("IdleHoldTimer", Connect, &["connect outbound#0"]),
    ("TcpSucceeded", Idle, &["close outbound#0"]),
    ("TcpConfirmed", Idle, &["close inbound#7"]),
    ("TcpFails", Idle, &[]),
    ("Open", Idle, &[]),
    ("HeaderError", Idle, &[]),
    ("BadOpen", Idle, &[]),
    ("CollisionDump", Idle, &[]),
    ("NotificationVersion", Idle, &[]),
    ("Notification", Idle, &[]),
    ("Keepalive", Idle, &[]),
    ("Update", Idle, &[]),
    ("RouteRefresh", Idle, &[]),
    ("UpdateError", Idle, &[]),
];

const CONNECT: [Row; 24] = [
    ("ManualStart", Connect, &[]),
    ("ManualStartPassive", Connect, &[]),
    ("AutomaticStart", Connect, &[]),
    ("AutomaticStartPassive", Connect, &[]),
    ("ManualStop", Idle, &["close outbound#0"]),
    ("AutomaticStop", Idle, &["close outbound#0"]),
    (
        "ConnectRetryTimer",
        Connect,
        &["close outbound#0", "connect outbound#1"],
    ),
    ("HoldTimer", Idle, &["close outbound#0"]),
    ("KeepaliveTimer", Idle, &["close outbound#0"]),
    ("DelayOpenTimer", Idle, &["close outbound#0"]),
    ("IdleHoldTimer", Idle, &["close outbound#0"]),
    ("TcpSucceeded", OpenSent, &["send outbound#0 OPEN"]),
    ("TcpConfirmed", OpenSent, &["send inbound#7 OPEN"]),
    ("TcpFails", Idle, &[]),
    ("Open", Connect, &[]),
    ("HeaderError", Connect, &[]),
    ("BadOpen", Connect, &[]),
    ("CollisionDump", Idle, &["close outbound#0"]),
    ("NotificationVersion", Connect, &[]),
    ("Notification", Connect, &[]),
    ("Keepalive", Connect, &[]),
    ("Update", Connect, &[]),
    ("RouteRefresh", Connect, &[]),
    ("UpdateError", Connect, &[]),
];

const ACTIVE: [Row; 24] = [
    ("ManualStart", Active, &[]),
    ("ManualStartPassive", Active, &[]),
    ("AutomaticStart", Active, &[]),
    ("AutomaticStartPassive", Active, &[]),
    ("ManualStop", Idle, &[]),
    ("AutomaticStop", Idle, &[]),
    ("ConnectRetryTimer", Connect, &["connect outbound#0"]),
    ("HoldTimer", Idle, &[]),
    ("KeepaliveTimer", Idle, &[]),
    ("DelayOpenTimer", Idle, &[]),
    ("IdleHoldTimer", Idle, &[]),
    ("TcpSucceeded", Active, &["close outbound#0"]),
    ("TcpConfirmed", OpenSent, &["send inbound#7 OPEN"]),
    ("TcpFails", Active, &[]),
    ("Open", Active, &[]),
    ("HeaderError", Active, &[]),
    ("BadOpen", Active, &[]),
    ("CollisionDump", Idle, &[]),
    ("NotificationVersion", Active, &[]),
    ("Notification", Active, &[]),
    ("Keepalive", Active, &[]),
    ("Update", Active, &[]),
    ("RouteRefresh", Active, &[]),
    ("UpdateError", Active, &[]),
];

const CONNECT_DELAY_OPEN: [Row; 24] = [
    ("ManualStart", Connect, &[]),
    ("ManualStartPassive", Connect, &[]),
    ("AutomaticStart", Connect, &[]),
    ("AutomaticStartPassive", Connect, &[]),
    (
        "ManualStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/2", "close outbound#0"],
    ),
    (
        "AutomaticStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/1", "close outbound#0"],
    ),
    (
        "ConnectRetryTimer",
        Connect,
        &["close outbound#0", "connect outbound#1"],
    ),
    ("HoldTimer", Idle, &["close outbound#0"]),
    ("KeepaliveTimer", Idle, &["close outbound#0"]),
    ("DelayOpenTimer", OpenSent, &["send outbound#0 OPEN"]),
    ("IdleHoldTimer", Idle, &["close outbound#0"]),
    ("TcpSucceeded", Connect, &[]),
    ("TcpConfirmed", Connect, &["close inbound#7"]),
    ("TcpFails", Active, &["close outbound#0"]),
    (
        "Open",
        OpenConfirm,
        &["send outbound#0 OPEN", "send outbound#0 KEEPALIVE"],
    ),
    (
        "HeaderError",
        Idle,
        &["send outbound#0 NOTIFICATION 1/2", "close outbound#0"],
    ),
    (
        "BadOpen",
        Idle,
        &["send outbound#0 NOTIFICATION 2/1", "close outbound#0"],
    ),
    ("CollisionDump", Idle, &["close outbound#0"]),
    ("NotificationVersion", Idle, &["close outbound#0"]),
    ("Notification", Idle, &["close outbound#0"]),
    ("Keepalive", Idle, &["close outbound#0"]),
    ("Update", Idle, &["close outbound#0"]),
    ("RouteRefresh", Idle, &["close outbound#0"]),
    (
        "UpdateError",
        Idle,
        &["send outbound#0 NOTIFICATION 3/1", "close outbound#0"],
    ),
];

const ACTIVE_DELAY_OPEN: [Row; 24] = [
    ("ManualStart", Active, &[]),
    ("ManualStartPassive", Active, &[]),
    ("AutomaticStart", Active, &[]),
    ("AutomaticStartPassive", Active, &[]),
    (
        "ManualStop",
        Idle,
        &["send inbound#1 NOTIFICATION 6/2", "close inbound#1"],
    ),
    (
        "AutomaticStop",
        Idle,
        &["send inbound#1 NOTIFICATION 6/1", "close inbound#1"],
    ),
    (
        "ConnectRetryTimer",
        Connect,
        &["close inbound#1", "connect outbound#0"],
    ),
    ("HoldTimer", Idle, &["close inbound#1"]),
    ("KeepaliveTimer", Idle, &["close inbound#1"]),
    ("DelayOpenTimer", OpenSent, &["send inbound#1 OPEN"]),
    ("IdleHoldTimer", Idle, &["close inbound#1"]),
    ("TcpSucceeded", Active, &["close outbound#0"]),
    ("TcpConfirmed", Active, &["close inbound#7"]),
    ("TcpFails", Idle, &["close inbound#1"]),
    (
        "Open",
        OpenConfirm,
        &["send inbound#1 OPEN", "send inbound#1 KEEPALIVE"],
    ),
    (
        "HeaderError",
        Idle,
        &["send inbound#1 NOTIFICATION 1/2", "close inbound#1"],
    ),
    (
        "BadOpen",
        Idle,
        &["send inbound#1 NOTIFICATION 2/1", "close inbound#1"],
    ),
    ("CollisionDump", Idle, &["close inbound#1"]),
    ("NotificationVersion", Idle, &["close inbound#1"]),
    ("Notification", Idle, &["close inbound#1"]),
    ("Keepalive", Idle, &["close inbound#1"]),
    ("Update", Idle, &["close inbound#1"]),
    ("RouteRefresh", Idle, &["close inbound#1"]),
    (
        "UpdateError",
        Idle,
        &["send inbound#1 NOTIFICATION 3/1", "close inbound#1"],
    ),
];

const OPEN_SENT: [Row; 24] = [
    ("ManualStart", OpenSent, &[]),
    ("ManualStartPassive", OpenSent, &[]),
    ("AutomaticStart", OpenSent, &[]),
    ("AutomaticStartPassive", OpenSent, &[]),
    (
        "ManualStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/2", "close outbound#0"],
    ),
    (
        "AutomaticStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/1", "close outbound#0"],
    ),
    (
        "ConnectRetryTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    (
        "HoldTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 4/0", "close outbound#0"],
    ),
    (
        "KeepaliveTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    (
        "DelayOpenTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    (
        "IdleHoldTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    ("TcpSucceeded", OpenSent, &[]),
    ("TcpConfirmed", OpenSent, &["close inbound#7"]),
    ("TcpFails", Active, &["close outbound#0"]),
    ("Open", OpenConfirm, &["send outbound#0 KEEPALIVE"]),
    (
        "HeaderError",
        Idle,
        &["send outbound#0 NOTIFICATION 1/2", "close outbound#0"],
    ),
    (
        "BadOpen",
        Idle,
        &["send outbound#0 NOTIFICATION 2/1", "close outbound#0"],
    ),
    (
        "CollisionDump",
        Idle,
        &["send outbound#0 NOTIFICATION 6/7", "close outbound#0"],
    ),
    ("NotificationVersion", Idle, &["close outbound#0"]),
    ("Notification", Idle, &["close outbound#0"]),
    (
        "Keepalive",
        Idle,
        &["send outbound#0 NOTIFICATION 5/1", "close outbound#0"],
    ),
    (
        "Update",
        Idle,
        &["send outbound#0 NOTIFICATION 5/1", "close outbound#0"],
    ),
    (
        "RouteRefresh",
        Idle,
        &["send outbound#0 NOTIFICATION 5/1", "close outbound#0"],
    ),
    (
        "UpdateError",
        Idle,
        &["send outbound#0 NOTIFICATION 3/1", "close outbound#0"],
    ),
];

const OPEN_CONFIRM: [Row; 24] = [
    ("ManualStart", OpenConfirm, &[]),
    ("ManualStartPassive", OpenConfirm, &[]),
    ("AutomaticStart", OpenConfirm, &[]),
    ("AutomaticStartPassive", OpenConfirm, &[]),
    (
        "ManualStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/2", "close outbound#0"],
    ),
    (
        "AutomaticStop",
        Idle,
        &["send outbound#0 NOTIFICATION 6/1", "close outbound#0"],
    ),
    (
        "ConnectRetryTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    (
        "HoldTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 4/0", "close outbound#0"],
    ),
    (
        "KeepaliveTimer",
        OpenConfirm,
        &["send outbound#0 KEEPALIVE"],
    ),
    (
        "DelayOpenTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    (
        "IdleHoldTimer",
        Idle,
        &["send outbound#0 NOTIFICATION 5/0", "close outbound#0"],
    ),
    ("TcpSucceeded", OpenConfirm, &[]),
    ("TcpConfirmed", OpenConfirm, &["close inbound#7"]),
    ("TcpFails", Idle, &["close outbound#0"]),
    (
        "Open",
        Idle,
        &["send outbound#0 NOTIFICATION 5/2", "close outbound#0"],
    ),
    (
        "HeaderError",
        Idle,
        &["send outbound#0 NOTIFICATION 1/2", "close outbound#0"],
    ),
    (
        "BadOpen",
        Idle,
        &["send outbound#0 NOTIFICATION 5/2", "close outbound#0"],
    ),
    (
        "CollisionDump",
        Idle,
        &["send outbound#0 NOTIFICATION 6/7", "close outbound#0"],
    ),
    ("NotificationVersion", Idle, &["close outbound#0"]),
    ("Notification", Idle, &["close outbound#0"]),
    ("Keepalive", Established, &["established outbound#0"]),
    (
        "Update",
        Idle,
        &["send outbound#0 NOTIFICATION 5/2", "close outbound#0"],
    ),
    (
        "RouteRefresh",
        Idle,
        &["send outbound#0 NOTIFICATION 5/2", "close outbound#0"],
    ),
    (
        "UpdateError",
        Idle,
        &["send outbound#0 NOTIFICATION 3/1", "close outbound#0"],
    ),
];

const ESTABLISHED: [Row; 24] = [
    ("ManualStart", Established, &[]),
    ("ManualStartPassive", Established, &[]),
    ("AutomaticStart", Established, &[]),
    ("AutomaticStartPassive", Established, &[]),
    (
        "ManualStop",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 6/2",
            "close outbound#0",
            "down sent 6/2",
        ],
    ),
    (
        "AutomaticStop",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 6/1",
            "close outbound#0",
            "down sent 6/1",
        ],
    ),
    (
        "ConnectRetryTimer",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 5/0",
            "close outbound#0",
            "down sent 5/0",
        ],
    ),
    (
        "HoldTimer",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 4/0",
            "close outbound#0",
            "down hold-timer",
        ],
    ),
    (
        "KeepaliveTimer",
        Established,
        &["send outbound#0 KEEPALIVE"],
    ),
    (
        "DelayOpenTimer",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 5/0",
            "close outbound#0",
            "down sent 5/0",
        ],
    ),
    (
        "IdleHoldTimer",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 5/0",
            "close outbound#0",
            "down sent 5/0",
        ],
    ),
    ("TcpSucceeded", Established, &[]),
    ("TcpConfirmed", Established, &["close inbound#7"]),
    (
        "TcpFails",
        Idle,
        &["close outbound#0", "down connection-failed"],
    ),
    (
        "Open",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 5/3",
            "close outbound#0",
            "down sent 5/3",
        ],
    ),
    (
        "HeaderError",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 1/2",
            "close outbound#0",
            "down sent 1/2",
        ],
    ),
    (
        "BadOpen",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 5/3",
            "close outbound#0",
            "down sent 5/3",
        ],
    ),
    (
        "CollisionDump",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 6/7",
            "close outbound#0",
            "down sent 6/7",
        ],
    ),
    (
        "NotificationVersion",
        Idle,
        &["close outbound#0", "down received 2/1"],
    ),
    (
        "Notification",
        Idle,
        &["close outbound#0", "down received 6/2"],
    ),
    ("Keepalive", Established, &[]),
    ("Update", Established, &["deliver update"]),
    ("RouteRefresh", Established, &["deliver route-refresh"]),
    (
        "UpdateError",
        Idle,
        &[
            "send outbound#0 NOTIFICATION 3/1",
            "close outbound#0",
            "down sent 3/1",
        ],
    ),
];

fn check_table(which: Fixture, rows: &[Row]) {
    let names: Vec<&str> = rows.iter().map(|row| row.0).collect();
    assert_eq!(
        names, EVENTS,
        "{which:?}: the table must list every event once, in order"
    );
    let now = Instant::now();
    let mut failures = Vec::new();
    for (name, expected_state, expected_actions) in rows {
        let (mut session, connection) = fixture(which, now);
        session.handle(now, event(name, connection));
        let actions = summarize(&drain(&mut session));
        if session.state() != *expected_state || actions != *expected_actions {
            failures.push(format!(
                "{which:?} + {name}: got {:?} {actions:?}, expected {expected_state:?} {expected_actions:?}",
                session.state()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn idle_handles_every_event() {
    check_table(Fixture::Idle, &IDLE);
}

#[test]
fn connect_handles_every_event() {
    check_table(Fixture::Connect, &CONNECT);
}

#[test]
fn active_handles_every_event() {
    check_table(Fixture::Active, &ACTIVE);
}

#[test]
fn connect_with_delay_open_handles_every_event() {
    check_table(Fixture::ConnectDelayOpen, &CONNECT_DELAY_OPEN);
}

#[test]
fn active_with_delay_open_handles_every_event() {
    check_table(Fixture::ActiveDelayOpen, &ACTIVE_DELAY_OPEN);
}

#[test]
fn open_sent_handles_every_event() {
    check_table(Fixture::OpenSent, &OPEN_SENT);
}

#[test]
fn open_confirm_handles_every_event() {
    check_table(Fixture::OpenConfirm, &OPEN_CONFIRM);
}

#[test]
fn established_handles_every_event() {
    check_table(Fixture::Established, &ESTABLISHED);
}

/// §8.2.2 counter rules, seen from OpenSent (where a start left it at 0):
/// errors increment the ConnectRetryCounter, ManualStop and a version-error
/// NOTIFICATION do not.
#[test]
fn connect_retry_counter_follows_the_rfc() {
    let now = Instant::now();
    let notification = |code, subcode| {
        received(
            outbound(0),
            Message::Notification(crate::wire::Notification {
                code,
                subcode,
                data: vec![],
            }),
        )
    };
    let cases = [
        (
            Input::ManualStop {
                communication: None,
            },
            0,
        ),
        (Input::HoldTimerExpires, 1),
        (notification(2, 1), 0),
        (notification(6, 2), 1),
        (received(outbound(0), Message::Keepalive), 1),
    ];
    for (input, expected) in cases {
        let mut session = session_in(config(), State::OpenSent, now);
        let label = format!("{input:?}");
        session.handle(now, input);
        assert_eq!(session.status().connect_retry_counter, expected, "{label}");
    }
}

#[test]
fn manual_stop_sends_the_shutdown_communication() {
    let now = Instant::now();
    let mut session = session_in(config(), State::Established, now);
    session.handle(
        now,
        Input::ManualStop {
            communication: Some(String::from("ticket 42")),
        },
    );
    let actions = drain(&mut session);
    let expected = shutdown(2, Some("ticket 42"));
    assert!(actions.iter().any(|action| matches!(
        action,
        crate::session::Action::Send { message, .. }
            if **message == Message::Notification(expected.clone())
    )));
    assert_eq!(expected.data.first(), Some(&9));
    assert_eq!(
        session.status().last_error.map(|error| error.description),
        Some(String::from(
            "sent Cease / Administrative Shutdown (6/2): \"ticket 42\""
        ))
    );
}

#[test]
fn administrative_reset_sends_cease_4_and_starts_again() {
    let now = Instant::now();
    let mut session = session_in(config(), State::Established, now);
    session.handle(
        now,
        Input::AdministrativeReset {
            communication: None,
        },
    );
    let actions = drain(&mut session);
    assert_eq!(
        summarize(&actions),
        [
            "send outbound#0 NOTIFICATION 6/4",
            "close outbound#0",
            "down sent 6/4",
            "connect outbound#1"
        ]
    );
    assert_eq!(session.state(), State::Connect);
}

#[test]
fn messages_from_another_connection_are_ignored() {
    let now = Instant::now();
    let mut session = session_in(config(), State::Established, now);
    session.handle(now, received(inbound(9), Message::Open(peer_open())));
    session.handle(
        now,
        Input::TcpConnectionFails {
            connection: inbound(9),
            error: "x".into(),
        },
    );
    assert!(drain(&mut session).is_empty());
    assert_eq!(session.state(), State::Established);
    assert_eq!(
        session.status().messages_received.open,
        1,
        "only the fixture's OPEN counts"
    );
}

#[test]
fn a_connect_attempt_abandoned_by_the_retry_timer_is_reported() {
    let now = Instant::now();
    let mut session = Session::new(config());
    session.handle(now, Input::ManualStart);
    drain(&mut session);
    assert!(
        session.pending_outbound().is_some(),
        "an attempt is in flight"
    );
    session.handle(now + seconds(5), Input::ConnectRetryTimerExpires);
    let error = session
        .status()
        .last_error
        .expect("the abandoned attempt is reported");
    assert!(
        error
            .description
            .contains("no answer to our connection attempt"),
        "{}",
        error.description
    );
}

#[test]
fn updates_sent_by_the_driver_count_and_restart_the_keepalive_timer() {
    let now = Instant::now();
    let mut open_confirm = session_in(config(), State::OpenConfirm, now);
    open_confirm.handle(now, Input::UpdatesSent { count: 3 });
    assert_eq!(
        open_confirm.status().messages_sent.update,
        0,
        "not counted before Established"
    );

    let mut established = session_in(config(), State::Established, now);
    let before = established.status().messages_sent.update;
    let later = now + seconds(10);
    established.handle(later, Input::UpdatesSent { count: 3 });
    assert!(
        drain(&mut established).is_empty(),
        "the driver already wrote them"
    );
    assert_eq!(established.status().messages_sent.update, before + 3);
    assert_eq!(established.timers().keepalive, Some(later + seconds(30)));
}

#[test]
fn updates_and_route_refresh_are_sent_only_when_established() {
    let now = Instant::now();
    let mut open_confirm = session_in(config(), State::OpenConfirm, now);
    open_confirm.handle(now, Input::SendUpdate(Box::new(empty_update())));
    assert!(drain(&mut open_confirm).is_empty());

    let mut established = session_in(config(), State::Established, now);
    let later = now + seconds(10);
    established.handle(later, Input::SendUpdate(Box::new(empty_update())));
    assert_eq!(
        summarize(&drain(&mut established)),
        ["send outbound#0 UPDATE"]
    );
    // Sending an UPDATE restarts the keepalive timer (§8.2.2 Established).
    assert_eq!(established.timers().keepalive, Some(later + seconds(30)));
    let refresh = crate::wire::RouteRefresh {
        family: Family::IPV6_UNICAST,
        subtype: RouteRefreshSubtype::Request,
    };
    established.handle(later, Input::SendRouteRefresh(refresh));
    assert_eq!(
        summarize(&drain(&mut established)),
        ["send outbound#0 ROUTE-REFRESH"]
    );
    let unknown_family = crate::wire::RouteRefresh {
        family: Family {
            afi: crate::wire::Afi(25),
            safi: crate::wire::Safi(70),
        },
        subtype: RouteRefreshSubtype::Request,
    };
    established.handle(later, Input::SendRouteRefresh(unknown_family));
    assert!(drain(&mut established).is_empty());
    assert_eq!(established.status().messages_sent.update, 1);
}
