//! Routes coming in: UPDATEs into the Adj-RIB-In, and import policy reloads.
//!
//! An UPDATE flows through [`Rib::receive_update`]: End-of-RIB is noted;
//! withdrawals remove paths; with an RFC 7606 treat-as-withdraw error every
//! announced prefix is withdrawn instead; otherwise the attributes are
//! interned once per next hop, kept as received when soft reconfiguration
//! is on, adjusted for the source (LOCAL_PREF for eBGP routes, RFC 4271
//! §5.1.5), checked for loops (our AS in AS_PATH, RFC 4271 §9.1.2; our
//! ORIGINATOR_ID or CLUSTER_ID, RFC 4456 §8), and passed through the import
//! policy; each surviving prefix reaches [`Rib::set_path`]. The prefix limit
//! is checked last.

use std::collections::BTreeMap;
use std::time::Instant;

use ipnetwork::IpNetwork;

use super::core::Rib;
use super::policy::{Policy, PolicyRoute, evaluate};
use super::pre_policy::rebuilds;
use super::types::{
    MaxPrefixAction, MaxPrefixesExceeded, PeerId, PolicyOutcome, RouteAttributes, SharedAttributes,
    Source, UpdateOutcome,
};
use crate::wire::{AsPathSegmentKind, NextHop, Nlri, Update};

/// The per-UPDATE part of import (see [`Rib::prepare`]).
struct Prepared {
    /// From an iBGP peer (the attributes were kept as received).
    internal: bool,
    looped: bool,
    policy: String,
    neighbor: std::net::IpAddr,
    /// Adjusted for the source and interned; released by the caller.
    base: SharedAttributes,
}

/// What import made of a received route.
enum Import {
    /// Stored; `as_prepared` when import policy changed no attribute.
    Accepted {
        as_prepared: bool,
    },
    RejectedByPolicy,
    RejectedByLoop,
}

impl Rib {
    /// Applies one UPDATE from `peer` (RFC 4271 §9, RFC 4760, RFC 7606, RFC 7911).
    pub fn receive_update(&mut self, now: Instant, peer: PeerId, update: Update) -> UpdateOutcome {
        let mut outcome = UpdateOutcome::default();
        let Some(state) = self.peers.get_mut(&peer) else {
            outcome.unknown_peer = true;
            return outcome;
        };
        if let Some(family) = update.is_end_of_rib() {
            state.end_of_rib.insert(family);
            outcome.end_of_rib = Some(family);
            self.sweep_stale(now, peer, Some(family));
            return outcome;
        }
        for (_, nlri) in update.withdrawals() {
            self.withdraw_received(now, peer, nlri);
            outcome.withdrawn = outcome.withdrawn.saturating_add(1);
        }
        let Update {
            mut attributes,
            mp_reach,
            nlri,
            treat_as_withdraw,
            ..
        } = update;
        let classic_next_hop = attributes.next_hop.take();
        let mut groups: Vec<(Option<NextHop>, Vec<Nlri>)> = Vec::new();
        if !nlri.is_empty() {
            groups.push((
                classic_next_hop.map(|address| NextHop::Ipv4 { address }),
                nlri,
            ));
        }
        if let Some(reach) = mp_reach {
            groups.push((Some(reach.next_hop), reach.nlri));
        }
        for (next_hop, prefixes) in groups {
            // RFC 7606 §2, and a missing NEXT_HOP with classic NLRI (§7.3).
            let Some(next_hop) = next_hop.filter(|_| treat_as_withdraw.is_none()) else {
                for prefix in &prefixes {
                    self.withdraw_received(now, peer, prefix);
                    outcome.treat_as_withdraw = outcome.treat_as_withdraw.saturating_add(1);
                }
                continue;
            };
            let received = self.interner.intern(RouteAttributes {
                path: attributes.clone(),
                next_hop: Some(next_hop),
            });
            self.import_received(now, peer, &received, &prefixes, &mut outcome);
            self.interner.release(received);
        }
        self.check_max_prefixes(peer, &mut outcome);
        outcome
    }

    /// Replaces every named policy; peers whose import or export policy
    /// changed are re-evaluated (see [`Rib::set_peer_policy`]).
    pub fn set_policies(
        &mut self,
        now: Instant,
        policies: BTreeMap<String, Policy>,
    ) -> PolicyOutcome {
        let old = std::mem::replace(&mut self.settings.policies, policies);
        let mut outcome = PolicyOutcome::default();
        let peers: Vec<(PeerId, String, String)> = self
            .peers
            .iter()
            .map(|(peer, state)| {
                (
                    *peer,
                    state.info.import_policy.clone(),
                    state.info.export_policy.clone(),
                )
            })
            .collect();
        for (peer, import, export) in peers {
            let import_changed = old.get(&import) != self.settings.policies.get(&import);
            let export_changed = old.get(&export) != self.settings.policies.get(&export);
            self.apply_policy_change(now, peer, import_changed, export_changed, &mut outcome);
        }
        outcome
    }

