//! Typed routing policy: `[[policy]]` with ordered `[[policy.term]]`s, and
//! the prefix filters shared with `[[import_kernel]]`.
//!
//! Data flow: built by `validate::policy`; evaluated by the RIB for each
//! route, term by term in file order. The first term whose match holds
//! applies its `set` and then its action: `Accept` or `Reject` end the
//! evaluation, `Next` goes on to the following term. When no term ends it,
//! the policy's default applies.

use crate::community::{Community, LargeCommunity};
use ipnetwork::IpNetwork;
use std::collections::BTreeSet;

/// The policies every config has without defining them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BuiltinPolicy {
    /// Accept every route unchanged.
    All,
    /// Reject every route (RFC 8212's default for eBGP).
    None,
    /// Accept only routes this speaker originates (`[[originate]]`,
    /// `[[import_kernel]]`); the usual export towards a top-of-rack router.
    Originated,
}

impl BuiltinPolicy {
    /// The built-in policy with this name, if it is one.
    pub fn from_name(name: &str) -> Option<BuiltinPolicy> {
        match name {
            "all" => Some(BuiltinPolicy::All),
            "none" => Some(BuiltinPolicy::None),
            "originated" => Some(BuiltinPolicy::Originated),
            _ => None,
        }
    }

    /// The reserved name.
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinPolicy::All => "all",
            BuiltinPolicy::None => "none",
            BuiltinPolicy::Originated => "originated",
        }
    }
}

/// One prefix-list entry: `prefix` plus an accepted length range.
///
/// Without `ge`/`le` only the prefix itself matches; `ge` alone means "that
/// long or longer", `le` alone means "from the prefix's own length up to".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrefixFilter {
    /// The covering prefix (no host bits).
    pub prefix: IpNetwork,
    /// Shortest matching length (>= the prefix length).
    pub ge: u8,
    /// Longest matching length (>= `ge`, <= 32 or 128).
    pub le: u8,
}

impl PrefixFilter {
    /// True when `route` lies inside `prefix` with a length in `ge..=le`.
    pub fn matches(&self, route: &IpNetwork) -> bool {
        let same_family = self.prefix.is_ipv4() == route.is_ipv4();
        same_family
            && route.prefix() >= self.ge
            && route.prefix() <= self.le
            && route.prefix() >= self.prefix.prefix()
            && self.prefix.contains(route.network())
    }
}

/// `as_path_length`: bounds on the number of ASes in AS_PATH (RFC 4271 §9.1.2.2 a counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsPathLength {
    /// Shortest accepted length.
    pub min: u32,
    /// Longest accepted length.
    pub max: u32,
}

/// `[policy.term.match]`: all present conditions must hold; an empty match holds for every route.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermMatch {
    /// The route's prefix matches any of these (ignored when empty).
    pub prefixes: Vec<PrefixFilter>,
    /// The route carries every one of these communities (RFC 1997).
    pub communities: BTreeSet<Community>,
    /// The route carries every one of these large communities (RFC 8092).
    pub large_communities: BTreeSet<LargeCommunity>,
    /// AS_PATH length bounds.
    pub as_path_length: Option<AsPathLength>,
    /// The route was learned from a neighbor inside one of these prefixes
    /// (a bare address is a host prefix).
    pub neighbors: Vec<IpNetwork>,
}

/// Attribute changes a term applies to the routes it matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermSet {
    /// Replace LOCAL_PREF (RFC 4271 §5.1.5).
    pub local_pref: Option<u32>,
    /// Replace MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub med: Option<u32>,
    /// Communities added (RFC 1997).
    pub add_communities: BTreeSet<Community>,
    /// Communities removed (applied before additions).
    pub remove_communities: BTreeSet<Community>,
    /// Large communities added (RFC 8092).
    pub add_large_communities: BTreeSet<LargeCommunity>,
    /// Large communities removed (applied before additions).
    pub remove_large_communities: BTreeSet<LargeCommunity>,
    /// Prepend the local AS this many extra times (0 = none).
    pub prepend_as: u8,
}

/// What a matching term does after its `set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyAction {
    /// Accept the route; stop evaluating.
    Accept,
    /// Reject the route; stop evaluating.
    Reject,
    /// Keep the changes and continue with the next term.
    Next,
}

/// What happens to a route no term accepted or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyDefault {
    /// Accept it (with any `Next` terms' changes applied).
    Accept,
    /// Reject it.
    Reject,
}

/// One `[[policy.term]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Optional label for logs and `podroute routes --explain`.
    pub name: Option<String>,
    /// Conditions.
    pub matches: TermMatch,
    /// Changes applied to matching routes.
    pub set: TermSet,
    /// Verdict for matching routes.
    pub action: PolicyAction,
}

/// `[[policy]]`: a named, ordered list of terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Unique name, never a built-in one.
    pub name: String,
    /// Terms in file order.
    pub terms: Vec<Term>,
    /// Verdict when no term decides (default `Reject`).
    pub default: PolicyDefault,
}
