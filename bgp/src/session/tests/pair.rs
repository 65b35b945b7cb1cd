//! Two peers wired together in memory with virtual time, in the manner of
//! quinn-proto's test `Pair`: every `Connect` opens a link, every `Send`
//! arrives as a `MessageReceived` on the other end, every close arrives as a
//! `TcpConnectionFails`. Messages are the real `Message` values, delivered
//! in order; time moves only to the next timer deadline.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::wire::{CodecContext, Message};

use super::super::notification::shutdown_communication;
use super::super::{
    Action, ConnectionId, ExpectedPeerAs, Input, Peer, SessionConfig, SessionDownReason, State,
};
use super::seconds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    A,
    B,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

struct Pair {
    now: Instant,
    a: Peer,
    b: Peer,
    /// Each end of each live link, to the other end.
    links: BTreeMap<(Side, ConnectionId), (Side, ConnectionId)>,
    next_inbound: u64,
    queue: VecDeque<(Side, Input)>,
    /// Every action each side took, for the assertions.
    log: BTreeMap<Side, Vec<Action>>,
}

const A_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const B_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

fn side_config(local: Ipv4Addr, remote: Ipv4Addr, asn: u32, peer_asn: u32) -> SessionConfig {
    let mut config = SessionConfig::new(
        asn,
        local,
        IpAddr::V4(remote),
        ExpectedPeerAs::Exact(peer_asn),
    );
    config.jitter_seed = u64::from(u32::from(local));
    config
}

impl Pair {
    fn new(a: SessionConfig, b: SessionConfig) -> Self {
        Pair {
            now: Instant::now(),
            a: Peer::new(a),
            b: Peer::new(b),
            links: BTreeMap::new(),
            next_inbound: 0,
            queue: VecDeque::new(),
            log: BTreeMap::new(),
        }
    }

