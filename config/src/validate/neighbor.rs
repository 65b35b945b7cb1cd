//! Validation of `[[neighbor]]`.
//!
//! Data flow: each raw neighbor is checked value by value, then against the
//! others (duplicate addresses) and against the router (iBGP-only settings,
//! RFC 8212 defaults for eBGP). The typed result feeds the speaker's
//! session list.

use super::policy::import_and_export;
use super::{Checker, indexed};
use crate::model::{AddPath, Family, MaxPrefixAction, MaxPrefixes, Neighbor, NextHopMode, Policy};
use crate::raw::{RawAddPath, RawMaxPrefixes, RawNeighbor};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;
use toml::Spanned;

/// Default Hold Time (RFC 4271 §10 suggests 90 s).
const DEFAULT_HOLD_TIME: u64 = 90;
/// Default ConnectRetryTime (RFC 4271 §10 suggests 120 s).
const DEFAULT_CONNECT_RETRY: u64 = 120;
/// Longest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
const MAX_PASSWORD_BYTES: usize = 80;

/// `[[neighbor]]`: every peer with a valid, unique address.
pub(crate) fn neighbors(
    checker: &mut Checker<'_>,
    raw: &[Spanned<RawNeighbor>],
    local_asn: Option<u32>,
    policies: &BTreeMap<String, Policy>,
) -> Vec<Neighbor> {
    let mut first_seen: BTreeMap<IpAddr, String> = BTreeMap::new();
    let mut neighbors = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let key = indexed("neighbor", index);
        let Some(neighbor) = neighbor(checker, entry, &key, local_asn, policies) else {
            continue;
        };
        if let Some(first) = first_seen.get(&neighbor.address) {
            let span = entry
                .get_ref()
                .address
                .as_ref()
                .map_or(entry.span(), Spanned::span);
            checker.report(
                span,
                &format!("{key}.address"),
                format!(
                    "neighbor {} is already configured by {first}",
                    neighbor.address
                ),
            );
            continue;
        }
        first_seen.insert(neighbor.address, key);
        neighbors.push(neighbor);
    }
    neighbors
}

