//! Validation of `[[listen_range]]` (dynamic neighbors).
//!
//! Data flow: each raw range is checked value by value, then against the
//! ranges before it: ranges must not overlap, so a connecting address
//! selects at most one. A configured `[[neighbor]]` whose address also falls
//! inside a range is allowed: the explicit neighbor takes precedence, which
//! lets an operator pin settings for one peer of a dynamic range.

use super::neighbor::password_value;
use super::policy::import_and_export;
use super::{Checker, indexed};
use crate::model::{ListenRange, Policy};
use crate::raw::RawListenRange;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// `[[listen_range]]`: dynamic neighbors; ranges must not overlap, so a
/// connecting address selects at most one range.
pub(crate) fn listen_ranges(
    checker: &mut Checker<'_>,
    raw: &[Spanned<RawListenRange>],
    local_asn: Option<u32>,
    policies: &BTreeMap<String, Policy>,
) -> Vec<ListenRange> {
    let mut ranges: Vec<(ListenRange, String)> = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let key = indexed("listen_range", index);
        let range_table = entry.get_ref();
        let field = |name: &str| format!("{key}.{name}");
        let prefix = checker
            .required(&range_table.prefix, entry.span(), &field("prefix"))
            .and_then(|prefix| checker.prefix(prefix, &field("prefix")));
        let asns = range_asns(checker, entry, &key);
        let internal = match local_asn {
            Some(local) => asns.iter().all(|asn| *asn == local),
            None => true,
        };
        let route_reflector_client = range_table
            .route_reflector_client
            .as_ref()
            .is_some_and(|flag| *flag.get_ref());
        if route_reflector_client && !internal {
            checker.report(
                range_table.route_reflector_client.as_ref().map_or(entry.span(), Spanned::span),
                &field("route_reflector_client"),
                "route_reflector_client applies to iBGP peers only (RFC 4456 §6); every AS of the range must be the local AS",
            );
        }
        let password = range_table
            .password
            .as_ref()
            .and_then(|password| password_value(checker, password, &field("password")));
        let (import, export) = import_and_export(
            checker,
            range_table.import.as_ref(),
            range_table.export.as_ref(),
            &field,
            policies,
            internal,
        );
        let max_neighbors = range_table.max_neighbors.as_ref().and_then(|most| {
            checker.integer(
                most,
                &field("max_neighbors"),
                1,
                i64::from(u32::MAX),
                "max_neighbors",
            )
        });
        let Some(prefix) = prefix else {
            continue;
        };
        if let Some((other, other_key)) = ranges.iter().find(|(other, _)| {
            other.prefix.contains(prefix.network()) || prefix.contains(other.prefix.network())
        }) {
            let span = range_table
                .prefix
                .as_ref()
                .map_or(entry.span(), Spanned::span);
            checker.report(
                span,
                &field("prefix"),
                format!(
                    "{prefix} overlaps {other_key} ({}); a connecting peer must match one range only",
                    other.prefix
                ),
            );
            continue;
        }
        let range = ListenRange {
            prefix,
            asns,
            route_reflector_client,
            password,
            import,
            export,
            max_neighbors,
        };
        ranges.push((range, key));
    }
    ranges.into_iter().map(|(range, _)| range).collect()
}

fn range_asns(
    checker: &mut Checker<'_>,
    entry: &Spanned<RawListenRange>,
    key: &str,
) -> BTreeSet<u32> {
    let range_table = entry.get_ref();
    let mut asns = BTreeSet::new();
    match (&range_table.asn, &range_table.asns) {
        (Some(_), Some(list)) => {
            checker.report(
                list.span(),
                &format!("{key}.asns"),
                "use either `asn` or `asns`, not both",
            );
        }
        (None, None) => {
            checker.report(
                entry.span(),
                &format!("{key}.asn"),
                "missing required key `asn` (or `asns`)",
            );
        }
        (Some(asn), None) => {
            asns.extend(checker.asn(asn, &format!("{key}.asn")));
        }
        (None, Some(list)) => {
            if list.get_ref().is_empty() {
                checker.report(
                    list.span(),
                    &format!("{key}.asns"),
                    "at least one AS is needed",
                );
            }
            for (index, asn) in list.get_ref().iter().enumerate() {
                let item_key = indexed(&format!("{key}.asns"), index);
                if let Some(parsed) = checker.asn(asn, &item_key) {
                    if !asns.insert(parsed) {
                        checker.report(
                            asn.span(),
                            &item_key,
                            format!("AS {parsed} is listed twice"),
                        );
                    }
                }
            }
        }
    }
    asns
}
