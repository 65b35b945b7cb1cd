//! Validation of `[[policy]]` sections, prefix lists, and references to
//! policies from neighbors and listen ranges.
//!
//! Data flow: [`policies`] runs first and yields the map of defined
//! policies; the neighbor validator then resolves each `import` / `export`
//! name through [`policy_reference`], which reports undefined names at the
//! referencing key. Prefix lists ([`prefix_filters`]) are shared with
//! `[[import_kernel]]`.

use super::{Checker, indexed, items};
use crate::community::{Community, LargeCommunity};
use crate::model::{
    AsPathLength, BuiltinPolicy, Policy, PolicyAction, PolicyDefault, PrefixFilter, Term,
    TermMatch, TermSet,
};
use crate::raw::{OneOrMany, RawLengthRange, RawMatch, RawPolicy, RawPrefixEntry, RawTerm};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;
use toml::Spanned;

/// `[[policy]]`: every policy with a valid, unique name.
pub(crate) fn policies(
    checker: &mut Checker<'_>,
    raw: &[Spanned<RawPolicy>],
) -> BTreeMap<String, Policy> {
    let mut policies = BTreeMap::new();
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    for (index, entry) in raw.iter().enumerate() {
        let key = indexed("policy", index);
        let raw_policy = entry.get_ref();
        let name_key = format!("{key}.name");
        let name = checker
            .required(&raw_policy.name, entry.span(), &name_key)
            .and_then(|name| policy_name(checker, name, &name_key, &first_seen));
        let default = raw_policy
            .default
            .as_ref()
            .and_then(|default| {
                checker.choice(
                    default,
                    &format!("{key}.default"),
                    &[
                        ("accept", PolicyDefault::Accept),
                        ("reject", PolicyDefault::Reject),
                    ],
                )
            })
            .unwrap_or(PolicyDefault::Reject);
        let terms: Vec<Term> = raw_policy
            .term
            .iter()
            .enumerate()
            .filter_map(|(position, term)| {
                self::term(checker, term, &indexed(&format!("{key}.term"), position))
            })
            .collect();
        if let Some(name) = name {
            first_seen.insert(name.clone(), key);
            policies.insert(
                name.clone(),
                Policy {
                    name,
                    terms,
                    default,
                },
            );
        }
    }
    policies
}

fn policy_name(
    checker: &mut Checker<'_>,
    raw: &Spanned<String>,
    key: &str,
    first_seen: &BTreeMap<String, String>,
) -> Option<String> {
    let name = raw.get_ref();
    let message = if name.is_empty()
        || !name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
    {
        format!("`{name}` is not a policy name: use letters, digits, '-', '_' and '.'")
    } else if BuiltinPolicy::from_name(name).is_some() {
        format!(
            "`{name}` is a built-in policy and cannot be redefined (built-ins: all, none, originated)"
        )
    } else if let Some(first) = first_seen.get(name) {
        format!("policy `{name}` is already defined by {first}")
    } else {
        return Some(name.clone());
    };
    checker.report(raw.span(), key, message);
    None
}

fn term(checker: &mut Checker<'_>, raw: &Spanned<RawTerm>, key: &str) -> Option<Term> {
    let term = raw.get_ref();
    let action_key = format!("{key}.action");
    let action = checker
        .required(&term.action, raw.span(), &action_key)
        .and_then(|action| {
            checker.choice(
                action,
                &action_key,
                &[
                    ("accept", PolicyAction::Accept),
                    ("reject", PolicyAction::Reject),
                    ("next", PolicyAction::Next),
                ],
            )
        });
    let matches = term
        .matches
        .as_ref()
        .map(|matches| term_match(checker, matches, &format!("{key}.match")))
        .unwrap_or_default();
    let u32_range = (0, i64::from(u32::MAX));
    let set = TermSet {
        local_pref: term.set_local_pref.as_ref().and_then(|value| {
            checker.integer(
                value,
                &format!("{key}.set_local_pref"),
                u32_range.0,
                u32_range.1,
                "set_local_pref",
            )
        }),
        med: term.set_med.as_ref().and_then(|value| {
            checker.integer(
                value,
                &format!("{key}.set_med"),
                u32_range.0,
                u32_range.1,
                "set_med",
            )
        }),
        add_communities: communities(
            checker,
            term.add_community.as_ref(),
            &format!("{key}.add_community"),
        ),
        remove_communities: communities(
            checker,
            term.remove_community.as_ref(),
            &format!("{key}.remove_community"),
        ),
        add_large_communities: large_communities(
            checker,
            term.add_large_community.as_ref(),
            &format!("{key}.add_large_community"),
        ),
        remove_large_communities: large_communities(
            checker,
            term.remove_large_community.as_ref(),
            &format!("{key}.remove_large_community"),
        ),
        prepend_as: checker.integer_or(
            term.prepend_as.as_ref(),
            &format!("{key}.prepend_as"),
            (0, 10),
            "prepend_as",
            0,
        ),
    };
    Some(Term {
        name: term.name.clone(),
        matches,
        set,
        action: action?,
    })
}

