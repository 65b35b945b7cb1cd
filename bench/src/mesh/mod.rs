//! The `mesh` role: many iBGP route-reflector clients (RFC 4456 §3) in one
//! process, for scenarios 3 (reflection), 4 (churn) and 5 (session storm).
//!
//! Data flow: every client's UPDATEs are encoded before anything connects
//! ([`client::ClientPlan`]); each client is a task on one single-threaded
//! tokio runtime ([`client::run`]), so a thousand sessions cost a thousand
//! small tasks, not two thousand threads. The coordinator here talks to the
//! harness over stdin/stdout (`ready`, `go`, one JSON result per step):
//!
//! - reflection (default): establish every client, print `ready`; on `go`
//!   every client announces, and the result says when the last one held
//!   every other client's routes;
//! - `--storm`: print `ready` with nothing connected; on `go` every client
//!   connects at the same instant and announces once Established; the
//!   result says when the last one was Established and when the last table
//!   was complete;
//! - churn commands after the first result (`withdraw I`, `cut I`,
//!   `flap FIRST LAST`): every other client is given a watch of the affected
//!   routes and acknowledges it; then the clock starts, the coordinator
//!   shuts the sockets of a cut or a flap down itself, in one loop
//!   ([`client::Closers`]), and the actors are told; the result says when
//!   the last observer saw the change ([`watch`]).

mod client;
mod session;
pub(crate) mod watch;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp::rib::fast_hash::FastSet;
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::error::{BenchError, Result, io_context};
use crate::roles::{now_nanoseconds, read_stdin_lines, role_event};
use client::{ClientPlan, ClientSettings, Closers, Command, Event};

/// How long the clients may take to establish before `ready` (reflection).
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// Options of the `mesh` role.
#[derive(Debug, Clone, clap::Args)]
pub struct MeshOptions {
    /// The route reflector to connect every client to (port 179).
    #[arg(long)]
    pub connect: IpAddr,
    /// IPv4 address of the first client; client `i` uses this plus `i`.
    #[arg(long)]
    pub first_ipv4: Ipv4Addr,
    /// IPv6 address of the first client; client `i` uses this plus `i`.
    #[arg(long)]
    pub first_ipv6: Ipv6Addr,
    /// Number of clients.
    #[arg(long)]
    pub clients: u32,
    /// The AS of the clients and the reflector (iBGP).
    #[arg(long, default_value_t = 65000)]
    pub asn: u32,
    /// Give up on a step after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Session storm: connect every client at once on `go`.
    #[arg(long)]
    pub storm: bool,
    /// Announce and expect IPv4 routes only (for BIRD 1.6's IPv4 daemon).
    #[arg(long)]
    pub ipv4_only: bool,
}

/// What the mesh reports for reflection (and the storm's tables).
#[derive(Debug, Serialize, Deserialize)]
pub struct MeshResult {
    /// Clients that came to hold every other client's routes.
    pub complete_clients: u32,
    /// Clients in the run.
    pub clients: u32,
    /// The earliest first UPDATE byte of any client (storm: the `go` moment).
    pub first_byte_ns: u64,
    /// When the last client became complete (or the mesh gave up).
    pub complete_ns: u64,
    /// When the first client became complete.
    pub first_complete_ns: u64,
    /// Clients that reached Established after `go` (storm only).
    pub established_clients: u32,
    /// When the last of them did (storm only).
    pub last_established_ns: u64,
}

/// What the mesh reports for one churn step.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChurnResult {
    /// The command, as given.
    pub command: String,
    /// When the action started.
    pub action_ns: u64,
    /// Clients watching (every client not acting and still up).
    pub observers: u32,
    /// Observers that saw the whole change before the timeout.
    pub complete_observers: u32,
    /// When the last observer no longer held any affected route (when the
    /// mesh gave up, if not all did).
    pub withdrawn_ns: u64,
    /// Observers that saw every affected route gone at some moment.
    pub withdrawn_observers: u32,
    /// Flap only: when the last observer held every affected route again,
    /// announced anew (when the mesh gave up, if not all did).
    pub restored_ns: u64,
}

