//! Tests of the session FSM: shared fixtures here, one file per concern.
//!
//! Fixtures drive a [`Session`] through real inputs (never by poking its
//! fields), and [`summarize`] turns actions into short strings so tables can
//! state expected behaviour compactly.

mod backoff;
mod collision;
mod fsm_table;
mod negotiation;
mod open_checks;
mod pair;
mod running;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::wire::{
    Capability, ErrorAction, Family, Message, Notification, Open, RouteRefresh,
    RouteRefreshSubtype, Update, WireError,
};

use super::{Action, ConnectionId, ExpectedPeerAs, Input, Session, SessionConfig, State};

pub(super) const LOCAL_AS: u32 = 64512;
pub(super) const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub(super) const PEER_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// Our configuration toward an iBGP peer at 198.18.0.2.
pub(super) fn config() -> SessionConfig {
    SessionConfig::new(
        LOCAL_AS,
        LOCAL_ID,
        IpAddr::V4(PEER_ID),
        ExpectedPeerAs::Exact(LOCAL_AS),
    )
}

/// The OPEN a well-behaved iBGP peer sends: same defaults as ours.
pub(super) fn peer_open() -> Open {
    let mut peer = config();
    peer.local_router_id = PEER_ID;
    peer.open_message()
}

/// An OPEN with the given capabilities and otherwise `peer_open`'s fields.
pub(super) fn open_with(capabilities: Vec<Capability>) -> Open {
    Open {
        capabilities,
        ..peer_open()
    }
}

pub(super) fn outbound(number: u64) -> ConnectionId {
    ConnectionId::outbound(number)
}

pub(super) fn inbound(number: u64) -> ConnectionId {
    ConnectionId::inbound(number)
}

pub(super) fn received(connection: ConnectionId, message: Message) -> Input {
    Input::MessageReceived {
        connection,
        message,
    }
}

pub(super) fn wire_error(code: u8, subcode: u8, action: ErrorAction) -> WireError {
    WireError {
        code,
        subcode,
        data: Vec::new(),
        field: "test field",
        offset: 19,
        action,
        detail: String::from("made up by the test"),
    }
}

pub(super) fn route_refresh(family: Family, subtype: RouteRefreshSubtype) -> Message {
    Message::RouteRefresh(RouteRefresh { family, subtype })
}

pub(super) fn drain(session: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| session.poll_action()).collect()
}

fn message_name(message: &Message) -> String {
    match message {
        Message::Open(_) => String::from("OPEN"),
        Message::Update(_) => String::from("UPDATE"),
        Message::Notification(Notification { code, subcode, .. }) => {
            format!("NOTIFICATION {code}/{subcode}")
        }
        Message::Keepalive => String::from("KEEPALIVE"),
        Message::RouteRefresh(_) => String::from("ROUTE-REFRESH"),
    }
}

/// One short line per action, state changes left out (tables assert the
/// final state instead).
pub(super) fn summarize(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Connect { connection } => Some(format!("connect {connection}")),
            Action::Send {
                connection,
                message,
            } => Some(format!("send {connection} {}", message_name(message))),
            Action::CloseConnection { connection } => Some(format!("close {connection}")),
            Action::Established { connection, .. } => Some(format!("established {connection}")),
            Action::SessionDown {
                reason,
                retain_routes,
            } => {
                let kind = match reason {
                    super::SessionDownReason::NotificationSent { notification } => {
                        format!("sent {}/{}", notification.code, notification.subcode)
                    }
                    super::SessionDownReason::NotificationReceived { notification } => {
                        format!("received {}/{}", notification.code, notification.subcode)
                    }
                    super::SessionDownReason::HoldTimerExpired => String::from("hold-timer"),
                    super::SessionDownReason::ConnectionFailed { .. } => {
                        String::from("connection-failed")
                    }
                };
                Some(format!(
                    "down {kind}{}",
                    if *retain_routes { " retain" } else { "" }
                ))
            }
            Action::DeliverUpdate(_) => Some(String::from("deliver update")),
            Action::DeliverRouteRefresh(_) => Some(String::from("deliver route-refresh")),
            Action::StateChanged { .. } => None,
        })
        .collect()
}

/// The state changes among `actions`, in order.
pub(super) fn state_changes(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::StateChanged { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

/// The messages sent among `actions`, in order.
pub(super) fn sent_messages(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send { message, .. } => Some((**message).clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn seconds(value: u64) -> Duration {
    Duration::from_secs(value)
}

/// A session driven to `target` over its outbound connection 0, at time
/// `now`, with its actions drained. Connect and Active have no connection.
pub(super) fn session_in(config: SessionConfig, target: State, now: Instant) -> Session {
    let mut session = Session::new(config);
    let connection = outbound(0);
    let steps: Vec<Input> = match target {
        State::Idle => vec![],
        State::Connect => vec![Input::ManualStart],
        State::Active => vec![Input::ManualStartPassive],
        State::OpenSent => {
            vec![
                Input::ManualStart,
                Input::TcpConnectionSucceeded { connection },
            ]
        }
        State::OpenConfirm => vec![
            Input::ManualStart,
            Input::TcpConnectionSucceeded { connection },
            received(connection, Message::Open(peer_open())),
        ],
        State::Established => vec![
            Input::ManualStart,
            Input::TcpConnectionSucceeded { connection },
            received(connection, Message::Open(peer_open())),
            received(connection, Message::Keepalive),
        ],
    };
    for step in steps {
        session.handle(now, step);
    }
    assert_eq!(session.state(), target, "fixture failed to reach {target}");
    drain(&mut session);
    session
}

/// An empty UPDATE (an End-of-RIB for IPv4 unicast).
pub(super) fn empty_update() -> Update {
    Update::default()
}