    fn peer(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn input(&mut self, side: Side, input: Input) {
        self.queue.push_back((side, input));
        self.drive();
    }

    /// Delivers inputs and carries out actions until nothing moves.
    fn drive(&mut self) {
        for _ in 0..100_000 {
            self.collect(Side::A);
            self.collect(Side::B);
            let Some((side, input)) = self.queue.pop_front() else {
                return;
            };
            let now = self.now;
            self.peer(side).handle(now, input);
        }
        panic!("the pair never settled");
    }

    fn collect(&mut self, side: Side) {
        while let Some(action) = self.peer(side).poll_action() {
            self.carry_out(side, &action);
            self.log.entry(side).or_default().push(action);
        }
    }

    fn carry_out(&mut self, side: Side, action: &Action) {
        match action {
            Action::Connect { connection } => {
                let remote = (side.other(), ConnectionId::inbound(self.next_inbound));
                self.next_inbound += 1;
                self.links.insert((side, *connection), remote);
                self.links.insert(remote, (side, *connection));
                self.queue.push_back((
                    side,
                    Input::TcpConnectionSucceeded {
                        connection: *connection,
                    },
                ));
                self.queue.push_back((
                    remote.0,
                    Input::TcpConnectionConfirmed {
                        connection: remote.1,
                    },
                ));
            }
            Action::Send {
                connection,
                message,
            } => {
                if let Some((other, remote)) = self.links.get(&(side, *connection)).copied() {
                    let message = self.through_the_wire(side, *connection, other, remote, message);
                    self.queue.push_back((
                        other,
                        Input::MessageReceived {
                            connection: remote,
                            message,
                        },
                    ));
                }
            }
            Action::CloseConnection { connection } => {
                if let Some((other, remote)) = self.links.remove(&(side, *connection)) {
                    self.links.remove(&(other, remote));
                    let error = String::from("connection closed by peer");
                    self.queue.push_back((
                        other,
                        Input::TcpConnectionFails {
                            connection: remote,
                            error,
                        },
                    ));
                }
            }
            _ => {}
        }
    }

    /// Encodes `message` as `from` would on its connection and decodes it as
    /// `to` would on the other end, so the pair exercises the real codec with
    /// the contexts the sessions hand out.
    fn through_the_wire(
        &mut self,
        from: Side,
        from_connection: ConnectionId,
        to: Side,
        to_connection: ConnectionId,
        message: &Message,
    ) -> Message {
        let encode = {
            let session = self.peer(from).session();
            if session.connection() == Some(from_connection) {
                session.encode_context()
            } else {
                CodecContext::legacy()
            }
        };
        let decode = {
            let session = self.peer(to).session();
            if session.connection() == Some(to_connection) {
                session.decode_context()
            } else {
                CodecContext::legacy()
            }
        };
        let mut bytes = BytesMut::new();
        message
            .encode(&encode, &mut bytes)
            .expect("the session only sends encodable messages");
        let decoded = Message::decode(&bytes, &decode).expect("what we encode, the peer decodes");
        assert_eq!(&decoded, message, "a message survives the round trip");
        decoded
    }

    /// Advances virtual time through every timer deadline up to `duration` from now.
    fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        loop {
            let next = [self.a.next_timeout(), self.b.next_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(deadline) if deadline <= end => {
                    self.now = self.now.max(deadline);
                    let now = self.now;
                    self.a.handle_timeout(now);
                    self.b.handle_timeout(now);
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn actions(&self, side: Side) -> &[Action] {
        self.log.get(&side).map(Vec::as_slice).unwrap_or_default()
    }

    fn established_connections(&self, side: Side) -> Vec<ConnectionId> {
        self.actions(side)
            .iter()
            .filter_map(|action| match action {
                Action::Established { connection, .. } => Some(*connection),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn an_active_and_a_passive_speaker_stay_up_then_one_shuts_down() {
    let a = side_config(A_ADDRESS, B_ADDRESS, 64512, 64512);
    let mut b = side_config(B_ADDRESS, A_ADDRESS, 64512, 64512);
    b.passive = true;
    let mut pair = Pair::new(a, b);
    pair.input(Side::B, Input::ManualStart);
    pair.input(Side::A, Input::ManualStart);
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    assert_eq!(
        pair.established_connections(Side::A),
        [ConnectionId::outbound(0)]
    );
    assert_eq!(
        pair.established_connections(Side::B),
        [ConnectionId::inbound(0)]
    );
    let negotiated = pair
        .actions(Side::B)
        .iter()
        .find_map(|action| match action {
            Action::Established { negotiated, .. } => Some(negotiated.clone()),
            _ => None,
        });
    let negotiated = negotiated.expect("B reported Established");
    assert_eq!(negotiated.peer_router_id, A_ADDRESS);
    assert!(negotiated.internal);
    assert_eq!((negotiated.hold_time, negotiated.keepalive), (90, 30));

    // Ten minutes of keepalives: nobody's hold timer expires.
    pair.run_for(seconds(600));
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    let a_status = pair.a.status();
    let b_status = pair.b.status();
    assert_eq!(a_status.messages_sent.keepalive, 1 + 20);
    assert_eq!(b_status.messages_received.keepalive, 1 + 20);
    assert_eq!(b_status.messages_sent.keepalive, 1 + 20);
    assert_eq!(a_status.flap_count, 0);
    assert_eq!(a_status.uptime(pair.now), Some(seconds(600)));

    // A's operator shuts the session down with a message; B reports it.
    let text = "moving to the new rack, back at 14:00";
    pair.input(
        Side::A,
        Input::ManualStop {
            communication: Some(String::from(text)),
        },
    );
    assert_eq!(pair.a.state(), State::Idle);
    let down = pair
        .actions(Side::B)
        .iter()
        .find_map(|action| match action {
            Action::SessionDown {
                reason,
                retain_routes,
            } => Some((reason.clone(), *retain_routes)),
            _ => None,
        });
    let Some((SessionDownReason::NotificationReceived { notification }, retain_routes)) = down
    else {
        panic!("B did not report the NOTIFICATION: {down:?}");
    };
    assert_eq!((notification.code, notification.subcode), (6, 2));
    assert_eq!(shutdown_communication(&notification).as_deref(), Some(text));
    assert!(!retain_routes, "no graceful restart configured");
    let b_status = pair.b.status();
    assert_eq!(b_status.flap_count, 1);
    assert_eq!(
        b_status.last_error.map(|error| error.description),
        Some(format!(
            "received Cease / Administrative Shutdown (6/2): {text:?}"
        ))
    );
    // B, passive, waits for A again; A, stopped, stays stopped.
    pair.run_for(seconds(600));
    assert_eq!(pair.a.state(), State::Idle);
    assert_eq!(pair.b.state(), State::Active);
}

#[test]
fn two_active_speakers_collide_and_keep_one_connection() {
    // eBGP this time; B has the higher identifier, so B's connection survives.
    let a = side_config(A_ADDRESS, B_ADDRESS, 65001, 65002);
    let b = side_config(B_ADDRESS, A_ADDRESS, 65002, 65001);
    let mut pair = Pair::new(a, b);
    // Both start before either runs: two connections cross.
    let now = pair.now;
    pair.a.handle(now, Input::ManualStart);
    pair.b.handle(now, Input::ManualStart);
    pair.drive();
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    // B connected out as its outbound#0, which A accepted as one of its inbound ids.
    assert_eq!(
        pair.established_connections(Side::B),
        [ConnectionId::outbound(0)]
    );
    let a_connection = pair.established_connections(Side::A);
    assert_eq!(a_connection.len(), 1);
    assert_eq!(a_connection[0].direction, super::super::Direction::Inbound);
    assert_eq!(pair.links.len(), 2, "exactly one link (two ends) is left");
    let collision_notifications = [Side::A, Side::B]
        .iter()
        .flat_map(|side| pair.actions(*side))
        .filter(|action| {
            matches!(action, Action::Send { message, .. }
            if matches!(**message, Message::Notification(ref n) if (n.code, n.subcode) == (6, 7)))
        })
        .count();
    assert!(
        collision_notifications >= 1,
        "the losing connection was closed with Cease 6/7"
    );
    // Neither side reported a session going down: the loser never got Established.
    for side in [Side::A, Side::B] {
        assert!(
            !pair
                .actions(side)
                .iter()
                .any(|action| matches!(action, Action::SessionDown { .. })),
            "{side:?}"
        );
    }
    pair.run_for(seconds(300));
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    assert_eq!(
        pair.established_connections(Side::A).len(),
        1,
        "no second session came up"
    );
}

#[test]
fn a_silent_peer_is_dropped_by_the_hold_timer_and_comes_back() {
    let a = side_config(A_ADDRESS, B_ADDRESS, 64512, 64512);
    let mut b = side_config(B_ADDRESS, A_ADDRESS, 64512, 64512);
    b.passive = true;
    let mut pair = Pair::new(a, b);
    pair.input(Side::B, Input::ManualStart);
    pair.input(Side::A, Input::ManualStart);
    assert_eq!(pair.a.state(), State::Established);
    // B freezes: its link ends vanish without a close, so nothing it sends
    // arrives and nothing reaches it.
    pair.links.clear();
    pair.run_for(seconds(90));
    let a_down = pair.actions(Side::A).iter().any(|action| {
        matches!(
            action,
            Action::SessionDown {
                reason: SessionDownReason::HoldTimerExpired,
                ..
            }
        )
    });
    assert!(a_down);
    // B's hold timer expires as well; then A's automatic restart reconnects.
    pair.run_for(seconds(300));
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    assert_eq!(pair.a.status().flap_count, 1);
}
