//! The [`Rib`] itself: its state, peers coming and going, local routes, and
//! the one function every change goes through.
//!
//! Every change to a path, whoever causes it (an UPDATE, a policy reload, a
//! peer going down, a local origination, a next hop becoming unreachable),
//! ends in [`Rib::set_path`]: it stores or removes the path, re-runs the
//! decision process for that prefix, records a FIB change when the best or
//! multipath set's next hops moved, and marks the prefix dirty for the
//! outbound side, which diffs it against each peer's Adj-RIB-Out when the
//! coalescing window closes (`outbound.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::adj_rib_out::AdjRibOut;
use super::decision::{Candidate, DecisionOptions, as_path_length, neighbor_as, select};
use super::interner::Interner;
use super::pending::Pending;
use super::shared_out::{Membership, SharedOut};
use super::table::{Destination, Path, Table};
use super::types::{
    FibUpdate, PeerId, PeerInfo, RibSettings, RouteAttributes, SharedAttributes, Source,
    next_hop_address,
};
use super::update_group::GroupKey;
use crate::wire::{Family, Origin, PathAttributes, prefix::normalize};

/// What the daemon knows about a next hop (RFC 4271 §9.1.2.1): whether it
/// resolves, and at what IGP cost. Next hops never reported are reachable
/// at cost 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NextHopState {
    /// The next hop resolves to a route.
    pub reachable: bool,
    /// Its IGP cost (RFC 4271 §9.1.2.2 e).
    pub igp_cost: u32,
}

impl Default for NextHopState {
    fn default() -> Self {
        NextHopState {
            reachable: true,
            igp_cost: 0,
        }
    }
}

/// One established peer's RIB state.
#[derive(Debug)]
pub(super) struct PeerState {
    /// As the speaker described it.
    pub(super) info: PeerInfo,
    /// What the peer has been sent: (prefix, path id sent) -> attributes,
    /// while it has a table of its own (empty while `shared`).
    pub(super) adj_rib_out: AdjRibOut,
    /// Its place in its update group's shared table (`shared_out.rs`).
    pub(super) shared: Option<Membership>,
    /// Routes as received, before import policy (soft reconfiguration only).
    pub(super) pre_policy: BTreeMap<(IpNetwork, u32), SharedAttributes>,
    /// Received routes that import policy or a loop check dropped.
    pub(super) rejected: BTreeSet<(IpNetwork, u32)>,
    /// Paths accepted into the Loc-RIB.
    pub(super) accepted: u32,
    /// The `Warn` prefix limit was already reported.
    pub(super) max_prefixes_warned: bool,
    /// Families whose End-of-RIB arrived.
    pub(super) end_of_rib: BTreeSet<Family>,
    /// The session is up; `false` while its routes are retained across a
    /// graceful restart (RFC 4724 §4.2), when nothing is sent to it.
    pub(super) established: bool,
    /// Routes retained from before a graceful restart and not yet re-sent.
    pub(super) stale: BTreeSet<(IpNetwork, u32)>,
}

/// How long changes made after a quiet window wait before going out: long
/// enough for the other messages of the same event, already in the read
/// buffer, to be processed ([`Rib::next_deadline`]). The speaker ends the
/// wait sooner ([`Rib::settle`]) once it has taken in what its readers had.
pub(super) const SETTLE: Duration = Duration::from_millis(1);

/// The routing information bases of one speaker (RFC 4271 §3.2).
#[derive(Debug)]
pub struct Rib {
    pub(super) settings: RibSettings,
    pub(super) peers: BTreeMap<PeerId, PeerState>,
    pub(super) table: Table,
    pub(super) interner: Interner,
    pub(super) outbound_interner: Interner,
    pub(super) next_hops: BTreeMap<IpAddr, NextHopState>,
    /// Prefixes changed since the last flush, and when the first changed.
    pub(super) dirty: Pending<()>,
    pub(super) dirty_since: Option<Instant>,
    /// When changed prefixes were last flushed to the peers.
    pub(super) last_flush: Option<Instant>,
    /// A session went down: its withdrawals go out at the next poll,
    /// whatever the coalescing window says.
    pub(super) flush_now: bool,
    /// The caller has taken in the rest of the event: changes made after a
    /// quiet window need not wait for [`SETTLE`] (see [`Rib::settle`]).
    pub(super) settled: bool,
    /// Peers to compare against the whole table; `true` adds End-of-RIB.
    pub(super) resync: BTreeMap<PeerId, bool>,
    /// Route refresh re-advertisements: (peer, family, enhanced).
    pub(super) refresh: BTreeSet<(PeerId, Family, bool)>,
    /// When work that is not coalesced was first queued.
    pub(super) immediate_since: Option<Instant>,
    pub(super) fib_changes: Pending<Vec<IpAddr>>,
    /// Paths held, IPv4 and IPv6, kept as they change so that counting them
    /// (every metrics scrape) does not walk the table.
    pub(super) path_counts: (u64, u64),
    /// The Adj-RIB-Out of each update group whose members share one.
    pub(super) shared_out: BTreeMap<GroupKey, SharedOut>,
}

