//! Graceful restart, receiving side (RFC 4724 §4.2): keeping a restarting
//! peer's routes while its session is down.
//!
//! When a session that negotiated graceful restart goes down, the speaker
//! calls [`Rib::peer_down_retaining`] instead of [`Rib::peer_down`]: the
//! peer's paths stay in the Loc-RIB (and in the FIB, so forwarding goes on)
//! and are marked stale; nothing is sent to the peer and its Adj-RIB-Out is
//! forgotten. When the session returns, [`Rib::peer_up`] keeps the stale
//! paths; each route the peer re-sends (or withdraws) stops being stale,
//! and its End-of-RIB for a family removes that family's remaining stale
//! paths. If the restart timer expires first, the speaker calls
//! [`Rib::sweep_stale`], or simply [`Rib::peer_down`].

use std::time::Instant;

use ipnetwork::IpNetwork;

use super::core::Rib;
use super::types::{PeerId, Source, family_of};
use crate::wire::Family;

impl Rib {
    /// The session went down but the peer is restarting gracefully: keep
    /// its routes, marked stale (RFC 4724 §4.2).
    pub fn peer_down_retaining(&mut self, _now: Instant, peer: PeerId) {
        let source = Source::Peer(peer);
        let retained: Vec<(IpNetwork, u32)> = self
            .table
            .iter()
            .flat_map(|(prefix, destination)| {
                destination
                    .paths
                    .iter()
                    .filter(move |path| path.source == source)
                    .map(move |path| (prefix, path.path_id))
            })
            .collect();
        if !self.peers.get(&peer).is_some_and(|state| state.established) {
            return;
        }
        // Nothing is sent to it until it is back, when it starts afresh.
        self.leave_shared(peer, false);
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        state.established = false;
        state.stale.extend(retained);
        state.rejected.clear();
        state.end_of_rib.clear();
        let sent = std::mem::take(&mut state.adj_rib_out);
        let stored = std::mem::take(&mut state.pre_policy);
        for attributes in sent.into_attributes() {
            self.outbound_interner.release(attributes);
        }
        for (_, attributes) in stored {
            self.interner.release(attributes);
        }
        self.resync.remove(&peer);
        self.refresh.retain(|(refreshed, _, _)| *refreshed != peer);
    }

    /// Removes `peer`'s stale routes of `family` (every family when
    /// `None`): its End-of-RIB arrived, or the restart timer expired. A
    /// peer whose session is still down is forgotten once nothing of it
    /// is left.
    pub fn sweep_stale(&mut self, now: Instant, peer: PeerId, family: Option<Family>) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let swept: Vec<(IpNetwork, u32)> = state
            .stale
            .iter()
            .filter(|(prefix, _)| family.is_none_or(|family| family_of(prefix) == family))
            .copied()
            .collect();
        for key in &swept {
            state.stale.remove(key);
        }
        let forget = !state.established && state.stale.is_empty();
        for (prefix, path_id) in swept {
            self.set_path(now, prefix, Source::Peer(peer), path_id, None);
        }
        if forget {
            self.peer_down(now, peer);
        }
    }

    /// How many of `peer`'s routes are stale.
    pub fn stale_count(&self, peer: PeerId) -> usize {
        self.peers.get(&peer).map_or(0, |state| state.stale.len())
    }
}
