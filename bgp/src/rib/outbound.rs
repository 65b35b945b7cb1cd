//! Routes going out: Adj-RIB-Out diffs, update groups, packing, End-of-RIB
//! and route refresh re-advertisement.
//!
//! [`Rib::poll_outbound`] does the queued work in this order: peers that
//! just came up (or whose export policy changed) are compared against the
//! whole Loc-RIB, and new peers get End-of-RIB per family (RFC 4724 §2);
//! requested route refreshes re-send a family's Adj-RIB-Out, framed by BoRR
//! and EoRR when enhanced route refresh is in use (RFC 7313 §4); and, when
//! the changed prefixes are due, every prefix changed since the last flush
//! is compared against every peer's Adj-RIB-Out. Changes are due 1 ms
//! after they were made when nothing was flushed for a coalescing window,
//! and otherwise one window after the last flush: a lone withdrawal is not
//! held back, and a burst goes out at most once per window; a lost
//! session's withdrawals go out at once. Since what is sent is
//! the difference between the Loc-RIB's state now and what each peer already
//! has, many changes to one prefix within the window cost at most one
//! announcement or withdrawal, and a prefix that came and went costs nothing.
//!
//! Peers with the same export policy, role, next-hop treatment, local
//! addresses and encoding form an update group: a route's exported
//! attributes are computed once per group, and peers whose changes are the
//! same share one encoding. The one per-peer rule, never sending a route
//! back to its source, splits the few prefixes it affects into their own
//! batch (the group machinery is in `update_group.rs`). Without ADD-PATH a
//! member has at most one path per prefix, and one Adj-RIB-Out search both
//! finds what it was sent and records the change. Within a batch, prefixes with the same attributes are packed into
//! as few UPDATEs as the message size allows (`wire::packing`), in prefix
//! order, so the bytes are deterministic.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use ipnetwork::IpNetwork;

use super::adj_rib_out::{SingleChange, source_tag};
use super::core::Rib;
use super::fast_hash::FastMap;
use super::types::{Outbound, PeerId, PeerInfo, Source, family_of};
use super::update_group::{
    Announcements, Batch, Exported, Exporter, GroupKey, Slots, is_builtin_policy,
};
use crate::wire::{Family, Message, Nlri, RouteRefresh, RouteRefreshSubtype, Update};

impl Rib {
    /// Encoded UPDATEs due at `now`, each for the peers listed, in the order
    /// they must be written (see the module overview).
    pub fn poll_outbound(&mut self, now: Instant) -> Vec<Outbound> {
        let mut out = Vec::new();
        self.leave_shared_where_needed();
        if !self.resync.is_empty() {
            let resync = std::mem::take(&mut self.resync);
            let (served, initial) = self.initial_from_shared(&resync);
            out.extend(initial);
            let peers: Vec<PeerId> = resync
                .keys()
                .filter(|peer| !served.contains(peer))
                .copied()
                .collect();
            if !peers.is_empty() {
                let mut prefixes: Vec<IpNetwork> = self.table.keys().collect();
                for peer in &peers {
                    if let Some(state) = self.peers.get(peer) {
                        prefixes.extend(state.adj_rib_out.iter().map(|(prefix, _, _)| prefix));
                    }
                }
                prefixes.sort_unstable();
                prefixes.dedup();
                out.extend(self.generate(&prefixes, &peers));
            }
            let new_peers: Vec<PeerId> = resync
                .iter()
                .filter(|(_, end_of_rib)| **end_of_rib)
                .map(|(peer, _)| *peer)
                .collect();
            out.extend(self.end_of_rib(&new_peers));
        }
        for (peer, family, enhanced) in std::mem::take(&mut self.refresh) {
            out.extend(self.refresh_messages(peer, family, enhanced));
        }
        self.immediate_since = None;
        if self.flush_due().is_some_and(|due| now >= due) {
            let prefixes: Vec<IpNetwork> = self
                .dirty
                .take()
                .into_iter()
                .map(|(prefix, ())| prefix)
                .collect();
            self.dirty_since = None;
            self.last_flush = Some(now);
            self.flush_now = false;
            self.settled = false;
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            out.extend(self.generate(&prefixes, &peers));
        }
        if self.dirty.is_empty() && self.resync.is_empty() && self.refresh.is_empty() {
            self.join_shared();
        }
        out
    }

