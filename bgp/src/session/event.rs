//! What goes into a session and what comes out of it.
//!
//! The driver (the speaker's owner task, or a test) turns everything that
//! happens to a peer into an [`Input`]: an operator command, a TCP outcome, a
//! decoded message, a decoding error or an expired timer. The session answers
//! with [`Action`]s: connect, send, close, and tell the RIB that the session
//! came up or went down. These are the events and actions of RFC 4271 §8.1
//! and §8.2.2, named as the RFC names them wherever that is unambiguous.

use std::fmt;

use serde::Serialize;

use crate::wire::{Message, Notification, RouteRefresh, Update, WireError};

use super::negotiated::Negotiated;

/// Who opened a TCP connection; part of every [`ConnectionId`].
///
/// Collision resolution (RFC 4271 §6.8) keeps the connection opened by the
/// speaker with the higher BGP identifier, so the direction must travel with
/// the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// We connected to the peer; the session picked the number.
    Outbound,
    /// The peer connected to us; the driver picked the number.
    Inbound,
}

/// Names one TCP connection of a peer so that actions can say which
/// connection to send on or close, and stale events can be recognised.
///
/// Outbound numbers are chosen by the session when it asks for a connection;
/// inbound numbers are chosen by the driver when it accepts one. The two
/// spaces never clash because the direction is part of the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ConnectionId {
    /// Who opened the connection.
    pub direction: Direction,
    /// A number unique among the peer's connections of this direction.
    pub number: u64,
}

impl ConnectionId {
    /// An outbound connection id.
    pub fn outbound(number: u64) -> Self {
        ConnectionId {
            direction: Direction::Outbound,
            number,
        }
    }

    /// An inbound connection id.
    pub fn inbound(number: u64) -> Self {
        ConnectionId {
            direction: Direction::Inbound,
            number,
        }
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.direction {
            Direction::Outbound => write!(formatter, "outbound#{}", self.number),
            Direction::Inbound => write!(formatter, "inbound#{}", self.number),
        }
    }
}

/// The six states of the BGP finite state machine (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum State {
    /// Refuses connections; waits for a start event.
    Idle,
    /// Waiting for an outbound TCP connection to complete.
    Connect,
    /// Listening for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Routes may be exchanged.
    Established,
}

impl State {
    /// Whether a TCP connection is attached in this state (without DelayOpen,
    /// Connect and Active have none).
    pub fn past_open(self) -> bool {
        matches!(
            self,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, formatter)
    }
}

/// An event for the session (RFC 4271 §8.1). Timer events may be fed directly
/// (tests do) or produced by [`super::Session::handle_timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "an input lives for one call; boxing every received message would cost an allocation each"
)]
pub enum Input {
    /// Event 1: the operator starts the session; we connect and listen.
    ManualStart,
    /// Event 4: the operator starts the session; we only listen.
    ManualStartPassive,
    /// Event 3: the daemon restarts the session on its own.
    AutomaticStart,
    /// Event 5: the daemon restarts the session, listening only.
    AutomaticStartPassive,
    /// Event 2: the operator stops the session. Sends Cease / Administrative
    /// Shutdown with the RFC 9003 shutdown communication, if any.
    ManualStop {
        /// Text for the peer's operator (at most 255 UTF-8 bytes are sent).
        communication: Option<String>,
    },
    /// Stop and start again: Cease / Administrative Reset (RFC 4486 §4) with
    /// an optional RFC 9003 communication, then an immediate restart.
    AdministrativeReset {
        /// Text for the peer's operator.
        communication: Option<String>,
    },
    /// Event 8: the daemon stops the session (e.g. a prefix limit, RFC 4486),
    /// sending this Cease NOTIFICATION.
    AutomaticStop {
        /// The NOTIFICATION to send; normally code 6 (Cease).
        notification: Notification,
    },
    /// Event 9.
    ConnectRetryTimerExpires,
    /// Event 10.
    HoldTimerExpires,
    /// Event 11.
    KeepaliveTimerExpires,
    /// Event 12.
    DelayOpenTimerExpires,
    /// Event 13: the backoff before an automatic restart is over.
    IdleHoldTimerExpires,
    /// Event 16 (Tcp_CR_Acked): the outbound connection we asked for with
    /// [`Action::Connect`] is up.
    TcpConnectionSucceeded {
        /// The id from the `Connect` action.
        connection: ConnectionId,
    },
    /// Event 17 (TcpConnectionConfirmed): the driver accepted an inbound
    /// connection from this peer (it already checked the source, event 14).
    TcpConnectionConfirmed {
        /// A fresh inbound id chosen by the driver.
        connection: ConnectionId,
    },
    /// Event 18: the connection failed, was closed by the peer, or an
    /// outbound attempt was refused.
    TcpConnectionFails {
        /// The connection.
        connection: ConnectionId,
        /// The socket error, for the status and logs.
        error: String,
    },
    /// Events 19, 25, 26, 27 and ROUTE-REFRESH: a well-formed message.
    MessageReceived {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// The decoded message.
        message: Message,
    },
    /// Events 21, 22, 28: a message could not be decoded.
    DecodeError {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// What was wrong and which NOTIFICATION it calls for.
        error: WireError,
    },
    /// Send an UPDATE built by the RIB (only in Established; restarts the
    /// keepalive timer, RFC 4271 §8.2.2).
    SendUpdate(Box<Update>),
    /// The driver wrote `count` UPDATEs that were encoded once for a whole
    /// update group rather than through [`Input::SendUpdate`]. In
    /// Established they are counted and restart the keepalive timer, as an
    /// UPDATE sent by the session would (RFC 4271 §4.4).
    UpdatesSent {
        /// How many UPDATE messages were written.
        count: u64,
    },
    /// Send a ROUTE-REFRESH (only in Established, for a negotiated family).
    SendRouteRefresh(RouteRefresh),
    /// Event 23: collision resolution (RFC 4271 §6.8) closes this connection.
    OpenCollisionDump,
}

