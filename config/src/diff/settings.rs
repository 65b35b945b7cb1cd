//! Comparison of the router-wide sections: `[router]`, `[fib]`,
//! `[graceful_restart]`, `[[import_kernel]]`, `[logging]`, `[api]`.
//!
//! Data flow: each section contributes the keys whose values differ, each
//! with the [`Effect`] the table below assigns; `ConfigDiff` sorts them by
//! key for stable output.

use super::SettingChange;
use super::reaction::Effect;
use crate::model::Config;

/// Every router-wide key that differs between `old` and `new`.
pub(crate) fn setting_changes(old: &Config, new: &Config) -> Vec<SettingChange> {
    let (router, new_router) = (&old.router, &new.router);
    let (fib, new_fib) = (&old.fib, &new.fib);
    let (graceful, new_graceful) = (&old.graceful_restart, &new.graceful_restart);
    let candidates = [
        // Identity: every session and the RIB's loop checks depend on these (RFC 4271 §4.2, RFC 4456 §8).
        ("router.asn", router.asn != new_router.asn, Effect::Restart),
        (
            "router.router_id",
            router.router_id != new_router.router_id,
            Effect::Restart,
        ),
        (
            "router.cluster_id",
            router.cluster_id != new_router.cluster_id,
            Effect::Restart,
        ),
        (
            "router.listen",
            router.listen != new_router.listen,
            Effect::Live,
        ),
        (
            "router.hostname",
            router.hostname != new_router.hostname,
            Effect::NextSession,
        ),
        (
            "router.max_paths",
            router.max_paths != new_router.max_paths,
            Effect::Live,
        ),
        (
            "router.relax_as_path",
            router.relax_as_path != new_router.relax_as_path,
            Effect::Live,
        ),
        (
            "router.always_compare_med",
            router.always_compare_med != new_router.always_compare_med,
            Effect::Live,
        ),
        (
            "router.update_delay_ms",
            router.update_delay != new_router.update_delay,
            Effect::Live,
        ),
        ("fib.enabled", fib.enabled != new_fib.enabled, Effect::Live),
        // Ownership of kernel routes is keyed by table and protocol id.
        ("fib.table", fib.table != new_fib.table, Effect::Restart),
        (
            "fib.protocol",
            fib.protocol != new_fib.protocol,
            Effect::Restart,
        ),
        (
            "fib.keep_on_shutdown",
            fib.keep_on_shutdown != new_fib.keep_on_shutdown,
            Effect::Live,
        ),
        (
            "fib.sweep_delay",
            fib.sweep_delay != new_fib.sweep_delay,
            Effect::Live,
        ),
        // Switching forms means re-installing every route and its objects.
        (
            "fib.nexthop_objects",
            fib.nexthop_objects != new_fib.nexthop_objects,
            Effect::Restart,
        ),
        // Carried in the Graceful Restart capability of OPEN (RFC 4724 §3).
        (
            "graceful_restart.enabled",
            graceful.enabled != new_graceful.enabled,
            Effect::NextSession,
        ),
        (
            "graceful_restart.restart_time",
            graceful.restart_time != new_graceful.restart_time,
            Effect::NextSession,
        ),
        (
            "graceful_restart.stale_time",
            graceful.stale_time != new_graceful.stale_time,
            Effect::Live,
        ),
        (
            "graceful_restart.selection_deferral_time",
            graceful.selection_deferral_time != new_graceful.selection_deferral_time,
            Effect::Live,
        ),
        (
            "graceful_restart.notification",
            graceful.notification != new_graceful.notification,
            Effect::NextSession,
        ),
        (
            "graceful_restart.long_lived_stale_time",
            graceful.long_lived_stale_time != new_graceful.long_lived_stale_time,
            Effect::NextSession,
        ),
        (
            "import_kernel",
            old.import_kernel != new.import_kernel,
            Effect::Live,
        ),
        (
            "logging.level",
            old.logging.level != new.logging.level,
            Effect::Live,
        ),
        (
            "logging.format",
            old.logging.format != new.logging.format,
            Effect::Restart,
        ),
        // The reload request itself arrives on the socket: moving it needs a restart.
        (
            "api.socket",
            old.api.socket != new.api.socket,
            Effect::Restart,
        ),
        (
            "api.socket_mode",
            old.api.socket_mode != new.api.socket_mode,
            Effect::Live,
        ),
        (
            "api.metrics",
            old.api.metrics != new.api.metrics,
            Effect::Live,
        ),
    ];
    candidates
        .into_iter()
        .filter(|(_, changed, _)| *changed)
        .map(|(key, _, effect)| SettingChange {
            key: key.to_string(),
            effect,
        })
        .collect()
}
