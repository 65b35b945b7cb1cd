//! Continuous traffic across a cluster: a background `ping -i INTERVAL`
//! from a pod (or from a node itself) that runs while a test restarts
//! daemons, then is stopped and read back into a [`PingTally`].
//!
//! Flow: [`ContinuousPing::start`] runs `ping -D` (stamped replies) under `docker exec -d`
//! inside the source node, behind a shell that records its pid and sends
//! every line of output to a file in the node; [`ContinuousPing::stop`]
//! sends SIGINT to that pid (ping prints its summary), waits for it to
//! exit and parses the file with [`parse_ping_output`].
//!
//! Why replies are counted per sequence number as well as from ping's
//! summary: SIGINT can arrive while the last echo request is still in
//! flight, and ping then counts that one as lost although nothing was
//! dropped. [`PingTally::missing`] lists the sequence numbers without a
//! reply *before* the last answered one, which a stop cannot cause; the
//! tail after it is reported separately ([`PingTally::unanswered_tail`]).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::node::Node;

/// What one continuous ping saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PingTally {
    /// Echo requests sent (ping's summary).
    pub transmitted: u64,
    /// Echo replies received (ping's summary).
    pub received: u64,
    /// ICMP errors reported instead of replies (ping's `+N errors`).
    pub errors: u64,
    /// Duplicate replies (`DUP!` lines).
    pub duplicates: u64,
    /// The highest sequence number answered.
    pub last_answered: u64,
    /// Sequence numbers without a reply below [`PingTally::last_answered`]:
    /// packets really lost.
    pub missing: Vec<u64>,
    /// For each gap in the replies, the Unix time (ping's `-D` stamp) of
    /// the last reply before it, to line a loss up with a test's events.
    pub gaps_after: Vec<f64>,
}

impl PingTally {
    /// Requests after the last answered one that had no reply when ping
    /// was stopped (at most the one in flight when all went well).
    pub fn unanswered_tail(&self) -> u64 {
        self.transmitted.saturating_sub(self.last_answered)
    }

    /// Packets lost: requests without a reply, excluding the tail that was
    /// still in flight at the stop.
    pub fn lost(&self) -> u64 {
        u64::try_from(self.missing.len()).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Display for PingTally {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} sent, {} answered, {} lost, {} errors, {} duplicates, {} unanswered at the stop",
            self.transmitted,
            self.received,
            self.lost(),
            self.errors,
            self.duplicates,
            self.unanswered_tail()
        )
    }
}

/// Number after `key` in `text` (`"1200 packets transmitted"` with key
/// `" packets transmitted"` gives 1200): the word before the key.
fn count_before(text: &str, key: &str) -> Option<u64> {
    let end = text.find(key)?;
    text.get(..end)?
        .split([' ', ',', '+'])
        .rfind(|word| !word.is_empty())?
        .parse()
        .ok()
}

/// Parses iputils `ping -n` output: reply lines (`64 bytes from ...:
/// icmp_seq=12 ttl=63 time=0.1 ms`, `(DUP!)` for duplicates) and the
/// summary line.
pub fn parse_ping_output(text: &str) -> Result<PingTally> {
    let mut tally = PingTally::default();
    let mut answered = BTreeSet::new();
    let mut stamps: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    let mut summary_seen = false;
    for line in text.lines() {
        if line.contains("bytes from") {
            let sequence = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("icmp_seq="))
                .and_then(|number| number.parse::<u64>().ok());
            if let Some(sequence) = sequence {
                if line.contains("DUP!") {
                    tally.duplicates = tally.duplicates.saturating_add(1);
                } else {
                    answered.insert(sequence);
                    // `-D` prefixes each line with `[1700000000.123456]`.
                    let stamp = line
                        .strip_prefix('[')
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|stamp| stamp.parse::<f64>().ok());
                    if let Some(stamp) = stamp {
                        stamps.insert(sequence, stamp);
                    }
                }
            }
        } else if line.contains("packets transmitted") {
            summary_seen = true;
            tally.transmitted = count_before(line, " packets transmitted").unwrap_or(0);
            tally.received = count_before(line, " received").unwrap_or(0);
            tally.errors = count_before(line, " errors").unwrap_or(0);
        }
    }
    if !summary_seen {
        return Err(Error::Parse {
            what: "ping summary".into(),
            detail: text.lines().rev().take(5).collect::<Vec<_>>().join("\n"),
        });
    }
    tally.last_answered = answered.last().copied().unwrap_or(0);
    tally.missing = (1..tally.last_answered)
        .filter(|sequence| !answered.contains(sequence))
        .collect();
    tally.gaps_after = tally
        .missing
        .iter()
        .filter(|sequence| answered.contains(&sequence.saturating_sub(1)))
        .filter_map(|sequence| stamps.get(&sequence.saturating_sub(1)).copied())
        .collect();
    Ok(tally)
}

