//! The decision process (RFC 4271 §9.1.2, RFC 4456 §9): which path of a
//! prefix is best, which paths share its forwarding (ECMP), and why each
//! other path lost.
//!
//! What the RFC says, and what podroute does:
//!
//! - A path whose next hop is unreachable is not eligible (§9.1.2.1): it
//!   sorts after every eligible path and is never best.
//! - Locally originated paths win before any other step, like BIRD's and
//!   FRR's preference for local routes.
//! - Then, in order, each a small function below: highest LOCAL_PREF;
//!   shortest AS_PATH (an AS_SET counts one, confederation segments none);
//!   lowest ORIGIN; lowest MED, compared only between paths from the same
//!   neighbor AS unless `always_compare_med` (a missing MED is 0); eBGP over
//!   iBGP; lowest IGP cost to the next hop; lowest BGP identifier (the
//!   ORIGINATOR_ID when present, RFC 4456 §9); shortest CLUSTER_LIST; lowest
//!   peer address; and, for several paths from one peer (ADD-PATH), lowest
//!   path identifier, so that no two paths ever tie.
//!
//! Comparing MED only within a neighbor AS makes the pairwise comparison
//! intransitive (RFC 3345 describes the resulting oscillation), so
//! [`rank`] does not sort with it directly. It first orders each neighbor
//! AS's paths with the full comparison, which is a total order inside one
//! AS, then merges the groups by comparing their heads with every step but
//! MED, which is a total order everywhere (the "deterministic MED" of other
//! implementations). The result depends only on the set of paths, never on
//! the order they arrived in.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::types::Source;
use crate::wire::{AsPath, AsPathSegmentKind, Origin};

/// The steps of the decision process, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionStep {
    /// The next hop is unreachable: not eligible (RFC 4271 §9.1.2.1).
    NextHopReachable,
    /// Locally originated paths first.
    LocallyOriginated,
    /// Highest LOCAL_PREF (RFC 4271 §9.1.1).
    LocalPreference,
    /// Shortest AS_PATH (RFC 4271 §9.1.2.2 a).
    AsPathLength,
    /// Lowest ORIGIN (RFC 4271 §9.1.2.2 b).
    Origin,
    /// Lowest MULTI_EXIT_DISC among paths from one neighbor AS (RFC 4271 §9.1.2.2 c).
    MultiExitDiscriminator,
    /// eBGP-learned over iBGP-learned (RFC 4271 §9.1.2.2 d).
    ExternalOverInternal,
    /// Lowest IGP cost to the next hop (RFC 4271 §9.1.2.2 e).
    IgpCost,
    /// Lowest BGP identifier, ORIGINATOR_ID when present (RFC 4271 §9.1.2.2 f, RFC 4456 §9).
    RouterId,
    /// Shortest CLUSTER_LIST (RFC 4456 §9).
    ClusterListLength,
    /// Lowest peer address (RFC 4271 §9.1.2.2 g).
    PeerAddress,
    /// Lowest path identifier among paths from one peer (RFC 7911).
    PathId,
}

/// Options that change the comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecisionOptions {
    /// Compare MED between paths from different neighbor ASes.
    pub always_compare_med: bool,
    /// Paths from different neighbor ASes may share forwarding.
    pub relax_as_path: bool,
    /// Most paths in the multipath set.
    pub max_paths: u8,
}

/// Everything the decision process reads about one path, already resolved
/// (defaults applied, peer facts and next-hop state looked up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Where the path came from.
    pub source: Source,
    /// Path identifier as received (0 without ADD-PATH).
    pub path_id: u32,
    /// The next hop resolves (always true for local paths).
    pub reachable: bool,
    /// LOCAL_PREF, or the default when absent.
    pub local_pref: u32,
    /// AS_PATH length as RFC 4271 §9.1.2.2 a counts it.
    pub as_path_length: u32,
    /// ORIGIN (missing counts as INCOMPLETE).
    pub origin: Origin,
    /// MED, 0 when absent.
    pub med: u32,
    /// The first AS of the path (0 when the path starts with no AS).
    pub neighbor_as: u32,
    /// Learned over eBGP.
    pub external: bool,
    /// IGP cost to the next hop.
    pub igp_cost: u32,
    /// ORIGINATOR_ID, or the peer's BGP identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_LIST length.
    pub cluster_list_length: usize,
    /// The peer's address (`None` for local paths).
    pub peer_address: Option<IpAddr>,
}

type Step = fn(&Candidate, &Candidate) -> Ordering;

