//! `/readyz`: whether this node forwards what its neighbors told it.
//!
//! Data flow: the handler gathers [`ReadinessFacts`] (the neighbors' status,
//! time since start, the grace period from the configuration, the kernel
//! synchronizer's state) and [`readiness`] decides, with no I/O and no clock,
//! so the rules are tested as a table of cases.
//!
//! The rules: ready when
//! 1. every configured neighbor that is not shut down is Established, or the
//!    grace period since start has passed (a neighbor that never comes up
//!    must not keep the node out of service forever), and
//! 2. the FIB is in sync: nothing pending and the start-up sweep of stale
//!    routes done (RFC 4724 §4.2), or the FIB is disabled.
//!
//! Dynamic neighbors (listen ranges) never count: they come and go.

use std::net::IpAddr;
use std::time::Duration;

use config::GracefulRestart;
use serde::Serialize;

use super::snapshot::NeighborSnapshot;

/// Grace period when graceful restart is off.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// The kernel side as readiness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FibReadiness {
    /// `[fib] enabled = false`: never blocks readiness.
    Disabled,
    /// The synchronizer did not answer.
    Stopped,
    /// The synchronizer's progress.
    Running {
        /// Prefixes waiting to be programmed.
        pending: usize,
        /// Stale routes from before the start have been swept.
        initial_sweep_done: bool,
    },
}

/// What [`readiness`] decides from.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessFacts<'a> {
    /// Every neighbor's status.
    pub neighbors: &'a [NeighborSnapshot],
    /// Time since the daemon started.
    pub since_start: Duration,
    /// How long neighbors may take to come up (see [`grace_period`]).
    pub grace: Duration,
    /// The kernel side.
    pub fib: FibReadiness,
}

/// A configured neighbor that is not Established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingNeighbor {
    /// Its address.
    pub address: IpAddr,
    /// Its RFC 4271 state.
    pub state: String,
}

/// The answer of `/readyz` (the JSON body, both for 200 and 503).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// 200 when true, 503 when false.
    pub ready: bool,
    /// What keeps the node from being ready, one sentence each (empty when ready).
    pub missing: Vec<String>,
    /// Configured, enabled neighbors not Established, by address (listed even
    /// after the grace period, when they no longer block).
    pub neighbors_not_established: Vec<WaitingNeighbor>,
    /// Seconds left of the grace period (0 once over).
    pub grace_remaining_seconds: u64,
    /// The kernel side.
    pub fib: FibReadiness,
}

/// The grace period: `[graceful_restart] selection_deferral_time` when
/// graceful restart is on (peers get that long to re-send their tables,
/// RFC 4724 §4.1), else [`DEFAULT_GRACE`].
pub fn grace_period(graceful_restart: &GracefulRestart) -> Duration {
    if graceful_restart.enabled {
        graceful_restart.selection_deferral_time
    } else {
        DEFAULT_GRACE
    }
}

/// Decides readiness (see the module documentation for the rules).
pub fn readiness(facts: ReadinessFacts<'_>) -> Readiness {
    let mut waiting: Vec<WaitingNeighbor> = facts
        .neighbors
        .iter()
        .filter(|neighbor| !neighbor.dynamic && !neighbor.shutdown)
        .filter(|neighbor| neighbor.state != "Established")
        .map(|neighbor| WaitingNeighbor {
            address: neighbor.address,
            state: neighbor.state.clone(),
        })
        .collect();
    waiting.sort_by_key(|neighbor| neighbor.address);
    let remaining = facts.grace.saturating_sub(facts.since_start);
    let mut missing = Vec::new();
    if !waiting.is_empty() && !remaining.is_zero() {
        let names: Vec<String> = waiting
            .iter()
            .map(|neighbor| format!("{} ({})", neighbor.address, neighbor.state))
            .collect();
        missing.push(format!(
            "{} configured neighbor(s) not Established: {}; the grace period ends in {} s",
            waiting.len(),
            names.join(", "),
            seconds_rounded_up(remaining)
        ));
    }
    match facts.fib {
        FibReadiness::Disabled => {}
        FibReadiness::Stopped => missing.push("the kernel synchronizer has stopped".into()),
        FibReadiness::Running {
            pending,
            initial_sweep_done,
        } => {
            if pending > 0 {
                missing.push(format!("{pending} FIB operation(s) pending"));
            }
            if !initial_sweep_done {
                missing.push("the FIB's start-up sweep of stale routes has not run yet".into());
            }
        }
    }
    Readiness {
        ready: missing.is_empty(),
        missing,
        neighbors_not_established: waiting,
        grace_remaining_seconds: seconds_rounded_up(remaining),
        fib: facts.fib,
    }
}

