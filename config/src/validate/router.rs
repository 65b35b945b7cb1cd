//! Validation of the router-wide sections: `[router]`, `[graceful_restart]`,
//! `[logging]`, `[api]` (the kernel-facing ones are in `validate::kernel`).
//!
//! Data flow: each function takes its raw section (absent means all
//! defaults), checks every value through the [`Checker`], and returns the
//! typed section. On an error the default stands in for the bad value so
//! later checks still run; the caller discards the result if any error was
//! recorded.

use super::{Checker, indexed};
use crate::model::{Api, GracefulRestart, LogFormat, Logging, Router};
use crate::raw::{RawApi, RawGracefulRestart, RawLogging, RawRouter};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Default `[router] listen`: every IPv4 and IPv6 address, port 179.
const DEFAULT_LISTEN: [&str; 2] = ["0.0.0.0:179", "[::]:179"];
/// Default `[api] socket`.
pub(crate) const DEFAULT_SOCKET: &str = "/run/podroute/podroute.sock";
/// Default `[api] metrics`.
pub(crate) const DEFAULT_METRICS: &str = "127.0.0.1:9179";

/// `[router]`; `None` when it is missing or lacks `asn` / `router_id`.
pub(crate) fn router(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<RawRouter>>,
) -> Option<Router> {
    let Some(table) = raw else {
        checker.report(
            0..0,
            "router",
            "missing required section [router] (asn and router_id)",
        );
        return None;
    };
    let span = table.span();
    let raw = table.get_ref();
    let asn = checker
        .required(&raw.asn, span.clone(), "router.asn")
        .and_then(|asn| checker.asn(asn, "router.asn"));
    let router_id = checker
        .required(&raw.router_id, span.clone(), "router.router_id")
        .and_then(|id| checker.identifier(id, "router.router_id"));
    let listen = listen(checker, raw.listen.as_ref());
    let cluster_id = raw
        .cluster_id
        .as_ref()
        .and_then(|id| checker.identifier(id, "router.cluster_id"));
    let hostname = raw
        .hostname
        .as_ref()
        .and_then(|name| hostname(checker, name));
    let max_paths = checker.integer_or(
        raw.max_paths.as_ref(),
        "router.max_paths",
        (1, 64),
        "max_paths",
        1,
    );
    let update_delay_ms = checker.integer_or(
        raw.update_delay_ms.as_ref(),
        "router.update_delay_ms",
        (0, 10_000),
        "update_delay_ms",
        10u64,
    );
    Some(Router {
        asn: asn?,
        router_id: router_id?,
        listen,
        cluster_id,
        hostname,
        max_paths,
        relax_as_path: raw.relax_as_path.unwrap_or(false),
        always_compare_med: raw.always_compare_med.unwrap_or(false),
        update_delay: Duration::from_millis(update_delay_ms),
    })
}