impl Rib {
    /// An empty RIB.
    pub fn new(settings: RibSettings) -> Rib {
        Rib {
            settings,
            peers: BTreeMap::new(),
            table: Table::default(),
            interner: Interner::default(),
            outbound_interner: Interner::default(),
            next_hops: BTreeMap::new(),
            dirty: Pending::default(),
            dirty_since: None,
            last_flush: None,
            flush_now: false,
            settled: false,
            resync: BTreeMap::new(),
            refresh: BTreeSet::new(),
            immediate_since: None,
            fib_changes: Pending::default(),
            path_counts: (0, 0),
            shared_out: BTreeMap::new(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RibSettings {
        &self.settings
    }

    /// A session reached Established: its initial Adj-RIB-Out goes out at
    /// the next [`Rib::poll_outbound`], followed by End-of-RIB for every
    /// negotiated family (RFC 4724 §2). A peer already up is first taken
    /// down; a peer whose routes were retained by
    /// [`Rib::peer_down_retaining`] keeps them, stale, until it re-sends
    /// them or its End-of-RIB arrives.
    pub fn peer_up(&mut self, now: Instant, peer: PeerId, info: PeerInfo) {
        if let Some(state) = self.peers.get_mut(&peer) {
            if !state.established {
                state.info = info;
                state.established = true;
                state.end_of_rib.clear();
                state.max_prefixes_warned = false;
                self.resync.insert(peer, true);
                self.immediate_since.get_or_insert(now);
                return;
            }
            self.peer_down(now, peer);
        }
        self.peers.insert(
            peer,
            PeerState {
                info,
                adj_rib_out: AdjRibOut::default(),
                shared: None,
                pre_policy: BTreeMap::new(),
                rejected: BTreeSet::new(),
                accepted: 0,
                max_prefixes_warned: false,
                end_of_rib: BTreeSet::new(),
                established: true,
                stale: BTreeSet::new(),
            },
        );
        self.resync.insert(peer, true);
        self.immediate_since.get_or_insert(now);
    }

    /// A session left Established: its routes leave the Loc-RIB and its
    /// Adj-RIB-Out is forgotten.
    pub fn peer_down(&mut self, now: Instant, peer: PeerId) {
        let source = Source::Peer(peer);
        let prefixes: Vec<IpNetwork> = self
            .table
            .iter()
            .filter(|(_, destination)| destination.paths.iter().any(|path| path.source == source))
            .map(|(prefix, _)| prefix)
            .collect();
        // A lost session's routes are withdrawn at once, not coalesced: the
        // neighbor may reconnect and re-announce them within the window, and
        // the other peers must still hear that they went (they may have
        // stopped forwarding), not an unchanged table.
        self.flush_now |= !prefixes.is_empty();
        for prefix in prefixes {
            let path_ids: Vec<u32> = self
                .table
                .get(&prefix)
                .map(|destination| {
                    destination
                        .paths
                        .iter()
                        .filter(|path| path.source == source)
                        .map(|path| path.path_id)
                        .collect()
                })
                .unwrap_or_default();
            for path_id in path_ids {
                self.set_path(now, prefix, source, path_id, None);
            }
        }
        self.leave_shared(peer, false);
        if let Some(state) = self.peers.remove(&peer) {
            for attributes in state.adj_rib_out.into_attributes() {
                self.outbound_interner.release(attributes);
            }
            for (_, attributes) in state.pre_policy {
                self.interner.release(attributes);
            }
        }
        self.resync.remove(&peer);
        self.refresh.retain(|(refreshed, _, _)| *refreshed != peer);
    }

    /// Originates `prefix` from this speaker (a pod CIDR). Without
    /// attributes it is ORIGIN IGP with an empty AS_PATH; the NEXT_HOP is
    /// always this speaker's session address.
    pub fn originate(
        &mut self,
        now: Instant,
        prefix: IpNetwork,
        attributes: Option<PathAttributes>,
    ) {
        let mut path = attributes.unwrap_or_default();
        path.origin.get_or_insert(Origin::Igp);
        path.as_path.get_or_insert_with(Default::default);
        path.next_hop = None;
        let shared = self.interner.intern(RouteAttributes {
            path,
            next_hop: None,
        });
        self.set_path(now, normalize(prefix), Source::Local, 0, Some(shared));
    }

    /// Stops originating `prefix`.
    pub fn withdraw_originated(&mut self, now: Instant, prefix: IpNetwork) {
        self.set_path(now, normalize(prefix), Source::Local, 0, None);
    }

    /// Records what the daemon resolved about next hops and re-runs the
    /// decision process for every prefix using one of them.
    pub fn set_next_hop_reachability(
        &mut self,
        now: Instant,
        states: impl IntoIterator<Item = (IpAddr, NextHopState)>,
    ) {
        let mut changed = BTreeSet::new();
        for (address, state) in states {
            let previous = self.next_hops.get(&address).copied().unwrap_or_default();
            if previous != state {
                changed.insert(address);
            }
            if state == NextHopState::default() {
                self.next_hops.remove(&address);
            } else {
                self.next_hops.insert(address, state);
            }
        }
        if changed.is_empty() {
            return;
        }
        let affected: Vec<IpNetwork> = self
            .table
            .iter()
            .filter(|(_, destination)| {
                destination.paths.iter().any(|path| {
                    path.attributes
                        .next_hop
                        .as_ref()
                        .is_some_and(|hop| changed.contains(&next_hop_address(hop)))
                })
            })
            .map(|(prefix, _)| prefix)
            .collect();
        for prefix in affected {
            self.redecide(now, prefix);
        }
    }

    /// Forwarding changes since the last call, by prefix.
    pub fn poll_fib_changes(&mut self) -> Vec<FibUpdate> {
        self.fib_changes
            .take()
            .into_iter()
            .map(|(prefix, next_hops)| FibUpdate { prefix, next_hops })
            .collect()
    }

    /// When [`Rib::poll_outbound`] has work to do: queued initial tables or
    /// refreshes now, coalesced changes when their window closes.
    pub fn next_deadline(&self) -> Option<Instant> {
        let coalesced = self.flush_due();
        match (self.immediate_since, coalesced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stores (`Some`) or removes (`None`) one path and re-runs the decision
    /// process for its prefix. Returns whether anything changed.
    pub(super) fn set_path(
        &mut self,
        now: Instant,
        prefix: IpNetwork,
        source: Source,
        path_id: u32,
        attributes: Option<SharedAttributes>,
    ) -> bool {
        let options = self.decision_options();
        let forwarding = self.settings.forwarding;
        let destination = self.table.get_or_default(prefix);
        let before = forwarding.then(|| fib_next_hops(destination));
        let added = attributes.is_some();
        let previous = match attributes {
            Some(attributes) => {
                if destination
                    .find(source, path_id)
                    .is_some_and(|path| std::sync::Arc::ptr_eq(&path.attributes, &attributes))
                {
                    self.interner.release(attributes);
                    return false;
                }
                destination.upsert(source, path_id, attributes)
            }
            None => destination.remove(source, path_id),
        };
        if !added && previous.is_none() {
            if destination.paths.is_empty() {
                self.table.remove(&prefix);
            }
            return false;
        }
        let count = if prefix.is_ipv4() {
            &mut self.path_counts.0
        } else {
            &mut self.path_counts.1
        };
        match (added, previous.is_some()) {
            (true, false) => *count = count.saturating_add(1),
            (false, true) => *count = count.saturating_sub(1),
            _ => {}
        }
        decide(
            &self.settings,
            &self.peers,
            &self.next_hops,
            options,
            destination,
        );
        let after = forwarding.then(|| fib_next_hops(destination));
        if destination.paths.is_empty() {
            self.table.remove(&prefix);
        }
        if let (Some(before), Some(after)) = (before, after) {
            if before != after {
                self.fib_changes.insert(prefix, after);
            }
        }
        if let Source::Peer(peer) = source {
            if let Some(state) = self.peers.get_mut(&peer) {
                match (added, previous.is_some()) {
                    (true, false) => state.accepted = state.accepted.saturating_add(1),
                    (false, true) => state.accepted = state.accepted.saturating_sub(1),
                    _ => {}
                }
            }
        }
        if let Some(previous) = previous {
            self.interner.release(previous);
        }
        self.mark_dirty(now, prefix);
        true
    }

    /// Re-runs the decision process for one prefix (next hop or settings changed).
    pub(super) fn redecide(&mut self, now: Instant, prefix: IpNetwork) {
        let options = self.decision_options();
        let Some(destination) = self.table.get_mut(&prefix) else {
            return;
        };
        let forwarding = self.settings.forwarding;
        let before = forwarding.then(|| fib_next_hops(destination));
        let order_before: Vec<(Source, u32)> = destination
            .paths
            .iter()
            .map(|path| (path.source, path.path_id))
            .collect();
        let multipath_before = destination.multipath();
        decide(
            &self.settings,
            &self.peers,
            &self.next_hops,
            options,
            destination,
        );
        let after = forwarding.then(|| fib_next_hops(destination));
        let order_after: Vec<(Source, u32)> = destination
            .paths
            .iter()
            .map(|path| (path.source, path.path_id))
            .collect();
        if let (Some(before), Some(after)) = (before, after) {
            if before != after {
                self.fib_changes.insert(prefix, after);
            }
        }
        if order_before != order_after || multipath_before != destination.multipath() {
            self.mark_dirty(now, prefix);
        }
    }

    /// A lost session's withdrawals are waiting for the next
    /// [`Rib::poll_outbound`], which sends them whatever the coalescing
    /// window says.
    pub fn lost_session_pending(&self) -> bool {
        self.flush_now && self.dirty_since.is_some()
    }

    /// Changes made after a quiet window wait only for [`SETTLE`], the time
    /// for the other messages of the same event to be taken in.
    pub fn settling(&self) -> bool {
        let (Some(since), false, false) = (self.dirty_since, self.flush_now, self.settled) else {
            return false;
        };
        let window = self.settings.coalesce_window;
        self.last_flush
            .is_none_or(|flushed| since + SETTLE.min(window) >= flushed + window)
    }

    /// The caller has handled every message its readers had for it: changes
    /// that only wait for [`SETTLE`] are due now. Changes inside a
    /// coalescing window still wait for it to close.
    pub fn settle(&mut self) {
        self.settled = true;
    }

    /// When the changed prefixes are due to go out. After a quiet window
    /// (nothing flushed for `coalesce_window`) they wait only [`SETTLE`], so
    /// that the messages of one event (a withdrawal in several UPDATEs, one
    /// per family) leave together and a lone change is not held back;
    /// otherwise they wait until one window after the last flush, so a burst
    /// goes out at most once per window, each prefix as its latest state.
    /// The withdrawals of a lost session are due at once.
    pub(super) fn flush_due(&self) -> Option<Instant> {
        let since = self.dirty_since?;
        if self.flush_now {
            return Some(since);
        }
        let window = self.settings.coalesce_window;
        let settle = if self.settled {
            Duration::ZERO
        } else {
            SETTLE.min(window)
        };
        let settled = since + settle;
        Some(match self.last_flush {
            Some(flushed) => settled.max(flushed + window),
            None => settled,
        })
    }

    pub(super) fn mark_dirty(&mut self, now: Instant, prefix: IpNetwork) {
        self.dirty.insert(prefix, ());
        self.dirty_since.get_or_insert(now);
    }

    pub(super) fn decision_options(&self) -> DecisionOptions {
        DecisionOptions {
            always_compare_med: self.settings.always_compare_med,
            relax_as_path: self.settings.relax_as_path,
            max_paths: self.settings.max_paths,
        }
    }

    /// What the decision process reads about `path`.
    pub(super) fn candidate(&self, path: &Path) -> Candidate {
        candidate(&self.settings, &self.peers, &self.next_hops, path)
    }
}

/// Builds the decision process's view of one path: defaults applied, peer
/// facts and next hop state looked up.
pub(super) fn candidate(
    settings: &RibSettings,
    peers: &BTreeMap<PeerId, PeerState>,
    next_hops: &BTreeMap<IpAddr, NextHopState>,
    path: &Path,
) -> Candidate {
    let attributes = &path.attributes.path;
    let peer = match path.source {
        Source::Peer(peer) => peers.get(&peer).map(|state| &state.info),
        Source::Local => None,
    };
    let next_hop = next_hop_state(next_hops, path);
    Candidate {
        source: path.source,
        path_id: path.path_id,
        reachable: next_hop.reachable,
        local_pref: attributes.local_pref.unwrap_or(settings.default_local_pref),
        as_path_length: attributes.as_path.as_ref().map_or(0, as_path_length),
        origin: attributes.origin.unwrap_or(Origin::Incomplete),
        med: attributes.med.unwrap_or(0),
        neighbor_as: neighbor_as(attributes.as_path.as_ref()),
        external: peer.is_some_and(|info| !info.internal),
        igp_cost: next_hop.igp_cost,
        router_id: attributes
            .originator_id
            .unwrap_or(peer.map_or(settings.router_id, |info| info.remote_router_id)),
        cluster_list_length: attributes.cluster_list.len(),
        peer_address: peer.map(|info| info.address),
    }
}

/// What is known about a path's next hop (RFC 4271 §9.1.2.1); local routes
/// and routes without a next hop always resolve.
fn next_hop_state(next_hops: &BTreeMap<IpAddr, NextHopState>, path: &Path) -> NextHopState {
    match (path.source, path.attributes.next_hop.as_ref()) {
        (Source::Local, _) | (_, None) => NextHopState::default(),
        (_, Some(hop)) => next_hops
            .get(&next_hop_address(hop))
            .copied()
            .unwrap_or_default(),
    }
}

/// Whether a path may be used at all: its next hop resolves.
fn reachable(next_hops: &BTreeMap<IpAddr, NextHopState>, path: &Path) -> bool {
    next_hops.is_empty() || next_hop_state(next_hops, path).reachable
}

/// Puts a prefix's paths in decision order and sets its multipath size.
fn decide(
    settings: &RibSettings,
    peers: &BTreeMap<PeerId, PeerState>,
    next_hops: &BTreeMap<IpAddr, NextHopState>,
    options: DecisionOptions,
    destination: &mut Destination,
) {
    // The common case, one path: no ranking to do, and of the candidate's
    // facts only reachability matters.
    if let [path] = &destination.paths[..] {
        destination.set_multipath(u8::from(reachable(next_hops, path)));
        return;
    }
    let candidates: Vec<Candidate> = destination
        .paths
        .iter()
        .map(|path| candidate(settings, peers, next_hops, path))
        .collect();
    let (order, multipath) = select(&candidates, options);
    let mut slots: Vec<Option<Path>> = std::mem::take(&mut destination.paths)
        .into_vec()
        .into_iter()
        .map(Some)
        .collect();
    destination.paths = order
        .iter()
        .filter_map(|&index| slots.get_mut(index).and_then(Option::take))
        .collect();
    destination.set_multipath(u8::try_from(multipath).unwrap_or(u8::MAX));
}

/// The next hops a prefix forwards to: the multipath set's, sorted; none
/// when this speaker originates the best path or no path is eligible.
pub(super) fn fib_next_hops(destination: &Destination) -> Vec<IpAddr> {
    match destination.best() {
        Some(best) if best.source != Source::Local => {}
        _ => return Vec::new(),
    }
    // One path (nearly every prefix of a full table): no sorting to do.
    if let [path] = destination.multipath_set() {
        return path
            .attributes
            .next_hop
            .as_ref()
            .map(next_hop_address)
            .into_iter()
            .collect();
    }
    let mut hops: Vec<IpAddr> = destination
        .multipath_set()
        .iter()
        .filter_map(|path| path.attributes.next_hop.as_ref().map(next_hop_address))
        .collect();
    hops.sort_unstable();
    hops.dedup();
    hops
}
