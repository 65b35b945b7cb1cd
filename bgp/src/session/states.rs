//! The per-state rules of RFC 4271 §8.2.2, one function per state.
//!
//! [`Session::dispatch`] receives an event that `fsm.rs` has already matched
//! to the current connection, and applies what §8.2.2 prescribes for the
//! current state: the RFC's "In response to any other event" paragraphs are
//! the `_` arms. Deliberate choices where the RFC leaves room:
//!
//! - a NOTIFICATION is sent on a connection whose OPEN is delayed (the
//!   optional SendNOTIFICATIONwithoutOPEN is on), so the peer learns why;
//! - a received NOTIFICATION is never answered with another one (the peer
//!   has closed already), even where §8.2.2 lists it among "any other event";
//! - unexpected messages get the RFC 6608 subcodes; unexpected timer events
//!   get FSM Error subcode 0;
//! - a decoding error sends the codec's NOTIFICATION (RFC 4271 §6) in every
//!   state, and resets nothing when RFC 7606 says to treat-as-withdraw or
//!   discard: those arrive as an UPDATE carrying the finding.

use std::time::Instant;

use crate::wire::{ErrorAction, Message, Notification, Open, RouteRefreshSubtype, WireError};

use super::event::{Action, ConnectionId, Input, SessionDownReason, State};
use super::fsm::{Counter, OPEN_HOLD_TIME, Session};
use super::negotiated::negotiate;
use super::notification::{
    ADMINISTRATIVE_SHUTDOWN, CONNECTION_COLLISION_RESOLUTION, OPEN_MESSAGE_ERROR,
    UNEXPECTED_MESSAGE_IN_ESTABLISHED, UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM,
    UNEXPECTED_MESSAGE_IN_OPEN_SENT, UNSUPPORTED_VERSION_NUMBER, cease, finite_state_machine_error,
    shutdown,
};
use super::open_check::check_open;
use super::status::{LastError, LastErrorKind};

fn sent(notification: Notification) -> Option<SessionDownReason> {
    Some(SessionDownReason::NotificationSent { notification })
}

fn is_version_error(notification: &Notification) -> bool {
    notification.code == OPEN_MESSAGE_ERROR && notification.subcode == UNSUPPORTED_VERSION_NUMBER
}

fn is_start(input: &Input) -> bool {
    matches!(
        input,
        Input::ManualStart
            | Input::ManualStartPassive
            | Input::AutomaticStart
            | Input::AutomaticStartPassive
    )
}

impl Session {
    pub(super) fn dispatch(&mut self, now: Instant, input: Input) {
        match self.state {
            State::Idle => self.in_idle(now, input),
            State::Connect | State::Active => self.in_connect_or_active(now, input),
            State::OpenSent => self.in_open_sent(now, input),
            State::OpenConfirm => self.in_open_confirm(now, input),
            State::Established => self.in_established(now, input),
        }
    }

    /// Idle: start events start; inbound connections are refused; stops
    /// cancel an automatic restart; all else is ignored.
    fn in_idle(&mut self, now: Instant, input: Input) {
        match input {
            Input::ManualStart => {
                self.backoff.reset();
                self.start(now, false);
            }
            Input::ManualStartPassive => {
                self.backoff.reset();
                self.start(now, true);
            }
            Input::AutomaticStart | Input::IdleHoldTimerExpires => self.start(now, false),
            Input::AutomaticStartPassive => self.start(now, true),
            Input::TcpConnectionConfirmed { connection }
            | Input::TcpConnectionSucceeded { connection } => {
                self.push(Action::CloseConnection { connection });
            }
            // §8.2.2 ignores stops in Idle; here they also cancel a pending
            // automatic restart, which is our addition to the RFC's Idle.
            Input::ManualStop { .. } | Input::AutomaticStop { .. } => self.timers.clear(),
            _ => {}
        }
    }