fn listen(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<SocketAddr> {
    let Some(raw) = raw else {
        return DEFAULT_LISTEN
            .iter()
            .filter_map(|text| text.parse().ok())
            .collect();
    };
    let mut seen = BTreeSet::new();
    let mut addresses = Vec::new();
    for (index, text) in raw.get_ref().iter().enumerate() {
        let key = indexed("router.listen", index);
        if let Some(address) = checker.socket_address(text, &key) {
            if seen.insert(address) {
                addresses.push(address);
            } else {
                checker.report(text.span(), &key, format!("{address} is listed twice"));
            }
        }
    }
    addresses
}

fn hostname(checker: &mut Checker<'_>, raw: &Spanned<String>) -> Option<String> {
    let name = raw.get_ref();
    let valid_characters = name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    if name.is_empty() || name.len() > 255 || !valid_characters {
        checker.report(
            raw.span(),
            "router.hostname",
            "a host name is 1 to 255 characters of letters, digits, '-' and '.'",
        );
        return None;
    }
    Some(name.clone())
}

/// `[graceful_restart]`; off unless `enabled = true`.
pub(crate) fn graceful_restart(
    checker: &mut Checker<'_>,
    raw: Option<&Spanned<RawGracefulRestart>>,
) -> GracefulRestart {
    let raw = raw.map(Spanned::get_ref);
    let value = |pick: fn(&RawGracefulRestart) -> Option<&Spanned<i64>>| raw.and_then(pick);
    let restart_time = checker.seconds_or(
        value(|raw| raw.restart_time.as_ref()),
        "graceful_restart.restart_time",
        (1, 4095),
        "restart_time",
        120,
    );
    let stale_time = checker.seconds_or(
        value(|raw| raw.stale_time.as_ref()),
        "graceful_restart.stale_time",
        (1, 4095),
        "stale_time",
        360,
    );
    let selection_deferral_time = checker.seconds_or(
        value(|raw| raw.selection_deferral_time.as_ref()),
        "graceful_restart.selection_deferral_time",
        (1, 3600),
        "selection_deferral_time",
        360,
    );
    let long_lived_stale_time = value(|raw| raw.long_lived_stale_time.as_ref()).and_then(|time| {
        checker.seconds(
            time,
            "graceful_restart.long_lived_stale_time",
            (1, 16_777_215),
            "long_lived_stale_time",
        )
    });
    GracefulRestart {
        enabled: raw.and_then(|raw| raw.enabled).unwrap_or(false),
        restart_time,
        stale_time,
        selection_deferral_time,
        notification: raw.and_then(|raw| raw.notification).unwrap_or(true),
        long_lived_stale_time,
    }
}

/// Levels the tracing filter understands.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// `[logging]`.
pub(crate) fn logging(checker: &mut Checker<'_>, raw: Option<&Spanned<RawLogging>>) -> Logging {
    let raw = raw.map(Spanned::get_ref);
    let level = match raw.and_then(|raw| raw.level.as_ref()) {
        Some(level) if valid_filter(level.get_ref()) => level.get_ref().clone(),
        Some(level) => {
            checker.report(
                level.span(),
                "logging.level",
                format!(
                    "`{}` is not a log filter: write a level ({}) or target=level pairs separated by commas",
                    level.get_ref(),
                    LEVELS.join(", ")
                ),
            );
            "info".to_string()
        }
        None => "info".to_string(),
    };
    let format = raw
        .and_then(|raw| raw.format.as_ref())
        .and_then(|format| {
            checker.choice(
                format,
                "logging.format",
                &[("human", LogFormat::Human), ("json", LogFormat::Json)],
            )
        })
        .unwrap_or(LogFormat::Human);
    Logging { level, format }
}

fn valid_filter(filter: &str) -> bool {
    filter.split(',').all(|directive| {
        let (target, level) = match directive.trim().split_once('=') {
            Some((target, level)) => (Some(target), level),
            None => (None, directive.trim()),
        };
        let target_ok = target.is_none_or(|target| {
            !target.is_empty()
                && target
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':')
        });
        target_ok && LEVELS.contains(&level)
    })
}

/// `[api]`.
pub(crate) fn api(checker: &mut Checker<'_>, raw: Option<&Spanned<RawApi>>) -> Api {
    let raw = raw.map(Spanned::get_ref);
    let socket = match raw.and_then(|raw| raw.socket.as_ref()) {
        Some(path) if path.get_ref().starts_with('/') => PathBuf::from(path.get_ref()),
        Some(path) => {
            checker.report(
                path.span(),
                "api.socket",
                "the socket path must be absolute",
            );
            PathBuf::from(DEFAULT_SOCKET)
        }
        None => PathBuf::from(DEFAULT_SOCKET),
    };
    let socket_mode = raw
        .and_then(|raw| raw.socket_mode.as_ref())
        .and_then(|mode| {
            let parsed = parse_mode(mode.get_ref());
            if parsed.is_none() {
                checker.report(
                    mode.span(),
                    "api.socket_mode",
                    format!(
                        "`{}` is not an octal permission mode such as \"0660\"",
                        mode.get_ref()
                    ),
                );
            }
            parsed
        })
        .unwrap_or(0o660);
    let metrics = match raw.and_then(|raw| raw.metrics.as_ref()) {
        Some(text) if text.get_ref().is_empty() => None,
        Some(text) => checker.socket_address(text, "api.metrics"),
        None => DEFAULT_METRICS.parse().ok(),
    };
    Api {
        socket,
        socket_mode,
        metrics,
    }
}

/// Parses "0660", "660" or "0o660" as permission bits (at most 0o777).
pub(crate) fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty()
        || digits.len() > 4
        || !digits.bytes().all(|byte| (b'0'..=b'7').contains(&byte))
    {
        return None;
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_permission_bits() {
        assert_eq!(parse_mode("0660"), Some(0o660));
        assert_eq!(parse_mode("0o600"), Some(0o600));
        assert_eq!(parse_mode("777"), Some(0o777));
        for text in ["", "0888", "1777", "66a", "0o", "-660", "07777"] {
            assert_eq!(parse_mode(text), None, "{text}");
        }
    }

    #[test]
    fn log_filters_accept_levels_and_directives() {
        assert!(valid_filter("info"));
        assert!(valid_filter("warn,bgp=debug, podroute::speaker=trace"));
        assert!(!valid_filter("verbose"));
        assert!(!valid_filter("bgp="));
        assert!(!valid_filter("=debug"));
        assert!(!valid_filter("info,"));
    }
}