/// Whole seconds, rounded up so "0 s left" only shows when nothing is left.
fn seconds_rounded_up(duration: Duration) -> u64 {
    let whole = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests::neighbor;

    const SYNCED: FibReadiness = FibReadiness::Running {
        pending: 0,
        initial_sweep_done: true,
    };

    fn with(address: &str, state: &str, dynamic: bool, shutdown: bool) -> NeighborSnapshot {
        let mut status = neighbor(address, state);
        status.dynamic = dynamic;
        status.shutdown = shutdown;
        status
    }

    /// One case: the facts, then whether ready and how many reasons.
    struct Case {
        name: &'static str,
        neighbors: Vec<NeighborSnapshot>,
        since_start: u64,
        fib: FibReadiness,
        ready: bool,
        missing: usize,
    }

    #[test]
    fn table_of_cases() {
        let cases = [
            Case {
                name: "no neighbors, FIB disabled",
                neighbors: vec![],
                since_start: 0,
                fib: FibReadiness::Disabled,
                ready: true,
                missing: 0,
            },
            Case {
                name: "every neighbor Established, FIB synced",
                neighbors: vec![
                    with("198.18.0.2", "Established", false, false),
                    with("198.18.0.3", "Established", false, false),
                ],
                since_start: 1,
                fib: SYNCED,
                ready: true,
                missing: 0,
            },
            Case {
                name: "one neighbor Active within the grace period",
                neighbors: vec![
                    with("198.18.0.2", "Established", false, false),
                    with("198.18.0.3", "Active", false, false),
                ],
                since_start: 10,
                fib: SYNCED,
                ready: false,
                missing: 1,
            },
            Case {
                name: "one neighbor Active after the grace period",
                neighbors: vec![with("198.18.0.3", "Active", false, false)],
                since_start: 60,
                fib: SYNCED,
                ready: true,
                missing: 0,
            },
            Case {
                name: "a shut-down neighbor does not count",
                neighbors: vec![with("198.18.0.3", "Idle", false, true)],
                since_start: 0,
                fib: FibReadiness::Disabled,
                ready: true,
                missing: 0,
            },
            Case {
                name: "a dynamic neighbor does not count",
                neighbors: vec![with("198.18.0.9", "OpenSent", true, false)],
                since_start: 0,
                fib: FibReadiness::Disabled,
                ready: true,
                missing: 0,
            },
            Case {
                name: "FIB operations pending",
                neighbors: vec![],
                since_start: 0,
                fib: FibReadiness::Running {
                    pending: 3,
                    initial_sweep_done: true,
                },
                ready: false,
                missing: 1,
            },
            Case {
                name: "FIB start-up sweep not done",
                neighbors: vec![],
                since_start: 600,
                fib: FibReadiness::Running {
                    pending: 0,
                    initial_sweep_done: false,
                },
                ready: false,
                missing: 1,
            },
            Case {
                name: "FIB synchronizer stopped",
                neighbors: vec![],
                since_start: 600,
                fib: FibReadiness::Stopped,
                ready: false,
                missing: 1,
            },
            Case {
                name: "neighbors and FIB both missing",
                neighbors: vec![with("198.18.0.2", "Connect", false, false)],
                since_start: 5,
                fib: FibReadiness::Running {
                    pending: 1,
                    initial_sweep_done: false,
                },
                ready: false,
                missing: 3,
            },
        ];
        for case in cases {
            let answer = readiness(ReadinessFacts {
                neighbors: &case.neighbors,
                since_start: Duration::from_secs(case.since_start),
                grace: DEFAULT_GRACE,
                fib: case.fib,
            });
            assert_eq!(answer.ready, case.ready, "{}: {answer:?}", case.name);
            assert_eq!(
                answer.missing.len(),
                case.missing,
                "{}: {answer:?}",
                case.name
            );
        }
    }

    #[test]
    fn the_body_names_waiting_neighbors_in_address_order_and_the_time_left() {
        let neighbors = [
            with("198.18.0.7", "Active", false, false),
            with("198.18.0.3", "OpenConfirm", false, false),
            with("198.18.0.5", "Established", false, false),
        ];
        let answer = readiness(ReadinessFacts {
            neighbors: &neighbors,
            since_start: Duration::from_millis(100_500),
            grace: Duration::from_secs(120),
            fib: FibReadiness::Disabled,
        });
        assert!(!answer.ready);
        assert_eq!(answer.grace_remaining_seconds, 20);
        let addresses: Vec<String> = answer
            .neighbors_not_established
            .iter()
            .map(|neighbor| neighbor.address.to_string())
            .collect();
        assert_eq!(addresses, ["198.18.0.3", "198.18.0.7"]);
        assert_eq!(
            answer.missing,
            [
                "2 configured neighbor(s) not Established: 198.18.0.3 (OpenConfirm), \
              198.18.0.7 (Active); the grace period ends in 20 s"
            ]
        );
    }

    #[test]
    fn grace_is_the_selection_deferral_time_only_with_graceful_restart() {
        let text = |enabled: bool| {
            format!(
                "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\n\
                 [graceful_restart]\nenabled = {enabled}\nselection_deferral_time = 300\n"
            )
        };
        let with_restart = config::Config::from_str(&text(true), "test.toml").unwrap();
        assert_eq!(
            grace_period(&with_restart.graceful_restart),
            Duration::from_secs(300)
        );
        let without = config::Config::from_str(&text(false), "test.toml").unwrap();
        assert_eq!(grace_period(&without.graceful_restart), DEFAULT_GRACE);
    }
}