    /// Changes one peer's import and export policy names. A changed import
    /// policy re-evaluates the stored pre-policy routes with soft
    /// reconfiguration, or asks for a ROUTE-REFRESH (RFC 2918); a changed
    /// export policy re-advertises what differs.
    pub fn set_peer_policy(
        &mut self,
        now: Instant,
        peer: PeerId,
        import: &str,
        export: &str,
    ) -> PolicyOutcome {
        let mut outcome = PolicyOutcome::default();
        let Some(state) = self.peers.get_mut(&peer) else {
            return outcome;
        };
        let import_changed = state.info.import_policy != import;
        let export_changed = state.info.export_policy != export;
        state.info.import_policy = import.to_owned();
        state.info.export_policy = export.to_owned();
        self.apply_policy_change(now, peer, import_changed, export_changed, &mut outcome);
        outcome
    }

    fn apply_policy_change(
        &mut self,
        now: Instant,
        peer: PeerId,
        import_changed: bool,
        export_changed: bool,
        outcome: &mut PolicyOutcome,
    ) {
        let Some(state) = self.peers.get(&peer) else {
            return;
        };
        if import_changed {
            if state.info.soft_reconfiguration_inbound {
                self.reimport(now, peer);
            } else {
                for family in &state.info.families {
                    outcome.route_refresh.push((peer, *family));
                }
            }
        }
        if export_changed {
            self.resync.entry(peer).or_insert(false);
            self.immediate_since.get_or_insert(now);
        }
    }

    /// Runs import again over the stored pre-policy routes of `peer`.
    fn reimport(&mut self, now: Instant, peer: PeerId) {
        let received = self.received_routes(peer);
        let mut routes = received.into_iter();
        for ((prefix, path_id), received) in routes.by_ref() {
            let Some(prepared) = self.prepare(peer, &received) else {
                self.interner.release(received);
                break;
            };
            self.import_kept(now, peer, prefix, path_id, &received, &prepared, true);
            self.interner.release(prepared.base);
            self.interner.release(received);
        }
        for (_, received) in routes {
            self.interner.release(received);
        }
    }

    /// Imports one received route, keeps its received form when `soft`
    /// (see `pre_policy.rs`) and notes the verdict.
    #[allow(clippy::too_many_arguments)]
    fn import_kept(
        &mut self,
        now: Instant,
        peer: PeerId,
        prefix: IpNetwork,
        path_id: u32,
        received: &SharedAttributes,
        prepared: &Prepared,
        soft: bool,
    ) -> Import {
        let verdict = self.import_one(now, peer, prefix, path_id, prepared);
        if soft {
            let rebuildable = matches!(verdict, Import::Accepted { as_prepared: true })
                && rebuilds(received, prepared.internal);
            self.keep_received(peer, prefix, path_id, received, rebuildable);
        }
        self.note_verdict(peer, prefix, path_id, &verdict);
        verdict
    }

    fn import_received(
        &mut self,
        now: Instant,
        peer: PeerId,
        received: &SharedAttributes,
        prefixes: &[Nlri],
        outcome: &mut UpdateOutcome,
    ) {
        let soft = self
            .peers
            .get(&peer)
            .is_some_and(|state| state.info.soft_reconfiguration_inbound);
        let Some(prepared) = self.prepare(peer, received) else {
            return;
        };
        for nlri in prefixes {
            let path_id = nlri.path_id.unwrap_or(0);
            let verdict =
                self.import_kept(now, peer, nlri.prefix, path_id, received, &prepared, soft);
            let counter = match verdict {
                Import::Accepted { .. } => &mut outcome.accepted,
                Import::RejectedByPolicy => &mut outcome.rejected_by_policy,
                Import::RejectedByLoop => &mut outcome.rejected_by_loop,
            };
            *counter = counter.saturating_add(1);
        }
        self.interner.release(prepared.base);
    }

