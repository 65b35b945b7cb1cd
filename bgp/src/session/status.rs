//! A snapshot of one peering for `podroute neighbors` and metrics.
//!
//! The FSM updates counters and the last error as messages and failures pass
//! through it; [`super::Session::status`] copies them out together with the
//! state and the negotiated values. Times are `Instant`s: the daemon turns
//! them into seconds against its own clock.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::wire::{Message, Notification};

use super::event::State;
use super::notification::describe;

/// Messages counted per type (RFC 4271 §4.1 types and ROUTE-REFRESH).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounters {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH.
    pub route_refresh: u64,
}

impl MessageCounters {
    /// Counts one message.
    pub fn count(&mut self, message: &Message) {
        let counter = match message {
            Message::Open(_) => &mut self.open,
            Message::Update(_) => &mut self.update,
            Message::Notification(_) => &mut self.notification,
            Message::Keepalive => &mut self.keepalive,
            Message::RouteRefresh(_) => &mut self.route_refresh,
        };
        *counter = counter.saturating_add(1);
    }

    /// All messages.
    pub fn total(&self) -> u64 {
        self.open
            .saturating_add(self.update)
            .saturating_add(self.notification)
            .saturating_add(self.keepalive)
            .saturating_add(self.route_refresh)
    }

    /// Adds another set of counters (used when a collision winner takes over).
    pub fn add(&mut self, other: &MessageCounters) {
        self.open = self.open.saturating_add(other.open);
        self.update = self.update.saturating_add(other.update);
        self.notification = self.notification.saturating_add(other.notification);
        self.keepalive = self.keepalive.saturating_add(other.keepalive);
        self.route_refresh = self.route_refresh.saturating_add(other.route_refresh);
    }
}

/// What went wrong last, with a human description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastErrorKind {
    /// We sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection failed.
    Connection(String),
    /// A malformed message was handled without a reset (RFC 7606).
    Decode(String),
}

/// The last error of a peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    /// When it happened.
    pub at: Instant,
    /// What it was.
    pub kind: LastErrorKind,
    /// One line for operators, e.g. `sent Cease / Administrative Shutdown (6/2): "bye"`.
    pub description: String,
}

impl LastError {
    /// Builds the record and its description.
    pub fn new(at: Instant, kind: LastErrorKind) -> Self {
        let description = match &kind {
            LastErrorKind::NotificationSent(notification) => {
                format!("sent {}", describe(notification))
            }
            LastErrorKind::NotificationReceived(notification) => {
                format!("received {}", describe(notification))
            }
            LastErrorKind::Connection(error) => format!("connection: {error}"),
            LastErrorKind::Decode(error) => format!("malformed message: {error}"),
        };
        LastError {
            at,
            kind,
            description,
        }
    }
}

/// A snapshot of one peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The peer's address.
    pub peer_address: IpAddr,
    /// Our AS.
    pub local_as: u32,
    /// The peer's AS once known (negotiated, else the configured exact AS).
    pub peer_as: Option<u32>,
    /// The peer's BGP identifier once an OPEN was accepted.
    pub peer_router_id: Option<Ipv4Addr>,
    /// The FSM state.
    pub state: State,
    /// When the session last reached Established, while it stays there.
    pub established_since: Option<Instant>,
    /// How many times the session left Established.
    pub flap_count: u64,
    /// The RFC 4271 §8 ConnectRetryCounter.
    pub connect_retry_counter: u32,
    /// Negotiated hold time, while Established.
    pub hold_time: Option<u16>,
    /// Negotiated keepalive interval, while Established.
    pub keepalive: Option<u16>,
    /// Messages received, per type.
    pub messages_received: MessageCounters,
    /// Messages sent, per type.
    pub messages_sent: MessageCounters,
    /// The last error.
    pub last_error: Option<LastError>,
}

impl SessionStatus {
    /// Time spent in Established so far, if Established.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        self.established_since
            .map(|since| now.saturating_duration_since(since))
    }
}
