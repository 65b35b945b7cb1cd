//! The synchronizer's state machine: what we want in the kernel, what we
//! believe is there, and what to do next. No I/O and no clock: the task
//! (`task.rs`) passes the time in, hands [`Synchronizer::plan_batch`]'s
//! changes to `Fib::apply`, and gives the results back to
//! [`Synchronizer::record`]. Tests drive it the same way with virtual time.
//!
//! Data flow, per prefix:
//!
//! ```text
//!  FibUpdate ─▶ learned ─┐
//!  [[originate]] ────────┼─▶ target(prefix) ──(≠ installed?)──▶ FibChange ─▶ Fib::apply
//!  Resolver (snapshot) ──┘        ▲                                            │
//!  route events, timers ─▶ dirty ─┘          installed / failed / conflicts ◀──┘
//! ```
//!
//! A prefix is re-evaluated only when it is *dirty*: an update arrived, a
//! retry came due, a route event touched it, or its next hop resolves
//! differently. Many updates to one prefix between two batches therefore
//! cost one kernel operation, holding only the latest.
//!
//! Routes found in the kernel at start are *adopted*: they keep forwarding,
//! and those nobody re-learns stay *stale* until the sweep, which runs
//! `sweep_delay` after End-of-RIB from every peer or after `sweep_max_wait`,
//! whichever comes first (RFC 4724 §4.1 and §4.2).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use bgp::rib::FibUpdate;
use fib::route::normalize_prefix;
use fib::{KernelRoute, Route};
use ipnetwork::IpNetwork;
use serde::Serialize;
use tokio::time::Instant;
use tracing::{info, warn};

use super::resolution::Resolver;
use super::settings::{KernelSettings, Originated};

/// Counters for `podroute fib` and metrics; they only ever grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Routes installed or replaced successfully.
    pub installs: u64,
    /// Routes removed successfully.
    pub removals: u64,
    /// Kernel operations that failed (each one is retried).
    pub failures: u64,
    /// Installs refused because another protocol's route holds the prefix.
    pub conflicts: u64,
    /// Routes put back (or taken away) after someone else changed them.
    pub drift_repairs: u64,
    /// Sweeps of stale routes (at most one per run).
    pub sweeps: u64,
    /// Full re-reads of our kernel routes after lost route events.
    pub resyncs: u64,
    /// Routes of ours found in the kernel at start.
    pub adopted: u64,
    /// `Fib::apply` calls.
    pub batches: u64,
    /// Gateways taken out of every route at once (`Fib::fail_gateway`,
    /// with nexthop objects) when BGP stopped using them.
    pub gateway_failovers: u64,
}

/// A route we believe is in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Installed {
    pub(super) route: Route,
    pub(super) since: SystemTime,
}

/// Why a prefix is listed as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureReason {
    /// The kernel (or transport) refused an operation: retried with backoff.
    Kernel,
    /// Nothing installable (unresolvable next hop, invalid route): waits for
    /// a route event or a new update instead of a timer.
    Unusable,
}

/// A prefix whose desired state is not in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) error: String,
    pub(super) attempts: u32,
    pub(super) next_retry: Option<Instant>,
    pub(super) reason: FailureReason,
}

/// A prefix held by another protocol's route, which we never replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Conflict {
    pub(super) protocol: u8,
    pub(super) attempts: u32,
    pub(super) next_check: Option<Instant>,
}

/// An operation of ours whose route event has not been seen yet; lets a late
/// event about our own earlier change be told apart from drift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Echo {
    Replaced(Route),
    Removed,
}

/// Most unanswered operations remembered per prefix.
pub(super) const MAX_ECHOES: usize = 8;

/// The routes a prefix should have in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Install(Route),
    Absent,
    Unusable(String),
}

/// The initial sweep's progress.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sweep {
    pub(super) started: Instant,
    pub(super) end_of_rib: Option<Instant>,
    pub(super) done: bool,
}