    /// Re-sends `peer`'s Adj-RIB-Out for `family` at the next poll (RFC 2918
    /// §4), between BoRR and EoRR when `enhanced` (RFC 7313 §4).
    pub fn route_refresh(&mut self, now: Instant, peer: PeerId, family: Family, enhanced: bool) {
        if self.peers.get(&peer).is_some_and(|state| state.established) {
            self.refresh.insert((peer, family, enhanced));
            self.immediate_since.get_or_insert(now);
        }
    }

    /// Diffs `prefixes` against the Adj-RIB-Out of each of `peers` and
    /// returns the encoded changes, updating the Adj-RIBs-Out.
    fn generate(&mut self, prefixes: &[IpNetwork], peers: &[PeerId]) -> Vec<Outbound> {
        let mut groups: BTreeMap<GroupKey, Vec<PeerId>> = BTreeMap::new();
        for peer in peers {
            if let Some(state) = self.peers.get(peer).filter(|state| state.established) {
                groups
                    .entry(GroupKey::of(&state.info))
                    .or_default()
                    .push(*peer);
            }
        }
        let mut out = Vec::new();
        for members in groups.into_values() {
            let Some(info) = members
                .first()
                .and_then(|peer| self.peers.get(peer))
                .map(|state| state.info.clone())
            else {
                continue;
            };
            let batches = self.generate_group(prefixes, &members, &info);
            for (peers, batch) in batches {
                let messages = batch.encode(&info.encoding);
                if !messages.is_empty() {
                    out.push(Outbound { peers, messages });
                }
            }
        }
        out
    }

