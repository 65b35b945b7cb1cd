//! Read-only views for the CLI and the control API (`podroute routes`,
//! `podroute neighbors`): plain serializable values built from the tables
//! on request, in prefix order, never references into the RIB.
//!
//! With `explain`, each path that is not best names the decision step at
//! which it lost to the best path (see [`super::decision`]).

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::core::Rib;
use super::decision::{DecisionStep, compare};
use super::types::{
    FamilyCounts, PeerId, PeerRouteCounters, RibCounts, RouteAttributes, Source, family_of,
};
use crate::wire::{Family, NextHop, PathAttributes};

/// Which prefixes [`Rib::routes`] shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// Only this prefix (exact), or every prefix.
    pub prefix: Option<IpNetwork>,
    /// Only this family.
    pub family: Option<Family>,
    /// Say why each non-best path lost.
    pub explain: bool,
}

/// One prefix with all its paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefixView {
    /// The destination.
    pub prefix: IpNetwork,
    /// Its paths, best first, then the multipath set, then the rest.
    pub paths: Vec<PathView>,
}

/// One path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathView {
    /// Where it came from.
    pub source: Source,
    /// The source peer's address (`None` for local routes).
    pub peer_address: Option<IpAddr>,
    /// Path identifier as received.
    pub path_id: u32,
    /// Path identifier sent to ADD-PATH peers.
    pub local_path_id: u32,
    /// The next hop (`None`: this speaker).
    pub next_hop: Option<NextHop>,
    /// Path attributes after import policy.
    pub attributes: PathAttributes,
    /// The best path.
    pub best: bool,
    /// In the multipath (ECMP) set.
    pub multipath: bool,
    /// The next hop resolves.
    pub reachable: bool,
    /// With `explain`: the step at which it lost to the best path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<DecisionStep>,
}

/// One route of an Adj-RIB-In or Adj-RIB-Out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjRibRoute {
    /// The destination.
    pub prefix: IpNetwork,
    /// Path identifier (received, or sent).
    pub path_id: u32,
    /// The next hop.
    pub next_hop: Option<NextHop>,
    /// The attributes.
    pub attributes: PathAttributes,
}

impl AdjRibRoute {
    fn new(prefix: IpNetwork, path_id: u32, attributes: &RouteAttributes) -> Self {
        AdjRibRoute {
            prefix,
            path_id,
            next_hop: attributes.next_hop,
            attributes: attributes.path.clone(),
        }
    }
}

impl Rib {
    /// Every path of the prefixes the filter selects.
    pub fn routes(&self, filter: RouteFilter) -> Vec<PrefixView> {
        let options = self.decision_options();
        let selected: Box<dyn Iterator<Item = _>> = match filter.prefix {
            Some(prefix) => Box::new(
                self.table
                    .get(&prefix)
                    .map(|destination| (prefix, destination))
                    .into_iter(),
            ),
            None => Box::new(self.table.iter()),
        };
        selected
            .filter(|(prefix, _)| {
                filter
                    .family
                    .is_none_or(|family| family_of(prefix) == family)
            })
            .map(|(prefix, destination)| {
                let best = destination.best().map(|path| self.candidate(path));
                let multipath = usize::from(destination.multipath());
                let paths = destination
                    .paths
                    .iter()
                    .enumerate()
                    .map(|(position, path)| {
                        let candidate = self.candidate(path);
                        let lost_at = match (&best, filter.explain) {
                            (Some(best), true) if position >= multipath => {
                                compare(best, &candidate, options).1
                            }
                            (None, true) => Some(DecisionStep::NextHopReachable),
                            _ => None,
                        };
                        PathView {
                            source: path.source,
                            peer_address: candidate.peer_address,
                            path_id: path.path_id,
                            local_path_id: path.local_id,
                            next_hop: path.attributes.next_hop,
                            attributes: path.attributes.path.clone(),
                            best: position == 0 && multipath > 0,
                            multipath: position < multipath,
                            reachable: candidate.reachable,
                            lost_at,
                        }
                    })
                    .collect();
                PrefixView { prefix, paths }
            })
            .collect()
    }

    /// A peer's Adj-RIB-In: after import policy (the Loc-RIB paths from it),
    /// or as received when `pre_policy` (empty without soft reconfiguration).
    pub fn adj_rib_in(&self, peer: PeerId, pre_policy: bool) -> Vec<AdjRibRoute> {
        if pre_policy {
            return self
                .received_routes_view(peer)
                .iter()
                .map(|((prefix, id), attributes)| AdjRibRoute::new(*prefix, *id, attributes))
                .collect();
        }
        let source = Source::Peer(peer);
        self.table
            .iter()
            .flat_map(|(prefix, destination)| {
                destination
                    .paths
                    .iter()
                    .filter(move |path| path.source == source)
                    .map(move |path| AdjRibRoute::new(prefix, path.path_id, &path.attributes))
            })
            .collect()
    }

    /// What `peer` has been sent.
    pub fn adj_rib_out(&self, peer: PeerId) -> Vec<AdjRibRoute> {
        self.sent_to(peer)
            .into_iter()
            .map(|(prefix, id, attributes)| AdjRibRoute::new(prefix, id, attributes))
            .collect()
    }

    /// Route counts of a peer (zero when it is not up).
    pub fn peer_counters(&self, peer: PeerId) -> PeerRouteCounters {
        let Some(state) = self.peers.get(&peer) else {
            return PeerRouteCounters::default();
        };
        let rejected = u32::try_from(state.rejected.len()).unwrap_or(u32::MAX);
        PeerRouteCounters {
            received: state.accepted.saturating_add(rejected),
            accepted: state.accepted,
            advertised: u32::try_from(self.sent_count(peer)).unwrap_or(u32::MAX),
        }
    }

    /// Families whose End-of-RIB `peer` has sent (RFC 4724 §2).
    pub fn end_of_rib_received(&self, peer: PeerId) -> Vec<Family> {
        self.peers
            .get(&peer)
            .map(|state| state.end_of_rib.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Table sizes.
    pub fn counts(&self) -> RibCounts {
        let (ipv4_prefixes, ipv6_prefixes) = self.table.prefix_counts();
        let (ipv4_paths, ipv6_paths) = self.path_counts;
        let mut counts = RibCounts::default();
        for (family, prefixes, paths) in [
            (Family::IPV4_UNICAST, ipv4_prefixes, ipv4_paths),
            (Family::IPV6_UNICAST, ipv6_prefixes, ipv6_paths),
        ] {
            if prefixes > 0 {
                let prefixes = u64::try_from(prefixes).unwrap_or(u64::MAX);
                counts
                    .families
                    .insert(family, FamilyCounts { prefixes, paths });
            }
        }
        counts.attribute_sets = u64::try_from(self.interner.len()).unwrap_or(u64::MAX);
        counts
    }
}
