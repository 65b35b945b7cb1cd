//! Connection collision detection (RFC 4271 §6.8, RFC 6286 §2.3).
//!
//! Two speakers that both connect end up with two TCP connections for one
//! peering. A [`Peer`] holds one FSM per connection, at most two: the
//! primary (the one that reports state and serves the RIB) and, while a
//! collision is in progress, a secondary created for the second connection.
//! Inputs are routed by [`ConnectionId`]; after each input the peer checks
//! whether the two FSMs collide and, if so, sends the loser an
//! OpenCollisionDump (event 23), which closes it with Cease / Connection
//! Collision Resolution. The survivor becomes the primary and inherits the
//! history (counters, flaps, backoff) of the FSM it replaces.
//!
//! Which connection survives: the one opened by the speaker with the higher
//! BGP identifier, compared as 32-bit unsigned numbers; if the identifiers
//! are equal (possible between ASes, RFC 6286 §2.3), the one opened by the
//! speaker with the larger AS. A new connection that meets an Established
//! session is closed (§6.8, CollisionDetectEstablishedState off).
//!
//! Only the primary's `StateChanged` actions are passed on; when the
//! secondary takes over, one `StateChanged` bridges the two.

use std::collections::VecDeque;
use std::time::Instant;

use super::config::SessionConfig;
use super::event::{Action, ConnectionId, Direction, Input, SessionDownReason, State};
use super::fsm::{Counter, Session};
use super::notification::{ADMINISTRATIVE_RESET, shutdown};
use super::status::{MessageCounters, SessionStatus};

/// The FSMs of one peer: at most one per TCP connection, at most two.
#[derive(Debug, Clone)]
pub struct Peer {
    primary: Session,
    /// Boxed: it exists only while a collision is resolved, and a thousand
    /// idle neighbors should not each carry room for it.
    secondary: Option<Box<Session>>,
    actions: VecDeque<Action>,
}

fn connection_of(input: &Input) -> Option<ConnectionId> {
    match input {
        Input::TcpConnectionSucceeded { connection }
        | Input::TcpConnectionConfirmed { connection }
        | Input::TcpConnectionFails { connection, .. }
        | Input::MessageReceived { connection, .. }
        | Input::DecodeError { connection, .. } => Some(*connection),
        _ => None,
    }
}

fn owns(session: &Session, connection: ConnectionId) -> bool {
    session.connection == Some(connection) || session.pending_outbound == Some(connection)
}

