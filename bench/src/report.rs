//! Turning runs into tables: every measurement of a scenario is kept, and
//! each daemon's line shows the median with the spread (min–max) and its
//! ratios to the best daemon and to the calibration run.
//!
//! Data flow: the harness builds one [`Measurement`] per run from the roles'
//! timestamps and two [`Sample`]s of the daemon; [`ScenarioReport::add`]
//! files it under the daemon's name (a `BTreeMap`, so the table order is
//! fixed); [`ScenarioReport::markdown`] renders the table for RESULTS.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::measure::Sample;

/// Name under which the calibration runs are filed.
pub const CALIBRATION: &str = "calibration (no daemon)";

/// One run of one daemon (or of the calibration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// Whether the sink saw every expected route.
    pub complete: bool,
    /// First prefix sent to last prefix received, seconds.
    pub wall_seconds: f64,
    /// The daemon's user+system CPU during the run, seconds.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory of the daemon's processes, MiB.
    pub peak_mib: Option<f64>,
    /// Resident memory before the routes arrived, MiB.
    pub baseline_mib: Option<f64>,
}

impl Measurement {
    /// A run with no daemon in the path.
    pub fn without_daemon(complete: bool, first_byte_ns: u64, complete_ns: u64) -> Measurement {
        Measurement {
            complete,
            wall_seconds: seconds_between(first_byte_ns, complete_ns),
            cpu_seconds: None,
            peak_mib: None,
            baseline_mib: None,
        }
    }

    /// A run through a daemon sampled `before` and `after`.
    pub fn of_daemon(
        complete: bool,
        first_byte_ns: u64,
        complete_ns: u64,
        before: Sample,
        after: Sample,
        ticks_per_second: u64,
    ) -> Measurement {
        let ticks = after.cpu_ticks.saturating_sub(before.cpu_ticks);
        Measurement {
            complete,
            wall_seconds: seconds_between(first_byte_ns, complete_ns),
            cpu_seconds: Some(ticks as f64 / ticks_per_second.max(1) as f64),
            peak_mib: Some(after.peak_kib as f64 / 1024.0),
            baseline_mib: Some(before.rss_kib as f64 / 1024.0),
        }
    }
}

fn seconds_between(start_ns: u64, end_ns: u64) -> f64 {
    end_ns.saturating_sub(start_ns) as f64 / 1e9
}

/// Every run of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// What was measured, in words.
    pub title: String,
    /// Routes in the scenario (for bytes per route).
    pub routes: u64,
    /// Client count, for route reflection.
    pub clients: Option<u32>,
    /// Runs by daemon name.
    pub runs: BTreeMap<String, Vec<Measurement>>,
    /// The line the last column divides by, when not the calibration (the
    /// kernel's batched-netlink ceiling in scenario 2).
    #[serde(default)]
    pub reference: Option<String>,
}

/// Merges reports of the same table (same title and routes) from several
/// runs of the harness: their runs are pooled by daemon, in the order the
/// files were given; tables keep the order in which they first appear.
pub fn merge(reports: Vec<ScenarioReport>) -> Vec<ScenarioReport> {
    let mut merged: Vec<ScenarioReport> = Vec::new();
    for report in reports {
        let same = merged
            .iter_mut()
            .find(|known| known.title == report.title && known.routes == report.routes);
        match same {
            Some(known) => {
                for (daemon, runs) in report.runs {
                    known.runs.entry(daemon).or_default().extend(runs);
                }
                if known.reference.is_none() {
                    known.reference = report.reference;
                }
            }
            None => merged.push(report),
        }
    }
    merged
}

/// Lines that measure no daemon (calibration, kernel ceilings): never "best".
fn is_reference_line(name: &str) -> bool {
    name == CALIBRATION || name.starts_with("ceiling")
}

/// Median and spread of one quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Smallest value.
    pub minimum: f64,
    /// Largest value.
    pub maximum: f64,
}

/// Median, minimum and maximum of `values`; `None` when empty.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    let middle = count / 2;
    let median = if count % 2 == 1 {
        *sorted.get(middle)?
    } else {
        (sorted.get(middle.checked_sub(1)?)? + sorted.get(middle)?) / 2.0
    };
    Some(Spread {
        median,
        minimum: *sorted.first()?,
        maximum: *sorted.last()?,
    })
}

