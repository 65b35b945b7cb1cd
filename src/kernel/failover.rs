//! Fast failover: a gateway that BGP no longer uses for any prefix leaves
//! the kernel in one operation ([`fib::Fib::fail_gateway`]) before the
//! per-prefix changes that say the same thing are applied.
//!
//! ```text
//!  FibUpdate batch ─▶ apply_updates ─▶ gateway use counts ─(a count falls to 0)─▶ gone
//!  task: take_failed_gateways ─▶ Fib::fail_gateway ─▶ gateway_removed (installed ← what it did)
//!  task: plan_batch ─▶ the per-prefix changes, most of them now already satisfied
//! ```
//!
//! Why the synchronizer and not the speaker decides: the synchronizer holds
//! the RIB's whole forwarding view (`learned`), so "no prefix uses this next
//! hop any more" is exact whatever made it so (a session down without
//! graceful restart, a restart timer running out, a route reflector
//! withdrawing another host's routes, a policy), and a next hop still
//! reached through another neighbor (a reflected route, a second session)
//! never qualifies. A session's withdrawals leave the owner task as one
//! batch, so the count falls to zero in one `apply_updates` and the whole
//! failover happens before any of its per-prefix changes is planned.
//!
//! Only transitions count: a gateway nobody learned yet (adopted routes at
//! start, before peers re-send) is never "gone".

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::SystemTime;

use fib::{GatewayRemoval, Route};
use tracing::{info, warn};

use super::synchronizer::{Installed, Synchronizer};

impl Synchronizer {
    /// Counts the BGP next hops of a prefix that changed from `old` to
    /// `new`; a next hop whose last prefix left it is remembered as gone.
    pub(super) fn count_next_hops(&mut self, old: &[IpAddr], new: &[IpAddr]) {
        // The lists hold a few next hops each: scans beat building sets for
        // every one of a full table's updates. Repeats count once.
        for (index, left) in old.iter().enumerate() {
            if new.contains(left) || old.get(..index).is_some_and(|seen| seen.contains(left)) {
                continue;
            }
            if let Some(count) = self.next_hop_use.get_mut(left) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.next_hop_use.remove(left);
                    self.gone_next_hops.insert(*left);
                }
            }
        }
        for (index, joined) in new.iter().enumerate() {
            if old.contains(joined) || new.get(..index).is_some_and(|seen| seen.contains(joined)) {
                continue;
            }
            *self.next_hop_use.entry(*joined).or_insert(0) += 1;
            // Back in use within the same batch: not gone after all.
            self.gone_next_hops.remove(joined);
        }
    }

    /// The kernel gateways to fail now: those of next hops that BGP stopped
    /// using since the last call, unless another next hop still in use
    /// resolves to the same gateway. Sorted.
    pub fn take_failed_gateways(&mut self) -> Vec<IpAddr> {
        if self.gone_next_hops.is_empty() {
            return Vec::new();
        }
        let gone = std::mem::take(&mut self.gone_next_hops);
        let in_use: Vec<IpAddr> = self.next_hop_use.keys().copied().collect();
        let still_used: BTreeSet<IpAddr> = in_use
            .into_iter()
            .filter_map(|next_hop| self.resolver.next_hop(next_hop))
            .map(|resolved| resolved.gateway)
            .collect();
        let candidates: BTreeSet<IpAddr> = gone
            .into_iter()
            .filter_map(|next_hop| self.resolver.next_hop(next_hop))
            .map(|resolved| resolved.gateway)
            .filter(|gateway| !still_used.contains(gateway))
            .collect();
        // Only gateways some route of ours forwards through are worth a
        // kernel request.
        candidates
            .into_iter()
            .filter(|gateway| {
                self.installed.values().any(|installed| {
                    installed
                        .route
                        .next_hops()
                        .iter()
                        .any(|hop| hop.gateway == *gateway)
                })
            })
            .collect()
    }

    /// The FIB took `gateway` out of the routes `removal` names: believe
    /// it, so the per-prefix changes that follow find those routes already
    /// right and cost nothing.
    pub fn gateway_removed(&mut self, gateway: IpAddr, removal: &GatewayRemoval) {
        self.counters.gateway_failovers = self.counters.gateway_failovers.saturating_add(1);
        for prefix in &removal.changed_prefixes {
            let Some(installed) = self.installed.get(prefix) else {
                continue;
            };
            let remaining = installed
                .route
                .next_hops()
                .iter()
                .filter(|hop| hop.gateway != gateway)
                .cloned()
                .collect();
            match Route::unicast(*prefix, remaining) {
                Ok(route) => {
                    self.installed.insert(
                        *prefix,
                        Installed {
                            route,
                            since: SystemTime::now(),
                        },
                    );
                }
                Err(_) => {
                    self.installed.remove(prefix);
                }
            }
            self.dirty.insert(*prefix);
        }
        for prefix in &removal.routes_removed {
            self.installed.remove(prefix);
            self.dirty.insert(*prefix);
        }
        info!(
            %gateway,
            routes_changed = removal.routes_changed,
            routes_removed = removal.routes_removed.len(),
            kernel_operations = removal.kernel_operations,
            "gateway gone: its routes failed over together"
        );
    }

    /// Failing `gateway` went wrong part way: the kernel may hold anything
    /// between before and after, so re-read our routes; the per-prefix
    /// changes then converge as usual.
    pub fn gateway_removal_failed(&mut self, gateway: IpAddr, error: &str) {
        warn!(%gateway, error, "fast failover failed; re-reading our kernel routes");
        self.resync_needed = true;
    }
}
