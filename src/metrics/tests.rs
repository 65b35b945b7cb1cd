//! The collector rendered from made-up statuses: names, labels, values,
//! order, and agreement with the table in `docs/metrics.md`.

use std::collections::BTreeSet;

use bgp::rib::{FamilyCounts, RibCounts};
use bgp::speaker::status::MessageCountView;
use bgp::wire::Family;

use super::collector::render;
use super::snapshot::{FibSnapshot, NeighborSnapshot, Snapshot};
use crate::kernel::status::{ConflictedRoute, FailedRoute, FibStatus, InstalledRoute};
use crate::kernel::synchronizer::Counters;

/// A configured iBGP neighbor in `state`, with zero counters.
pub(super) fn neighbor(address: &str, state: &str) -> NeighborSnapshot {
    NeighborSnapshot {
        address: address
            .parse()
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()),
        remote_asn: Some(64512),
        state: state.into(),
        established_seconds: 0,
        flaps: 0,
        messages_received: MessageCountView::default(),
        messages_sent: MessageCountView::default(),
        prefixes_received: 0,
        prefixes_accepted: 0,
        prefixes_advertised: 0,
        stale_routes: 0,
        dynamic: false,
        shutdown: false,
    }
}

fn prefix(text: &str) -> ipnetwork::IpNetwork {
    text.parse()
        .unwrap_or(ipnetwork::IpNetwork::V4(ipnetwork::Ipv4Network::from(
            std::net::Ipv4Addr::UNSPECIFIED,
        )))
}

fn fib_status() -> FibStatus {
    FibStatus {
        initial_sweep_done: true,
        installed: vec![
            InstalledRoute {
                prefix: prefix("198.19.1.0/24"),
                kind: fib::RouteKind::Blackhole,
                next_hops: Vec::new(),
                since_unix_seconds: 0,
                stale: false,
                nexthop_object: None,
            },
            InstalledRoute {
                prefix: prefix("198.19.2.0/24"),
                kind: fib::RouteKind::Blackhole,
                next_hops: Vec::new(),
                since_unix_seconds: 0,
                stale: false,
                nexthop_object: None,
            },
        ],
        failed: vec![FailedRoute {
            prefix: prefix("198.19.3.0/24"),
            error: "next hop 198.18.0.9 unresolvable".into(),
            attempts: 2,
            next_retry_seconds: None,
        }],
        conflicts: vec![ConflictedRoute {
            prefix: prefix("198.19.4.0/24"),
            foreign_protocol: 4,
            attempts: 1,
            next_check_seconds: Some(30),
        }],
        pending: 7,
        counters: Counters {
            installs: 11,
            removals: 12,
            failures: 13,
            conflicts: 14,
            drift_repairs: 15,
            sweeps: 1,
            resyncs: 16,
            adopted: 17,
            batches: 18,
            gateway_failovers: 19,
        },
    }
}

/// Two neighbors (given out of address order, one dynamic without an AS
/// yet), IPv4 routes only, the FIB running.
fn full_snapshot() -> Snapshot {
    let mut established = neighbor("198.18.0.3", "Established");
    established.established_seconds = 42;
    established.flaps = 3;
    established.prefixes_received = 10;
    established.prefixes_accepted = 9;
    established.prefixes_advertised = 8;
    established.messages_received = MessageCountView {
        open: 1,
        update: 20,
        notification: 2,
        keepalive: 30,
        route_refresh: 4,
    };
    established.messages_sent = MessageCountView {
        open: 1,
        update: 21,
        notification: 0,
        keepalive: 31,
        route_refresh: 0,
    };
    let mut dynamic = neighbor("198.18.0.2", "OpenSent");
    dynamic.remote_asn = None;
    dynamic.dynamic = true;
    let mut rib = RibCounts::default();
    rib.families.insert(
        Family::IPV4_UNICAST,
        FamilyCounts {
            prefixes: 100,
            paths: 150,
        },
    );
    rib.attribute_sets = 5;
    Snapshot {
        neighbors: vec![established, dynamic],
        rib,
        fib: FibSnapshot::Running(Box::new(fib_status())),
        propagation: {
            let mut histogram = bgp::speaker::status::LatencyHistogram::for_propagation();
            histogram.observe(0.003);
            histogram
        },
        start_time_unix_seconds: 1_700_000_000,
        log_lines_dropped: 4,
        version: "9.8.7".into(),
    }
}

fn rendered(snapshot: Snapshot) -> String {
    match render(snapshot) {
        Ok(text) => text,
        Err(error) => panic!("render failed: {error}"),
    }
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|candidate| candidate == line)
}

