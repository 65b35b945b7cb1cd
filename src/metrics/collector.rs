//! The `/metrics` page: a [`Snapshot`] taken at scrape time, rendered in the
//! Prometheus (OpenMetrics) text format.
//!
//! Data flow: the scrape handler asks the speaker once for its neighbors and
//! once for its RIB counts, and the kernel synchronizer once for its status
//! (nothing is updated per event). Those answers form a [`Snapshot`], which
//! this module makes a prometheus-client [`Collector`]: [`render`] registers it in a fresh
//! registry and encodes it. Every metric, its labels and its meaning is listed
//! in `docs/metrics.md`; a test keeps the two in step.
//!
//! Order is deterministic: neighbors by address, families by their order,
//! the six states in RFC 4271 order.

use std::collections::BTreeMap;
use std::fmt;

use bgp::rib::{FamilyCounts, RibCounts};
use bgp::session::State;
use bgp::wire::Family;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::snapshot::{FibSnapshot, NeighborSnapshot, Snapshot};

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The six FSM states (RFC 4271 §8.2.2), one gauge each per neighbor.
const STATES: [State; 6] = [
    State::Idle,
    State::Connect,
    State::Active,
    State::OpenSent,
    State::OpenConfirm,
    State::Established,
];

/// Label pairs of one sample, in output order.
type Labels = Vec<(&'static str, String)>;

/// Counter or gauge: the only two kinds podroute exports besides build info.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// Renders `snapshot` as an OpenMetrics text exposition (ending in `# EOF`).
pub fn render(snapshot: Snapshot) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        encode_process(&mut encoder, self)?;
        encode_neighbors(&mut encoder, &self.neighbors)?;
        encode_rib(&mut encoder, &self.rib)?;
        encode_propagation(&mut encoder, &self.propagation)?;
        encode_fib(&mut encoder, &self.fib)
    }
}

/// `podroute_update_propagation_seconds`: from an UPDATE's arrival to the
/// re-advertisement it caused (prometheus-client takes per-bucket counts and
/// makes them cumulative; `f64::MAX` is its `+Inf`).
fn encode_propagation(
    encoder: &mut DescriptorEncoder<'_>,
    histogram: &bgp::speaker::status::LatencyHistogram,
) -> Result<(), fmt::Error> {
    let mut metric = encoder.encode_descriptor(
        "podroute_update_propagation_seconds",
        "Time from an UPDATE's arrival to the re-advertisement it caused.",
        None,
        MetricType::Histogram,
    )?;
    let buckets: Vec<(f64, u64)> = histogram
        .bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::MAX))
        .zip(histogram.counts.iter().copied())
        .collect();
    metric.encode_histogram::<NoLabelSet>(histogram.sum_seconds, histogram.count, &buckets, None)
}

fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
    }
}

fn value(metric: &mut MetricEncoder<'_>, kind: Kind, value: u64) -> Result<(), fmt::Error> {
    match kind {
        Kind::Counter => metric.encode_counter::<NoLabelSet, u64, f64>(&value, None),
        Kind::Gauge => metric.encode_gauge(&value),
    }
}

/// Writes one metric family: its descriptor, then one sample per label set.
/// Counter names get the `_total` suffix from the encoder.
fn family(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: Kind,
    samples: &[(Labels, u64)],
) -> Result<(), fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type(kind))?;
    for (labels, number) in samples {
        value(&mut metric.encode_family(labels)?, kind, *number)?;
    }
    Ok(())
}

/// A family with a single unlabelled sample.
fn single(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: Kind,
    number: u64,
) -> Result<(), fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type(kind))?;
    value(&mut metric, kind, number)
}

fn encode_process(
    encoder: &mut DescriptorEncoder<'_>,
    snapshot: &Snapshot,
) -> Result<(), fmt::Error> {
    let mut info = encoder.encode_descriptor(
        "podroute_build",
        "podroute's version; the value is always 1.",
        None,
        MetricType::Info,
    )?;
    info.encode_info(&vec![("version", snapshot.version.clone())])?;
    single(
        encoder,
        "podroute_process_start_time_seconds",
        "When the daemon started, seconds since the Unix epoch.",
        Kind::Gauge,
        snapshot.start_time_unix_seconds,
    )?;
    single(
        encoder,
        "podroute_log_lines_dropped",
        "Log lines dropped because the log writer fell behind (stderr slower than the daemon logs).",
        Kind::Counter,
        snapshot.log_lines_dropped,
    )
}

