//! Letting routed pod traffic cross a lab bridge.
//!
//! Docker guards an `--internal` network with two rules in its
//! `DOCKER-ISOLATION-STAGE-1` chain: drop what enters the bridge for a
//! destination outside the network's subnet, and what leaves it from a
//! source outside. The machine also has `bridge-nf-call-iptables = 1`, so
//! frames bridged between two containers pass through those rules too. A
//! packet from pod 198.19.1.10 to pod 198.19.2.10, forwarded by host 1 to
//! host 2 across the bridge, is therefore dropped, although it never leaves
//! the lab. (Verified here: a ping to an address routed via another
//! container of the same internal network fails until this rule exists.)
//!
//! [`allow_forwarding`] inserts one rule into `DOCKER-USER`, the chain
//! Docker reserves for its users and evaluates first: accept what enters
//! *and* leaves this one bridge. Nothing can reach any other interface, so
//! the network stays internal. The rule carries a comment with the lab's
//! name prefix; [`BridgeForwarding`] deletes it on drop, and
//! [`remove_rules_with`] deletes every rule of a prefix (the demo's
//! `--cleanup`, after a `--keep` or a killed run).
//!
//! The same rule also goes at the top of `DOCKER-ISOLATION-STAGE-1`
//! ([`ISOLATION_CHAIN`]). Each time Docker creates a network (any test or
//! helper on the machine) it deletes its two jumps from `FORWARD`
//! (`-j DOCKER-USER`, `-j DOCKER-ISOLATION-STAGE-1`) and inserts them again
//! at the top; for those milliseconds the isolation chain can come first
//! and drop routed pod traffic. Continuous pings across a restart showed
//! it: two independent labs lost the same 50 ms of packets in every flow
//! while a third lab started containers, also with the rule copied to the
//! top of `FORWARD` (the jumps are re-inserted above it). Inside the
//! isolation chain the rule is ahead of the drops whichever jump comes
//! first; Docker adds rules for new bridges there, never for this one.

use crate::command::run;
use crate::error::Result;
use crate::network::Network;

/// The chain Docker leaves to its users, jumped to first from `FORWARD`.
pub const CHAIN: &str = "DOCKER-USER";
/// Docker's isolation chain, which holds the drops; the rule goes there too.
pub const ISOLATION_CHAIN: &str = "DOCKER-ISOLATION-STAGE-1";

fn rule(bridge: &str, comment: &str) -> Vec<String> {
    [
        "-i",
        bridge,
        "-o",
        bridge,
        "-m",
        "comment",
        "--comment",
        comment,
        "-j",
        "ACCEPT",
    ]
    .iter()
    .map(|word| (*word).to_string())
    .collect()
}

fn iptables(action: &str, words: &[String]) -> Result<String> {
    iptables_in(action, CHAIN, words)
}

fn iptables_in(action: &str, chain: &str, words: &[String]) -> Result<String> {
    let mut arguments: Vec<&str> = vec![action, chain];
    arguments.extend(words.iter().map(String::as_str));
    run("iptables", &arguments)
}

/// The `DOCKER-USER` rule of one lab bridge; deleted when dropped.
#[derive(Debug)]
pub struct BridgeForwarding {
    words: Option<Vec<String>>,
    /// The copy in [`ISOLATION_CHAIN`], when that chain exists.
    forward_words: Option<Vec<String>>,
}

impl BridgeForwarding {
    /// The bridge's rule, if one was inserted.
    pub fn rule(&self) -> Option<String> {
        self.words.as_ref().map(|words| words.join(" "))
    }

    /// Forgets the rule: it stays after drop (the demo's `--keep`).
    pub fn keep(&mut self) {
        self.words = None;
        self.forward_words = None;
    }
}

impl Drop for BridgeForwarding {
    fn drop(&mut self) {
        if let Some(words) = self.words.take() {
            if let Err(error) = iptables("-D", &words) {
                eprintln!("interop: cannot delete the {CHAIN} rule {words:?}: {error}");
            }
        }
        if let Some(words) = self.forward_words.take() {
            if let Err(error) = iptables_in("-D", ISOLATION_CHAIN, &words) {
                eprintln!("interop: cannot delete the {ISOLATION_CHAIN} rule {words:?}: {error}");
            }
        }
    }
}

/// Accepts forwarding within `network`'s bridge. Without a `DOCKER-USER`
/// chain (Docker without iptables management) no Docker rule drops the
/// traffic either, and nothing is inserted.
pub fn allow_forwarding(network: &Network, comment: &str) -> Result<BridgeForwarding> {
    if run("iptables", &["-S", CHAIN]).is_err() {
        return Ok(BridgeForwarding {
            words: None,
            forward_words: None,
        });
    }
    let words = rule(&network.bridge_interface()?, comment);
    iptables("-I", &words)?;
    let mut forwarding = BridgeForwarding {
        words: Some(words.clone()),
        forward_words: None,
    };
    if run("iptables", &["-S", ISOLATION_CHAIN]).is_ok() {
        iptables_in("-I", ISOLATION_CHAIN, &words)?;
        forwarding.forward_words = Some(words);
    }
    Ok(forwarding)
}

/// Deletes every `DOCKER-USER` and isolation chain rule whose comment starts
/// with `prefix`; returns how many were deleted.
pub fn remove_rules_with(prefix: &str) -> Result<usize> {
    Ok(remove_rules_in(CHAIN, prefix)?.saturating_add(remove_rules_in(ISOLATION_CHAIN, prefix)?))
}

fn remove_rules_in(chain: &str, prefix: &str) -> Result<usize> {
    let Ok(listing) = run("iptables", &["-S", chain]) else {
        return Ok(0);
    };
    let mut removed = 0;
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(position) = words.iter().position(|word| *word == "--comment") else {
            continue;
        };
        let comment = words
            .get(position.saturating_add(1))
            .map(|word| word.trim_matches('"'))
            .unwrap_or_default();
        if !comment.starts_with(prefix) {
            continue;
        }
        // "-A DOCKER-USER <spec>" becomes "-D DOCKER-USER <spec>".
        let specification: Vec<String> = words
            .iter()
            .skip(2)
            .map(|word| word.trim_matches('"').to_string())
            .collect();
        iptables_in("-D", chain, &specification)?;
        removed += 1;
    }
    Ok(removed)
}