/// Which of two connections in OpenConfirm loses (RFC 4271 §6.8, RFC 6286 §2.3).
/// `first` and `second` are the connections' directions; returns true when
/// `first` must be closed.
pub fn first_loses(
    local_id: u32,
    local_as: u32,
    peer_id: u32,
    peer_as: u32,
    first: Direction,
    second: Direction,
) -> bool {
    if first == second {
        return false;
    }
    let keep_ours = if local_id == peer_id {
        local_as > peer_as
    } else {
        local_id > peer_id
    };
    let keep = if keep_ours {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    first != keep
}

impl Peer {
    /// A peer in Idle.
    pub fn new(config: SessionConfig) -> Self {
        Peer {
            primary: Session::new(config),
            secondary: None,
            actions: VecDeque::new(),
        }
    }

    /// Replaces the capabilities announced in OPENs sent from now on, on both
    /// connections (see [`Session::set_local_capabilities`]).
    pub fn set_local_capabilities(&mut self, capabilities: super::config::LocalCapabilities) {
        if let Some(secondary) = self.secondary.as_mut() {
            secondary.set_local_capabilities(capabilities.clone());
        }
        self.primary.set_local_capabilities(capabilities);
    }

    /// Feeds one event, routing it to the FSM that owns its connection.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match connection_of(&input) {
            None => self.handle_unrouted(now, input),
            Some(connection) => self.handle_routed(now, connection, input),
        }
        self.settle(now);
    }

    fn handle_unrouted(&mut self, now: Instant, input: Input) {
        if let Some(secondary) = self.secondary.as_mut() {
            match &input {
                Input::ManualStop { .. } | Input::AutomaticStop { .. } => {
                    secondary.handle(now, input.clone());
                }
                Input::AdministrativeReset { communication } => {
                    let notification = shutdown(ADMINISTRATIVE_RESET, communication.as_deref());
                    secondary.teardown(
                        now,
                        Some(SessionDownReason::NotificationSent { notification }),
                        Counter::Reset,
                        false,
                    );
                }
                _ => {}
            }
        }
        self.primary.handle(now, input);
    }

    fn handle_routed(&mut self, now: Instant, connection: ConnectionId, input: Input) {
        if let Some(secondary) = self.secondary.as_mut() {
            if owns(secondary, connection) {
                secondary.handle(now, input);
                return;
            }
        }
        let primary_connected = self.primary.connection.is_some();
        match input {
            Input::TcpConnectionSucceeded { connection }
                if self.primary.pending_outbound == Some(connection) && primary_connected =>
            {
                self.primary.pending_outbound = None;
                self.second_connection(now, connection);
            }
            Input::TcpConnectionConfirmed { connection }
                if primary_connected && !owns(&self.primary, connection) =>
            {
                self.second_connection(now, connection);
            }
            other => self.primary.handle(now, other),
        }
    }

    /// A second TCP connection while the primary has one: track it in its own
    /// FSM, which sends our OPEN on it, unless a collision cannot be won by it.
    fn second_connection(&mut self, now: Instant, connection: ConnectionId) {
        if self.secondary.is_some() || self.primary.state == State::Established {
            self.actions
                .push_back(Action::CloseConnection { connection });
            return;
        }
        let mut secondary = Session::new(self.primary.config.clone());
        secondary.next_outbound = self.primary.next_outbound;
        secondary.state = State::Active;
        secondary.handle(now, Input::TcpConnectionConfirmed { connection });
        self.secondary = Some(Box::new(secondary));
    }

    /// Resolves collisions, passes actions on, and promotes the secondary
    /// when the primary has lost its connection or the secondary got further.
    fn settle(&mut self, now: Instant) {
        // Each round either changes nothing or closes one FSM; two suffice.
        for _ in 0..3 {
            self.drain();
            self.resolve_collision(now);
            self.drain();
            let Some(secondary) = self.secondary.take() else {
                return;
            };
            let secondary_alive = secondary.connection.is_some();
            let primary_alive = self.primary.connection.is_some();
            let promote = secondary_alive
                && (!primary_alive
                    || (secondary.state == State::Established
                        && self.primary.state != State::Established));
            if promote {
                let mut old = std::mem::replace(&mut self.primary, *secondary);
                self.primary.adopt_history(&old);
                if let Some(connection) = old.pending_outbound.take() {
                    self.actions
                        .push_back(Action::CloseConnection { connection });
                }
                let (from, to) = (old.state, self.primary.state);
                if from != to {
                    self.actions.push_back(Action::StateChanged { from, to });
                }
                if old.connection.is_some() {
                    // Its counters now live in the primary; start afresh so
                    // they are not added twice when it goes.
                    old.actions.clear();
                    old.received = MessageCounters::default();
                    old.sent = MessageCounters::default();
                    self.secondary = Some(Box::new(old));
                }
            } else if secondary_alive {
                self.secondary = Some(secondary);
                return;
            } else {
                self.primary.adopt_counters(&secondary);
            }
        }
    }

    fn resolve_collision(&mut self, now: Instant) {
        let Some(secondary) = self.secondary.as_mut() else {
            return;
        };
        let primary = &mut self.primary;
        let (first, second) = (primary.state, secondary.state);
        let dump_primary = match (first, second) {
            (State::Established, State::OpenConfirm) => false,
            (State::OpenConfirm, State::Established) => true,
            (State::OpenConfirm, State::OpenConfirm) => {
                let (Some(first_connection), Some(second_connection), Some(negotiated)) = (
                    primary.connection,
                    secondary.connection,
                    primary.negotiated.as_ref(),
                ) else {
                    return;
                };
                first_loses(
                    u32::from(primary.config.local_router_id),
                    primary.config.local_as,
                    u32::from(negotiated.peer_router_id),
                    negotiated.peer_as,
                    first_connection.direction,
                    second_connection.direction,
                )
            }
            _ => return,
        };
        if !dump_primary {
            secondary.handle(now, Input::OpenCollisionDump);
            return;
        }
        // The survivor takes over at once, so the peer's reported state does
        // not bounce through Idle: the loser's own state changes stay private.
        primary.handle(now, Input::OpenCollisionDump);
        let Some(survivor) = self.secondary.take() else {
            return;
        };
        let mut loser = std::mem::replace(&mut self.primary, *survivor);
        self.primary.adopt_history(&loser);
        while let Some(action) = loser.poll_action() {
            if !matches!(action, Action::StateChanged { .. }) {
                self.actions.push_back(action);
            }
        }
        if first != self.primary.state {
            self.actions.push_back(Action::StateChanged {
                from: first,
                to: self.primary.state,
            });
        }
    }

    /// Moves the FSMs' actions to the peer's queue; the secondary's state
    /// changes stay private.
    fn drain(&mut self) {
        while let Some(action) = self.primary.poll_action() {
            self.actions.push_back(action);
        }
        if let Some(secondary) = self.secondary.as_mut() {
            while let Some(action) = secondary.poll_action() {
                if !matches!(action, Action::StateChanged { .. }) {
                    self.actions.push_back(action);
                }
            }
        }
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest deadline of either FSM.
    pub fn next_timeout(&self) -> Option<Instant> {
        let secondary = self.secondary.as_deref().and_then(Session::next_timeout);
        match (self.primary.next_timeout(), secondary) {
            (Some(first), Some(second)) => Some(first.min(second)),
            (first, second) => first.or(second),
        }
    }

    /// Fires expired timers of both FSMs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.primary.handle_timeout(now);
        if let Some(secondary) = self.secondary.as_mut() {
            secondary.handle_timeout(now);
        }
        self.settle(now);
    }

    /// The peer's state: the primary FSM's.
    pub fn state(&self) -> State {
        self.primary.state
    }

    /// The primary FSM.
    pub fn session(&self) -> &Session {
        &self.primary
    }

    /// The FSM of a second connection during a collision.
    pub fn secondary(&self) -> Option<&Session> {
        self.secondary.as_deref()
    }

    /// A snapshot for `podroute neighbors`.
    pub fn status(&self) -> SessionStatus {
        self.primary.status()
    }
}
