//! The owner task's side of the RIB: what the speaker tells it about
//! sessions and UPDATEs, and what it asks of it (UPDATEs to send, counts).
//!
//! Until the RIB lands this keeps each neighbor's Adj-RIB-In as a set of
//! prefixes, which is what `prefixes_received` reports; nothing is selected,
//! advertised or programmed yet.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::config::{NeighborSettings, SpeakerConfig};
use super::neighbor::NeighborId;
use super::status::RouteCounts;
use crate::session::Negotiated;
use crate::wire::{Family, Nlri, Notification, RouteRefresh, Update};

/// UPDATEs encoded once for every neighbor in `neighbors` (an update group).
#[derive(Debug, Clone)]
pub struct OutboundBatch {
    /// Who gets them.
    pub neighbors: Vec<NeighborId>,
    /// Whole encoded messages.
    pub messages: Vec<Bytes>,
}

/// Route state of the speaker.
#[derive(Debug, Default)]
pub struct Routing {
    received: BTreeMap<NeighborId, BTreeSet<(Family, Nlri)>>,
}

impl Routing {
    /// Routing for a configuration.
    pub fn new(_config: &SpeakerConfig) -> Routing {
        Routing::default()
    }

    /// When the RIB next needs the owner's attention (coalescing timers).
    pub fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// A session came up.
    pub fn peer_up(
        &mut self,
        _now: Instant,
        neighbor: NeighborId,
        _settings: &NeighborSettings,
        _negotiated: &Negotiated,
        _local: Option<SocketAddr>,
    ) {
        self.received.insert(neighbor, BTreeSet::new());
    }

    /// A session went down; `retain` keeps its routes as stale (RFC 4724).
    pub fn peer_down(&mut self, _now: Instant, neighbor: NeighborId, _retain: bool) {
        self.received.remove(&neighbor);
    }

    /// An UPDATE arrived. Returns a NOTIFICATION when the session must be
    /// stopped (a prefix limit).
    pub fn receive_update(
        &mut self,
        _now: Instant,
        neighbor: NeighborId,
        update: Update,
    ) -> Option<Notification> {
        let table = self.received.entry(neighbor).or_default();
        let withdrawn: Vec<(Family, Nlri)> = update
            .withdrawals()
            .map(|(family, nlri)| (family, *nlri))
            .collect();
        for key in withdrawn {
            table.remove(&key);
        }
        let announced: Vec<(Family, Nlri)> = update
            .announced()
            .map(|(family, nlri)| (family, *nlri))
            .collect();
        for key in announced {
            if update.treat_as_withdraw.is_some() {
                table.remove(&key);
            } else {
                table.insert(key);
            }
        }
        None
    }

    /// The neighbor asked for our routes again.
    pub fn route_refresh(&mut self, _now: Instant, _neighbor: NeighborId, _refresh: RouteRefresh) {}

    /// UPDATEs ready to send.
    pub fn poll_outbound(&mut self, _now: Instant) -> Vec<OutboundBatch> {
        Vec::new()
    }

    /// Route counts of one neighbor.
    pub fn counts(&self, neighbor: NeighborId) -> RouteCounts {
        let received = self
            .received
            .get(&neighbor)
            .map_or(0, |table| table.len() as u64);
        RouteCounts {
            received,
            accepted: received,
            advertised: 0,
        }
    }

    /// A new configuration (policies, reflection roles).
    pub fn reconfigure(&mut self, _config: &SpeakerConfig) {}
}