fn term_match(checker: &mut Checker<'_>, raw: &Spanned<RawMatch>, key: &str) -> TermMatch {
    let matches = raw.get_ref();
    let mut prefixes = Vec::new();
    if let Some(prefix) = &matches.prefix {
        if let Some(prefixes_value) = &matches.prefixes {
            checker.report(
                prefixes_value.span(),
                &format!("{key}.prefixes"),
                "use either `prefix` (with `ge`/`le`) or `prefixes`, not both",
            );
        }
        let entry = PrefixInput {
            text: prefix.get_ref(),
            span: prefix.span(),
            ge: matches.ge.as_ref(),
            le: matches.le.as_ref(),
        };
        prefixes.extend(prefix_filter(checker, entry, &format!("{key}.prefix")));
    } else {
        for (bound, name) in [(&matches.ge, "ge"), (&matches.le, "le")] {
            if let Some(bound) = bound {
                checker.report(
                    bound.span(),
                    &format!("{key}.{name}"),
                    format!("`{name}` needs a `prefix` in the same match"),
                );
            }
        }
        if let Some(list) = &matches.prefixes {
            prefixes = prefix_filters(checker, &items(list), &format!("{key}.prefixes"));
        }
    }
    TermMatch {
        prefixes,
        communities: communities(
            checker,
            matches.community.as_ref(),
            &format!("{key}.community"),
        ),
        large_communities: large_communities(
            checker,
            matches.large_community.as_ref(),
            &format!("{key}.large_community"),
        ),
        as_path_length: matches
            .as_path_length
            .as_ref()
            .and_then(|range| as_path_length(checker, range, &format!("{key}.as_path_length"))),
        neighbors: matches
            .neighbor
            .as_ref()
            .map(|list| neighbor_prefixes(checker, list, &format!("{key}.neighbor")))
            .unwrap_or_default(),
    }
}

/// A prefix list: each entry is `"PREFIX"` (exact) or `{ prefix, ge, le }`.
pub(crate) fn prefix_filters(
    checker: &mut Checker<'_>,
    entries: &[(&RawPrefixEntry, Range<usize>)],
    key: &str,
) -> Vec<PrefixFilter> {
    let mut filters = Vec::new();
    for (index, (entry, span)) in entries.iter().enumerate() {
        let entry_key = indexed(key, index);
        let filter = match entry {
            RawPrefixEntry::Text(text) => {
                let entry = PrefixInput {
                    text,
                    span: span.clone(),
                    ge: None,
                    le: None,
                };
                prefix_filter(checker, entry, &entry_key)
            }
            RawPrefixEntry::Table(table) => {
                let prefix_key = format!("{entry_key}.prefix");
                checker
                    .required(&table.prefix, span.clone(), &prefix_key)
                    .and_then(|prefix| {
                        let entry = PrefixInput {
                            text: prefix.get_ref(),
                            span: prefix.span(),
                            ge: table.ge.as_ref(),
                            le: table.le.as_ref(),
                        };
                        prefix_filter(checker, entry, &prefix_key)
                    })
            }
        };
        filters.extend(filter);
    }
    filters
}

/// A prefix as written, with its span and optional bounds.
struct PrefixInput<'a> {
    text: &'a str,
    span: Range<usize>,
    ge: Option<&'a Spanned<i64>>,
    le: Option<&'a Spanned<i64>>,
}

/// One prefix with optional `ge` / `le` bounds, checked against its length.
fn prefix_filter(
    checker: &mut Checker<'_>,
    input: PrefixInput<'_>,
    key: &str,
) -> Option<PrefixFilter> {
    let PrefixInput { text, span, ge, le } = input;
    let prefix = checker.prefix_text(text, span, key)?;
    let length = i64::from(prefix.prefix());
    let most = if prefix.is_ipv4() { 32 } else { 128 };
    // The bound keys live beside `prefix`: `...match.ge` or `...prefixes[0].ge`.
    let base = key.strip_suffix(".prefix").unwrap_or(key);
    let bound_range = format!("between the prefix length {length} and {most}");
    let ge_value = ge.and_then(|value| {
        bound(
            checker,
            value,
            &format!("{base}.ge"),
            length,
            most,
            &bound_range,
        )
    });
    let le_value = le.and_then(|value| {
        bound(
            checker,
            value,
            &format!("{base}.le"),
            length,
            most,
            &bound_range,
        )
    });
    let (low, high) = match (ge, le) {
        (None, None) => (length, length),
        (Some(_), None) => (ge_value?, most),
        (None, Some(_)) => (length, le_value?),
        (Some(_), Some(le)) => {
            let (low, high) = (ge_value?, le_value?);
            if low > high {
                checker.report(
                    le.span(),
                    &format!("{base}.le"),
                    format!("le ({high}) is smaller than ge ({low})"),
                );
                return None;
            }
            (low, high)
        }
    };
    Some(PrefixFilter {
        prefix,
        ge: u8::try_from(low).ok()?,
        le: u8::try_from(high).ok()?,
    })
}

