//! One connection's BGP finite state machine (RFC 4271 §8), sans I/O.
//!
//! Data flows one way: the driver calls [`Session::handle`] with an [`Input`]
//! and the current time; the session updates its state, timers and counters
//! and queues [`Action`]s, which the driver drains with
//! [`Session::poll_action`] and carries out (connect, send, close, tell the
//! RIB). The driver also sleeps until [`Session::next_timeout`] and then
//! calls [`Session::handle_timeout`]. Nothing here reads a clock or touches a
//! socket, so every path is reachable from a test.
//!
//! This file holds the session's data and the steps shared by many
//! transitions (start, send, tear down); the per-state rules of §8.2.2 live
//! in `states.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{CodecContext, Message, Notification, Open};

use super::backoff::Backoff;
use super::config::SessionConfig;
use super::event::{Action, ConnectionId, Input, SessionDownReason, State};
use super::negotiated::Negotiated;
use super::notification::{
    ADMINISTRATIVE_SHUTDOWN, CEASE, HARD_RESET, MAXIMUM_PREFIXES_REACHED, hold_timer_expired,
};
use super::status::{LastError, LastErrorKind, MessageCounters, SessionStatus};
use super::timers::Timers;

/// The hold time used while waiting for the peer's OPEN (RFC 4271 §8.2.2
/// suggests "a large value", 4 minutes).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// Cease subcode 3, Peer De-configured (RFC 4486 §4).
const PEER_DECONFIGURED: u8 = 3;

/// What a teardown does to the ConnectRetryCounter (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counter {
    /// "increments the ConnectRetryCounter by 1".
    Increment,
    /// "sets the ConnectRetryCounter to zero".
    Reset,
    /// The RFC leaves it alone.
    Keep,
}

/// One connection's FSM for one peer.
#[derive(Debug, Clone)]
pub struct Session {
    pub(super) config: SessionConfig,
    pub(super) state: State,
    /// The TCP connection the FSM runs on, once there is one.
    pub(super) connection: Option<ConnectionId>,
    /// An outbound attempt we asked for that has not completed.
    pub(super) pending_outbound: Option<ConnectionId>,
    pub(super) next_outbound: u64,
    pub(super) timers: Timers,
    pub(super) backoff: Backoff,
    pub(super) connect_retry_counter: u32,
    pub(super) negotiated: Option<Negotiated>,
    pub(super) established_at: Option<Instant>,
    pub(super) flap_count: u64,
    pub(super) received: MessageCounters,
    pub(super) sent: MessageCounters,
    pub(super) last_error: Option<LastError>,
    pub(super) actions: VecDeque<Action>,
}

impl Session {
    /// Replaces the capabilities announced in OPENs sent from now on (a
    /// running session keeps what it negotiated). Graceful restart uses this
    /// to stop announcing the Restart State bit once the restart is over
    /// (RFC 4724 §3).
    pub fn set_local_capabilities(&mut self, capabilities: super::config::LocalCapabilities) {
        self.config.capabilities = capabilities;
    }

    /// A session in Idle; nothing happens until a start event.
    pub fn new(config: SessionConfig) -> Self {
        let backoff = config.backoff();
        Session {
            config,
            state: State::Idle,
            connection: None,
            pending_outbound: None,
            next_outbound: 0,
            timers: Timers::default(),
            backoff,
            connect_retry_counter: 0,
            negotiated: None,
            established_at: None,
            flap_count: 0,
            received: MessageCounters::default(),
            sent: MessageCounters::default(),
            last_error: None,
            actions: VecDeque::new(),
        }
    }