/// Why an Established session went down, which decides whether graceful
/// restart keeps the peer's routes (RFC 4724 §4.2, RFC 8538 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SessionDownReason {
    /// We sent this NOTIFICATION (operator stop, error, collision, ...).
    NotificationSent {
        /// The NOTIFICATION.
        notification: Notification,
    },
    /// The peer sent this NOTIFICATION.
    NotificationReceived {
        /// The NOTIFICATION.
        notification: Notification,
    },
    /// The hold timer expired; we sent NOTIFICATION 4/0 (RFC 4271 §6.5).
    HoldTimerExpired,
    /// The TCP connection failed or was closed without a NOTIFICATION.
    ConnectionFailed {
        /// The socket error.
        error: String,
    },
}

impl SessionDownReason {
    /// The NOTIFICATION exchanged when the session went down, if any.
    pub fn notification(&self) -> Option<Notification> {
        match self {
            SessionDownReason::NotificationSent { notification }
            | SessionDownReason::NotificationReceived { notification } => {
                Some(notification.clone())
            }
            SessionDownReason::HoldTimerExpired => Some(super::notification::hold_timer_expired()),
            SessionDownReason::ConnectionFailed { .. } => None,
        }
    }
}

/// What the driver must do (RFC 4271 §8.2.2 actions, made explicit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer and report the outcome with
    /// [`Input::TcpConnectionSucceeded`] or [`Input::TcpConnectionFails`].
    Connect {
        /// The id to report the outcome with.
        connection: ConnectionId,
    },
    /// Encode and write this message on the connection.
    Send {
        /// The connection.
        connection: ConnectionId,
        /// The message.
        message: Box<Message>,
    },
    /// Flush what was queued for the connection, then close it (or abandon the
    /// connection attempt).
    CloseConnection {
        /// The connection.
        connection: ConnectionId,
    },
    /// The session reached Established. From the next frame on, decode with
    /// [`Negotiated::decode_context`] and encode with
    /// [`Negotiated::encode_context`].
    Established {
        /// The connection that carries the session.
        connection: ConnectionId,
        /// What the two OPENs agreed.
        negotiated: Box<Negotiated>,
    },
    /// The session left Established: the RIB drops the peer's routes, or
    /// keeps them as stale when `retain_routes` says graceful restart applies.
    SessionDown {
        /// Why.
        reason: SessionDownReason,
        /// Graceful restart applies (RFC 4724 §4.2, RFC 8538 §4): keep the
        /// routes as stale for the peer's restart time instead of dropping them.
        retain_routes: bool,
    },
    /// An UPDATE for the RIB. It may carry RFC 7606 treat-as-withdraw.
    DeliverUpdate(Box<Update>),
    /// A valid ROUTE-REFRESH (RFC 2918, RFC 7313) for the RIB to act on.
    DeliverRouteRefresh(RouteRefresh),
    /// The FSM moved between states.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
    },
}