/// Metric names of the sample lines (not `#` comments).
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// Names in the first column of `docs/metrics.md`'s tables, between backticks.
fn documented_names() -> BTreeSet<String> {
    include_str!("../../docs/metrics.md")
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| name.starts_with("podroute_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn neighbor_metrics_carry_labels_and_values() {
    let text = rendered(full_snapshot());
    const LABELS: &str = r#"neighbor="198.18.0.3",remote_asn="64512""#;
    for line in [
        format!(r#"podroute_neighbor_state{{{LABELS},state="Established"}} 1"#),
        format!(r#"podroute_neighbor_state{{{LABELS},state="Idle"}} 0"#),
        format!(r#"podroute_neighbor_state{{{LABELS},state="OpenSent"}} 0"#),
        format!("podroute_neighbor_established_seconds{{{LABELS}}} 42"),
        format!("podroute_neighbor_flaps_total{{{LABELS}}} 3"),
        format!(r#"podroute_neighbor_messages_received_total{{{LABELS},type="update"}} 20"#),
        format!(r#"podroute_neighbor_messages_received_total{{{LABELS},type="route_refresh"}} 4"#),
        format!(r#"podroute_neighbor_messages_sent_total{{{LABELS},type="keepalive"}} 31"#),
        format!("podroute_neighbor_prefixes_received{{{LABELS}}} 10"),
        format!("podroute_neighbor_prefixes_accepted{{{LABELS}}} 9"),
        format!("podroute_neighbor_prefixes_advertised{{{LABELS}}} 8"),
        r#"podroute_neighbor_state{neighbor="198.18.0.2",remote_asn="",state="OpenSent"} 1"#.into(),
    ] {
        assert!(has(&text, &line), "missing {line:?} in\n{text}");
    }
    let state_lines = text
        .lines()
        .filter(|line| line.starts_with("podroute_neighbor_state{"))
        .count();
    assert_eq!(state_lines, 12, "six states for each of two neighbors");
}

#[test]
fn neighbors_come_in_address_order() {
    let text = rendered(full_snapshot());
    let first_two = text.find(r#"neighbor="198.18.0.2""#);
    let first_three = text.find(r#"neighbor="198.18.0.3""#);
    assert!(first_two.is_some() && first_three.is_some());
    assert!(first_two < first_three, "{text}");
}

#[test]
fn rib_fib_and_process_metrics() {
    let text = rendered(full_snapshot());
    for line in [
        r#"podroute_rib_prefixes{family="ipv4-unicast"} 100"#,
        r#"podroute_rib_paths{family="ipv4-unicast"} 150"#,
        r#"podroute_rib_prefixes{family="ipv6-unicast"} 0"#,
        "podroute_rib_attribute_sets 5",
        "podroute_fib_enabled 1",
        "podroute_fib_synchronizer_up 1",
        "podroute_fib_routes_installed 2",
        "podroute_fib_routes_failed 1",
        "podroute_fib_routes_conflicted 1",
        "podroute_fib_routes_pending 7",
        "podroute_fib_initial_sweep_done 1",
        "podroute_fib_installs_total 11",
        "podroute_fib_removals_total 12",
        "podroute_fib_failures_total 13",
        "podroute_fib_conflicts_total 14",
        "podroute_fib_drift_repairs_total 15",
        "podroute_fib_sweeps_total 1",
        "podroute_fib_resyncs_total 16",
        "podroute_fib_adopted_total 17",
        "podroute_fib_batches_total 18",
        "podroute_fib_gateway_failovers_total 19",
        "podroute_process_start_time_seconds 1700000000",
        "podroute_log_lines_dropped_total 4",
        r#"podroute_build_info{version="9.8.7"} 1"#,
        "# TYPE podroute_neighbor_flaps counter",
        "# TYPE podroute_rib_prefixes gauge",
    ] {
        assert!(has(&text, line), "missing {line:?} in\n{text}");
    }
    assert_eq!(text.lines().last(), Some("# EOF"));
}

#[test]
fn a_disabled_fib_shows_only_that_it_is_disabled() {
    let mut snapshot = full_snapshot();
    snapshot.fib = FibSnapshot::Disabled;
    let text = rendered(snapshot);
    assert!(has(&text, "podroute_fib_enabled 0"), "{text}");
    let fib_names: Vec<String> = sample_names(&text)
        .into_iter()
        .filter(|name| name.starts_with("podroute_fib_"))
        .collect();
    assert_eq!(fib_names, ["podroute_fib_enabled"]);
}

#[test]
fn a_stopped_synchronizer_is_reported_without_its_numbers() {
    let mut snapshot = full_snapshot();
    snapshot.fib = FibSnapshot::Stopped;
    let text = rendered(snapshot);
    assert!(has(&text, "podroute_fib_enabled 1"), "{text}");
    assert!(has(&text, "podroute_fib_synchronizer_up 0"), "{text}");
    assert!(!text.contains("podroute_fib_routes_installed"), "{text}");
}

#[test]
fn no_neighbors_and_an_empty_rib_still_render() {
    let snapshot = Snapshot {
        neighbors: Vec::new(),
        rib: RibCounts::default(),
        fib: FibSnapshot::Disabled,
        propagation: bgp::speaker::status::LatencyHistogram::for_propagation(),
        start_time_unix_seconds: 0,
        log_lines_dropped: 0,
        version: "0.0.0".into(),
    };
    let text = rendered(snapshot);
    assert!(
        has(&text, r#"podroute_rib_paths{family="ipv6-unicast"} 0"#),
        "{text}"
    );
    assert!(!text.contains("podroute_neighbor_state{"), "{text}");
}

#[test]
fn the_documentation_lists_exactly_the_metrics_rendered() {
    let rendered_names = sample_names(&rendered(full_snapshot()));
    let documented = documented_names();
    let undocumented: Vec<&String> = rendered_names.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "add these to docs/metrics.md: {undocumented:?}"
    );
    let stale: Vec<&String> = documented.difference(&rendered_names).collect();
    assert!(
        stale.is_empty(),
        "docs/metrics.md lists metrics that are never rendered: {stale:?}"
    );
}
