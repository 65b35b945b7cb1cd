//! Churn detection at one observer (scenario 4): when did a client, or the
//! DUT's kernel ([`crate::kernel_churn`]), see the change another client made?
//!
//! Data flow: before a churn action the mesh gives every observer a
//! [`ChangeWatch`] holding the affected prefixes (the routes of the clients
//! that withdraw, are cut or flap) and how many of them the observer holds
//! now. Each UPDATE the observer receives is fed to [`ChangeWatch::observe`]
//! after its [`PrefixCounter`] has applied it; the watch notes the first
//! moment none of the affected prefixes is held (`withdrawn_ns`) and, for a
//! flap, the first moment every affected prefix is held again **and** was
//! announced anew since the action (`restored_ns`), so a stale copy held
//! from before never counts as the re-announcement.

use std::sync::Arc;

use bgp::rib::fast_hash::FastSet;
use bgp::wire::Update;
use ipnetwork::IpNetwork;

use crate::count::PrefixCounter;

/// What one observer is waiting for.
#[derive(Debug)]
pub struct ChangeWatch {
    affected: Arc<FastSet<IpNetwork>>,
    /// Whether the affected routes must come back (a flap) or only go (a
    /// withdrawal or a cut session).
    expect_restore: bool,
    /// The affected prefixes held now: kept change by change, so that an
    /// UPDATE costs the work of its own prefixes, not of the whole
    /// affected set (the observer's single thread would otherwise lag
    /// behind a daemon that sends many small UPDATEs, and the lag would be
    /// timed as the daemon's).
    held: FastSet<IpNetwork>,
    fresh: FastSet<IpNetwork>,
    /// First moment no affected prefix was held, realtime ns.
    pub withdrawn_ns: Option<u64>,
    /// First moment every affected prefix was held again, announced anew.
    pub restored_ns: Option<u64>,
}

impl ChangeWatch {
    /// Starts watching `affected` at an observer holding `counter` now.
    pub fn new(
        affected: Arc<FastSet<IpNetwork>>,
        expect_restore: bool,
        counter: &PrefixCounter,
    ) -> ChangeWatch {
        ChangeWatch::holding(affected, expect_restore, |prefix| counter.holds(prefix))
    }

    /// Starts watching `affected` at an observer for which `holds` says
    /// what it holds now (a client's table, or a kernel's).
    pub fn holding(
        affected: Arc<FastSet<IpNetwork>>,
        expect_restore: bool,
        holds: impl Fn(&IpNetwork) -> bool,
    ) -> ChangeWatch {
        let held = affected
            .iter()
            .filter(|prefix| holds(prefix))
            .copied()
            .collect();
        ChangeWatch {
            affected,
            expect_restore,
            held,
            fresh: FastSet::default(),
            withdrawn_ns: None,
            restored_ns: None,
        }
    }

    /// Applies one UPDATE already recorded in `counter`, received at `now_ns`.
    pub fn observe(&mut self, update: &Update, counter: &PrefixCounter, now_ns: u64) {
        // RFC 7606 §2: an UPDATE to be treated as withdraw announces nothing.
        let announced = update.treat_as_withdraw.is_none();
        let changes = update
            .withdrawals()
            .map(|(_, nlri)| (nlri.prefix, false))
            .chain(update.announced().map(|(_, nlri)| (nlri.prefix, announced)));
        self.observe_changes(changes, |prefix| counter.holds(prefix), now_ns);
    }

    /// Applies route changes (prefix, added) already reflected in `holds`.
    pub fn observe_changes(
        &mut self,
        changes: impl IntoIterator<Item = (IpNetwork, bool)>,
        holds: impl Fn(&IpNetwork) -> bool,
        now_ns: u64,
    ) {
        for (prefix, added) in changes {
            if self.affected.contains(&prefix) {
                if added {
                    self.fresh.insert(prefix);
                } else {
                    self.fresh.remove(&prefix);
                }
                // `holds` already reflects the whole UPDATE (an announcement
                // treated as withdraw, say), so it decides, not `added`.
                if holds(&prefix) {
                    self.held.insert(prefix);
                } else {
                    self.held.remove(&prefix);
                }
            }
        }
        self.check(now_ns);
    }

    /// Notes the moments the conditions first hold (also right at the start).
    pub fn check(&mut self, now_ns: u64) {
        if self.withdrawn_ns.is_none() && self.held.is_empty() {
            self.withdrawn_ns = Some(now_ns);
        }
        if self.expect_restore
            && self.restored_ns.is_none()
            && self.held.len() == self.affected.len()
            && self.fresh.len() == self.affected.len()
        {
            self.restored_ns = Some(now_ns);
        }
    }

    /// Whether this observer has seen the whole change.
    pub fn done(&self) -> bool {
        if self.expect_restore {
            self.restored_ns.is_some()
        } else {
            self.withdrawn_ns.is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::Nlri;

    fn nlri(text: &str) -> Nlri {
        Nlri::new(text.parse().unwrap())
    }

    fn announce(prefixes: &[&str]) -> Update {
        Update {
            nlri: prefixes.iter().map(|p| nlri(p)).collect(),
            ..Update::default()
        }
    }

    fn withdraw(prefixes: &[&str]) -> Update {
        Update {
            withdrawn: prefixes.iter().map(|p| nlri(p)).collect(),
            ..Update::default()
        }
    }

    fn affected() -> Arc<FastSet<IpNetwork>> {
        Arc::new(
            ["100.64.1.0/26", "100.64.1.64/26"]
                .iter()
                .map(|p| p.parse().unwrap())
                .collect(),
        )
    }

    #[test]
    fn a_withdrawal_completes_when_the_last_affected_route_goes() {
        let mut counter = PrefixCounter::default();
        counter.record(&announce(&[
            "100.64.1.0/26",
            "100.64.1.64/26",
            "100.64.2.0/26",
        ]));
        let mut watch = ChangeWatch::new(affected(), false, &counter);
        watch.check(1);
        assert!(!watch.done());
        let first = withdraw(&["100.64.1.0/26"]);
        counter.record(&first);
        watch.observe(&first, &counter, 2);
        assert!(!watch.done());
        // An unrelated withdrawal changes nothing.
        let other = withdraw(&["100.64.2.0/26"]);
        counter.record(&other);
        watch.observe(&other, &counter, 3);
        assert!(!watch.done());
        let second = withdraw(&["100.64.1.64/26"]);
        counter.record(&second);
        watch.observe(&second, &counter, 4);
        assert_eq!(watch.withdrawn_ns, Some(4));
        assert!(watch.done());
    }

    #[test]
    fn a_flap_needs_every_route_announced_anew() {
        let mut counter = PrefixCounter::default();
        counter.record(&announce(&["100.64.1.0/26", "100.64.1.64/26"]));
        let mut watch = ChangeWatch::new(affected(), true, &counter);
        watch.check(1);
        assert!(!watch.done(), "held from before is not restored");
        // Implicit replacement without a withdrawal in between also counts.
        let again = announce(&["100.64.1.0/26"]);
        counter.record(&again);
        watch.observe(&again, &counter, 2);
        assert!(!watch.done());
        let gone = withdraw(&["100.64.1.64/26"]);
        counter.record(&gone);
        watch.observe(&gone, &counter, 3);
        let back = announce(&["100.64.1.64/26"]);
        counter.record(&back);
        watch.observe(&back, &counter, 4);
        assert_eq!(watch.restored_ns, Some(4));
        assert_eq!(watch.withdrawn_ns, None, "never all gone at once");
        assert!(watch.done());
    }
}