/// A ping running in the background inside a node.
#[derive(Debug, Clone)]
pub struct ContinuousPing {
    /// Where it runs.
    pub node: Node,
    /// `host/pod -> destination`, for reports.
    pub label: String,
    pid_file: String,
    output_file: String,
}

impl ContinuousPing {
    /// Starts `ping -n -i INTERVAL DESTINATION` inside `node`, in the
    /// network namespace `pod` when given (else in the node itself).
    /// `interval` is ping's text (`0.01`); below 0.2 s ping needs root,
    /// which lab containers are. `name` must be unique within the node.
    pub fn start(
        node: &Node,
        pod: Option<&str>,
        destination: Ipv4Addr,
        interval: &str,
        name: &str,
    ) -> Result<ContinuousPing> {
        let pid_file = format!("/run/ping-{name}.pid");
        let output_file = format!("/run/ping-{name}.out");
        let namespace = pod
            .map(|pod| format!("ip netns exec {pod} "))
            .unwrap_or_default();
        let script = format!(
            "rm -f {output_file}; echo $$ > {pid_file}; exec {namespace}ping -n -D -i {interval} {destination} > {output_file} 2>&1"
        );
        node.spawn(&["sh", "-c", &script])?;
        let ping = ContinuousPing {
            node: node.clone(),
            label: format!("{}/{} -> {destination}", node.name, pod.unwrap_or("(host)")),
            pid_file,
            output_file,
        };
        // The pid file exists once the shell ran: only then can stop find it.
        let mut attempts = 0;
        while ping.node.read_file(&ping.pid_file).trim().is_empty() {
            attempts += 1;
            if attempts > 50 {
                return Err(Error::Environment(format!(
                    "ping {} did not start",
                    ping.label
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(ping)
    }

    /// Output so far.
    pub fn output(&self) -> String {
        self.node.read_file(&self.output_file)
    }

    /// Stops the ping (SIGINT, so it prints its summary), waits for it to
    /// exit and returns what it saw.
    pub fn stop(&self) -> Result<PingTally> {
        let pid_file = &self.pid_file;
        self.node.shell(&format!(
            "pid=$(cat {pid_file}) || exit 1; kill -INT \"$pid\" 2>/dev/null; \
             for i in $(seq 100); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.05; done; rm -f {pid_file}"
        ))?;
        parse_ping_output(&self.output())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_errors_and_gaps_are_counted() {
        let text = "\
PING 198.19.2.11 (198.19.2.11) 56(84) bytes of data.
64 bytes from 198.19.2.11: icmp_seq=1 ttl=62 time=0.101 ms
[1700000000.250000] 64 bytes from 198.19.2.11: icmp_seq=2 ttl=62 time=0.090 ms
From 198.19.1.1 icmp_seq=3 Destination Net Unreachable
64 bytes from 198.19.2.11: icmp_seq=5 ttl=62 time=0.090 ms
64 bytes from 198.19.2.11: icmp_seq=5 ttl=62 time=0.095 ms (DUP!)

--- 198.19.2.11 ping statistics ---
6 packets transmitted, 3 received, +1 duplicates, +1 errors, 50% packet loss, time 50ms
";
        let tally = parse_ping_output(text).unwrap();
        assert_eq!(tally.transmitted, 6);
        assert_eq!(tally.received, 3);
        assert_eq!(tally.errors, 1);
        assert_eq!(tally.duplicates, 1);
        assert_eq!(tally.last_answered, 5);
        assert_eq!(tally.missing, vec![3, 4]);
        assert_eq!(tally.gaps_after, vec![1_700_000_000.25]);
        assert_eq!(tally.lost(), 2);
        assert_eq!(tally.unanswered_tail(), 1);
    }

    #[test]
    fn a_clean_run_loses_nothing_and_a_missing_summary_is_an_error() {
        let text = "\
64 bytes from 198.19.2.11: icmp_seq=1 ttl=62 time=0.101 ms
64 bytes from 198.19.2.11: icmp_seq=2 ttl=62 time=0.090 ms
--- 198.19.2.11 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 10ms
";
        let tally = parse_ping_output(text).unwrap();
        assert_eq!((tally.transmitted, tally.received, tally.lost()), (2, 2, 0));
        assert_eq!(tally.unanswered_tail(), 0);
        assert!(parse_ping_output("64 bytes from x: icmp_seq=1").is_err());
    }
}
