//! Turning dirty prefixes into one `Fib::apply` batch, and its results back
//! into state.
//!
//! [`Synchronizer::plan_batch`] takes up to `batch_size` dirty prefixes in
//! prefix order, compares each one's target with what we believe is
//! installed, and emits a change only where they differ. The task applies
//! the batch with many requests in flight and passes the per-change results
//! to [`Synchronizer::record`]: successes update the installed set, kernel
//! errors schedule a per-prefix retry with exponential backoff, and
//! conflicts (another protocol's route in the way) are listed and
//! re-checked later, never replaced. One prefix's failure never holds up
//! another's.

use std::time::SystemTime;

use fib::{FibChange, FibError, FibErrorKind};
use ipnetwork::IpNetwork;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::synchronizer::{
    Conflict, Echo, Failure, FailureReason, Installed, MAX_ECHOES, Synchronizer, Target, later,
};

impl Synchronizer {
    /// The next batch of kernel changes; empty when no dirty prefix needs
    /// one (some dirty prefixes may be settled without any operation).
    pub fn plan_batch(&mut self) -> Vec<FibChange> {
        let limit = self.settings.batch_size.max(1);
        let mut changes = Vec::new();
        while changes.len() < limit {
            let Some(prefix) = self.dirty.pop_first() else {
                break;
            };
            if let Some(change) = self.plan_prefix(prefix) {
                changes.push(change);
            }
        }
        changes
    }

    /// The change `prefix` needs, if any.
    fn plan_prefix(&mut self, prefix: IpNetwork) -> Option<FibChange> {
        match self.target(prefix) {
            Target::Install(route) => {
                let satisfied = self
                    .installed
                    .get(&prefix)
                    .is_some_and(|installed| installed.route.satisfies(&route));
                if satisfied {
                    self.settle(prefix);
                    None
                } else {
                    Some(FibChange::Replace(route))
                }
            }
            Target::Absent => {
                self.conflicts.remove(&prefix);
                // An unresolvable next hop no longer matters once the route
                // is gone from BGP; a failed removal is still being retried.
                if self
                    .failed
                    .get(&prefix)
                    .is_some_and(|failure| failure.reason == FailureReason::Unusable)
                {
                    self.failed.remove(&prefix);
                }
                let kept_until_sweep = self.stale.contains(&prefix) && !self.sweep.done;
                if self.installed.contains_key(&prefix) && !kept_until_sweep {
                    Some(FibChange::Remove(prefix))
                } else {
                    self.settle(prefix);
                    None
                }
            }
            Target::Unusable(error) => {
                self.conflicts.remove(&prefix);
                let already = self.failed.get(&prefix).is_some_and(|failure| {
                    failure.reason == FailureReason::Unusable && failure.error == error
                });
                if !already {
                    warn!(%prefix, error, "route not installed");
                    self.failed.insert(
                        prefix,
                        Failure {
                            error,
                            attempts: 1,
                            next_retry: None,
                            reason: FailureReason::Unusable,
                        },
                    );
                }
                // Whatever we had installed no longer forwards correctly.
                self.installed
                    .contains_key(&prefix)
                    .then_some(FibChange::Remove(prefix))
            }
        }
    }

    /// `prefix` is as desired: nothing to retry, report or repair.
    fn settle(&mut self, prefix: IpNetwork) {
        self.failed.remove(&prefix);
        self.conflicts.remove(&prefix);
        self.repairing.remove(&prefix);
    }

    /// Takes the results of applying `changes` (result `i` belongs to
    /// change `i`); `now` is when the batch finished.
    pub fn record(
        &mut self,
        changes: Vec<FibChange>,
        results: Vec<Result<(), FibError>>,
        now: Instant,
    ) {
        self.counters.batches = self.counters.batches.saturating_add(1);
        let mut results = results.into_iter();
        for change in changes {
            let prefix = change.prefix();
            let result = results.next().unwrap_or_else(|| {
                Err(FibError::new(
                    fib::Operation::Replace,
                    prefix,
                    FibErrorKind::Transport("no result for this change".into()),
                ))
            });
            match (change, result) {
                (FibChange::Replace(route), Ok(())) => {
                    debug!(%route, "installed");
                    self.counters.installs = self.counters.installs.saturating_add(1);
                    self.push_echo(prefix, Echo::Replaced(route.clone()));
                    self.installed.insert(
                        prefix,
                        Installed {
                            route,
                            since: SystemTime::now(),
                        },
                    );
                    self.stale.remove(&prefix);
                    self.note_repaired(prefix);
                    self.settle(prefix);
                }
                (FibChange::Remove(_), Ok(())) => {
                    debug!(%prefix, "removed");
                    self.counters.removals = self.counters.removals.saturating_add(1);
                    if self.installed.remove(&prefix).is_some() {
                        self.push_echo(prefix, Echo::Removed);
                    }
                    self.stale.remove(&prefix);
                    self.note_repaired(prefix);
                    if self
                        .failed
                        .get(&prefix)
                        .is_some_and(|failure| failure.reason == FailureReason::Kernel)
                    {
                        self.failed.remove(&prefix);
                    }
                }
                (_, Err(error)) => self.record_error(prefix, &error, now),
            }
        }
    }

    fn note_repaired(&mut self, prefix: IpNetwork) {
        if self.repairing.remove(&prefix) {
            self.counters.drift_repairs = self.counters.drift_repairs.saturating_add(1);
        }
    }

    fn record_error(&mut self, prefix: IpNetwork, error: &FibError, now: Instant) {
        if let FibErrorKind::Conflict { protocol, .. } = error.kind {
            // The slot holds another protocol's route, so ours is not there.
            self.installed.remove(&prefix);
            self.failed.remove(&prefix);
            self.counters.conflicts = self.counters.conflicts.saturating_add(1);
            let attempts = self
                .conflicts
                .get(&prefix)
                .map_or(1, |conflict| conflict.attempts.saturating_add(1));
            if attempts == 1 {
                warn!(%prefix, protocol, "another protocol's route holds this prefix; left untouched");
            }
            let delay = self.settings.retry.delay(attempts);
            self.conflicts.insert(
                prefix,
                Conflict {
                    protocol,
                    attempts,
                    next_check: later(now, delay),
                },
            );
            return;
        }
        self.counters.failures = self.counters.failures.saturating_add(1);
        let attempts = self
            .failed
            .get(&prefix)
            .filter(|failure| failure.reason == FailureReason::Kernel)
            .map_or(1, |failure| failure.attempts.saturating_add(1));
        let delay = self.settings.retry.delay(attempts);
        warn!(%prefix, %error, attempts, retry_in = ?delay, "kernel operation failed");
        self.failed.insert(
            prefix,
            Failure {
                error: error.to_string(),
                attempts,
                next_retry: later(now, delay),
                reason: FailureReason::Kernel,
            },
        );
    }

    /// Remembers an operation whose route event is still to come.
    fn push_echo(&mut self, prefix: IpNetwork, echo: Echo) {
        let Some(echoes) = &mut self.echoes else {
            return;
        };
        let queue = echoes.entry(prefix).or_default();
        if queue.len() >= MAX_ECHOES {
            queue.pop_front();
        }
        queue.push_back(echo);
    }
}