    /// A TCP connection came up in Connect or Active: send OPEN now, or wait
    /// DelayOpen for the peer's OPEN first.
    fn connection_up(&mut self, now: Instant, connection: ConnectionId) {
        if self.connection.is_some() {
            // DelayOpen already holds a connection; a second one is the
            // collision logic's business (see `Peer`), not this FSM's.
            self.push(Action::CloseConnection { connection });
            return;
        }
        self.connection = Some(connection);
        self.timers.connect_retry = None;
        match self.config.delay_open {
            Some(delay) => self.timers.delay_open = now.checked_add(delay),
            None => self.open_sent(now),
        }
    }

    fn open_sent(&mut self, now: Instant) {
        self.timers.connect_retry = None;
        self.timers.delay_open = None;
        self.send_open();
        self.timers.hold = now.checked_add(OPEN_HOLD_TIME);
        self.set_state(now, State::OpenSent);
    }

    /// The peer's OPEN passed the checks: send KEEPALIVE, start the negotiated
    /// timers, go to OpenConfirm (events 19 and 20).
    fn open_accepted(&mut self, now: Instant, open: &Open) {
        self.negotiated = Some(negotiate(&self.config, open));
        self.timers.connect_retry = None;
        self.timers.delay_open = None;
        self.send(Message::Keepalive);
        self.restart_keepalive(now);
        self.restart_hold(now);
        self.set_state(now, State::OpenConfirm);
    }

    /// A decoding error: the codec's NOTIFICATION and Idle when it calls for a
    /// reset; otherwise a note in the status.
    fn decode_error(&mut self, now: Instant, error: WireError) {
        if error.action == ErrorAction::SessionReset {
            self.teardown(now, sent(error.notification()), Counter::Increment, true);
        } else {
            self.last_error = Some(LastError::new(
                now,
                LastErrorKind::Decode(error.to_string()),
            ));
            if self.state == State::Established {
                self.restart_hold(now);
            }
        }
    }

    /// Connect and Active differ only in their start (connect or listen) and
    /// in what a failed or timed-out connection does.
    fn in_connect_or_active(&mut self, now: Instant, input: Input) {
        let delaying = self.timers.delay_open.is_some() && self.connection.is_some();
        match input {
            input if is_start(&input) => {}
            Input::ManualStop { communication } => {
                let notification = shutdown(ADMINISTRATIVE_SHUTDOWN, communication.as_deref());
                self.teardown(now, sent(notification), Counter::Reset, false);
            }
            Input::ConnectRetryTimerExpires => {
                if let Some(connection) = self.connection.take() {
                    self.push(Action::CloseConnection { connection });
                }
                self.timers.delay_open = None;
                if self.state == State::Connect {
                    if self.pending_outbound.is_some() {
                        // The attempt is abandoned before its own outcome
                        // arrives (which will then be stale): say why here,
                        // or a peer that never answers shows no error at all.
                        let waited = self.backoff.interval().as_secs_f64();
                        let error =
                            format!("no answer to our connection attempt within {waited:.1} s");
                        self.last_error =
                            Some(LastError::new(now, LastErrorKind::Connection(error)));
                    }
                    self.backoff.record_failure();
                }
                self.arm_connect_retry(now);
                self.initiate_connection();
                self.set_state(now, State::Connect);
            }
            Input::DelayOpenTimerExpires if self.connection.is_some() => self.open_sent(now),
            Input::TcpConnectionSucceeded { connection }
            | Input::TcpConnectionConfirmed { connection } => self.connection_up(now, connection),
            Input::TcpConnectionFails { error, .. } => {
                if self.state == State::Connect && delaying {
                    // Back to listening; the connect retry timer tries again.
                    if let Some(connection) = self.connection.take() {
                        self.push(Action::CloseConnection { connection });
                    }
                    self.timers.delay_open = None;
                    self.arm_connect_retry(now);
                    self.set_state(now, State::Active);
                } else {
                    let counter = if self.state == State::Active {
                        Counter::Increment
                    } else {
                        Counter::Keep
                    };
                    let reason = SessionDownReason::ConnectionFailed { error };
                    self.teardown(now, Some(reason), counter, true);
                }
            }
            Input::MessageReceived {
                message: Message::Open(open),
                ..
            } if delaying => match check_open(&self.config, &open) {
                Err(notification) => {
                    self.teardown(now, sent(notification), Counter::Increment, true);
                }
                Ok(()) => {
                    self.send_open();
                    self.open_accepted(now, &open);
                }
            },
            Input::DecodeError { error, .. } => self.decode_error(now, error),
            Input::MessageReceived {
                message: Message::Notification(notification),
                ..
            } if is_version_error(&notification) => {
                let counter = if delaying {
                    Counter::Keep
                } else {
                    Counter::Increment
                };
                self.teardown(now, None, counter, true);
            }
            Input::AutomaticStop { notification } => {
                self.teardown(now, sent(notification), Counter::Increment, false);
            }
            _ => self.teardown(now, None, Counter::Increment, true),
        }
    }