    fn generate_group(
        &mut self,
        prefixes: &[IpNetwork],
        members: &[PeerId],
        info: &PeerInfo,
    ) -> BTreeMap<Vec<PeerId>, Batch> {
        let mut batches: BTreeMap<Vec<PeerId>, Batch> = BTreeMap::new();
        let mut cache = FastMap::default();
        let mut slots = Slots::default();
        let cacheable = is_builtin_policy(&self.settings, &info.export_policy);
        // Buffers reused from prefix to prefix: this loop runs once per
        // prefix of a full table.
        let mut exported: Exported = Vec::new();
        let mut desired: Announcements = Vec::new();
        let mut current: Vec<(u32, usize)> = Vec::new();
        let mut withdraw: Vec<u32> = Vec::new();
        let mut changes: Vec<Change> = Vec::new();
        // The group's shared table, when members use it (`shared_out.rs`):
        // updated once per prefix, then each member's view compared.
        let key = GroupKey::of(info);
        let mut shared = members
            .iter()
            .any(|member| {
                self.peers
                    .get(member)
                    .is_some_and(|state| state.shared.is_some())
            })
            .then(|| self.shared_out.remove(&key))
            .flatten();
        let mut released = Vec::new();
        // `prefixes` are sorted: the Loc-RIB is walked alongside them.
        let mut lookup = self.table.ordered_lookup();
        for prefix in prefixes {
            let prefix = *prefix;
            let family = family_of(&prefix);
            let add_path = info.encoding.has_path_id(family);
            if let Some(destination) = lookup.get(&prefix) {
                Exporter {
                    settings: &self.settings,
                    peers: &self.peers,
                    next_hops: &self.next_hops,
                    interner: &mut self.outbound_interner,
                    cache: &mut cache,
                    slots: &mut slots,
                    cacheable,
                    destination: info,
                }
                .export(&prefix, destination, add_path, &mut exported);
            }
            let limit = if add_path {
                usize::from(info.add_path_send.get(&family).copied().unwrap_or(1).max(1))
            } else {
                1
            };
            let first = exported.first().map(|(source, _, slot)| (*source, *slot));
            let group_before = match shared.as_mut() {
                Some(group) => {
                    let wanted = first.and_then(|(source, slot)| {
                        slots
                            .get(slot)
                            .map(|attributes| (attributes, source_tag(source)))
                    });
                    let (before, gone) = group.table.replace_single(&prefix, wanted);
                    group.count_sources(
                        before.map(|(_, source)| source),
                        wanted.map(|(_, source)| source),
                    );
                    released.extend(gone);
                    before
                }
                None => None,
            };
            // Members with the same changes share one entry of `changes`;
            // the first `used` entries are this prefix's.
            let mut used = 0usize;
            for member in members {
                let Some(state) = self.peers.get_mut(member) else {
                    continue;
                };
                if add_path {
                    let state = &*state;
                    desired.clear();
                    desired.extend(
                        exported
                            .iter()
                            .filter(|(source, _, _)| *source != Source::Peer(*member))
                            .take(limit)
                            .map(|(_, id, slot)| (*id, *slot)),
                    );
                    current.clear();
                    state
                        .adj_rib_out
                        .sent(&prefix, add_path, &mut current, |id, attributes| {
                            (id, Arc::as_ptr(attributes) as usize)
                        });
                    let unchanged = |id: u32, slot: u32| {
                        slots.get(slot).is_some_and(|attributes| {
                            current.contains(&(id, Arc::as_ptr(attributes) as usize))
                        })
                    };
                    withdraw.clear();
                    withdraw.extend(
                        current
                            .iter()
                            .filter(|(id, _)| !desired.iter().any(|(wanted, _)| wanted == id))
                            .map(|(id, _)| *id),
                    );
                    if withdraw.is_empty() && desired.iter().all(|(id, slot)| unchanged(*id, *slot))
                    {
                        continue;
                    }
                    // What is left in `desired` is what this member must be announced.
                    desired.retain(|(id, slot)| !unchanged(*id, *slot));
                } else if state.shared.is_some() {
                    // One path at most, id 0: the member was sent the group's
                    // entry unless it was the route's source, and is sent the
                    // new one unless it is.
                    let tag = source_tag(Source::Peer(*member));
                    let before = group_before
                        .filter(|(_, source)| *source != tag)
                        .map(|(address, _)| address);
                    let after = first
                        .filter(|(source, _)| *source != Source::Peer(*member))
                        .map(|(_, slot)| slot);
                    let after_address = after
                        .and_then(|slot| slots.get(slot))
                        .map(|attributes| Arc::as_ptr(attributes) as usize);
                    if before == after_address {
                        continue;
                    }
                    withdraw.clear();
                    desired.clear();
                    match after {
                        Some(slot) => desired.push((0, slot)),
                        None => withdraw.push(0),
                    }
                } else {
                    // One path at most, id 0: decided and recorded in the
                    // Adj-RIB-Out with one search.
                    let wanted = exported
                        .iter()
                        .find(|(source, _, _)| *source != Source::Peer(*member))
                        .map(|(_, _, slot)| *slot);
                    withdraw.clear();
                    desired.clear();
                    let attributes = wanted.and_then(|slot| slots.get(slot));
                    match state.adj_rib_out.set_single(&prefix, attributes) {
                        SingleChange::Unchanged => continue,
                        SingleChange::Announced(old) => {
                            desired.extend(wanted.map(|slot| (0, slot)));
                            if let Some(old) = old {
                                self.outbound_interner.release(old);
                            }
                        }
                        SingleChange::Withdrawn(old) => {
                            withdraw.push(0);
                            if let Some(old) = old {
                                self.outbound_interner.release(old);
                            }
                        }
                    }
                }
                let known = changes.get_mut(..used).and_then(|active| {
                    active
                        .iter_mut()
                        .find(|change| change.is(&withdraw, &desired, &slots))
                });
                match known {
                    Some(change) => change.receivers.push(*member),
                    None => {
                        if used == changes.len() {
                            changes.push(Change::default());
                        }
                        if let Some(change) = changes.get_mut(used) {
                            change.withdraw.clear();
                            change.withdraw.extend_from_slice(&withdraw);
                            change.announce.clear();
                            change.announce.append(&mut desired);
                            change.receivers.clear();
                            change.receivers.push(*member);
                            used += 1;
                        }
                    }
                }
            }
            for change in changes.iter_mut().take(used) {
                let nlri = |id: u32| Nlri {
                    path_id: add_path.then_some(id),
                    prefix,
                };
                let batch = match batches.get_mut(change.receivers.as_slice()) {
                    Some(batch) => batch,
                    None => batches.entry(change.receivers.clone()).or_default(),
                };
                for id in &change.withdraw {
                    batch.withdraw(family, nlri(*id));
                }
                for (id, slot) in &change.announce {
                    if let Some(attributes) = slots.get(*slot) {
                        batch.announce(family, attributes, nlri(*id));
                    }
                }
                // Without ADD-PATH the diff above already recorded the change.
                let receivers = if add_path { &change.receivers[..] } else { &[] };
                for receiver in receivers {
                    let Some(state) = self.peers.get_mut(receiver) else {
                        continue;
                    };
                    for id in &change.withdraw {
                        if let Some(old) = state.adj_rib_out.remove(&prefix, *id) {
                            self.outbound_interner.release(old);
                        }
                    }
                    for (id, slot) in &change.announce {
                        let Some(attributes) = slots.get(*slot) else {
                            continue;
                        };
                        if let Some(old) =
                            state
                                .adj_rib_out
                                .insert(prefix, *id, Arc::clone(attributes))
                        {
                            self.outbound_interner.release(old);
                        }
                    }
                }
                change.announce.clear();
            }
            exported.clear();
            if !cacheable {
                // Nothing refers to this prefix's slots any more.
                for attributes in slots.drain() {
                    self.outbound_interner.release(attributes);
                }
            }
        }
        for attributes in slots.drain().chain(released) {
            self.outbound_interner.release(attributes);
        }
        if let Some(group) = shared {
            self.shared_out.insert(key, group);
        }
        batches
    }