/// `neighbor` and `remote_asn` labels; a dynamic neighbor whose OPEN has not
/// arrived has an empty `remote_asn`.
fn neighbor_labels(neighbor: &NeighborSnapshot) -> Labels {
    vec![
        ("neighbor", neighbor.address.to_string()),
        (
            "remote_asn",
            neighbor
                .remote_asn
                .map(|asn| asn.to_string())
                .unwrap_or_default(),
        ),
    ]
}

/// One sample per neighbor, `value` picking the number.
fn per_neighbor(
    neighbors: &[&NeighborSnapshot],
    value: impl Fn(&NeighborSnapshot) -> u64,
) -> Vec<(Labels, u64)> {
    neighbors
        .iter()
        .map(|neighbor| (neighbor_labels(neighbor), value(neighbor)))
        .collect()
}

fn encode_neighbors(
    encoder: &mut DescriptorEncoder<'_>,
    neighbors: &[NeighborSnapshot],
) -> Result<(), fmt::Error> {
    let mut sorted: Vec<&NeighborSnapshot> = neighbors.iter().collect();
    sorted.sort_by_key(|neighbor| neighbor.address);

    let mut states = Vec::with_capacity(sorted.len().saturating_mul(STATES.len()));
    for neighbor in &sorted {
        for state in STATES {
            let name = state.to_string();
            let current = u64::from(neighbor.state == name);
            let mut labels = neighbor_labels(neighbor);
            labels.push(("state", name));
            states.push((labels, current));
        }
    }
    family(
        encoder,
        "podroute_neighbor_state",
        "1 for the session's current RFC 4271 state, 0 for the other five.",
        Kind::Gauge,
        &states,
    )?;
    family(
        encoder,
        "podroute_neighbor_established_seconds",
        "Seconds since the session reached Established (0 when it is not).",
        Kind::Gauge,
        &per_neighbor(&sorted, |neighbor| neighbor.established_seconds),
    )?;
    family(
        encoder,
        "podroute_neighbor_flaps",
        "Times the session left Established.",
        Kind::Counter,
        &per_neighbor(&sorted, |neighbor| neighbor.flaps),
    )?;
    for (name, help, received) in [
        (
            "podroute_neighbor_messages_received",
            "BGP messages received from the neighbor, by type.",
            true,
        ),
        (
            "podroute_neighbor_messages_sent",
            "BGP messages sent to the neighbor, by type.",
            false,
        ),
    ] {
        let mut samples = Vec::new();
        for neighbor in &sorted {
            let counts = if received {
                neighbor.messages_received
            } else {
                neighbor.messages_sent
            };
            for (kind, value) in [
                ("open", counts.open),
                ("update", counts.update),
                ("notification", counts.notification),
                ("keepalive", counts.keepalive),
                ("route_refresh", counts.route_refresh),
            ] {
                let mut labels = neighbor_labels(neighbor);
                labels.push(("type", kind.to_owned()));
                samples.push((labels, value));
            }
        }
        family(encoder, name, help, Kind::Counter, &samples)?;
    }
    family(
        encoder,
        "podroute_neighbor_prefixes_received",
        "Prefixes the neighbor announced that we hold, before import policy.",
        Kind::Gauge,
        &per_neighbor(&sorted, |neighbor| neighbor.prefixes_received),
    )?;
    family(
        encoder,
        "podroute_neighbor_prefixes_accepted",
        "Prefixes from the neighbor that import policy accepted.",
        Kind::Gauge,
        &per_neighbor(&sorted, |neighbor| neighbor.prefixes_accepted),
    )?;
    family(
        encoder,
        "podroute_neighbor_prefixes_advertised",
        "Prefixes we advertise to the neighbor.",
        Kind::Gauge,
        &per_neighbor(&sorted, |neighbor| neighbor.prefixes_advertised),
    )?;
    family(
        encoder,
        "podroute_neighbor_stale_routes",
        "Routes of the neighbor kept, stale, while it restarts (RFC 4724).",
        Kind::Gauge,
        &per_neighbor(&sorted, |neighbor| neighbor.stale_routes),
    )
}