impl ScenarioReport {
    /// An empty report.
    pub fn new(title: String, routes: u64) -> ScenarioReport {
        ScenarioReport {
            title,
            routes,
            clients: None,
            runs: BTreeMap::new(),
            reference: None,
        }
    }

    /// Files one run.
    pub fn add(&mut self, daemon: &str, measurement: Measurement) {
        self.runs
            .entry(daemon.to_string())
            .or_default()
            .push(measurement);
    }

    /// The median of one quantity for `daemon`.
    pub fn median(&self, daemon: &str, quantity: fn(&Measurement) -> Option<f64>) -> Option<f64> {
        let values: Vec<f64> = self.runs.get(daemon)?.iter().filter_map(quantity).collect();
        spread(&values).map(|spread| spread.median)
    }

    /// The best daemon's median, over complete runs only: a run that gave
    /// up is no one's best.
    fn best(&self, quantity: fn(&Measurement) -> Option<f64>) -> Option<f64> {
        self.runs
            .iter()
            .filter(|(name, _)| !is_reference_line(name))
            .filter_map(|(_, runs)| {
                let values: Vec<f64> = runs
                    .iter()
                    .filter(|m| m.complete)
                    .filter_map(quantity)
                    .collect();
                spread(&values).map(|spread| spread.median)
            })
            .min_by(f64::total_cmp)
    }

    /// The table for RESULTS.md.
    pub fn markdown(&self) -> String {
        let wall = |m: &Measurement| Some(m.wall_seconds);
        let cpu = |m: &Measurement| m.cpu_seconds;
        let peak = |m: &Measurement| m.peak_mib;
        let routes = self.routes.max(1) as f64;
        let bytes_per_route = move |m: &Measurement| {
            Some((m.peak_mib? - m.baseline_mib?).max(0.0) * 1024.0 * 1024.0 / routes)
        };
        let best_wall = self.best(wall);
        let best_cpu = self.best(cpu);
        let best_peak = self.best(peak);
        let (reference_name, reference_label) = match &self.reference {
            Some(name) => (name.as_str(), "ceiling"),
            None => (CALIBRATION, "calibration"),
        };
        let calibration = self.median(reference_name, wall);
        let mut text = format!("### {}\n\n", self.title);
        let _ = writeln!(
            text,
            "| daemon | runs (complete) | wall s, median (min–max) | CPU s | peak MiB | bytes/route above idle | wall ÷ best | CPU ÷ best | peak ÷ best | wall ÷ {reference_label} |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for (name, runs) in &self.runs {
            let complete = runs.iter().filter(|m| m.complete).count();
            let cell = |quantity: fn(&Measurement) -> Option<f64>, digits: usize| {
                let values: Vec<f64> = runs.iter().filter_map(quantity).collect();
                match spread(&values) {
                    Some(s) if values.len() > 1 => format!(
                        "{:.digits$} ({:.digits$}–{:.digits$})",
                        s.median, s.minimum, s.maximum
                    ),
                    Some(s) => format!("{:.digits$}", s.median),
                    None => "—".into(),
                }
            };
            let ratio = |value: Option<f64>, best: Option<f64>| match (value, best) {
                (Some(value), Some(best)) if best > 0.0 => format!("{:.2}", value / best),
                _ => "—".into(),
            };
            let byte_values: Vec<f64> = runs.iter().filter_map(bytes_per_route).collect();
            let bytes = spread(&byte_values).map_or("—".into(), |s| format!("{:.0}", s.median));
            let own_wall = if complete == 0 {
                None
            } else {
                self.median(name, wall)
            };
            let _ = writeln!(
                text,
                "| {name} | {} ({complete}) | {} | {} | {} | {bytes} | {} | {} | {} | {} |",
                runs.len(),
                if complete == 0 {
                    "incomplete".to_string()
                } else {
                    cell(wall, 3)
                },
                cell(cpu, 2),
                cell(peak, 1),
                if is_reference_line(name) {
                    "—".into()
                } else {
                    ratio(own_wall, best_wall)
                },
                ratio(self.median(name, cpu), best_cpu),
                ratio(self.median(name, peak), best_peak),
                ratio(own_wall, calibration),
            );
        }
        text
    }
}