fn neighbor(
    checker: &mut Checker<'_>,
    entry: &Spanned<RawNeighbor>,
    key: &str,
    local_asn: Option<u32>,
    policies: &BTreeMap<String, Policy>,
) -> Option<Neighbor> {
    let raw = entry.get_ref();
    let field = |name: &str| format!("{key}.{name}");
    let address = checker
        .required(&raw.address, entry.span(), &field("address"))
        .and_then(|address| peer_address(checker, address, &field("address")));
    let asn = checker
        .required(&raw.asn, entry.span(), &field("asn"))
        .and_then(|asn| checker.asn(asn, &field("asn")));
    let internal = match (asn, local_asn) {
        (Some(asn), Some(local)) => asn == local,
        // Unknown: assume iBGP so no eBGP-only error piles onto the real one.
        _ => true,
    };
    let next_hop = raw
        .next_hop
        .as_ref()
        .and_then(|mode| {
            checker.choice(
                mode,
                &field("next_hop"),
                &[
                    ("auto", NextHopMode::Auto),
                    ("self", NextHopMode::SelfAddress),
                    ("keep", NextHopMode::Keep),
                ],
            )
        })
        .unwrap_or(NextHopMode::Auto);
    let hold_time = raw
        .hold_time
        .as_ref()
        .and_then(|hold| hold_time(checker, hold, &field("hold_time")))
        .unwrap_or(DEFAULT_HOLD_TIME);
    let keepalive = raw
        .keepalive
        .as_ref()
        .and_then(|keepalive| keepalive_time(checker, keepalive, &field("keepalive"), hold_time));
    let connect_retry = checker.seconds_or(
        raw.connect_retry.as_ref(),
        &field("connect_retry"),
        (1, 65_535),
        "connect_retry",
        DEFAULT_CONNECT_RETRY,
    );
    let delay_open = raw
        .delay_open
        .as_ref()
        .and_then(|value| checker.seconds(value, &field("delay_open"), (1, 240), "delay_open"));
    let password = raw
        .password
        .as_ref()
        .and_then(|password| password_value(checker, password, &field("password")));
    let ttl_security = raw.ttl_security.as_ref().and_then(|hops| {
        checker.integer(hops, &field("ttl_security"), 1, 254, "ttl_security (hops)")
    });
    let multihop = raw.multihop.as_ref().and_then(|ttl| {
        let value = checker.integer(ttl, &field("multihop"), 1, 255, "multihop (TTL)")?;
        if raw.ttl_security.is_some() {
            checker.report(
                ttl.span(),
                &field("multihop"),
                "multihop and ttl_security exclude each other: GTSM always sends TTL 255 (RFC 5082 §3)",
            );
            return None;
        }
        if internal {
            checker.report(ttl.span(), &field("multihop"), "multihop applies to eBGP only; iBGP sessions already send TTL 255");
            return None;
        }
        Some(value)
    });
    let source_address = raw.source_address.as_ref().and_then(|source| {
        let parsed = checker.address(source, &field("source_address"))?;
        if address.is_some_and(|address| address.is_ipv4() != parsed.is_ipv4()) {
            checker.report(
                source.span(),
                &field("source_address"),
                "source_address must be of the same family as address",
            );
            return None;
        }
        Some(parsed)
    });
    let next_hop_ipv4 = raw.next_hop_ipv4.as_ref().and_then(|given| {
        let parsed = checker.address(given, &field("next_hop_ipv4"))?;
        if !parsed.is_ipv4() {
            checker.report(
                given.span(),
                &field("next_hop_ipv4"),
                "next_hop_ipv4 must be an IPv4 address",
            );
            return None;
        }
        Some(parsed)
    });
    let next_hop_ipv6 = raw.next_hop_ipv6.as_ref().and_then(|given| {
        let parsed = checker.address(given, &field("next_hop_ipv6"))?;
        if !parsed.is_ipv6() {
            checker.report(
                given.span(),
                &field("next_hop_ipv6"),
                "next_hop_ipv6 must be an IPv6 address",
            );
            return None;
        }
        Some(parsed)
    });
    let port = checker.integer_or(
        raw.port.as_ref(),
        &field("port"),
        (1, 65_535),
        "port",
        179u16,
    );
    let families = families(checker, raw.families.as_ref(), &field("families"));
    let (import, export) = import_and_export(
        checker,
        raw.import.as_ref(),
        raw.export.as_ref(),
        &field,
        policies,
        internal,
    );
    let add_path = raw
        .add_path
        .as_ref()
        .map(|add_path| self::add_path(checker, add_path, &field("add_path")))
        .unwrap_or_default();
    let max_prefixes = raw
        .max_prefixes
        .as_ref()
        .and_then(|limit| max_prefixes(checker, limit, &field("max_prefixes")));
    let allowas_in = checker.integer_or(
        raw.allowas_in.as_ref(),
        &field("allowas_in"),
        (0, 10),
        "allowas_in",
        0u8,
    );
    let route_reflector_client = raw
        .route_reflector_client
        .as_ref()
        .is_some_and(|flag| *flag.get_ref());
    if route_reflector_client && !internal {
        checker.report(
            raw.route_reflector_client
                .as_ref()
                .map_or(entry.span(), Spanned::span),
            &field("route_reflector_client"),
            "route_reflector_client applies to iBGP neighbors only (RFC 4456 §6)",
        );
    }
    Some(Neighbor {
        address: address?,
        asn: asn?,
        description: raw.description.clone(),
        route_reflector_client,
        passive: raw.passive.unwrap_or(false),
        next_hop,
        hold_time: Duration::from_secs(hold_time),
        keepalive,
        connect_retry,
        delay_open,
        password,
        ttl_security,
        multihop,
        source_address,
        next_hop_ipv4,
        next_hop_ipv6,
        port,
        families,
        import,
        export,
        add_path,
        max_prefixes,
        allowas_in,
        // On by default for eBGP, where RFC 8212 makes import policies a
        // must and policy changes are routine: some peers (FRR 8.4 without
        // graceful restart) ignore the ROUTE-REFRESH that would otherwise
        // re-send their routes, and the change would never apply.
        soft_reconfiguration_inbound: raw.soft_reconfiguration_inbound.unwrap_or(!internal),
        graceful_restart: raw.graceful_restart,
        shutdown: raw.shutdown.unwrap_or(false),
    })
}

/// A unicast peer address (not unspecified, not multicast).
fn peer_address(checker: &mut Checker<'_>, raw: &Spanned<String>, key: &str) -> Option<IpAddr> {
    let address = checker.address(raw, key)?;
    if address.is_unspecified() || address.is_multicast() {
        checker.report(
            raw.span(),
            key,
            format!("{address} cannot be a BGP neighbor (unspecified or multicast)"),
        );
        return None;
    }
    Some(address)
}