/// The steps after MED, in order; MED is handled apart because whether it
/// applies depends on the pair.
const STEPS_BEFORE_MED: [(DecisionStep, Step); 5] = [
    (DecisionStep::NextHopReachable, prefer_reachable),
    (DecisionStep::LocallyOriginated, prefer_locally_originated),
    (DecisionStep::LocalPreference, prefer_higher_local_pref),
    (DecisionStep::AsPathLength, prefer_shorter_as_path),
    (DecisionStep::Origin, prefer_lower_origin),
];
const STEPS_AFTER_MED: [(DecisionStep, Step); 6] = [
    (DecisionStep::ExternalOverInternal, prefer_external),
    (DecisionStep::IgpCost, prefer_lower_igp_cost),
    (DecisionStep::RouterId, prefer_lower_router_id),
    (DecisionStep::ClusterListLength, prefer_shorter_cluster_list),
    (DecisionStep::PeerAddress, prefer_lower_peer_address),
    (DecisionStep::PathId, prefer_lower_path_id),
];

fn prefer_reachable(a: &Candidate, b: &Candidate) -> Ordering {
    b.reachable.cmp(&a.reachable)
}

fn prefer_locally_originated(a: &Candidate, b: &Candidate) -> Ordering {
    let local = |candidate: &Candidate| candidate.source == Source::Local;
    local(b).cmp(&local(a))
}

fn prefer_higher_local_pref(a: &Candidate, b: &Candidate) -> Ordering {
    b.local_pref.cmp(&a.local_pref)
}

fn prefer_shorter_as_path(a: &Candidate, b: &Candidate) -> Ordering {
    a.as_path_length.cmp(&b.as_path_length)
}

fn prefer_lower_origin(a: &Candidate, b: &Candidate) -> Ordering {
    a.origin.cmp(&b.origin)
}

fn prefer_lower_med(a: &Candidate, b: &Candidate) -> Ordering {
    a.med.cmp(&b.med)
}

fn prefer_external(a: &Candidate, b: &Candidate) -> Ordering {
    b.external.cmp(&a.external)
}

fn prefer_lower_igp_cost(a: &Candidate, b: &Candidate) -> Ordering {
    a.igp_cost.cmp(&b.igp_cost)
}

fn prefer_lower_router_id(a: &Candidate, b: &Candidate) -> Ordering {
    a.router_id.cmp(&b.router_id)
}

fn prefer_shorter_cluster_list(a: &Candidate, b: &Candidate) -> Ordering {
    a.cluster_list_length.cmp(&b.cluster_list_length)
}

/// Lowest peer address, with the peer number and path identifier as the
/// last resort so that distinct paths never tie.
fn prefer_lower_peer_address(a: &Candidate, b: &Candidate) -> Ordering {
    a.peer_address
        .cmp(&b.peer_address)
        .then_with(|| a.source.cmp(&b.source))
}

fn prefer_lower_path_id(a: &Candidate, b: &Candidate) -> Ordering {
    a.path_id.cmp(&b.path_id)
}

/// Whether the MED step applies between `a` and `b`.
fn med_applies(a: &Candidate, b: &Candidate, options: DecisionOptions) -> bool {
    options.always_compare_med || a.neighbor_as == b.neighbor_as
}

/// Compares two paths step by step; `Less` means `a` is preferred. Returns
/// the step that decided, `None` when they are the same path.
pub fn compare(
    a: &Candidate,
    b: &Candidate,
    options: DecisionOptions,
) -> (Ordering, Option<DecisionStep>) {
    compare_steps(a, b, med_applies(a, b, options))
}

fn compare_steps(a: &Candidate, b: &Candidate, with_med: bool) -> (Ordering, Option<DecisionStep>) {
    for (step, function) in STEPS_BEFORE_MED {
        let order = function(a, b);
        if order != Ordering::Equal {
            return (order, Some(step));
        }
    }
    if with_med {
        let order = prefer_lower_med(a, b);
        if order != Ordering::Equal {
            return (order, Some(DecisionStep::MultiExitDiscriminator));
        }
    }
    for (step, function) in STEPS_AFTER_MED {
        let order = function(a, b);
        if order != Ordering::Equal {
            return (order, Some(step));
        }
    }
    (Ordering::Equal, None)
}

