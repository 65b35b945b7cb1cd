//! Routing policy: named, ordered terms that accept, reject or change routes.
//!
//! The daemon maps `[[policy]]` from its config onto these types (the bgp
//! crate does not read config). A route flows through [`evaluate`] as a
//! [`PolicyRoute`]: terms are tried in order; the first whose match holds
//! applies its [`TermSet`] to a working copy of the attributes, then its
//! action decides: `Accept` and `Reject` end the evaluation, `Next` keeps
//! the changes and goes on, so later terms see the changed route. When no
//! term decides, the policy's default applies. Three names are built in:
//! `all` (accept unchanged), `none` (reject, RFC 8212's eBGP default) and
//! `originated` (only routes this speaker originates). An unknown name
//! rejects, so a typo never leaks routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::decision::as_path_length;
use crate::wire::{AsPath, AsPathSegment, AsPathSegmentKind, LargeCommunity, PathAttributes};

/// One prefix-list entry: routes inside `prefix` with a length in `ge..=le`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PrefixFilter {
    /// The covering prefix.
    pub prefix: IpNetwork,
    /// Shortest matching length.
    pub ge: u8,
    /// Longest matching length.
    pub le: u8,
}

impl PrefixFilter {
    /// Only `prefix` itself.
    pub fn exact(prefix: IpNetwork) -> PrefixFilter {
        PrefixFilter {
            prefix,
            ge: prefix.prefix(),
            le: prefix.prefix(),
        }
    }

    /// True when `route` lies inside the prefix with a length in `ge..=le`.
    pub fn matches(&self, route: &IpNetwork) -> bool {
        self.prefix.is_ipv4() == route.is_ipv4()
            && route.prefix() >= self.ge
            && route.prefix() <= self.le
            && route.prefix() >= self.prefix.prefix()
            && self.prefix.contains(route.network())
    }
}

/// Bounds on the AS_PATH length as the decision process counts it
/// (RFC 4271 §9.1.2.2 a: an AS_SET counts one, confederation segments none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AsPathLength {
    /// Shortest accepted length.
    pub min: u32,
    /// Longest accepted length.
    pub max: u32,
}

/// Conditions of a term; all present ones must hold, an empty match always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TermMatch {
    /// The prefix matches any of these (ignored when empty).
    pub prefixes: Vec<PrefixFilter>,
    /// The route carries every one of these communities (RFC 1997).
    pub communities: BTreeSet<u32>,
    /// The route carries every one of these large communities (RFC 8092).
    pub large_communities: BTreeSet<LargeCommunity>,
    /// AS_PATH length bounds.
    pub as_path_length: Option<AsPathLength>,
    /// The route was learned from a neighbor inside one of these (ignored when empty;
    /// never holds for locally originated routes).
    pub neighbors: Vec<IpNetwork>,
}

/// Attribute changes a term applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TermSet {
    /// Replace LOCAL_PREF (RFC 4271 §5.1.5).
    pub local_pref: Option<u32>,
    /// Replace MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub med: Option<u32>,
    /// Communities added (after removals).
    pub add_communities: BTreeSet<u32>,
    /// Communities removed.
    pub remove_communities: BTreeSet<u32>,
    /// Large communities added (after removals).
    pub add_large_communities: BTreeSet<LargeCommunity>,
    /// Large communities removed.
    pub remove_large_communities: BTreeSet<LargeCommunity>,
    /// Prepend the local AS this many extra times.
    pub prepend_as: u8,
}

impl TermSet {
    fn is_empty(&self) -> bool {
        *self == TermSet::default()
    }
}

/// What a matching term does after its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyAction {
    /// Accept; stop.
    Accept,
    /// Reject; stop.
    Reject,
    /// Keep the changes and try the next term.
    Next,
}

/// The verdict when no term decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyDefault {
    /// Accept, with the changes of `Next` terms.
    Accept,
    /// Reject.
    Reject,
}

/// One term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    /// Label for logs and `--explain`.
    pub name: Option<String>,
    /// Conditions.
    pub matches: TermMatch,
    /// Changes.
    pub set: TermSet,
    /// Verdict.
    pub action: PolicyAction,
}

/// A named policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The name import/export settings refer to.
    pub name: String,
    /// Terms in order.
    pub terms: Vec<Term>,
    /// Verdict when no term decides.
    pub default: PolicyDefault,
}

/// The route a policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRoute<'a> {
    /// The destination.
    pub prefix: &'a IpNetwork,
    /// Its attributes before this policy.
    pub attributes: &'a PathAttributes,
    /// The peer it was learned from; `None` for locally originated routes.
    pub neighbor: Option<IpAddr>,
}

/// The result of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<'p> {
    /// Accepted (`false`: rejected).
    pub accepted: bool,
    /// The changed attributes; `None` when no term changed anything.
    pub attributes: Option<PathAttributes>,
    /// The changes of every term that applied, in order, so that the
    /// outbound side can re-apply them after its own rewrites.
    pub applied: Vec<&'p TermSet>,
}

