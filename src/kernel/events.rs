//! Route events from the kernel: drift repair and re-resolution, no polling.
//!
//! Every notification flows through [`Synchronizer::on_notification`]:
//! - an event about one of *our* routes (our table, protocol and metric) is
//!   first matched against the operations we made whose events are still
//!   to come (echoes); an event that is not an echo and disagrees with what
//!   we installed is drift: someone deleted or changed our route. The
//!   kernel's word replaces our belief, the prefix is marked dirty, and the
//!   next batch puts the desired route back (or removes a route we do not
//!   want), counted as a drift repair;
//! - an event about anyone else's route may change how next hops resolve,
//!   so the resolution snapshot is re-read before the next batch. If that
//!   route replaced ours in our slot, ours is gone (the next attempt reports
//!   a conflict); if it was deleted where we had a conflict, the prefix is
//!   re-checked at once;
//! - with kernel nexthop objects, a replaced group changes every route
//!   using it at once; with `nexthop_compat_mode = 1` (the default) the
//!   kernel reports each route with its new next hops, which match what
//!   [`super::failover`] recorded, so nothing is repaired. An event that
//!   only names an object (compat mode 0) is matched against our own
//!   replaces, or answered with a full listing, never with a repair;
//! - [`fib::Notification::EventsLost`] means some events were missed: the
//!   task re-lists our routes (a resync) before the next batch.

use std::time::SystemTime;

use fib::{KernelRoute, Notification, RouteEvent, RouteEventKind};
use ipnetwork::IpNetwork;
use tracing::warn;

use super::synchronizer::{Echo, Installed, Synchronizer};

/// The main routing table.
const MAIN_TABLE: u32 = 254;

impl Synchronizer {
    /// Takes one notification from the route monitor.
    pub fn on_notification(&mut self, notification: Notification) {
        match notification {
            Notification::EventsLost => {
                warn!("route events were lost; re-reading our kernel routes");
                self.resync_needed = true;
                self.snapshot_stale = true;
            }
            Notification::Route(event) => self.on_route_event(event),
        }
    }

    /// The event stream ended: events may have been missed, so resync once.
    pub fn events_ended(&mut self) {
        warn!("route monitor ended; drift will no longer be noticed");
        self.echoes = None;
        self.resync_needed = true;
        self.snapshot_stale = true;
    }

    fn on_route_event(&mut self, event: RouteEvent) {
        let ownership = self.settings.ownership;
        let route = event.route;
        if ownership.owns(&route) {
            if event.nexthop_id.is_some() && route.next_hops.is_empty() {
                self.on_unexpanded_object_event(event.kind, &route);
                return;
            }
            self.on_own_event(event.kind, &route);
            return;
        }
        if route.table == ownership.table || route.table == MAIN_TABLE {
            self.snapshot_stale = true;
        }
        let prefix = route.prefix;
        if route.table != ownership.table || route.metric != ownership.metric {
            return;
        }
        match event.kind {
            RouteEventKind::Changed => {
                if self.installed.remove(&prefix).is_some() {
                    warn!(%prefix, protocol = route.protocol, "another protocol's route replaced ours");
                    self.repairing.insert(prefix);
                    self.dirty.insert(prefix);
                }
            }
            RouteEventKind::Deleted => {
                if self.conflicts.contains_key(&prefix) {
                    self.dirty.insert(prefix);
                }
            }
            RouteEventKind::Added => {}
        }
    }

    fn on_own_event(&mut self, kind: RouteEventKind, route: &KernelRoute) {
        let prefix = route.prefix;
        let seen = route.to_owned_route().and_then(Result::ok);
        match kind {
            RouteEventKind::Deleted => {
                if self.take_echo(prefix, |echo| *echo == Echo::Removed) {
                    return;
                }
                let ours_deleted = self.installed.get(&prefix).is_some_and(|installed| {
                    seen.as_ref()
                        .is_none_or(|seen| seen.satisfies(&installed.route))
                });
                // Otherwise the event is about a route we already replaced.
                if ours_deleted {
                    warn!(%prefix, "our route was deleted by someone else");
                    self.installed.remove(&prefix);
                    self.drifted(prefix);
                }
            }
            RouteEventKind::Added | RouteEventKind::Changed => {
                let Some(seen) = seen else {
                    warn!(%prefix, "a route of an unexpected shape carries our protocol");
                    self.installed.remove(&prefix);
                    self.drifted(prefix);
                    return;
                };
                let is_echo = self.take_echo(
                    prefix,
                    |echo| matches!(echo, Echo::Replaced(route) if seen.satisfies(route)),
                );
                match self.installed.get_mut(&prefix) {
                    // Learn the interface the kernel chose.
                    Some(installed) if seen.satisfies(&installed.route) => {
                        installed.route = seen;
                    }
                    _ if is_echo => {}
                    _ => {
                        warn!(%prefix, route = %seen, "our route was changed by someone else");
                        self.installed.insert(
                            prefix,
                            Installed {
                                route: seen,
                                since: SystemTime::now(),
                            },
                        );
                        if !self.sweep.done && !self.is_desired(prefix) {
                            self.stale.insert(prefix);
                        }
                        self.drifted(prefix);
                    }
                }
            }
        }
    }

    /// An event about one of our routes that uses a nexthop object the
    /// kernel did not expand (`nexthop_compat_mode = 0`), so its next hops
    /// are unknown here. A deletion is judged as any other; an add or change
    /// that one of our own replaces explains is its echo; anything else is
    /// someone pointing our route at an object, and a full listing (which
    /// resolves objects) settles what the route now is. Never a repair on
    /// a guess, so an equivalent object can not start a repair loop.
    fn on_unexpanded_object_event(&mut self, kind: RouteEventKind, route: &KernelRoute) {
        let prefix = route.prefix;
        match kind {
            RouteEventKind::Deleted => self.on_own_event(kind, route),
            RouteEventKind::Added | RouteEventKind::Changed => {
                if !self.take_echo(prefix, |echo| matches!(echo, Echo::Replaced(_))) {
                    warn!(%prefix, "our route now uses a nexthop object we did not set; re-reading our routes");
                    self.resync_needed = true;
                }
            }
        }
    }

    fn drifted(&mut self, prefix: IpNetwork) {
        self.repairing.insert(prefix);
        self.dirty.insert(prefix);
    }

    /// Removes the oldest pending echo of `prefix` that `matches`, with the
    /// older ones before it (their events can no longer come); true if found.
    fn take_echo(&mut self, prefix: IpNetwork, matches: impl Fn(&Echo) -> bool) -> bool {
        let Some(queue) = self
            .echoes
            .as_mut()
            .and_then(|echoes| echoes.get_mut(&prefix))
        else {
            return false;
        };
        let Some(position) = queue.iter().position(matches) else {
            return false;
        };
        queue.drain(..=position);
        if queue.is_empty() {
            if let Some(echoes) = &mut self.echoes {
                echoes.remove(&prefix);
            }
        }
        true
    }
}