    /// Feeds one event (RFC 4271 §8.1) to the FSM at time `now`.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::TcpConnectionSucceeded { connection } => {
                if self.connection == Some(connection) {
                    return;
                }
                if self.pending_outbound != Some(connection) {
                    // An attempt we abandoned completed after all.
                    self.push(Action::CloseConnection { connection });
                    return;
                }
                self.pending_outbound = None;
                self.dispatch(now, Input::TcpConnectionSucceeded { connection });
            }
            Input::TcpConnectionFails { connection, error } => {
                if self.connection == Some(connection) {
                    self.dispatch(now, Input::TcpConnectionFails { connection, error });
                } else if self.pending_outbound == Some(connection) {
                    self.pending_outbound = None;
                    if self.connection.is_none() {
                        self.dispatch(now, Input::TcpConnectionFails { connection, error });
                    }
                }
            }
            Input::MessageReceived {
                connection,
                message,
            } => {
                if self.connection != Some(connection) {
                    return;
                }
                self.received.count(&message);
                if let Message::Notification(notification) = &message {
                    self.last_error = Some(LastError::new(
                        now,
                        LastErrorKind::NotificationReceived(notification.clone()),
                    ));
                }
                self.dispatch(
                    now,
                    Input::MessageReceived {
                        connection,
                        message,
                    },
                );
            }
            Input::DecodeError { connection, error } => {
                if self.connection == Some(connection) {
                    self.dispatch(now, Input::DecodeError { connection, error });
                }
            }
            Input::SendUpdate(update) => {
                if self.state == State::Established {
                    self.send(Message::Update(*update));
                    self.restart_keepalive(now);
                }
            }
            Input::UpdatesSent { count } => {
                if self.state == State::Established && count > 0 {
                    self.sent.update = self.sent.update.saturating_add(count);
                    self.restart_keepalive(now);
                }
            }
            Input::SendRouteRefresh(route_refresh) => {
                let allowed = self.negotiated.as_ref().is_some_and(|negotiated| {
                    negotiated.route_refresh && negotiated.families.contains(&route_refresh.family)
                });
                if self.state == State::Established && allowed {
                    self.send(Message::RouteRefresh(route_refresh));
                }
            }
            Input::AdministrativeReset { communication } => {
                if self.state != State::Idle {
                    let notification = self.outgoing_cease(super::notification::shutdown(
                        super::notification::ADMINISTRATIVE_RESET,
                        communication.as_deref(),
                    ));
                    self.teardown(
                        now,
                        Some(SessionDownReason::NotificationSent { notification }),
                        Counter::Reset,
                        false,
                    );
                }
                self.start(now, self.config.passive);
            }
            other => self.dispatch(now, other),
        }
    }

    /// The next action for the driver, in the order they arose.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called, if any timer runs.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Each firing either disarms a timer or re-arms it later than `now`
        // (intervals are at least a millisecond), so this ends; the bound is
        // a guard against a zero interval in a hand-made configuration.
        for _ in 0..16 {
            match self.timers.take_expired(now) {
                Some(event) => self.dispatch(now, event),
                None => break,
            }
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The connection the FSM runs on, if any.
    pub fn connection(&self) -> Option<ConnectionId> {
        self.connection
    }

    /// The outbound attempt in progress, if any.
    pub fn pending_outbound(&self) -> Option<ConnectionId> {
        self.pending_outbound
    }

    /// What the OPENs agreed, from OpenConfirm on.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The armed timers.
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// The retry schedule.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// How to decode the peer's messages now: the negotiated context once
    /// Established, the legacy 2-octet-AS one before (enough for OPEN).
    pub fn decode_context(&self) -> CodecContext {
        match (&self.negotiated, self.state) {
            (Some(negotiated), State::Established) => negotiated.decode_context(),
            _ => CodecContext::legacy(),
        }
    }

    /// How to encode our messages now (see [`Session::decode_context`]).
    pub fn encode_context(&self) -> CodecContext {
        match (&self.negotiated, self.state) {
            (Some(negotiated), State::Established) => negotiated.encode_context(),
            _ => CodecContext::legacy(),
        }
    }

    /// A snapshot for `podroute neighbors`.
    pub fn status(&self) -> SessionStatus {
        let established = self.state == State::Established;
        let configured_as = match &self.config.peer_as {
            super::config::ExpectedPeerAs::Exact(asn) => Some(*asn),
            _ => None,
        };
        SessionStatus {
            peer_address: self.config.peer_address,
            local_as: self.config.local_as,
            peer_as: self
                .negotiated
                .as_ref()
                .map(|negotiated| negotiated.peer_as)
                .or(configured_as),
            peer_router_id: self
                .negotiated
                .as_ref()
                .map(|negotiated| negotiated.peer_router_id),
            state: self.state,
            established_since: if established {
                self.established_at
            } else {
                None
            },
            flap_count: self.flap_count,
            connect_retry_counter: self.connect_retry_counter,
            hold_time: self
                .negotiated
                .as_ref()
                .filter(|_| established)
                .map(|n| n.hold_time),
            keepalive: self
                .negotiated
                .as_ref()
                .filter(|_| established)
                .map(|n| n.keepalive),
            messages_received: self.received,
            messages_sent: self.sent,
            last_error: self.last_error.clone(),
        }
    }

    /// Takes over the history of `previous`, the FSM this one replaces after a
    /// collision (RFC 4271 §6.8), so counters and flaps describe the peer,
    /// not one connection.
    pub fn adopt_history(&mut self, previous: &Session) {
        self.adopt_counters(previous);
        self.flap_count = self.flap_count.saturating_add(previous.flap_count);
        if self.last_error.is_none() {
            self.last_error = previous.last_error.clone();
        }
        self.backoff = previous.backoff.clone();
        self.next_outbound = self.next_outbound.max(previous.next_outbound);
    }

    /// Adds the message counters of `other`, an FSM of the same peer that is
    /// going away (the loser of a collision).
    pub fn adopt_counters(&mut self, other: &Session) {
        self.received.add(&other.received);
        self.sent.add(&other.sent);
    }

    pub(super) fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    /// Queues a message on the current connection and counts it.
    pub(super) fn send(&mut self, message: Message) {
        if let Some(connection) = self.connection {
            self.sent.count(&message);
            self.push(Action::Send {
                connection,
                message: Box::new(message),
            });
        }
    }

    pub(super) fn send_open(&mut self) {
        let open: Open = self.config.open_message();
        self.send(Message::Open(open));
    }

    pub(super) fn set_state(&mut self, now: Instant, to: State) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to == State::Established {
            self.established_at = Some(now);
        }
        self.push(Action::StateChanged { from, to });
    }

    /// Asks the driver for an outbound connection (RFC 4271 "initiates a TCP
    /// connection to the other BGP peer"), abandoning any earlier attempt.
    pub(super) fn initiate_connection(&mut self) {
        if let Some(old) = self.pending_outbound.take() {
            self.push(Action::CloseConnection { connection: old });
        }
        let connection = ConnectionId::outbound(self.next_outbound);
        self.next_outbound = self.next_outbound.saturating_add(1);
        self.pending_outbound = Some(connection);
        self.push(Action::Connect { connection });
    }

    pub(super) fn arm_connect_retry(&mut self, now: Instant) {
        self.timers.connect_retry = now.checked_add(self.backoff.interval());
    }

    /// Idle -> Connect (connect and listen) or Active (listen only).
    /// A passive configuration never connects on its own.
    pub(super) fn start(&mut self, now: Instant, passive: bool) {
        self.connect_retry_counter = 0;
        self.timers.clear();
        if passive || self.config.passive {
            if !self.config.passive {
                self.arm_connect_retry(now);
            }
            self.set_state(now, State::Active);
        } else {
            self.arm_connect_retry(now);
            self.initiate_connection();
            self.set_state(now, State::Connect);
        }
    }

    /// The hold and keepalive timers for the negotiated hold time; both stay
    /// off when it is zero (RFC 4271 §4.2).
    pub(super) fn restart_hold(&mut self, now: Instant) {
        let hold = self
            .negotiated
            .as_ref()
            .map_or(0, |negotiated| negotiated.hold_time);
        self.timers.hold = if hold == 0 {
            None
        } else {
            now.checked_add(Duration::from_secs(u64::from(hold)))
        };
    }

    pub(super) fn restart_keepalive(&mut self, now: Instant) {
        let keepalive = self
            .negotiated
            .as_ref()
            .map_or(0, |negotiated| negotiated.keepalive);
        self.timers.keepalive = if keepalive == 0 {
            None
        } else {
            now.checked_add(Duration::from_secs(u64::from(keepalive)))
        };
    }

    /// A Cease we send while Established becomes a Hard Reset (RFC 8538 §3,
    /// §5) when both sides set the N bit and the subcode is one after which
    /// the peer must not keep our routes: prefix limit, shutdown, deconfigured.
    pub(super) fn outgoing_cease(&self, notification: Notification) -> Notification {
        let hard = self.state == State::Established
            && notification.code == CEASE
            && matches!(
                notification.subcode,
                MAXIMUM_PREFIXES_REACHED | ADMINISTRATIVE_SHUTDOWN | PEER_DECONFIGURED
            )
            && self
                .negotiated
                .as_ref()
                .is_some_and(|n| n.graceful_restart_notification);
        if !hard {
            return notification;
        }
        let mut data = Vec::with_capacity(notification.data.len().saturating_add(2));
        data.push(notification.code);
        data.push(notification.subcode);
        data.extend_from_slice(&notification.data);
        Notification {
            code: CEASE,
            subcode: HARD_RESET,
            data,
        }
    }

    /// The shared "go to Idle" of §8.2.2: send the NOTIFICATION the reason
    /// calls for (if a connection exists to carry it), stop every timer, close
    /// the connection and any pending attempt, tell the RIB if we were
    /// Established, adjust the ConnectRetryCounter, and, when `restart` is set
    /// and automatic restart is configured, arm the idle hold timer with the
    /// next backoff interval (none after a stable session or a first short
    /// one, [`Backoff::after_session`]).
    pub(super) fn teardown(
        &mut self,
        now: Instant,
        reason: Option<SessionDownReason>,
        counter: Counter,
        restart: bool,
    ) {
        let sent = match &reason {
            Some(SessionDownReason::NotificationSent { notification }) => {
                Some(notification.clone())
            }
            Some(SessionDownReason::HoldTimerExpired) => Some(hold_timer_expired()),
            _ => None,
        };
        if let (Some(notification), Some(_)) = (sent, self.connection) {
            self.last_error = Some(LastError::new(
                now,
                LastErrorKind::NotificationSent(notification.clone()),
            ));
            self.send(Message::Notification(notification));
        }
        if let Some(SessionDownReason::ConnectionFailed { error }) = &reason {
            self.last_error = Some(LastError::new(
                now,
                LastErrorKind::Connection(error.clone()),
            ));
        }
        self.timers.clear();
        if let Some(connection) = self.connection.take() {
            self.push(Action::CloseConnection { connection });
        }
        if let Some(connection) = self.pending_outbound.take() {
            self.push(Action::CloseConnection { connection });
        }
        let mut restart_wait = None;
        if self.state == State::Established {
            self.flap_count = self.flap_count.saturating_add(1);
            let stable = self.established_at.is_some_and(|since| {
                now.saturating_duration_since(since) >= self.config.stable_after
            });
            restart_wait = Some(self.backoff.after_session(stable));
            let reason = reason.unwrap_or(SessionDownReason::ConnectionFailed {
                error: String::from("connection closed"),
            });
            let retain_routes = self
                .negotiated
                .as_ref()
                .is_some_and(|negotiated| negotiated.retains_routes(&reason));
            self.push(Action::SessionDown {
                reason,
                retain_routes,
            });
        }
        self.established_at = None;
        self.negotiated = None;
        match counter {
            Counter::Increment => {
                self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
            }
            Counter::Reset => self.connect_retry_counter = 0,
            Counter::Keep => {}
        }
        self.set_state(now, State::Idle);
        if restart && self.config.automatic_restart {
            let wait = restart_wait.unwrap_or_else(|| {
                let wait = self.backoff.interval();
                self.backoff.record_failure();
                wait
            });
            self.timers.idle_hold = now.checked_add(wait);
        }
    }
}
