//! One Adj-RIB-Out per update group instead of one per peer, for groups
//! that send without ADD-PATH.
//!
//! Without ADD-PATH a member of an update group is sent, for each prefix,
//! the group's exported best path, unless the member is that path's source
//! (it is never sent its own route back), when it is sent nothing. So what
//! every member has been sent is one table per group, prefix → exported
//! attributes and the route's source ([`SharedOut::table`]; the source is
//! part of the entry's handle, so it costs no byte per entry): a member's
//! view is every entry whose source is not the member. A route
//! reflector's memory then grows with routes plus clients, not with
//! routes × clients as with a table per peer.
//!
//! A new session that can share joins its group at once when the group
//! has (or, with it, reaches) two members: its initial table is the
//! group's table, less its own routes ([`Rib::initial_from_shared`]), so a
//! storm of sessions costs one table, not one per session. Any other peer
//! starts with a table of its own: its initial table is sent by comparing
//! the Loc-RIB against that table (`outbound.rs`). At the end of a poll
//! that left nothing pending, a peer whose table equals the group's view
//! ([`Rib::join_shared`]) drops it and becomes a member; a group's table
//! is built from the Loc-RIB when its first members join. Only groups of two or more share: a peer alone in
//! its group (an eBGP neighbor with its own policy) keeps the smaller
//! table of its own, and the last member of a group takes its view back. A member leaves when its session goes down, and
//! before anything that must compare it alone (a resync after an export
//! policy change, a changed group key) it first gets its table back, built
//! from the group's ([`Rib::leave_shared`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ipnetwork::IpNetwork;

use super::adj_rib_out::{AdjRibOut, SourceTag, source_tag};
use super::core::{PeerState, Rib};
use super::fast_hash::FastMap;
use super::types::{Outbound, PeerId, PeerInfo, SharedAttributes, Source, family_of};
use super::update_group::{Batch, Exported, Exporter, GroupKey, Slots, is_builtin_policy};
use crate::wire::Nlri;

/// The Adj-RIB-Out of one update group; see the module overview.
#[derive(Debug, Default)]
pub(super) struct SharedOut {
    /// What a member is sent for each prefix unless it is the entry's source.
    pub(super) table: AdjRibOut,
    /// The members.
    pub(super) members: BTreeSet<PeerId>,
    /// Entries of the table per source tag: what a member is not sent.
    pub(super) sourced: BTreeMap<SourceTag, usize>,
}

/// A peer's place in a shared table.
#[derive(Debug, Clone)]
pub(super) struct Membership {
    /// The group whose table it shares.
    pub(super) key: GroupKey,
}

impl SharedOut {
    /// Records that `prefix`'s entry moved from `before`'s source to
    /// `after`'s (for [`Rib::sent_count`]).
    pub(super) fn count_sources(&mut self, before: Option<SourceTag>, after: Option<SourceTag>) {
        if before == after {
            return;
        }
        if let Some(tag) = before {
            if let Some(count) = self.sourced.get_mut(&tag) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.sourced.remove(&tag);
                }
            }
        }
        if let Some(tag) = after {
            let count = self.sourced.entry(tag).or_default();
            *count = count.saturating_add(1);
        }
    }
}

impl Rib {
    /// Whether a peer may share its group's table: no family sent with
    /// ADD-PATH (those keep a table per peer, with path identifiers).
    pub(super) fn can_share(info: &PeerInfo) -> bool {
        info.encoding.add_path.is_empty()
    }

    /// Moves every established peer with a table of its own into its
    /// group's shared table, when that table's view is exactly what the
    /// peer was sent. Call only when nothing is pending: no dirty prefix,
    /// no resync, no refresh.
    pub(super) fn join_shared(&mut self) {
        let candidates = self.sharing_groups(self.peers.keys().copied(), |_| true);
        for peers in candidates.into_values() {
            for peer in peers {
                self.join_one(peer);
            }
        }
    }

    /// `candidates` that may share (established, not in a group, without
    /// ADD-PATH, and passing `also`), by update group, less the groups that
    /// would not reach two members with them: a group of one keeps its own
    /// table, which holds only what the peer was sent, where a shared
    /// table would also hold the peer's own routes and list them as not
    /// sent.
    fn sharing_groups(
        &self,
        candidates: impl IntoIterator<Item = PeerId>,
        also: impl Fn(&PeerState) -> bool,
    ) -> BTreeMap<GroupKey, Vec<PeerId>> {
        let mut groups: BTreeMap<GroupKey, Vec<PeerId>> = BTreeMap::new();
        for peer in candidates {
            let Some(state) = self.peers.get(&peer) else {
                continue;
            };
            if state.established
                && state.shared.is_none()
                && Rib::can_share(&state.info)
                && also(state)
            {
                groups
                    .entry(GroupKey::of(&state.info))
                    .or_default()
                    .push(peer);
            }
        }
        groups.retain(|key, peers| {
            let members = self
                .shared_out
                .get(key)
                .map_or(0, |group| group.members.len());
            members.saturating_add(peers.len()) >= 2
        });
        groups
    }