    /// Shared by OpenSent, OpenConfirm and Established: the events whose
    /// handling §8.2.2 gives identically in all three. Returns the input back
    /// when the state has its own rule for it.
    fn common_connected(&mut self, now: Instant, input: Input) -> Option<Input> {
        match input {
            input if is_start(&input) => {}
            Input::ManualStop { communication } => {
                let notification = self
                    .outgoing_cease(shutdown(ADMINISTRATIVE_SHUTDOWN, communication.as_deref()));
                self.teardown(now, sent(notification), Counter::Reset, false);
            }
            Input::AutomaticStop { notification } => {
                let notification = self.outgoing_cease(notification);
                self.teardown(now, sent(notification), Counter::Increment, false);
            }
            Input::HoldTimerExpires => {
                self.teardown(
                    now,
                    Some(SessionDownReason::HoldTimerExpired),
                    Counter::Increment,
                    true,
                );
            }
            Input::TcpConnectionSucceeded { connection }
            | Input::TcpConnectionConfirmed { connection } => {
                // A second connection: tracked by collision detection (§6.8)
                // in `Peer`; a lone FSM cannot, so it refuses it.
                self.push(Action::CloseConnection { connection });
            }
            Input::DecodeError { error, .. } => self.decode_error(now, error),
            Input::OpenCollisionDump => {
                // The other connection carries on, so this FSM does not restart.
                let notification = cease(CONNECTION_COLLISION_RESOLUTION, Vec::new());
                self.teardown(now, sent(notification), Counter::Increment, false);
            }
            Input::MessageReceived {
                message: Message::Notification(notification),
                ..
            } => {
                let counter = if is_version_error(&notification) {
                    Counter::Keep
                } else {
                    Counter::Increment
                };
                let reason = SessionDownReason::NotificationReceived { notification };
                self.teardown(now, Some(reason), counter, true);
            }
            Input::ConnectRetryTimerExpires
            | Input::DelayOpenTimerExpires
            | Input::IdleHoldTimerExpires => {
                let notification = finite_state_machine_error(0);
                self.teardown(now, sent(notification), Counter::Increment, true);
            }
            other => return Some(other),
        }
        None
    }

    fn unexpected_message(&mut self, now: Instant, subcode: u8) {
        self.teardown(
            now,
            sent(finite_state_machine_error(subcode)),
            Counter::Increment,
            true,
        );
    }