/// Orders candidates best first (see the module overview for the MED
/// grouping); returns indices into `candidates`.
pub fn rank(candidates: &[Candidate], options: DecisionOptions) -> Vec<usize> {
    if options.always_compare_med {
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(
            |&left, &right| match (candidates.get(left), candidates.get(right)) {
                (Some(a), Some(b)) => compare_steps(a, b, true).0,
                _ => Ordering::Equal,
            },
        );
        return order;
    }
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        groups.entry(candidate.neighbor_as).or_default().push(index);
    }
    let mut queues: Vec<std::collections::VecDeque<usize>> = groups
        .into_values()
        .map(|mut group| {
            group.sort_by(
                |&left, &right| match (candidates.get(left), candidates.get(right)) {
                    (Some(a), Some(b)) => compare_steps(a, b, true).0,
                    _ => Ordering::Equal,
                },
            );
            group.into()
        })
        .collect();
    let mut order = Vec::with_capacity(candidates.len());
    loop {
        let mut winner: Option<(usize, &Candidate)> = None;
        for (queue_index, queue) in queues.iter().enumerate() {
            let Some(head) = queue.front().and_then(|&index| candidates.get(index)) else {
                continue;
            };
            let better = match winner {
                None => true,
                Some((_, best)) => compare_steps(head, best, false).0 == Ordering::Less,
            };
            if better {
                winner = Some((queue_index, head));
            }
        }
        let Some((queue_index, _)) = winner else {
            break;
        };
        if let Some(index) = queues
            .get_mut(queue_index)
            .and_then(|queue| queue.pop_front())
        {
            order.push(index);
        }
    }
    order
}

/// Whether `other` may share forwarding with `best`: both eligible, not
/// local, equal through the IGP cost step, and from the same neighbor AS
/// unless `relax_as_path`.
pub fn multipath_eligible(best: &Candidate, other: &Candidate, options: DecisionOptions) -> bool {
    if !best.reachable || !other.reachable {
        return false;
    }
    if best.source == Source::Local || other.source == Source::Local {
        return false;
    }
    if !options.relax_as_path && best.neighbor_as != other.neighbor_as {
        return false;
    }
    let with_med = med_applies(best, other, options);
    let equal_before = STEPS_BEFORE_MED
        .iter()
        .all(|(_, function)| function(best, other) == Ordering::Equal);
    let equal_med = !with_med || prefer_lower_med(best, other) == Ordering::Equal;
    let equal_after = [prefer_external as Step, prefer_lower_igp_cost]
        .iter()
        .all(|function| function(best, other) == Ordering::Equal);
    equal_before && equal_med && equal_after
}

/// The final order of a prefix's paths: the best, then the rest of the
/// multipath set, then the others in rank order; and the multipath set's
/// size (0 when no path is eligible).
pub fn select(candidates: &[Candidate], options: DecisionOptions) -> (Vec<usize>, usize) {
    let ranked = rank(candidates, options);
    let Some(best) = ranked.first().and_then(|&index| candidates.get(index)) else {
        return (ranked, 0);
    };
    if !best.reachable {
        return (ranked, 0);
    }
    let limit = usize::from(options.max_paths.max(1));
    let mut multipath = Vec::new();
    let mut rest = Vec::new();
    for (position, &index) in ranked.iter().enumerate() {
        let joins = position == 0
            || (multipath.len() < limit
                && candidates
                    .get(index)
                    .is_some_and(|other| multipath_eligible(best, other, options)));
        if joins {
            multipath.push(index);
        } else {
            rest.push(index);
        }
    }
    let size = multipath.len();
    multipath.extend(rest);
    (multipath, size)
}

/// AS_PATH length for the decision process (RFC 4271 §9.1.2.2 a): an
/// AS_SET counts one, confederation segments count nothing (RFC 5065 §5.3).
pub fn as_path_length(as_path: &AsPath) -> u32 {
    as_path
        .segments
        .iter()
        .map(|segment| match segment.kind {
            AsPathSegmentKind::Sequence => u32::try_from(segment.asns.len()).unwrap_or(u32::MAX),
            AsPathSegmentKind::Set => 1,
            AsPathSegmentKind::ConfedSequence | AsPathSegmentKind::ConfedSet => 0,
        })
        .fold(0u32, u32::saturating_add)
}

/// The neighbor AS for the MED rule: the first AS of a leading AS_SEQUENCE
/// (confederation segments skipped), or 0.
pub fn neighbor_as(as_path: Option<&AsPath>) -> u32 {
    as_path
        .into_iter()
        .flat_map(|path| path.segments.iter())
        .find(|segment| {
            !matches!(
                segment.kind,
                AsPathSegmentKind::ConfedSequence | AsPathSegmentKind::ConfedSet
            )
        })
        .filter(|segment| segment.kind == AsPathSegmentKind::Sequence)
        .and_then(|segment| segment.asns.first().copied())
        .unwrap_or(0)
}