    fn join_one(&mut self, peer: PeerId) {
        let Some(info) = self.peers.get(&peer).map(|state| state.info.clone()) else {
            return;
        };
        let key = GroupKey::of(&info);
        if !self.shared_out.contains_key(&key) {
            let group = self.export_table(&info);
            self.shared_out.insert(key.clone(), group);
        }
        let Some(group) = self.shared_out.get_mut(&key) else {
            return;
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if !is_view(
            &group.table,
            &state.adj_rib_out,
            source_tag(Source::Peer(peer)),
        ) {
            // What the peer was sent is not the group's view (it should be
            // by construction); it keeps its own table, which stays right.
            if group.members.is_empty() {
                if let Some(group) = self.shared_out.remove(&key) {
                    for attributes in group.table.into_attributes() {
                        self.outbound_interner.release(attributes);
                    }
                }
            }
            return;
        }
        group.members.insert(peer);
        let own = std::mem::take(&mut state.adj_rib_out);
        state.shared = Some(Membership { key });
        for attributes in own.into_attributes() {
            self.outbound_interner.release(attributes);
        }
    }

    /// New sessions (`resync` entries that are due End-of-RIB) that can
    /// share and have been sent nothing join their group's table at once,
    /// and their initial table is that table's view (RFC 4271 §9.1.3: the
    /// group's exported best paths, less the peer's own routes), encoded
    /// once for every member that has no route of its own in it. Without
    /// this, each new session of a storm kept a table of its own until its
    /// initial table was out and the peak memory held one table per
    /// session. A group whose table does not exist yet is built from the
    /// Loc-RIB when at least two peers share it (see the module overview).
    /// Returns the peers so served, which need no comparison, and their
    /// messages.
    pub(super) fn initial_from_shared(
        &mut self,
        resync: &BTreeMap<PeerId, bool>,
    ) -> (BTreeSet<PeerId>, Vec<Outbound>) {
        let new_sessions = resync
            .iter()
            .filter(|(_, end_of_rib)| **end_of_rib)
            .map(|(peer, _)| *peer);
        let by_key = self.sharing_groups(new_sessions, |state| state.adj_rib_out.len() == 0);
        let mut served = BTreeSet::new();
        let mut out = Vec::new();
        for (key, peers) in by_key {
            let Some(info) = peers
                .first()
                .and_then(|peer| self.peers.get(peer))
                .map(|state| state.info.clone())
            else {
                continue;
            };
            if !self.shared_out.contains_key(&key) {
                let group = self.export_table(&info);
                self.shared_out.insert(key.clone(), group);
            }
            let Some(group) = self.shared_out.get_mut(&key) else {
                continue;
            };
            // Members with no route of their own in the table all get the
            // whole table: one encoding for all of them.
            let (plain, own): (Vec<PeerId>, Vec<PeerId>) = peers.iter().partition(|peer| {
                !group
                    .sourced
                    .contains_key(&source_tag(Source::Peer(**peer)))
            });
            if !plain.is_empty() {
                out.push(Outbound {
                    peers: plain,
                    messages: view(&group.table, None).encode(&info.encoding),
                });
            }
            for peer in own {
                let tag = source_tag(Source::Peer(peer));
                out.push(Outbound {
                    peers: vec![peer],
                    messages: view(&group.table, Some(tag)).encode(&info.encoding),
                });
            }
            for peer in peers {
                group.members.insert(peer);
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.shared = Some(Membership { key: key.clone() });
                }
                served.insert(peer);
            }
        }
        out.retain(|outbound| !outbound.messages.is_empty());
        (served, out)
    }

    /// Takes `peer` out of its shared table, if it is in one. With
    /// `keep_view` the peer gets a table of its own holding what it was
    /// sent; without (its session went down) it keeps nothing. A group left
    /// without members is dropped.
    pub(super) fn leave_shared(&mut self, peer: PeerId, keep_view: bool) {
        let Some(membership) = self
            .peers
            .get_mut(&peer)
            .and_then(|state| state.shared.take())
        else {
            return;
        };
        let Some(group) = self.shared_out.get_mut(&membership.key) else {
            return;
        };
        if keep_view {
            let mut own = AdjRibOut::default();
            let tag = source_tag(Source::Peer(peer));
            for (prefix, attributes, source) in group.table.iter_sourced() {
                if source != tag {
                    own.insert(prefix, 0, Arc::clone(attributes));
                }
            }
            if let Some(state) = self.peers.get_mut(&peer) {
                for attributes in std::mem::replace(&mut state.adj_rib_out, own).into_attributes() {
                    self.outbound_interner.release(attributes);
                }
            }
        }
        group.members.remove(&peer);
        // The last member takes its view back (see `join_shared`).
        let last = group
            .members
            .first()
            .copied()
            .filter(|_| group.members.len() == 1);
        if let Some(last) = last {
            self.leave_shared(last, true);
        } else if group.members.is_empty() {
            if let Some(group) = self.shared_out.remove(&membership.key) {
                for attributes in group.table.into_attributes() {
                    self.outbound_interner.release(attributes);
                }
            }
        }
    }