/// The synchronizer's state (see the module documentation).
#[derive(Debug)]
pub struct Synchronizer {
    pub(super) settings: KernelSettings,
    pub(super) learned: BTreeMap<IpNetwork, Vec<IpAddr>>,
    /// How many learned prefixes use each BGP next hop ([`super::failover`]).
    pub(super) next_hop_use: BTreeMap<IpAddr, usize>,
    /// Next hops whose last prefix left them since the last failover check.
    pub(super) gone_next_hops: BTreeSet<IpAddr>,
    pub(super) originated: BTreeMap<IpNetwork, bool>,
    pub(super) resolver: Resolver,
    pub(super) installed: BTreeMap<IpNetwork, Installed>,
    pub(super) stale: BTreeSet<IpNetwork>,
    pub(super) failed: BTreeMap<IpNetwork, Failure>,
    pub(super) conflicts: BTreeMap<IpNetwork, Conflict>,
    pub(super) dirty: BTreeSet<IpNetwork>,
    pub(super) repairing: BTreeSet<IpNetwork>,
    /// `Some` when route events are watched and include our own changes'
    /// echoes, which must be told apart from drift.
    pub(super) echoes: Option<BTreeMap<IpNetwork, VecDeque<Echo>>>,
    pub(super) sweep: Sweep,
    pub(super) snapshot_stale: bool,
    pub(super) resync_needed: bool,
    pub(super) resync_attempts: u32,
    pub(super) resync_retry: Option<Instant>,
    pub(super) counters: Counters,
}

/// `instant + duration`, or `None` past the end of time.
pub(super) fn later(instant: Instant, duration: Duration) -> Option<Instant> {
    instant.checked_add(duration)
}

impl Synchronizer {
    /// A synchronizer that has adopted nothing yet. `tracking_echoes` turns
    /// on echo tracking (route events that include our own changes);
    /// `resolver` is direct or recursive.
    pub fn new(
        settings: KernelSettings,
        resolver: Resolver,
        tracking_echoes: bool,
        now: Instant,
    ) -> Synchronizer {
        let mut synchronizer = Synchronizer {
            learned: BTreeMap::new(),
            next_hop_use: BTreeMap::new(),
            gone_next_hops: BTreeSet::new(),
            originated: BTreeMap::new(),
            resolver,
            installed: BTreeMap::new(),
            stale: BTreeSet::new(),
            failed: BTreeMap::new(),
            conflicts: BTreeMap::new(),
            dirty: BTreeSet::new(),
            repairing: BTreeSet::new(),
            echoes: tracking_echoes.then(BTreeMap::new),
            sweep: Sweep {
                started: now,
                end_of_rib: None,
                done: false,
            },
            snapshot_stale: false,
            resync_needed: false,
            resync_attempts: 0,
            resync_retry: None,
            counters: Counters::default(),
            settings,
        };
        let originated = synchronizer.settings.originated.clone();
        synchronizer.set_originated(&originated);
        synchronizer
    }

    /// Takes the RIB's latest forwarding changes; the last one per prefix wins.
    pub fn apply_updates(&mut self, updates: Vec<FibUpdate>) {
        for update in updates {
            let prefix = normalize_prefix(update.prefix);
            let previous = self.learned.remove(&prefix);
            self.count_next_hops(previous.as_deref().unwrap_or_default(), &update.next_hops);
            if !update.next_hops.is_empty() {
                self.learned.insert(prefix, update.next_hops);
            }
            // The RIB has spoken for this prefix: it is no longer stale, and
            // a new desired state deserves a fresh attempt.
            self.stale.remove(&prefix);
            if self
                .failed
                .get(&prefix)
                .is_some_and(|failure| failure.reason == FailureReason::Kernel)
            {
                self.failed.remove(&prefix);
            }
            self.dirty.insert(prefix);
        }
    }

    /// Replaces the originated prefixes (start, or a configuration reload).
    pub fn set_originated(&mut self, originated: &[Originated]) {
        let previous = std::mem::take(&mut self.originated);
        self.dirty.extend(previous.keys().copied());
        for entry in originated {
            let prefix = normalize_prefix(entry.prefix);
            self.originated.insert(prefix, entry.blackhole);
            self.stale.remove(&prefix);
            self.dirty.insert(prefix);
        }
    }