fn bound(
    checker: &mut Checker<'_>,
    value: &Spanned<i64>,
    key: &str,
    low: i64,
    high: i64,
    range: &str,
) -> Option<i64> {
    let number = *value.get_ref();
    if number < low || number > high {
        checker.report(value.span(), key, format!("must be {range} (got {number})"));
        return None;
    }
    Some(number)
}

fn communities(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<OneOrMany<String>>>,
    key: &str,
) -> BTreeSet<Community> {
    parsed_list(checker, raw, key, Community::parse)
}

fn large_communities(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<OneOrMany<String>>>,
    key: &str,
) -> BTreeSet<LargeCommunity> {
    parsed_list(checker, raw, key, LargeCommunity::parse)
}

fn parsed_list<T: Ord>(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<OneOrMany<String>>>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
) -> BTreeSet<T> {
    let Some(raw) = raw else {
        return BTreeSet::new();
    };
    let many = matches!(raw.get_ref(), OneOrMany::Many(_));
    let mut values = BTreeSet::new();
    for (index, (text, span)) in items(raw).into_iter().enumerate() {
        match parse(text) {
            Ok(value) => {
                values.insert(value);
            }
            Err(message) => {
                let item_key = if many {
                    indexed(key, index)
                } else {
                    key.to_string()
                };
                checker.report(span, &item_key, message);
            }
        }
    }
    values
}

fn as_path_length(
    checker: &mut Checker<'_>,
    raw: &Spanned<RawLengthRange>,
    key: &str,
) -> Option<AsPathLength> {
    let range = raw.get_ref();
    if range.min.is_none() && range.max.is_none() {
        checker.report(raw.span(), key, "give `min`, `max` or both");
        return None;
    }
    let min = match &range.min {
        Some(min) => checker.integer(min, &format!("{key}.min"), 0, 4095, "min")?,
        None => 0,
    };
    let max = match &range.max {
        Some(max) => checker.integer(max, &format!("{key}.max"), 0, 4095, "max")?,
        None => u32::MAX,
    };
    if min > max {
        let span = range.max.as_ref().map_or(raw.span(), Spanned::span);
        checker.report(
            span,
            &format!("{key}.max"),
            format!("max ({max}) is smaller than min ({min})"),
        );
        return None;
    }
    Some(AsPathLength { min, max })
}

fn neighbor_prefixes(
    checker: &mut Checker<'_>,
    raw: &Spanned<OneOrMany<String>>,
    key: &str,
) -> Vec<IpNetwork> {
    let many = matches!(raw.get_ref(), OneOrMany::Many(_));
    let mut prefixes = Vec::new();
    for (index, (text, span)) in items(raw).into_iter().enumerate() {
        let item_key = if many {
            indexed(key, index)
        } else {
            key.to_string()
        };
        let parsed = if text.contains('/') {
            checker.prefix_text(text, span, &item_key)
        } else {
            match text.parse::<IpAddr>() {
                Ok(address) => {
                    IpNetwork::new(address, if address.is_ipv4() { 32 } else { 128 }).ok()
                }
                Err(_) => {
                    checker.report(
                        span,
                        &item_key,
                        format!("`{text}` is not an address or a prefix"),
                    );
                    None
                }
            }
        };
        prefixes.extend(parsed);
    }
    prefixes
}

/// Resolves an `import` / `export` reference, reporting an undefined name at
/// the referencing key. Returns the name to store (the default when unset).
/// A peer's import and export policies, checked against the defined ones.
/// Unset, they default to `all` for iBGP and to `none` for eBGP, which then
/// exchanges nothing until a policy is named (RFC 8212 §2).
pub(crate) fn import_and_export(
    checker: &mut Checker<'_>,
    import: Option<&Spanned<String>>,
    export: Option<&Spanned<String>>,
    field: &dyn Fn(&str) -> String,
    policies: &BTreeMap<String, Policy>,
    internal: bool,
) -> (String, String) {
    let default = if internal {
        BuiltinPolicy::All
    } else {
        BuiltinPolicy::None
    };
    let import = policy_reference(checker, import, &field("import"), policies, default);
    let export = policy_reference(checker, export, &field("export"), policies, default);
    (import, export)
}

pub(crate) fn policy_reference(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<String>>,
    key: &str,
    policies: &BTreeMap<String, Policy>,
    default: BuiltinPolicy,
) -> String {
    let Some(raw) = raw else {
        return default.as_str().to_string();
    };
    let name = raw.get_ref();
    if BuiltinPolicy::from_name(name).is_none() && !policies.contains_key(name) {
        let mut known: Vec<&str> = vec!["all", "none", "originated"];
        known.extend(policies.keys().map(String::as_str));
        checker.report(
            raw.span(),
            key,
            format!(
                "policy `{name}` is not defined (known: {})",
                known.join(", ")
            ),
        );
    }
    name.clone()
}