    /// Members that must be compared alone at this poll (resync) get their
    /// own table back first. A member's group key only changes with a new
    /// session (it left when the old one went down) or an export policy
    /// change, which always queues a resync, so the queue is all to check.
    pub(super) fn leave_shared_where_needed(&mut self) {
        let leaving: Vec<PeerId> = self
            .resync
            .keys()
            .filter(|peer| {
                self.peers
                    .get(peer)
                    .is_some_and(|state| state.shared.is_some())
            })
            .copied()
            .collect();
        for peer in leaving {
            self.leave_shared(peer, true);
        }
    }

    /// What `peer` has been sent, in (prefix, id) order, wherever it is kept.
    pub(super) fn sent_to(&self, peer: PeerId) -> Vec<(IpNetwork, u32, &SharedAttributes)> {
        let Some(state) = self.peers.get(&peer) else {
            return Vec::new();
        };
        match self.group_of(state.shared.as_ref()) {
            Some(group) => {
                let tag = source_tag(Source::Peer(peer));
                group
                    .table
                    .iter_sourced()
                    .filter(|(_, _, source)| *source != tag)
                    .map(|(prefix, attributes, _)| (prefix, 0, attributes))
                    .collect()
            }
            None => state.adj_rib_out.iter().collect(),
        }
    }

    /// How many routes `peer` has been sent.
    pub(super) fn sent_count(&self, peer: PeerId) -> usize {
        let Some(state) = self.peers.get(&peer) else {
            return 0;
        };
        match self.group_of(state.shared.as_ref()) {
            Some(group) => {
                let own = group
                    .sourced
                    .get(&source_tag(Source::Peer(peer)))
                    .copied()
                    .unwrap_or(0);
                group.table.len().saturating_sub(own)
            }
            None => state.adj_rib_out.len(),
        }
    }

    fn group_of(&self, membership: Option<&Membership>) -> Option<&SharedOut> {
        self.shared_out.get(&membership?.key)
    }

    /// The group table for `info`'s key: every prefix's exported best path
    /// (RFC 4271 §9.1.3) with its source.
    fn export_table(&mut self, info: &PeerInfo) -> SharedOut {
        let mut group = SharedOut::default();
        let mut cache = FastMap::default();
        let mut slots = Slots::default();
        let cacheable = is_builtin_policy(&self.settings, &info.export_policy);
        let mut exported: Exported = Vec::new();
        for (prefix, destination) in self.table.iter() {
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
            .export(&prefix, destination, false, &mut exported);
            let first = exported.first().and_then(|(source, _, slot)| {
                slots
                    .get(*slot)
                    .map(|attributes| (attributes, source_tag(*source)))
            });
            if let Some((attributes, tag)) = first {
                let (_, gone) = group.table.replace_single(&prefix, Some((attributes, tag)));
                group.count_sources(None, Some(tag));
                if let Some(gone) = gone {
                    self.outbound_interner.release(gone);
                }
            }
            exported.clear();
            if !cacheable {
                for attributes in slots.drain() {
                    self.outbound_interner.release(attributes);
                }
            }
        }
        for attributes in slots.drain() {
            self.outbound_interner.release(attributes);
        }
        group
    }
}

/// The announcements of every entry of a group's table whose source is
/// not `excluded`: a member's view, as one batch.
fn view(table: &AdjRibOut, excluded: Option<SourceTag>) -> Batch {
    let mut batch = Batch::default();
    for (prefix, attributes, source) in table.iter_sourced() {
        if Some(source) != excluded {
            batch.announce(family_of(&prefix), attributes, Nlri::new(prefix));
        }
    }
    batch
}

/// Whether `own` holds exactly the entries of `group` whose source is not
/// `tag` (same prefixes, same attribute sets).
fn is_view(group: &AdjRibOut, own: &AdjRibOut, tag: SourceTag) -> bool {
    let mut own = own.iter();
    for (prefix, attributes, source) in group.iter_sourced() {
        if source == tag {
            continue;
        }
        match own.next() {
            Some((own_prefix, 0, own_attributes))
                if own_prefix == prefix && Arc::ptr_eq(own_attributes, attributes) => {}
            _ => return false,
        }
    }
    own.next().is_none()
}