fn encode_rib(encoder: &mut DescriptorEncoder<'_>, rib: &RibCounts) -> Result<(), fmt::Error> {
    // Both unicast families always appear, so an empty table reads 0
    // rather than vanishing from dashboards.
    let mut families: BTreeMap<Family, FamilyCounts> = BTreeMap::new();
    families.insert(Family::IPV4_UNICAST, FamilyCounts::default());
    families.insert(Family::IPV6_UNICAST, FamilyCounts::default());
    families.extend(
        rib.families
            .iter()
            .map(|(family, counts)| (*family, *counts)),
    );
    let samples = |value: fn(&FamilyCounts) -> u64| -> Vec<(Labels, u64)> {
        families
            .iter()
            .map(|(family, counts)| (vec![("family", family.to_string())], value(counts)))
            .collect()
    };
    family(
        encoder,
        "podroute_rib_prefixes",
        "Prefixes in the Loc-RIB with at least one path, by family.",
        Kind::Gauge,
        &samples(|counts| counts.prefixes),
    )?;
    family(
        encoder,
        "podroute_rib_paths",
        "Paths in the Loc-RIB (every source, every path id), by family.",
        Kind::Gauge,
        &samples(|counts| counts.paths),
    )?;
    single(
        encoder,
        "podroute_rib_attribute_sets",
        "Distinct interned path attribute sets shared by the RIB's paths.",
        Kind::Gauge,
        rib.attribute_sets,
    )
}

fn count(length: usize) -> u64 {
    u64::try_from(length).unwrap_or(u64::MAX)
}

fn encode_fib(encoder: &mut DescriptorEncoder<'_>, fib: &FibSnapshot) -> Result<(), fmt::Error> {
    single(
        encoder,
        "podroute_fib_enabled",
        "1 when podroute programs the kernel FIB ([fib] enabled).",
        Kind::Gauge,
        u64::from(!matches!(fib, FibSnapshot::Disabled)),
    )?;
    let status = match fib {
        FibSnapshot::Disabled => return Ok(()),
        FibSnapshot::Stopped => None,
        FibSnapshot::Running(status) => Some(status),
    };
    single(
        encoder,
        "podroute_fib_synchronizer_up",
        "1 when the kernel synchronizer task answered this scrape.",
        Kind::Gauge,
        u64::from(status.is_some()),
    )?;
    let Some(status) = status else {
        return Ok(());
    };
    for (name, help, value) in [
        (
            "podroute_fib_routes_installed",
            "Routes of ours in the kernel.",
            count(status.installed.len()),
        ),
        (
            "podroute_fib_routes_failed",
            "Prefixes whose desired route is not installed (being retried).",
            count(status.failed.len()),
        ),
        (
            "podroute_fib_routes_conflicted",
            "Prefixes held by another protocol's route, left untouched.",
            count(status.conflicts.len()),
        ),
        (
            "podroute_fib_routes_pending",
            "Prefixes waiting to be evaluated and programmed.",
            count(status.pending),
        ),
        (
            "podroute_fib_initial_sweep_done",
            "1 once stale routes from before the start have been swept (RFC 4724 §4.2).",
            u64::from(status.initial_sweep_done),
        ),
    ] {
        single(encoder, name, help, Kind::Gauge, value)?;
    }
    let counters = &status.counters;
    for (name, help, value) in [
        (
            "podroute_fib_installs",
            "Routes installed or replaced successfully.",
            counters.installs,
        ),
        (
            "podroute_fib_removals",
            "Routes removed successfully.",
            counters.removals,
        ),
        (
            "podroute_fib_failures",
            "Kernel operations that failed (each is retried).",
            counters.failures,
        ),
        (
            "podroute_fib_conflicts",
            "Installs refused because another protocol's route holds the prefix.",
            counters.conflicts,
        ),
        (
            "podroute_fib_drift_repairs",
            "Routes put back or taken away after someone else changed them.",
            counters.drift_repairs,
        ),
        (
            "podroute_fib_sweeps",
            "Sweeps of stale routes left from before the start.",
            counters.sweeps,
        ),
        (
            "podroute_fib_resyncs",
            "Full re-reads of our kernel routes after lost route events.",
            counters.resyncs,
        ),
        (
            "podroute_fib_adopted",
            "Routes of ours found in the kernel at start.",
            counters.adopted,
        ),
        (
            "podroute_fib_batches",
            "Batches of kernel operations applied.",
            counters.batches,
        ),
        (
            "podroute_fib_gateway_failovers",
            "Gateways taken out of every nexthop group at once after their last route went.",
            counters.gateway_failovers,
        ),
    ] {
        single(encoder, name, help, Kind::Counter, value)?;
    }
    Ok(())
}