/// Scenario 3's chart data: each daemon's (clients, median wall seconds of
/// its complete runs), from every report that has a client count.
pub fn reflection_lines(reports: &[ScenarioReport]) -> BTreeMap<String, Vec<(u32, f64)>> {
    let mut lines: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    for report in reports {
        let Some(clients) = report.clients else {
            continue;
        };
        for (name, runs) in &report.runs {
            // A daemon that never completed has no point at this count.
            let complete: Vec<f64> = runs
                .iter()
                .filter(|m| m.complete)
                .map(|m| m.wall_seconds)
                .collect();
            if let Some(seconds) = spread(&complete).map(|spread| spread.median) {
                lines
                    .entry(name.clone())
                    .or_default()
                    .push((clients, seconds));
            }
        }
    }
    // Merged files may list the client counts in any order.
    for points in lines.values_mut() {
        points.sort_by_key(|(clients, _)| *clients);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_pools_the_runs_of_the_same_table() {
        let run = |seconds: f64| Measurement::without_daemon(true, 0, (seconds * 1e9) as u64);
        let mut first = ScenarioReport::new("reflection 500".into(), 8000);
        first.clients = Some(500);
        first.add("bird", run(2.0));
        first.add("podroute", run(1.0));
        let mut other = ScenarioReport::new("storm".into(), 16000);
        other.add("bird", run(9.0));
        let mut second = ScenarioReport::new("reflection 500".into(), 8000);
        second.clients = Some(500);
        second.add("gobgp", run(150.0));
        second.add("podroute", run(3.0));
        let mut smaller = ScenarioReport::new("reflection 100".into(), 1600);
        smaller.clients = Some(100);
        smaller.add("podroute", run(0.5));
        let merged = merge(vec![first, other, second, smaller]);
        let titles: Vec<&str> = merged.iter().map(|report| report.title.as_str()).collect();
        assert_eq!(titles, vec!["reflection 500", "storm", "reflection 100"]);
        let runs = &merged[0].runs;
        assert_eq!(runs["podroute"].len(), 2);
        assert_eq!(runs["gobgp"].len(), 1);
        assert_eq!(runs["bird"].len(), 1);
        assert_eq!(
            merged[0].median("podroute", |m| Some(m.wall_seconds)),
            Some(2.0)
        );
        let lines = reflection_lines(&merged);
        assert_eq!(lines["podroute"], vec![(100, 0.5), (500, 2.0)]);
    }

    #[test]
    fn spread_takes_the_middle() {
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.minimum, s.maximum), (2.0, 1.0, 3.0));
        assert_eq!(spread(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(spread(&[]).is_none());
    }

    #[test]
    fn table_ratios_are_to_the_best_daemon() {
        let mut report = ScenarioReport::new("t".into(), 1000);
        let sample = |cpu_ticks, rss_kib, peak_kib| Sample {
            cpu_ticks,
            rss_kib,
            peak_kib,
        };
        report.add(
            CALIBRATION,
            Measurement::without_daemon(true, 0, 500_000_000),
        );
        report.add(
            "fast",
            Measurement::of_daemon(
                true,
                0,
                1_000_000_000,
                sample(0, 1024, 1024),
                sample(100, 0, 2048),
                100,
            ),
        );
        report.add(
            "slow",
            Measurement::of_daemon(
                true,
                0,
                3_000_000_000,
                sample(0, 1024, 1024),
                sample(300, 0, 4096),
                100,
            ),
        );
        let table = report.markdown();
        assert!(
            table.contains(
                "| fast | 1 (1) | 1.000 | 1.00 | 2.0 | 1049 | 1.00 | 1.00 | 1.00 | 2.00 |"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "| slow | 1 (1) | 3.000 | 3.00 | 4.0 | 3146 | 3.00 | 3.00 | 2.00 | 6.00 |"
            ),
            "{table}"
        );
        // A run that gave up is never the best, and shows no wall time.
        report.add(
            "stuck",
            Measurement::of_daemon(false, 0, 0, sample(0, 1024, 1024), sample(50, 0, 2048), 100),
        );
        let table = report.markdown();
        assert!(
            table.contains(
                "| stuck | 1 (0) | incomplete | 0.50 | 2.0 | 1049 | — | 0.50 | 1.00 | — |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| fast | 1 (1) | 1.000 | 1.00 | 2.0 | 1049 | 1.00 |"),
            "{table}"
        );
    }
}
