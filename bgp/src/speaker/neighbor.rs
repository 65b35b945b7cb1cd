//! One neighbor as the owner task holds it: its [`Peer`] state machines, the
//! sockets they use, and whether it came from a listen range.

use std::net::IpAddr;

use super::config::NeighborSettings;
use super::connection::ConnectionHandle;
use crate::session::{ConnectionId, Peer, Session};
use crate::wire::CodecContext;

/// The RIB's name for a neighbor; stable while the neighbor exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeighborId(pub u32);

/// A neighbor and its connections.
#[derive(Debug)]
pub struct Neighbor {
    /// The RIB's name for it.
    pub id: NeighborId,
    /// Its settings.
    pub settings: NeighborSettings,
    /// Accepted from a listen range.
    pub dynamic: bool,
    /// The FSMs (two while a collision is resolved).
    pub peer: Peer,
    /// Open sockets by the session's connection id.
    pub connections: Connections,
    /// Next number for an inbound connection id.
    pub next_inbound: u64,
    /// The peer's graceful restart time from its last OPEN (RFC 4724 §3):
    /// how long its routes are kept when the session drops.
    pub restart_time: Option<std::time::Duration>,
    /// Families negotiated on the current session.
    pub families: std::collections::BTreeSet<crate::wire::Family>,
    /// When to start again after a prefix-limit teardown.
    pub restart_at: Option<std::time::Instant>,
    /// UPDATEs treated as withdrawn (RFC 7606), for the status.
    pub updates_treated_as_withdraw: u64,
}

impl Neighbor {
    /// A neighbor in Idle.
    pub fn new(id: NeighborId, settings: NeighborSettings, dynamic: bool) -> Neighbor {
        Neighbor {
            id,
            peer: Peer::new(settings.session.clone()),
            settings,
            dynamic,
            connections: Connections::default(),
            next_inbound: 0,
            restart_time: None,
            families: Default::default(),
            restart_at: None,
            updates_treated_as_withdraw: 0,
        }
    }

    /// The neighbor's address.
    pub fn address(&self) -> IpAddr {
        self.settings.address()
    }

    /// A fresh inbound connection id.
    pub fn allocate_inbound(&mut self) -> ConnectionId {
        self.next_inbound += 1;
        ConnectionId::inbound(self.next_inbound)
    }

    /// The FSM that owns `connection`, if any still does.
    pub fn session_of(&self, connection: ConnectionId) -> Option<&Session> {
        let owns = |session: &&Session| {
            session.connection() == Some(connection)
                || session.pending_outbound() == Some(connection)
        };
        self.peer
            .secondary()
            .filter(owns)
            .or(Some(self.peer.session()).filter(owns))
    }

    /// How to decode what arrives on `connection` next: negotiated as soon
    /// as the session accepted the peer's OPEN, legacy before.
    pub fn decode_context(&self, connection: ConnectionId) -> CodecContext {
        self.session_of(connection)
            .and_then(Session::negotiated)
            .map(|negotiated| negotiated.decode_context())
            .unwrap_or_else(CodecContext::legacy)
    }

    /// How to encode what we send on `connection`.
    pub fn encode_context(&self, connection: ConnectionId) -> CodecContext {
        self.session_of(connection)
            .and_then(Session::negotiated)
            .map(|negotiated| negotiated.encode_context())
            .unwrap_or_else(CodecContext::legacy)
    }

    /// When this neighbor next needs the owner: its FSM's timers, or a
    /// restart after a prefix-limit teardown.
    pub fn next_timeout(&self) -> Option<std::time::Instant> {
        self.peer
            .next_timeout()
            .into_iter()
            .chain(self.restart_at)
            .min()
    }

    /// Whether a dynamic neighbor has nothing left and can be forgotten.
    pub fn is_finished(&self) -> bool {
        self.dynamic
            && self.connections.is_empty()
            && self.peer.state() == crate::session::State::Idle
    }
}

/// A neighbor's open sockets by connection id, in id order: one, two while
/// a collision is resolved (RFC 4271 §6.8), or none.
///
/// A sorted vector rather than a `BTreeMap`: the map's first node has room
/// for eleven handles, 1.3 KB per neighbor to hold one; a thousand
/// sessions kept 1.3 MB of empty slots.
#[derive(Debug, Default)]
pub struct Connections {
    entries: Vec<(ConnectionId, ConnectionHandle)>,
}

impl Connections {
    /// The handle of `connection`.
    pub fn get(&self, connection: &ConnectionId) -> Option<&ConnectionHandle> {
        self.position(connection)
            .ok()
            .and_then(|index| self.entries.get(index))
            .map(|(_, handle)| handle)
    }

    /// Adds or replaces the handle of `connection`; returns the one replaced.
    pub fn insert(
        &mut self,
        connection: ConnectionId,
        handle: ConnectionHandle,
    ) -> Option<ConnectionHandle> {
        match self.position(&connection) {
            Ok(index) => self
                .entries
                .get_mut(index)
                .map(|(_, old)| std::mem::replace(old, handle)),
            Err(index) => {
                self.entries.insert(index, (connection, handle));
                None
            }
        }
    }

    /// Removes and returns the handle of `connection`.
    pub fn remove(&mut self, connection: &ConnectionId) -> Option<ConnectionHandle> {
        let index = self.position(connection).ok()?;
        let (_, handle) = self.entries.remove(index);
        if self.entries.is_empty() {
            // A neighbor that is down keeps no room for sockets.
            self.entries = Vec::new();
        }
        Some(handle)
    }

    /// The connection ids, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ConnectionId> {
        self.entries.iter().map(|(connection, _)| connection)
    }

    /// The handles, in connection id order.
    pub fn into_values(self) -> impl Iterator<Item = ConnectionHandle> {
        self.entries.into_iter().map(|(_, handle)| handle)
    }

    /// No socket is open.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every handle (which stops their tasks).
    pub fn clear(&mut self) {
        self.entries = Vec::new();
    }

    fn position(&self, connection: &ConnectionId) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(existing, _)| existing.cmp(connection))
    }
}
