//! Validation of the kernel-facing sections: `[fib]`, `[[originate]]` and
//! `[[import_kernel]]`.
//!
//! Data flow: as for the router sections, each raw section (absent means all
//! defaults) is checked through the [`Checker`]; a bad value records an
//! error and the default stands in so later checks still run. The protocol
//! id chosen here is passed on to `[[import_kernel]]`, which must never
//! import podroute's own routes back.

use super::policy::prefix_filters;
use super::{Checker, indexed, items};
use crate::model::{Fib, ImportKernel, KernelProtocol, Originate};
use crate::raw::{RawFib, RawImportKernel, RawOriginate, RawProtocol};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// The kernel's main routing table.
pub(crate) const MAIN_TABLE: u32 = 254;
/// podroute's own `rtm_protocol` unless configured otherwise.
pub(crate) const DEFAULT_PROTOCOL: u8 = 201;

/// `[fib]`; `keep_on_shutdown` defaults to whether graceful restart is on.
pub(crate) fn fib(checker: &mut Checker<'_>, raw: Option<&Spanned<RawFib>>, graceful: bool) -> Fib {
    let raw = raw.map(Spanned::get_ref);
    let table = raw
        .and_then(|raw| raw.table.as_ref())
        .and_then(|table| kernel_table(checker, table, "fib.table"))
        .unwrap_or(MAIN_TABLE);
    let protocol = raw
        .and_then(|raw| raw.protocol.as_ref())
        .and_then(|protocol| own_protocol(checker, protocol))
        .unwrap_or(DEFAULT_PROTOCOL);
    let sweep_delay = checker.seconds_or(
        raw.and_then(|raw| raw.sweep_delay.as_ref()),
        "fib.sweep_delay",
        (0, 3600),
        "sweep_delay",
        0,
    );
    Fib {
        enabled: raw.and_then(|raw| raw.enabled).unwrap_or(true),
        table,
        protocol,
        keep_on_shutdown: raw.and_then(|raw| raw.keep_on_shutdown).unwrap_or(graceful),
        sweep_delay,
        nexthop_objects: raw.and_then(|raw| raw.nexthop_objects).unwrap_or(true),
    }
}

fn kernel_table(checker: &mut Checker<'_>, raw: &Spanned<i64>, key: &str) -> Option<u32> {
    let table: u32 = checker.integer(raw, key, 1, i64::from(u32::MAX), "table")?;
    if table == 255 {
        checker.report(
            raw.span(),
            key,
            "table 255 is the kernel's local table; use 254 (main) or a table of your own",
        );
        return None;
    }
    Some(table)
}

fn own_protocol(checker: &mut Checker<'_>, raw: &Spanned<i64>) -> Option<u8> {
    let number = *raw.get_ref();
    if (0..=4).contains(&number) {
        let name = u8::try_from(number)
            .ok()
            .map(KernelProtocol)
            .map(|protocol| protocol.to_string());
        checker.report(
            raw.span(),
            "fib.protocol",
            format!(
                "protocol {number} ({}) belongs to the kernel; pick one of 5..=255 (podroute's default is {DEFAULT_PROTOCOL})",
                name.unwrap_or_default()
            ),
        );
        return None;
    }
    checker.integer(raw, "fib.protocol", 5, 255, "protocol")
}

/// `[[originate]]`; every prefix at most once.
pub(crate) fn originate(
    checker: &mut Checker<'_>,
    raw: &[Spanned<RawOriginate>],
) -> Vec<Originate> {
    let mut first_seen = BTreeMap::new();
    let mut originate = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let key = indexed("originate", index);
        let prefix_key = format!("{key}.prefix");
        let Some(prefix) = checker
            .required(&entry.get_ref().prefix, entry.span(), &prefix_key)
            .and_then(|prefix| checker.prefix(prefix, &prefix_key))
        else {
            continue;
        };
        if let Some(first) = first_seen.get(&prefix) {
            let span = entry
                .get_ref()
                .prefix
                .as_ref()
                .map_or(entry.span(), Spanned::span);
            checker.report(
                span,
                &prefix_key,
                format!("{prefix} is already originated by {first}"),
            );
            continue;
        }
        first_seen.insert(prefix, key);
        originate.push(Originate {
            prefix,
            blackhole: entry.get_ref().blackhole.unwrap_or(false),
        });
    }
    originate
}

/// `[[import_kernel]]`; never re-imports podroute's own protocol.
pub(crate) fn import_kernel(
    checker: &mut Checker<'_>,
    raw: &[Spanned<RawImportKernel>],
    own_protocol: u8,
) -> Vec<ImportKernel> {
    let mut imports = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let key = indexed("import_kernel", index);
        let prefixes = checker
            .required(
                &entry.get_ref().prefixes,
                entry.span(),
                &format!("{key}.prefixes"),
            )
            .map(|prefixes| prefix_filters(checker, &items(prefixes), &format!("{key}.prefixes")))
            .unwrap_or_default();
        let mut protocols = BTreeSet::new();
        for (position, protocol) in entry
            .get_ref()
            .protocols
            .iter()
            .flat_map(|list| list.get_ref().iter())
            .enumerate()
        {
            let protocol_key = indexed(&format!("{key}.protocols"), position);
            let parsed = match protocol.get_ref() {
                RawProtocol::Number(number) => u8::try_from(*number).ok().map(KernelProtocol),
                RawProtocol::Name(name) => KernelProtocol::from_name(name),
            };
            match parsed {
                Some(KernelProtocol(number)) if number == own_protocol => checker.report(
                    protocol.span(),
                    &protocol_key,
                    format!("protocol {number} is podroute's own ([fib] protocol); importing it would loop routes back into BGP"),
                ),
                Some(parsed) => {
                    protocols.insert(parsed);
                }
                None => checker.report(
                    protocol.span(),
                    &protocol_key,
                    "a protocol is a number 0..=255 or an iproute2 name such as kernel, boot, static, dhcp",
                ),
            }
        }
        let table = entry
            .get_ref()
            .table
            .as_ref()
            .and_then(|table| {
                checker.integer(
                    table,
                    &format!("{key}.table"),
                    1,
                    i64::from(u32::MAX),
                    "table",
                )
            })
            .unwrap_or(MAIN_TABLE);
        imports.push(ImportKernel {
            prefixes,
            protocols,
            table,
        });
    }
    imports
}