    /// Every established peer has sent End-of-RIB (RFC 4724 §4.2): the sweep
    /// starts `sweep_delay` from now, unless it already came due.
    pub fn end_of_rib_all(&mut self, now: Instant) {
        if self.sweep.end_of_rib.is_none() {
            self.sweep.end_of_rib = Some(now);
        }
    }

    /// True once stale routes from before the start have been swept.
    #[cfg_attr(not(test), allow(dead_code, reason = "the tests' view of the sweep"))]
    pub fn swept(&self) -> bool {
        self.sweep.done
    }

    /// Takes a full listing of our kernel routes: at start (adoption) and
    /// after lost route events (resync). What we believed is replaced by what
    /// the kernel says, and every prefix involved is re-evaluated.
    pub fn adopt(&mut self, routes: Vec<Route>, initial: bool) {
        let previous = std::mem::take(&mut self.installed);
        self.dirty.extend(previous.keys().copied());
        for route in routes {
            let prefix = route.prefix();
            let since = previous
                .get(&prefix)
                .filter(|installed| installed.route == route)
                .map_or_else(SystemTime::now, |installed| installed.since);
            if !self.sweep.done && !self.is_desired(prefix) {
                self.stale.insert(prefix);
            }
            self.dirty.insert(prefix);
            self.installed.insert(prefix, Installed { route, since });
        }
        self.dirty.extend(self.learned.keys().copied());
        self.dirty.extend(self.originated.keys().copied());
        if let Some(echoes) = &mut self.echoes {
            echoes.clear();
        }
        self.resync_needed = false;
        self.resync_attempts = 0;
        self.resync_retry = None;
        if initial {
            self.counters.adopted = u64::try_from(self.installed.len()).unwrap_or(u64::MAX);
            if self.installed.is_empty() {
                // A cold start: nothing of ours to keep or sweep, so the
                // FIB is in sync as soon as BGP's routes are installed.
                self.sweep.done = true;
            }
            info!(
                adopted = self.installed.len(),
                "adopted our routes already in the kernel"
            );
        } else {
            self.counters.resyncs = self.counters.resyncs.saturating_add(1);
            info!(
                owned = self.installed.len(),
                "resynchronised with the kernel"
            );
        }
    }

    /// Listing our routes failed: try again after a backoff.
    pub fn resync_failed(&mut self, now: Instant, error: &str) {
        self.resync_attempts = self.resync_attempts.saturating_add(1);
        let delay = self.settings.retry.delay(self.resync_attempts);
        self.resync_retry = later(now, delay);
        self.resync_needed = false;
        warn!(error, retry_in = ?delay, "cannot list our kernel routes");
    }

    /// True when a full listing is wanted now.
    pub fn resync_needed(&self) -> bool {
        self.resync_needed
    }

    /// True when the resolution snapshot must be re-read before planning.
    pub fn needs_snapshot(&self) -> bool {
        self.snapshot_stale && self.resolver.is_recursive()
    }

    /// Takes a new dump of kernel routes for next-hop resolution and marks
    /// the prefixes whose next hops now resolve differently.
    pub fn refresh_snapshot(&mut self, routes: Vec<KernelRoute>) {
        self.snapshot_stale = false;
        let changed = self.resolver.refresh(routes, self.settings.ownership);
        let mut in_use = BTreeSet::new();
        for (prefix, gateways) in &self.learned {
            in_use.extend(gateways.iter().copied());
            if gateways.iter().any(|gateway| changed.contains(gateway)) {
                self.dirty.insert(*prefix);
            }
        }
        self.resolver.retain(&in_use);
    }

    /// Reading the resolution snapshot failed; the next route event retries.
    pub fn snapshot_failed(&mut self, error: &str) {
        self.snapshot_stale = false;
        warn!(error, "cannot read kernel routes for next-hop resolution");
    }