impl Evaluation<'_> {
    fn accept() -> Self {
        Evaluation {
            accepted: true,
            attributes: None,
            applied: Vec::new(),
        }
    }

    fn reject() -> Self {
        Evaluation {
            accepted: false,
            attributes: None,
            applied: Vec::new(),
        }
    }
}

/// Runs the policy called `name` on `route`. `local_asn` is the AS that
/// `prepend_as` prepends.
pub fn evaluate<'p>(
    policies: &'p BTreeMap<String, Policy>,
    name: &str,
    route: PolicyRoute<'_>,
    local_asn: u32,
) -> Evaluation<'p> {
    match name {
        "all" => return Evaluation::accept(),
        "none" => return Evaluation::reject(),
        "originated" => {
            return if route.neighbor.is_none() {
                Evaluation::accept()
            } else {
                Evaluation::reject()
            };
        }
        _ => {}
    }
    let Some(policy) = policies.get(name) else {
        return Evaluation::reject();
    };
    let mut changed: Option<PathAttributes> = None;
    let mut applied = Vec::new();
    for term in &policy.terms {
        let current = changed.as_ref().unwrap_or(route.attributes);
        if !term_matches(&term.matches, route.prefix, current, route.neighbor) {
            continue;
        }
        if !term.set.is_empty() {
            let mut working = changed.take().unwrap_or_else(|| route.attributes.clone());
            apply_set(&term.set, &mut working, local_asn);
            changed = Some(working);
            applied.push(&term.set);
        }
        match term.action {
            PolicyAction::Accept => {
                return Evaluation {
                    accepted: true,
                    attributes: changed,
                    applied,
                };
            }
            PolicyAction::Reject => return Evaluation::reject(),
            PolicyAction::Next => {}
        }
    }
    Evaluation {
        accepted: policy.default == PolicyDefault::Accept,
        attributes: changed,
        applied,
    }
}

/// Whether every present condition of `matches` holds.
pub fn term_matches(
    matches: &TermMatch,
    prefix: &IpNetwork,
    attributes: &PathAttributes,
    neighbor: Option<IpAddr>,
) -> bool {
    let prefix_ok =
        matches.prefixes.is_empty() || matches.prefixes.iter().any(|filter| filter.matches(prefix));
    let communities_ok = matches
        .communities
        .iter()
        .all(|community| attributes.communities.contains(community));
    let large_ok = matches
        .large_communities
        .iter()
        .all(|community| attributes.large_communities.contains(community));
    let length_ok = matches.as_path_length.is_none_or(|bounds| {
        let length = attributes.as_path.as_ref().map_or(0, as_path_length);
        length >= bounds.min && length <= bounds.max
    });
    let neighbor_ok = matches.neighbors.is_empty()
        || neighbor.is_some_and(|address| {
            matches
                .neighbors
                .iter()
                .any(|network| network.contains(address))
        });
    prefix_ok && communities_ok && large_ok && length_ok && neighbor_ok
}

/// Applies a term's changes: removals before additions, communities kept
/// sorted and unique so equal routes intern alike.
pub fn apply_set(set: &TermSet, attributes: &mut PathAttributes, local_asn: u32) {
    if let Some(local_pref) = set.local_pref {
        attributes.local_pref = Some(local_pref);
    }
    if let Some(med) = set.med {
        attributes.med = Some(med);
    }
    if !set.remove_communities.is_empty() || !set.add_communities.is_empty() {
        let mut communities: BTreeSet<u32> = attributes.communities.iter().copied().collect();
        communities.retain(|community| !set.remove_communities.contains(community));
        communities.extend(set.add_communities.iter().copied());
        attributes.communities = communities.into_iter().collect();
    }
    if !set.remove_large_communities.is_empty() || !set.add_large_communities.is_empty() {
        let mut large: BTreeSet<LargeCommunity> =
            attributes.large_communities.iter().copied().collect();
        large.retain(|community| !set.remove_large_communities.contains(community));
        large.extend(set.add_large_communities.iter().copied());
        attributes.large_communities = large.into_iter().collect();
    }
    if set.prepend_as > 0 {
        prepend_asn(
            &mut attributes.as_path,
            local_asn,
            usize::from(set.prepend_as),
        );
    }
}

/// Prepends `asn` `times` times to the leading AS_SEQUENCE, starting a new
/// segment when the path begins otherwise or the segment is full
/// (255 ASes, RFC 4271 §4.3).
pub fn prepend_asn(as_path: &mut Option<AsPath>, asn: u32, times: usize) {
    let path = as_path.get_or_insert_with(AsPath::default);
    for _ in 0..times {
        match path.segments.first_mut() {
            Some(segment)
                if segment.kind == AsPathSegmentKind::Sequence && segment.asns.len() < 255 =>
            {
                segment.asns.insert(0, asn);
            }
            _ => path.segments.insert(
                0,
                AsPathSegment {
                    kind: AsPathSegmentKind::Sequence,
                    asns: vec![asn],
                },
            ),
        }
    }
}
