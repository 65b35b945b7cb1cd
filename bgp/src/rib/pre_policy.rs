//! Routes as received, before import policy: the Adj-RIB-In that soft
//! reconfiguration inbound keeps so that a changed import policy can be
//! applied again without asking the peer for a ROUTE-REFRESH (RFC 2918).
//!
//! Most received routes need no copy of their own. When import policy
//! accepts a route unmodified, the Loc-RIB path differs from what was
//! received only by what [`Rib::prepare`] does for the source, and for
//! nearly every route that can be undone: from an iBGP peer nothing
//! changes; from an eBGP peer LOCAL_PREF is set (RFC 4271 §5.1.5) and the
//! reflection attributes are cleared (RFC 4456 §8), which loses nothing
//! when the peer sent none of them, as eBGP peers should not. Only the
//! other routes (rejected, changed by policy, or carrying attributes the
//! preparation drops) are stored in `PeerState::pre_policy`. A full table
//! from one eBGP peer thus costs no second map and no second search per
//! prefix; what is listed, and what is imported again, is the union of
//! the stored routes and the rebuilt ones.

use ipnetwork::IpNetwork;

use super::core::Rib;
use super::types::{PeerId, RouteAttributes, SharedAttributes, Source};

impl Rib {
    /// Records what `peer` sent for `(prefix, path_id)` after import:
    /// nothing when the Loc-RIB path it became rebuilds it (`rebuildable`),
    /// else a handle on `received`. Either way an older stored copy goes.
    pub(super) fn keep_received(
        &mut self,
        peer: PeerId,
        prefix: IpNetwork,
        path_id: u32,
        received: &SharedAttributes,
        rebuildable: bool,
    ) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let previous = if rebuildable {
            // The common case costs no search while nothing is stored.
            if state.pre_policy.is_empty() {
                None
            } else {
                state.pre_policy.remove(&(prefix, path_id))
            }
        } else {
            state
                .pre_policy
                .insert((prefix, path_id), SharedAttributes::clone(received))
        };
        if let Some(previous) = previous {
            self.interner.release(previous);
        }
    }

    /// Every route `peer` sent and still holds, as received, in
    /// (prefix, path id) order; each handle interned, to be released by
    /// the caller. Stale paths (graceful restart) are not listed: their
    /// session is gone and they are not imported again.
    pub(super) fn received_routes(
        &mut self,
        peer: PeerId,
    ) -> Vec<((IpNetwork, u32), SharedAttributes)> {
        // Stored routes are interned already: interning their copy finds them.
        self.received_routes_view(peer)
            .into_iter()
            .map(|(key, attributes)| (key, self.interner.intern(attributes)))
            .collect()
    }

    /// [`Rib::received_routes`] for display: nothing interned.
    pub(super) fn received_routes_view(
        &self,
        peer: PeerId,
    ) -> Vec<((IpNetwork, u32), RouteAttributes)> {
        let mut routes = self.rebuilt_routes(peer);
        if let Some(state) = self.peers.get(&peer) {
            routes.extend(
                state
                    .pre_policy
                    .iter()
                    .map(|(key, attributes)| (*key, RouteAttributes::clone(attributes))),
            );
        }
        routes.sort_by_key(|(key, _)| *key);
        routes
    }

    /// The received form of `peer`'s Loc-RIB paths that have no stored copy.
    fn rebuilt_routes(&self, peer: PeerId) -> Vec<((IpNetwork, u32), RouteAttributes)> {
        let Some(state) = self.peers.get(&peer) else {
            return Vec::new();
        };
        if !state.info.soft_reconfiguration_inbound {
            return Vec::new();
        }
        let internal = state.info.internal;
        let source = Source::Peer(peer);
        self.table
            .iter()
            .flat_map(|(prefix, destination)| {
                destination
                    .paths
                    .iter()
                    .filter(move |path| path.source == source)
                    .map(move |path| ((prefix, path.path_id), &path.attributes))
            })
            .filter(|(key, _)| !state.stale.contains(key) && !state.pre_policy.contains_key(key))
            .map(|(key, attributes)| (key, received_form(attributes, internal)))
            .collect()
    }
}

/// Whether the path [`Rib::prepare`] makes of `received` gives `received`
/// back through [`received_form`].
pub(super) fn rebuilds(received: &RouteAttributes, internal: bool) -> bool {
    internal
        || (received.path.local_pref.is_none()
            && received.path.originator_id.is_none()
            && received.path.cluster_list.is_empty())
}

/// Undoes [`Rib::prepare`] for a path whose received attributes
/// [`rebuilds`] accepted.
fn received_form(stored: &RouteAttributes, internal: bool) -> RouteAttributes {
    let mut received = stored.clone();
    if !internal {
        received.path.local_pref = None;
    }
    received
}
