//! The `kernel-churn` role (scenario 4, FIB variant): in the DUT's network
//! namespace, when does the kernel have the change a churning client made?
//!
//! Data flow: subscribed to the IPv4 and IPv6 route groups before the
//! reflection starts, the role keeps the set of the main table's routes
//! (those the daemon installed: not the kernel's own). Before each churn
//! step the harness writes the same command the mesh gets (`withdraw I`,
//! `cut I`, `flap FIRST LAST`); the role computes the affected clients'
//! prefixes ([`crate::tables::client_prefixes`]), arms a [`ChangeWatch`] on
//! its route set, answers `marked`, and only then does the harness tell the
//! mesh to act. Each route notification feeds the watch; one JSON result per
//! step says when the kernel held none of the affected routes and, for a
//! flap, when it held them all again, each re-added since the step began.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use bgp::rib::fast_hash::FastSet;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};
use crate::kernel::{
    AF_INET, AF_INET6, RouteKey, nix_error, parse_buffer, print_json, route_monitor,
};
use crate::mesh::ChurnAction;
use crate::mesh::watch::ChangeWatch;
use crate::roles::{now_nanoseconds, read_stdin_lines, role_event};

/// Options of the `kernel-churn` role.
#[derive(Debug, Clone, clap::Args)]
pub struct KernelChurnOptions {
    /// Clients of the mesh (bounds the commands' client numbers).
    #[arg(long)]
    pub clients: u32,
    /// Give up on a step after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

/// What the role reports per step.
#[derive(Debug, Serialize, Deserialize)]
pub struct KernelChurnResult {
    /// The command, as given.
    pub command: String,
    /// When the kernel held none of the affected routes (0 if never).
    pub withdrawn_ns: u64,
    /// Flap: when it held them all again, each re-added (0 if never).
    pub restored_ns: u64,
    /// Whether the whole change was seen before the timeout.
    pub complete: bool,
}

/// A route key as a prefix.
fn prefix_of(key: &RouteKey) -> Option<IpNetwork> {
    let (family, bits, length) = *key;
    match family {
        AF_INET => Ipv4Network::new(Ipv4Addr::from(u32::try_from(bits).ok()?), length)
            .ok()
            .map(IpNetwork::V4),
        AF_INET6 => Ipv6Network::new(Ipv6Addr::from(bits), length)
            .ok()
            .map(IpNetwork::V6),
        _ => None,
    }
}

/// The prefixes of the clients acting in `action`.
fn affected(action: &ChurnAction) -> Result<FastSet<IpNetwork>> {
    let mut prefixes = FastSet::default();
    for client in action.actors() {
        let (ipv4, ipv6) = crate::tables::client_prefixes(client)?;
        prefixes.extend(ipv4.iter().chain(&ipv6).map(|nlri| nlri.prefix));
    }
    Ok(prefixes)
}

fn stdin_lines() -> Receiver<String> {
    let (sender, receiver) = channel();
    read_stdin_lines(move |line| sender.send(line).is_ok());
    receiver
}

struct Step {
    command: String,
    watch: ChangeWatch,
    deadline: Instant,
}

/// Runs the role (see the module documentation).
pub fn kernel_churn(options: &KernelChurnOptions) -> Result<()> {
    // A short timeout, so a command waits little before it is marked.
    let fd = route_monitor(nix::sys::time::TimeVal::new(0, 20_000))?;
    let control = stdin_lines();
    role_event("ready");
    let mut routes: FastSet<IpNetwork> = FastSet::default();
    let mut step: Option<Step> = None;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        if step.is_none() {
            if let Ok(line) = control.try_recv() {
                let action = ChurnAction::parse(&line, options.clients)
                    .ok_or_else(|| BenchError::Other(format!("unknown command `{line}`")))?;
                let restore = matches!(action, ChurnAction::Flap(..));
                let mut watch =
                    ChangeWatch::holding(Arc::new(affected(&action)?), restore, |prefix| {
                        routes.contains(prefix)
                    });
                watch.check(now_nanoseconds());
                step = Some(Step {
                    command: line,
                    watch,
                    deadline: Instant::now() + Duration::from_secs(options.timeout),
                });
                role_event("marked");
            }
        }
        let mut changes = Vec::new();
        match recv(fd.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
            Ok(read) => {
                parse_buffer(buffer.get(..read).unwrap_or(&[]), |message| {
                    if let Some(prefix) = message.key.as_ref().and_then(prefix_of) {
                        changes.push((prefix, message.added));
                    }
                });
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(Errno::ENOBUFS) => {
                return Err(BenchError::Other(
                    "the kernel dropped route notifications (ENOBUFS)".into(),
                ));
            }
            Err(errno) => return Err(nix_error("reading route notifications", errno)),
        }
        let now = now_nanoseconds();
        for (prefix, added) in &changes {
            if *added {
                routes.insert(*prefix);
            } else {
                routes.remove(prefix);
            }
        }
        let finished = match step.as_mut() {
            Some(current) => {
                current
                    .watch
                    .observe_changes(changes, |prefix| routes.contains(prefix), now);
                current.watch.done() || Instant::now() >= current.deadline
            }
            None => false,
        };
        if finished {
            if let Some(done) = step.take() {
                print_json(&KernelChurnResult {
                    complete: done.watch.done(),
                    withdrawn_ns: done.watch.withdrawn_ns.unwrap_or(0),
                    restored_ns: done.watch.restored_ns.unwrap_or(0),
                    command: done.command,
                })?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_become_prefixes_and_flaps_cover_every_actor() {
        let key: RouteKey = (AF_INET, u128::from(0x6440_0040u32), 26);
        assert_eq!(prefix_of(&key).unwrap().to_string(), "100.64.0.64/26");
        let key: RouteKey = (AF_INET6, 0x2403_u128 << 112, 128);
        assert_eq!(prefix_of(&key).unwrap().to_string(), "2403::/128");
        assert_eq!(prefix_of(&(7, 0, 0)), None);
        assert_eq!(affected(&ChurnAction::Flap(2, 4)).unwrap().len(), 48);
        assert_eq!(affected(&ChurnAction::Cut(1)).unwrap().len(), 16);
    }
}