/// One churn action parsed from a control line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChurnAction {
    /// One client withdraws all its routes.
    Withdraw(u32),
    /// One client's session is closed without NOTIFICATION.
    Cut(u32),
    /// Clients `first..=last` close and reconnect at once.
    Flap(u32, u32),
}

impl ChurnAction {
    /// Parses `withdraw I`, `cut I` or `flap FIRST LAST` against `clients`.
    pub fn parse(line: &str, clients: u32) -> Option<ChurnAction> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |index: usize| -> Option<u32> {
            words
                .get(index)?
                .parse()
                .ok()
                .filter(|value| *value < clients)
        };
        match words.first().copied()? {
            "withdraw" if words.len() == 2 => Some(ChurnAction::Withdraw(number(1)?)),
            "cut" if words.len() == 2 => Some(ChurnAction::Cut(number(1)?)),
            "flap" if words.len() == 3 => {
                let (first, last) = (number(1)?, number(2)?);
                (first <= last).then_some(ChurnAction::Flap(first, last))
            }
            _ => None,
        }
    }

    /// The clients acting.
    pub fn actors(&self) -> std::ops::RangeInclusive<u32> {
        match *self {
            ChurnAction::Withdraw(client) | ChurnAction::Cut(client) => client..=client,
            ChurnAction::Flap(first, last) => first..=last,
        }
    }
}

/// Runs the role on a single-threaded runtime.
pub fn mesh(options: &MeshOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_context("starting the tokio runtime"))?;
    runtime.block_on(coordinate(options))
}

/// Stdin lines, read by a plain thread; end of input ends the process,
/// which is how the harness stops a role.
fn stdin_lines() -> UnboundedReceiver<String> {
    let (sender, receiver) = unbounded_channel();
    read_stdin_lines(move |line| sender.send(line).is_ok());
    receiver
}

struct Coordinator {
    options: MeshOptions,
    plans: Vec<Arc<ClientPlan>>,
    commands: Vec<UnboundedSender<Command>>,
    events: UnboundedReceiver<Event>,
    event_sender: UnboundedSender<Event>,
    settings: Arc<ClientSettings>,
    /// Clients whose session is gone for good (cut or failed).
    down: HashSet<u32>,
    /// Clients that flapped: they no longer count their table, so they
    /// observe no later step.
    flapped: HashSet<u32>,
    phase: u32,
}

async fn coordinate(options: &MeshOptions) -> Result<()> {
    let mut control = stdin_lines();
    let plans = (0..options.clients)
        .map(|client| {
            let ipv4 = Ipv4Addr::from(u32::from(options.first_ipv4).wrapping_add(client));
            let ipv6 =
                Ipv6Addr::from(u128::from(options.first_ipv6).wrapping_add(u128::from(client)));
            ClientPlan::new(client, ipv4, ipv6, options.asn, options.ipv4_only).map(Arc::new)
        })
        .collect::<Result<Vec<_>>>()?;
    let (event_sender, events) = unbounded_channel();
    let expects = usize::try_from(options.clients.saturating_sub(1)).unwrap_or(0) * 8;
    let settings = Arc::new(ClientSettings {
        remote: options.connect,
        asn: options.asn,
        expects_ipv4: expects,
        expects_ipv6: if options.ipv4_only { 0 } else { expects },
        announce_at_once: options.storm,
        deadline: Instant::now() + ESTABLISH_TIMEOUT + Duration::from_secs(options.timeout),
        closers: Closers::new(options.clients),
    });
    let mut coordinator = Coordinator {
        options: options.clone(),
        plans,
        commands: Vec::new(),
        events,
        event_sender,
        settings,
        down: HashSet::new(),
        flapped: HashSet::new(),
        phase: 0,
    };
    let result = if options.storm {
        role_event("ready");
        wait_for_go(&mut control).await?;
        coordinator.storm().await
    } else {
        coordinator.spawn_clients();
        coordinator.wait_established().await?;
        role_event("ready");
        wait_for_go(&mut control).await?;
        coordinator.reflect().await
    };
    print_json(&result)?;
    while let Some(line) = control.recv().await {
        if line.is_empty() {
            continue;
        }
        let action = ChurnAction::parse(&line, options.clients)
            .ok_or_else(|| BenchError::Other(format!("unknown mesh command `{line}`")))?;
        let result = coordinator.churn(&line, &action).await;
        print_json(&result)?;
    }
    Ok(())
}