/// RFC 4271 §4.2: Hold Time is zero or at least three seconds.
fn hold_time(checker: &mut Checker<'_>, raw: &Spanned<i64>, key: &str) -> Option<u64> {
    let seconds = *raw.get_ref();
    match seconds {
        0 | 3..=65_535 => u64::try_from(seconds).ok(),
        1 | 2 => {
            checker.report(
                raw.span(),
                key,
                format!("hold time must be 0 or at least 3 (got {seconds})"),
            );
            None
        }
        _ => {
            checker.report(
                raw.span(),
                key,
                format!("hold time must be 0 or between 3 and 65535 (got {seconds})"),
            );
            None
        }
    }
}

fn keepalive_time(
    checker: &mut Checker<'_>,
    raw: &Spanned<i64>,
    key: &str,
    hold_time: u64,
) -> Option<Duration> {
    let seconds: u64 = checker.integer(raw, key, 1, 21_845, "keepalive")?;
    if hold_time == 0 {
        checker.report(
            raw.span(),
            key,
            "no keepalives are sent when hold_time is 0 (RFC 4271 §4.4); remove keepalive",
        );
        return None;
    }
    if seconds >= hold_time {
        checker.report(
            raw.span(),
            key,
            format!("keepalive ({seconds}) must be shorter than hold_time ({hold_time}); a third of it is usual"),
        );
        return None;
    }
    Some(Duration::from_secs(seconds))
}

/// A TCP-MD5 key (RFC 2385) the kernel accepts.
pub(crate) fn password_value(
    checker: &mut Checker<'_>,
    raw: &Spanned<String>,
    key: &str,
) -> Option<String> {
    let length = raw.get_ref().len();
    if length == 0 || length > MAX_PASSWORD_BYTES {
        checker.report(
            raw.span(),
            key,
            format!("a TCP-MD5 password is 1 to {MAX_PASSWORD_BYTES} bytes (got {length})"),
        );
        return None;
    }
    Some(raw.get_ref().clone())
}

fn families(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    key: &str,
) -> BTreeSet<Family> {
    let Some(raw) = raw else {
        return BTreeSet::from([Family::Ipv4, Family::Ipv6]);
    };
    let mut families = BTreeSet::new();
    for (index, family) in raw.get_ref().iter().enumerate() {
        let item_key = indexed(key, index);
        if let Some(parsed) = checker.choice(
            family,
            &item_key,
            &[("ipv4", Family::Ipv4), ("ipv6", Family::Ipv6)],
        ) {
            if !families.insert(parsed) {
                checker.report(
                    family.span(),
                    &item_key,
                    format!("{parsed} is listed twice"),
                );
            }
        }
    }
    if raw.get_ref().is_empty() {
        checker.report(
            raw.span(),
            key,
            "at least one family is needed (ipv4, ipv6)",
        );
    }
    families
}

fn add_path(checker: &mut Checker<'_>, raw: &Spanned<RawAddPath>, key: &str) -> AddPath {
    let add_path = raw.get_ref();
    AddPath {
        receive: add_path.receive.unwrap_or(false),
        send: checker.integer_or(
            add_path.send.as_ref(),
            &format!("{key}.send"),
            (0, 64),
            "send (paths per prefix)",
            0,
        ),
    }
}

fn max_prefixes(
    checker: &mut Checker<'_>,
    raw: &Spanned<RawMaxPrefixes>,
    key: &str,
) -> Option<MaxPrefixes> {
    let limit_table = raw.get_ref();
    let limit_key = format!("{key}.limit");
    let limit = checker
        .required(&limit_table.limit, raw.span(), &limit_key)
        .and_then(|limit| checker.integer(limit, &limit_key, 1, i64::from(u32::MAX), "limit"));
    let action = limit_table
        .action
        .as_ref()
        .and_then(|action| {
            checker.choice(
                action,
                &format!("{key}.action"),
                &[
                    ("warn", MaxPrefixAction::Warn),
                    ("teardown", MaxPrefixAction::Teardown),
                ],
            )
        })
        .unwrap_or(MaxPrefixAction::Teardown);
    let restart_after = limit_table.restart_after.as_ref().and_then(|after| {
        let restart_key = format!("{key}.restart_after");
        let seconds = checker.seconds(after, &restart_key, (1, 86_400), "restart_after")?;
        if action == MaxPrefixAction::Warn {
            checker.report(
                after.span(),
                &restart_key,
                "restart_after only applies with action = \"teardown\"",
            );
            return None;
        }
        Some(seconds)
    });
    Some(MaxPrefixes {
        limit: limit?,
        action,
        restart_after,
    })
}