    /// What does not depend on the prefix, worked out once per UPDATE: the
    /// loop checks, and the attributes adjusted for the source (RFC 4271
    /// §5.1.5: LOCAL_PREF from an eBGP peer is ignored; RFC 4456 §8: the
    /// reflection attributes never cross an AS border), interned.
    fn prepare(&mut self, peer: PeerId, received: &SharedAttributes) -> Option<Prepared> {
        let state = self.peers.get(&peer)?;
        let looped = self.is_loop(received, state.info.allowas_in);
        let base = if state.info.internal {
            self.interner.intern_shared(received)
        } else {
            let mut path = received.path.clone();
            path.local_pref = Some(self.settings.default_local_pref);
            path.originator_id = None;
            path.cluster_list.clear();
            self.interner.intern(RouteAttributes {
                path,
                next_hop: received.next_hop,
            })
        };
        Some(Prepared {
            internal: state.info.internal,
            looped,
            policy: state.info.import_policy.clone(),
            neighbor: state.info.address,
            base,
        })
    }

    fn note_verdict(&mut self, peer: PeerId, prefix: IpNetwork, path_id: u32, verdict: &Import) {
        if let Some(state) = self.peers.get_mut(&peer) {
            state.stale.remove(&(prefix, path_id));
            if matches!(verdict, Import::Accepted { .. }) {
                state.rejected.remove(&(prefix, path_id));
            } else {
                state.rejected.insert((prefix, path_id));
            }
        }
    }

    /// Import policy for one route; stores or removes the path accordingly.
    fn import_one(
        &mut self,
        now: Instant,
        peer: PeerId,
        prefix: IpNetwork,
        path_id: u32,
        prepared: &Prepared,
    ) -> Import {
        let source = Source::Peer(peer);
        if prepared.looped {
            self.set_path(now, prefix, source, path_id, None);
            return Import::RejectedByLoop;
        }
        let evaluation = evaluate(
            &self.settings.policies,
            &prepared.policy,
            PolicyRoute {
                prefix: &prefix,
                attributes: &prepared.base.path,
                neighbor: Some(prepared.neighbor),
            },
            self.settings.local_asn,
        );
        let accepted = evaluation.accepted;
        let changed = evaluation.attributes;
        if !accepted {
            self.set_path(now, prefix, source, path_id, None);
            return Import::RejectedByPolicy;
        }
        let as_prepared = changed.is_none();
        let attributes = match changed {
            Some(path) => self.interner.intern(RouteAttributes {
                path,
                next_hop: prepared.base.next_hop,
            }),
            None => SharedAttributes::clone(&prepared.base),
        };
        self.set_path(now, prefix, source, path_id, Some(attributes));
        Import::Accepted { as_prepared }
    }

    /// RFC 4271 §9.1.2 (our AS in AS_PATH more than `allowas_in` times) and
    /// RFC 4456 §8 (our ORIGINATOR_ID, our CLUSTER_ID in CLUSTER_LIST).
    fn is_loop(&self, received: &RouteAttributes, allowas_in: u8) -> bool {
        let path = &received.path;
        let own_as = path
            .as_path
            .iter()
            .flat_map(|as_path| as_path.segments.iter())
            .filter(|segment| {
                matches!(
                    segment.kind,
                    AsPathSegmentKind::Sequence | AsPathSegmentKind::Set
                )
            })
            .flat_map(|segment| segment.asns.iter())
            .filter(|asn| **asn == self.settings.local_asn)
            .count();
        own_as > usize::from(allowas_in)
            || path.originator_id == Some(self.settings.router_id)
            || path.cluster_list.contains(&self.settings.cluster_id())
    }

    fn withdraw_received(&mut self, now: Instant, peer: PeerId, nlri: &Nlri) {
        let key = (nlri.prefix, nlri.path_id.unwrap_or(0));
        let previous = self.peers.get_mut(&peer).and_then(|state| {
            state.rejected.remove(&key);
            state.stale.remove(&key);
            state.pre_policy.remove(&key)
        });
        if let Some(previous) = previous {
            self.interner.release(previous);
        }
        self.set_path(now, key.0, Source::Peer(peer), key.1, None);
    }

    fn check_max_prefixes(&mut self, peer: PeerId, outcome: &mut UpdateOutcome) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(limit) = state.info.max_prefixes else {
            return;
        };
        if state.accepted <= limit.limit {
            return;
        }
        let report = match limit.action {
            MaxPrefixAction::Teardown => true,
            MaxPrefixAction::Warn => !std::mem::replace(&mut state.max_prefixes_warned, true),
        };
        if report {
            outcome.max_prefixes_exceeded = Some(MaxPrefixesExceeded {
                limit: limit.limit,
                accepted: state.accepted,
                action: limit.action,
            });
        }
    }
}