async fn wait_for_go(control: &mut UnboundedReceiver<String>) -> Result<()> {
    while let Some(line) = control.recv().await {
        if line == "go" {
            return Ok(());
        }
    }
    Err(BenchError::Other(
        "the harness went away before `go`".into(),
    ))
}

fn print_json(result: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(result)
        .map_err(|error| BenchError::Other(format!("serializing a result: {error}")))?;
    role_event(&text);
    Ok(())
}

impl Coordinator {
    fn spawn_clients(&mut self) {
        for plan in &self.plans {
            let (sender, receiver) = unbounded_channel();
            self.commands.push(sender);
            tokio::spawn(client::run(
                Arc::clone(plan),
                Arc::clone(&self.settings),
                receiver,
                self.event_sender.clone(),
            ));
        }
    }

    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(self.options.timeout)
    }

    /// The next event before `deadline`; `None` when it passes.
    async fn next_event(&mut self, deadline: tokio::time::Instant) -> Option<Event> {
        let event = tokio::time::timeout_at(deadline, self.events.recv())
            .await
            .ok()??;
        if let Event::Failed { client, error } = &event {
            if self.down.insert(*client) {
                eprintln!("mesh client {client}: {error}");
            }
        }
        Some(event)
    }

    async fn wait_established(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + ESTABLISH_TIMEOUT;
        let mut established = 0;
        while established < self.options.clients {
            match self.next_event(deadline).await {
                Some(Event::Established { .. }) => established += 1,
                Some(Event::Failed { client, error }) => {
                    return Err(BenchError::Other(format!(
                        "client {client} did not reach Established: {error}"
                    )));
                }
                Some(_) => {}
                None => {
                    return Err(BenchError::Other(format!(
                        "only {established} of {} clients reached Established",
                        self.options.clients
                    )));
                }
            }
        }
        Ok(())
    }

    fn empty_result(&self, first_byte_ns: u64) -> MeshResult {
        MeshResult {
            complete_clients: 0,
            clients: self.options.clients,
            first_byte_ns,
            complete_ns: 0,
            first_complete_ns: u64::MAX,
            established_clients: 0,
            last_established_ns: 0,
        }
    }

    async fn reflect(&mut self) -> MeshResult {
        // The moment the clients are told to announce: each one's first byte
        // follows within the dispatch, and a run in which no client ever
        // completes still has a start.
        let mut result = self.empty_result(now_nanoseconds());
        for sender in &self.commands {
            let _ = sender.send(Command::Announce);
        }
        self.collect(&mut result).await;
        result
    }

    async fn storm(&mut self) -> MeshResult {
        let mut result = self.empty_result(now_nanoseconds());
        self.spawn_clients();
        self.collect(&mut result).await;
        result
    }

    /// Collects Established and Complete events until every client is complete.
    async fn collect(&mut self, result: &mut MeshResult) {
        let deadline = self.deadline();
        while result.complete_clients < self.options.clients {
            match self.next_event(deadline).await {
                Some(Event::Established { at_ns, .. }) => {
                    result.established_clients += 1;
                    result.last_established_ns = result.last_established_ns.max(at_ns);
                }
                Some(Event::Complete {
                    first_byte_ns,
                    at_ns,
                    ..
                }) => {
                    result.complete_clients += 1;
                    if !self.options.storm {
                        result.first_byte_ns = result.first_byte_ns.min(first_byte_ns);
                    }
                    result.complete_ns = result.complete_ns.max(at_ns);
                    result.first_complete_ns = result.first_complete_ns.min(at_ns);
                }
                Some(_) => {}
                None => break,
            }
        }
        if result.complete_clients < self.options.clients {
            result.complete_ns = now_nanoseconds();
        }
    }

    async fn churn(&mut self, line: &str, action: &ChurnAction) -> ChurnResult {
        self.phase += 1;
        let phase = self.phase;
        let actors = action.actors();
        let affected: Arc<FastSet<IpNetwork>> = Arc::new(
            actors
                .clone()
                .filter_map(|client| self.plans.get(usize::try_from(client).ok()?))
                .flat_map(|plan| plan.own.iter().copied())
                .collect(),
        );
        let restore = matches!(action, ChurnAction::Flap(..));
        let mut observers = 0;
        for (index, sender) in (0u32..).zip(&self.commands) {
            if actors.contains(&index)
                || self.down.contains(&index)
                || self.flapped.contains(&index)
            {
                continue;
            }
            if sender
                .send(Command::Watch(phase, Arc::clone(&affected), restore))
                .is_ok()
            {
                observers += 1;
            }
        }
        // Every observer first notes what it holds of the affected routes;
        // the change is timed from when the last one has, so that the
        // arming (a set of up to 800 prefixes per observer, on this one
        // thread) is not counted as the daemon's time.
        let deadline = self.deadline();
        let mut armed = 0;
        let mut early = Vec::new();
        while armed < observers {
            match self.next_event(deadline).await {
                Some(Event::Armed { phase: armed_phase }) if armed_phase == phase => armed += 1,
                // An observer that never held any of the routes is done at once.
                Some(event @ Event::Seen { .. }) => early.push(event),
                Some(_) => {}
                None => break,
            }
        }
        let action_ns = now_nanoseconds();
        if !matches!(action, ChurnAction::Withdraw(_)) {
            for client in actors.clone() {
                self.settings.closers.shut_down(client);
            }
        }
        for client in actors {
            let command = match action {
                ChurnAction::Withdraw(_) => Command::Withdraw,
                ChurnAction::Cut(_) => {
                    self.down.insert(client);
                    Command::Cut
                }
                ChurnAction::Flap(..) => {
                    self.flapped.insert(client);
                    Command::Flap
                }
            };
            if let Some(sender) = self
                .commands
                .get(usize::try_from(client).unwrap_or(usize::MAX))
            {
                let _ = sender.send(command);
            }
        }
        let mut result = ChurnResult {
            command: line.to_string(),
            action_ns,
            observers,
            complete_observers: 0,
            withdrawn_ns: 0,
            withdrawn_observers: 0,
            restored_ns: 0,
        };
        let deadline = self.deadline();
        let mut early = early.into_iter();
        while result.complete_observers < observers {
            let event = match early.next() {
                Some(event) => Some(event),
                None => self.next_event(deadline).await,
            };
            match event {
                Some(Event::Seen {
                    phase: seen_phase,
                    withdrawn_ns,
                    restored_ns,
                    ..
                }) if seen_phase == phase => {
                    result.complete_observers += 1;
                    if let Some(at) = withdrawn_ns {
                        result.withdrawn_observers += 1;
                        result.withdrawn_ns = result.withdrawn_ns.max(at);
                    }
                    if let Some(at) = restored_ns {
                        result.restored_ns = result.restored_ns.max(at);
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        // Whatever did not happen is timed at the moment the mesh stopped waiting.
        let given_up_ns = now_nanoseconds();
        if result.withdrawn_observers < observers {
            result.withdrawn_ns = given_up_ns;
        }
        if result.complete_observers < observers {
            result.restored_ns = given_up_ns;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_commands_are_parsed_within_the_client_count() {
        assert_eq!(
            ChurnAction::parse("withdraw 0", 10),
            Some(ChurnAction::Withdraw(0))
        );
        assert_eq!(ChurnAction::parse("cut 9", 10), Some(ChurnAction::Cut(9)));
        assert_eq!(
            ChurnAction::parse("flap 2 5", 10),
            Some(ChurnAction::Flap(2, 5))
        );
        assert_eq!(ChurnAction::parse("cut 10", 10), None);
        assert_eq!(ChurnAction::parse("flap 5 2", 10), None);
        assert_eq!(ChurnAction::parse("flap 1", 10), None);
        assert_eq!(ChurnAction::parse("reboot 1", 10), None);
        assert_eq!(
            ChurnAction::Flap(2, 4).actors().collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
    }
}
