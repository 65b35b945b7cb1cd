//! Measuring a daemon from outside, through the host's /proc: nothing here
//! talks to the daemon, so measuring costs it no CPU.
//!
//! Data flow: [`daemon_pids`] asks Docker which host pids inside the
//! container carry the daemon's command names; [`sample`] sums, over those
//! pids, user+system CPU ticks (`/proc/PID/stat` fields 14 and 15) and the
//! resident set now and at its peak (`VmRSS`, `VmHWM` in
//! `/proc/PID/status`); [`settled`] samples until the CPU counter stops
//! moving, so work a daemon finishes after the sink is complete still counts.

use std::time::{Duration, Instant};

use crate::error::{BenchError, Result, io_context};

/// CPU and memory of a daemon's processes at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident memory now, KiB.
    pub rss_kib: u64,
    /// Peak resident memory since start, KiB.
    pub peak_kib: u64,
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 if it cannot be read.
pub fn clock_ticks_per_second() -> u64 {
    interop::command::run("getconf", &["CLK_TCK"])
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

/// Host pids of the processes in `container` whose command is one of `names`.
pub fn daemon_pids(container: &str, names: &[&str]) -> Result<Vec<u32>> {
    let listing = interop::command::run("docker", &["top", container, "-eo", "pid,comm"])?;
    Ok(parse_top(&listing, names))
}

/// Reads `docker top -eo pid,comm` output.
fn parse_top(listing: &str, names: &[&str]) -> Vec<u32> {
    let mut pids: Vec<u32> = listing
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let pid = fields.next()?.parse().ok()?;
            let command = fields.next()?;
            names.contains(&command).then_some(pid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Sums CPU and memory over `pids`.
pub fn sample(pids: &[u32]) -> Result<Sample> {
    let mut total = Sample::default();
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(io_context(format!("reading /proc/{pid}/stat")))?;
        total.cpu_ticks += cpu_ticks(&stat)
            .ok_or_else(|| BenchError::Other(format!("cannot parse /proc/{pid}/stat")))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(io_context(format!("reading /proc/{pid}/status")))?;
        total.rss_kib += status_kib(&status, "VmRSS:").unwrap_or(0);
        total.peak_kib += status_kib(&status, "VmHWM:").unwrap_or(0);
    }
    Ok(total)
}

/// Samples every 250 ms until the CPU counter stays still for two samples
/// in a row, or `bound` passes; returns the last sample.
pub fn settled(pids: &[u32], bound: Duration) -> Result<Sample> {
    let deadline = Instant::now() + bound;
    let mut last = sample(pids)?;
    let mut still = 0;
    while still < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let next = sample(pids)?;
        still = if next.cpu_ticks == last.cpu_ticks {
            still + 1
        } else {
            0
        };
        last = next;
    }
    Ok(last)
}

/// utime + stime from a `/proc/PID/stat` line. The command name may hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is the first after the name; utime is field 14.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let stat = "4242 (bgp d) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 750 125 0 0 20 0 9 0";
        assert_eq!(cpu_ticks(stat), Some(875));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_values_and_top_listing_are_read() {
        let status = "Name:\tbird\nVmHWM:\t   49152 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(49152));
        assert_eq!(status_kib(status, "VmRSS:"), Some(40960));
        let top = "PID                 COMMAND\n900                 tini\n955                 bgpd\n951                 zebra\n";
        assert_eq!(parse_top(top, &["bgpd", "zebra"]), vec![951, 955]);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let own = sample(&[std::process::id()]).unwrap();
        assert!(own.peak_kib >= own.rss_kib && own.rss_kib > 0);
    }
}