    /// OpenSent: waiting for the peer's OPEN.
    fn in_open_sent(&mut self, now: Instant, input: Input) {
        let Some(input) = self.common_connected(now, input) else {
            return;
        };
        match input {
            Input::TcpConnectionFails { .. } => {
                // §8.2.2: close, restart the connect retry timer, listen (Active).
                self.timers.clear();
                if let Some(connection) = self.connection.take() {
                    self.push(Action::CloseConnection { connection });
                }
                if !self.config.passive {
                    self.arm_connect_retry(now);
                }
                self.set_state(now, State::Active);
            }
            Input::MessageReceived {
                message: Message::Open(open),
                ..
            } => match check_open(&self.config, &open) {
                Err(notification) => {
                    self.teardown(now, sent(notification), Counter::Increment, true);
                }
                Ok(()) => self.open_accepted(now, &open),
            },
            Input::MessageReceived { .. } => {
                self.unexpected_message(now, UNEXPECTED_MESSAGE_IN_OPEN_SENT);
            }
            Input::KeepaliveTimerExpires => {
                self.teardown(
                    now,
                    sent(finite_state_machine_error(0)),
                    Counter::Increment,
                    true,
                );
            }
            _ => {}
        }
    }

    /// OpenConfirm: waiting for the peer's KEEPALIVE.
    fn in_open_confirm(&mut self, now: Instant, input: Input) {
        let Some(input) = self.common_connected(now, input) else {
            return;
        };
        match input {
            Input::KeepaliveTimerExpires => {
                self.send(Message::Keepalive);
                self.restart_keepalive(now);
            }
            Input::TcpConnectionFails { error, .. } => {
                let reason = SessionDownReason::ConnectionFailed { error };
                self.teardown(now, Some(reason), Counter::Increment, true);
            }
            Input::MessageReceived {
                message: Message::Keepalive,
                connection,
            } => {
                self.restart_hold(now);
                self.set_state(now, State::Established);
                if let Some(negotiated) = self.negotiated.clone() {
                    self.push(Action::Established {
                        connection,
                        negotiated: Box::new(negotiated),
                    });
                }
            }
            Input::MessageReceived { .. } => {
                self.unexpected_message(now, UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM);
            }
            _ => {}
        }
    }

    /// Established: exchange routes; every message received restarts the hold timer.
    fn in_established(&mut self, now: Instant, input: Input) {
        let Some(input) = self.common_connected(now, input) else {
            return;
        };
        match input {
            Input::KeepaliveTimerExpires => {
                self.send(Message::Keepalive);
                self.restart_keepalive(now);
            }
            Input::TcpConnectionFails { error, .. } => {
                let reason = SessionDownReason::ConnectionFailed { error };
                self.teardown(now, Some(reason), Counter::Increment, true);
            }
            Input::MessageReceived {
                message: Message::Keepalive,
                ..
            } => self.restart_hold(now),
            Input::MessageReceived {
                message: Message::Update(update),
                ..
            } => {
                self.restart_hold(now);
                self.push(Action::DeliverUpdate(Box::new(update)));
            }
            Input::MessageReceived {
                message: Message::RouteRefresh(route_refresh),
                ..
            } => {
                self.restart_hold(now);
                let Some(negotiated) = &self.negotiated else {
                    return;
                };
                // RFC 2918 §4: ignore families we did not announce; RFC 7313
                // §5: ignore unknown subtypes, and BoRR/EoRR when enhanced
                // route refresh was not negotiated.
                let family_ok = negotiated.families.contains(&route_refresh.family);
                let subtype_ok = match route_refresh.subtype {
                    RouteRefreshSubtype::Request => true,
                    RouteRefreshSubtype::BeginningOfRefresh | RouteRefreshSubtype::EndOfRefresh => {
                        negotiated.enhanced_route_refresh
                    }
                    RouteRefreshSubtype::Unknown(_) => false,
                };
                if family_ok && subtype_ok && self.config.capabilities.route_refresh {
                    self.push(Action::DeliverRouteRefresh(route_refresh));
                }
            }
            Input::MessageReceived {
                message: Message::Open(_),
                ..
            } => {
                self.unexpected_message(now, UNEXPECTED_MESSAGE_IN_ESTABLISHED);
            }
            _ => {}
        }
    }
}