    /// End-of-RIB for every negotiated family (RFC 4724 §2), one encoding per group.
    fn end_of_rib(&self, peers: &[PeerId]) -> Vec<Outbound> {
        let mut groups: BTreeMap<GroupKey, (Vec<PeerId>, &PeerInfo)> = BTreeMap::new();
        for peer in peers {
            if let Some(state) = self.peers.get(peer) {
                groups
                    .entry(GroupKey::of(&state.info))
                    .or_insert_with(|| (Vec::new(), &state.info))
                    .0
                    .push(*peer);
            }
        }
        groups
            .into_values()
            .map(|(peers, info)| Outbound {
                peers,
                messages: info
                    .families
                    .iter()
                    .filter_map(|family| {
                        Message::Update(Update::end_of_rib(*family))
                            .to_bytes(&info.encoding)
                            .ok()
                    })
                    .collect(),
            })
            .collect()
    }

    /// The whole Adj-RIB-Out of one family, re-sent.
    fn refresh_messages(&self, peer: PeerId, family: Family, enhanced: bool) -> Option<Outbound> {
        let state = self.peers.get(&peer)?;
        let context = &state.info.encoding;
        let marker = |subtype| {
            Message::RouteRefresh(RouteRefresh { family, subtype })
                .to_bytes(context)
                .ok()
        };
        let mut messages = Vec::new();
        if enhanced {
            messages.extend(marker(RouteRefreshSubtype::BeginningOfRefresh));
        }
        let add_path = context.has_path_id(family);
        let mut batch = Batch::default();
        for (prefix, id, attributes) in self.sent_to(peer) {
            if family_of(&prefix) == family {
                let nlri = Nlri {
                    path_id: add_path.then_some(id),
                    prefix,
                };
                batch.announce(family, attributes, nlri);
            }
        }
        messages.extend(batch.encode(context));
        if enhanced {
            messages.extend(marker(RouteRefreshSubtype::EndOfRefresh));
        }
        Some(Outbound {
            peers: vec![peer],
            messages,
        })
    }
}

/// The changes one set of an update group's members gets for one prefix:
/// path ids to withdraw and (path id, attributes) to announce. Kept from
/// prefix to prefix so that its vectors are reused, not reallocated.
#[derive(Debug, Default)]
struct Change {
    withdraw: Vec<u32>,
    announce: Announcements,
    receivers: Vec<PeerId>,
}

impl Change {
    /// Whether these are exactly the changes `withdraw` and `announce`
    /// (attributes compared by identity: they are interned).
    fn is(&self, withdraw: &[u32], announce: &Announcements, slots: &Slots) -> bool {
        // Element by element, not `==`: these lists hold zero to a few ids,
        // and slice equality calls `memcmp` for each of the millions of
        // comparisons a reflection of a thousand clients makes.
        self.withdraw.len() == withdraw.len()
            && self
                .withdraw
                .iter()
                .zip(withdraw)
                .all(|(held, other)| held == other)
            && self.announce.len() == announce.len()
            && self
                .announce
                .iter()
                .zip(announce)
                .all(|((id, held), (other_id, other))| id == other_id && slots.same(*held, *other))
    }
}