    /// How many routes we believe we have in the kernel.
    pub fn installed_count(&self) -> usize {
        self.installed.len()
    }

    /// The prefixes of the routes we believe we have in the kernel, sorted.
    pub fn installed_prefixes(&self) -> Vec<IpNetwork> {
        self.installed.keys().copied().collect()
    }

    /// Most changes per `Fib::apply` call (at least one).
    pub fn batch_size(&self) -> usize {
        self.settings.batch_size.max(1)
    }

    /// True when some prefix waits for evaluation.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// True when `prefix` is wanted in the kernel by BGP or the configuration.
    pub(super) fn is_desired(&self, prefix: IpNetwork) -> bool {
        self.originated.contains_key(&prefix) || self.learned.contains_key(&prefix)
    }

    /// What `prefix` should look like in the kernel now.
    pub(super) fn target(&mut self, prefix: IpNetwork) -> Target {
        if let Some(&blackhole) = self.originated.get(&prefix) {
            // Our own block: never a learned route, whatever peers say.
            return if blackhole {
                Target::Install(Route::blackhole(prefix))
            } else {
                Target::Absent
            };
        }
        let Some(gateways) = self.learned.get(&prefix) else {
            return Target::Absent;
        };
        let mut next_hops = Vec::with_capacity(gateways.len());
        let mut unresolvable = Vec::new();
        for gateway in gateways {
            match self.resolver.next_hop(*gateway) {
                Some(next_hop) => next_hops.push(next_hop),
                None => unresolvable.push(gateway.to_string()),
            }
        }
        if next_hops.is_empty() {
            let plural = if unresolvable.len() > 1 { "s" } else { "" };
            return Target::Unusable(format!(
                "next hop{plural} {} unresolvable",
                unresolvable.join(", ")
            ));
        }
        match Route::unicast(prefix, next_hops) {
            Ok(route) => Target::Install(route),
            Err(error) => Target::Unusable(error.to_string()),
        }
    }

    /// The earliest time something is due: a retry, a conflict re-check,
    /// the sweep or a listing retry.
    pub fn next_deadline(&self) -> Option<Instant> {
        let retries = self
            .failed
            .values()
            .filter_map(|failure| failure.next_retry);
        let checks = self
            .conflicts
            .values()
            .filter_map(|conflict| conflict.next_check);
        retries
            .chain(checks)
            .chain(self.sweep_deadline())
            .chain(self.resync_retry)
            .min()
    }

    /// When the sweep runs, unless it already has.
    pub(super) fn sweep_deadline(&self) -> Option<Instant> {
        if self.sweep.done {
            return None;
        }
        let timeout = later(self.sweep.started, self.settings.sweep_max_wait);
        let trigger = match (self.sweep.end_of_rib, timeout) {
            (Some(end_of_rib), Some(timeout)) => end_of_rib.min(timeout),
            (Some(end_of_rib), None) => end_of_rib,
            (None, timeout) => timeout?,
        };
        later(trigger, self.settings.sweep_delay)
    }

    /// Acts on everything due at `now`: retries, re-checks, the sweep.
    pub fn on_timer(&mut self, now: Instant) {
        for (prefix, failure) in &mut self.failed {
            if failure.next_retry.is_some_and(|due| due <= now) {
                failure.next_retry = None;
                self.dirty.insert(*prefix);
            }
        }
        for (prefix, conflict) in &mut self.conflicts {
            if conflict.next_check.is_some_and(|due| due <= now) {
                conflict.next_check = None;
                self.dirty.insert(*prefix);
            }
        }
        if self.resync_retry.is_some_and(|due| due <= now) {
            self.resync_retry = None;
            self.resync_needed = true;
        }
        if self.sweep_deadline().is_some_and(|due| due <= now) {
            self.sweep.done = true;
            self.counters.sweeps = self.counters.sweeps.saturating_add(1);
            info!(
                stale = self.stale.len(),
                "sweeping routes nobody re-learned since the start"
            );
            self.dirty.extend(std::mem::take(&mut self.stale));
        }
    }
}
