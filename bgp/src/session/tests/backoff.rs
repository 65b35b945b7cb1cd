//! The retry schedule: doubling to a cap, ±25 % jitter from a seed, reset
//! after a stable session; and the session using it between attempts.

use std::time::{Duration, Instant};

use crate::wire::Message;

use super::super::{Backoff, Input, State};
use super::{config, drain, outbound, peer_open, received, seconds, session_in};

fn schedule(seed: u64, steps: usize) -> Vec<Duration> {
    let mut backoff = Backoff::new(seconds(5), seconds(120), seed);
    (0..steps)
        .map(|_| {
            let interval = backoff.interval();
            backoff.record_failure();
            interval
        })
        .collect()
}

#[test]
fn base_interval_doubles_up_to_the_cap() {
    let mut backoff = Backoff::new(seconds(5), seconds(120), 7);
    let mut bases = Vec::new();
    for _ in 0..40 {
        bases.push(backoff.base_interval().as_secs());
        backoff.record_failure();
    }
    assert_eq!(bases[..7], [5, 10, 20, 40, 80, 120, 120]);
    assert!(
        bases.iter().skip(5).all(|base| *base == 120),
        "stays at the cap, no overflow"
    );
    backoff.reset();
    assert_eq!(backoff.base_interval(), seconds(5));
    assert_eq!(backoff.failures(), 0);
}

#[test]
fn jitter_stays_within_a_quarter_and_below_the_cap() {
    for seed in 0..200 {
        let mut backoff = Backoff::new(seconds(5), seconds(120), seed);
        for _ in 0..10 {
            let base = backoff.base_interval();
            let interval = backoff.interval();
            assert!(
                interval >= base * 3 / 4,
                "seed {seed}: {interval:?} below 75 % of {base:?}"
            );
            assert!(
                interval <= base * 5 / 4,
                "seed {seed}: {interval:?} above 125 % of {base:?}"
            );
            assert!(
                interval <= seconds(120),
                "seed {seed}: {interval:?} above the cap"
            );
            backoff.record_failure();
        }
    }
}

#[test]
fn jitter_is_deterministic_per_seed_and_varies_between_seeds() {
    assert_eq!(schedule(42, 8), schedule(42, 8));
    assert_ne!(schedule(42, 8), schedule(43, 8));
    // The jitter really moves values: across seeds the first interval is not constant.
    let firsts: std::collections::BTreeSet<Duration> =
        (0..50).map(|seed| schedule(seed, 1)[0]).collect();
    assert!(
        firsts.len() > 10,
        "only {} distinct first intervals",
        firsts.len()
    );
}

/// A peer that refuses every connection: each refusal waits longer before
/// the next attempt, up to the cap.
#[test]
fn repeated_failures_back_off_the_automatic_restart() {
    let start = Instant::now();
    let mut config = config();
    config.jitter_seed = 9;
    let expected = schedule(9, 8);
    let mut session = session_in(config, State::Connect, start);
    let mut now = start;
    let mut waits = Vec::new();
    for attempt in 0..8u64 {
        session.handle(
            now,
            Input::TcpConnectionFails {
                connection: outbound(attempt),
                error: "refused".into(),
            },
        );
        assert_eq!(session.state(), State::Idle);
        let deadline = session
            .next_timeout()
            .expect("the idle hold timer is armed");
        waits.push(deadline - now);
        now = deadline;
        session.handle_timeout(now);
        assert_eq!(session.state(), State::Connect, "restarted on its own");
        drain(&mut session);
    }
    assert_eq!(waits, expected);
}

/// Brings `session` (in Connect) to Established on `connection` at `now`.
fn establish(session: &mut super::super::Session, connection: u64, now: Instant) {
    session.handle(
        now,
        Input::TcpConnectionSucceeded {
            connection: outbound(connection),
        },
    );
    session.handle(
        now,
        received(outbound(connection), Message::Open(peer_open())),
    );
    session.handle(now, received(outbound(connection), Message::Keepalive));
    assert_eq!(session.state(), State::Established);
}

/// A session that went down after `stable_after` or for the first time
/// soon after coming up restarts at once, whatever connection failures came
/// before; the schedule starts over.
#[test]
fn a_stable_session_or_a_first_flap_restarts_at_once() {
    for uptime in [seconds(89), seconds(90)] {
        let start = Instant::now();
        let mut session = session_in(config(), State::Connect, start);
        session.handle(
            start,
            Input::TcpConnectionFails {
                connection: outbound(0),
                error: "x".into(),
            },
        );
        assert_eq!(session.backoff().failures(), 1);
        session.handle(start, Input::IdleHoldTimerExpires);
        establish(&mut session, 1, start);
        let down = start + uptime;
        session.handle(
            down,
            Input::TcpConnectionFails {
                connection: outbound(1),
                error: "x".into(),
            },
        );
        assert_eq!(session.state(), State::Idle);
        assert_eq!(session.next_timeout(), Some(down), "uptime {uptime:?}");
        assert_eq!(session.backoff().failures(), 0, "uptime {uptime:?}");
        assert_eq!(session.status().flap_count, 1);
    }
}

/// Sessions that keep going down soon after coming up are damped: the
/// first restarts at once, each further one waits the next step of the
/// schedule; a stable session ends the damping.
#[test]
fn consecutive_short_sessions_wait_the_schedule() {
    let start = Instant::now();
    let mut config = config();
    config.jitter_seed = 3;
    let expected = schedule(3, 3);
    let mut session = session_in(config, State::Connect, start);
    let mut now = start;
    let mut waits = Vec::new();
    for connection in 0..5u64 {
        establish(&mut session, connection, now);
        let uptime = if connection == 3 {
            seconds(90)
        } else {
            seconds(10)
        };
        now += uptime;
        session.handle(
            now,
            Input::TcpConnectionFails {
                connection: outbound(connection),
                error: "x".into(),
            },
        );
        let deadline = session
            .next_timeout()
            .expect("the idle hold timer is armed");
        waits.push(deadline - now);
        now = deadline;
        session.handle_timeout(now);
        assert_eq!(session.state(), State::Connect);
        drain(&mut session);
    }
    let zero = Duration::ZERO;
    // Flaps 2 and 3 wait steps 0 and 1; the stable fourth session restarts
    // at once and the short fifth one counts as a first flap again.
    assert_eq!(waits, [zero, expected[0], expected[1], zero, zero]);
}

#[test]
fn manual_start_resets_the_backoff_and_manual_stop_does_not_restart() {
    let now = Instant::now();
    let mut session = session_in(config(), State::Connect, now);
    session.handle(
        now,
        Input::TcpConnectionFails {
            connection: outbound(0),
            error: "x".into(),
        },
    );
    assert_eq!(session.backoff().failures(), 1);
    session.handle(
        now,
        Input::ManualStop {
            communication: None,
        },
    );
    assert_eq!(
        session.next_timeout(),
        None,
        "a stopped session stays stopped"
    );
    session.handle(now, Input::ManualStart);
    assert_eq!(session.backoff().failures(), 0);
    assert_eq!(session.state(), State::Connect);
}

#[test]
fn without_automatic_restart_a_failure_stays_idle() {
    let now = Instant::now();
    let mut config = config();
    config.automatic_restart = false;
    let mut session = session_in(config, State::Connect, now);
    session.handle(
        now,
        Input::TcpConnectionFails {
            connection: outbound(0),
            error: "x".into(),
        },
    );
    assert_eq!(session.state(), State::Idle);
    assert_eq!(session.next_timeout(), None);
}
