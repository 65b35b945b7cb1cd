//! The synchronizer's tokio task and the handle the daemon keeps.
//!
//! One task owns the [`Synchronizer`]; everything reaches it over channels:
//! route changes from the speaker, route events from the kernel, and
//! [`KernelHandle`] commands. Each turn of its loop:
//!
//! 1. takes every message already queued (updates first, so a prefix
//!    changed many times costs one operation), up to a bound per channel;
//! 2. answers status requests, and fails over every gateway BGP stopped
//!    using in one `Fib::fail_gateway` each ([`super::failover`]), before
//!    the per-prefix changes saying the same are planned;
//! 3. acts on due timers (retries, conflict re-checks, the sweep);
//! 4. re-lists our routes if events were lost, and re-reads the kernel's
//!    routes if next hops may resolve differently;
//! 5. applies one batch through `Fib::apply` and records the results;
//! 6. when nothing is left to do, answers `settled` waiters and sleeps
//!    until a message arrives or the next deadline.
//!
//! Shutdown either leaves every route in place (graceful restart) or
//! removes every route we own, then ends the task.

use std::sync::Arc;

use bgp::rib::FibUpdate;
use fib::{Fib, FibChange, FibError, FibFuture, KernelRoute, Notification};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use super::resolution::Resolver;
use super::settings::{KernelSettings, Originated};
use super::status::FibStatus;
use super::synchronizer::Synchronizer;

/// Most messages taken from one channel before a batch is applied, so a
/// flood of updates cannot hold back the kernel.
const DRAIN_LIMIT: usize = 1024;

/// Commands queued towards the task.
const COMMAND_QUEUE: usize = 64;

/// Every kernel route (any protocol, any table): the source of next-hop
/// resolution. Implemented by `NetlinkFib`; tests provide their own.
pub trait KernelRoutes: Send + Sync {
    /// A dump of the kernel's routes.
    fn kernel_routes(&self) -> FibFuture<'_, Result<Vec<KernelRoute>, FibError>>;
}

/// What the synchronizer talks to.
pub struct Kernel {
    /// Where routes are programmed.
    pub fib: Arc<dyn Fib>,
    /// Kernel routes for recursive next-hop resolution; `None` installs BGP
    /// next hops as they are (for `MemoryFib`).
    pub routes: Option<Arc<dyn KernelRoutes>>,
    /// Route events (from a `RouteMonitor`, see `forward_events`); `None`
    /// disables drift repair.
    pub events: Option<mpsc::Receiver<Notification>>,
    /// `events` carries no echo of our own changes (the kernel filters them,
    /// `NetlinkFib::watch_others`), so there is nothing to match them with.
    pub events_exclude_ours: bool,
}

/// The task is gone (it was shut down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the kernel synchronizer has stopped")]
pub struct KernelStopped;

/// What shutdown did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownReport {
    /// Routes left in the kernel on purpose (graceful restart).
    pub kept: usize,
    /// Routes removed.
    pub removed: usize,
    /// Removals that failed, one line each.
    pub failures: Vec<String>,
}

enum Command {
    EndOfRibAll,
    SetOriginated(Vec<Originated>),
    Status(oneshot::Sender<FibStatus>),
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "tests wait on it for the queue to drain")
    )]
    Settled(oneshot::Sender<()>),
    Shutdown {
        keep: bool,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// The daemon's handle on the synchronizer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct KernelHandle {
    commands: mpsc::Sender<Command>,
    applied: watch::Receiver<u64>,
}

impl KernelHandle {
    /// How many batches of route changes from the speaker the task has
    /// received and carried out (written to the kernel, or failed and
    /// queued for a retry); the speaker counts what it sent and can wait
    /// for the kernel to catch up.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    async fn send(&self, command: Command) -> Result<(), KernelStopped> {
        self.commands.send(command).await.map_err(|_| KernelStopped)
    }

    /// Every established peer has sent End-of-RIB (RFC 4724 §4.2): stale
    /// routes are swept `sweep_delay` from now.
    pub async fn end_of_rib_all(&self) -> Result<(), KernelStopped> {
        self.send(Command::EndOfRibAll).await
    }

    /// Replaces the originated prefixes (configuration reload).
    pub async fn set_originated(&self, originated: Vec<Originated>) -> Result<(), KernelStopped> {
        self.send(Command::SetOriginated(originated)).await
    }

    /// The state for `podroute fib`.
    pub async fn status(&self) -> Result<FibStatus, KernelStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Status(reply)).await?;
        answer.await.map_err(|_| KernelStopped)
    }

    /// Waits until every update and event queued before this call has been
    /// applied and nothing is left to do but timers.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "tests wait on it for the queue to drain")
    )]
    pub async fn settled(&self) -> Result<(), KernelStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Settled(reply)).await?;
        answer.await.map_err(|_| KernelStopped)
    }

    /// Stops the task. `keep` leaves our routes forwarding (graceful
    /// restart, RFC 4724); otherwise every route we own is removed.
    pub async fn shutdown(&self, keep: bool) -> Result<ShutdownReport, KernelStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Shutdown { keep, reply }).await?;
        answer.await.map_err(|_| KernelStopped)
    }
}

/// Starts the synchronizer task (see the module documentation). Must be
/// called inside a tokio runtime.
pub fn spawn(
    kernel: Kernel,
    settings: KernelSettings,
    updates: mpsc::UnboundedReceiver<Vec<FibUpdate>>,
) -> KernelHandle {
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let (applied, applied_receiver) = watch::channel(0);
    let resolver = if kernel.routes.is_some() {
        Resolver::recursive(Vec::new(), settings.ownership)
    } else {
        Resolver::direct()
    };
    let tracking_echoes = kernel.events.is_some() && !kernel.events_exclude_ours;
    let core = Synchronizer::new(settings, resolver, tracking_echoes, Instant::now());
    let task = Task {
        fib: kernel.fib,
        routes: kernel.routes,
        updates: Some(updates),
        events: kernel.events,
        commands: receiver,
        core,
        settled: Vec::new(),
        status_waiters: Vec::new(),
        stop: None,
        handles_dropped: false,
        received: 0,
        applied,
    };
    tokio::spawn(task.run());
    KernelHandle {
        commands,
        applied: applied_receiver,
    }
}

/// What woke the idle task.
enum Wake {
    Update(Option<Vec<FibUpdate>>),
    Event(Option<Notification>),
    Command(Option<Command>),
    Timer,
}

struct Task {
    fib: Arc<dyn Fib>,
    routes: Option<Arc<dyn KernelRoutes>>,
    updates: Option<mpsc::UnboundedReceiver<Vec<FibUpdate>>>,
    events: Option<mpsc::Receiver<Notification>>,
    commands: mpsc::Receiver<Command>,
    core: Synchronizer,
    settled: Vec<oneshot::Sender<()>>,
    status_waiters: Vec<oneshot::Sender<FibStatus>>,
    stop: Option<(bool, oneshot::Sender<ShutdownReport>)>,
    handles_dropped: bool,
    /// Batches received from the speaker so far.
    received: u64,
    /// Batches carried out, published when nothing is left to do.
    applied: watch::Sender<u64>,
}

/// The next message, or pending forever when there is no channel.
async fn receive<T>(receiver: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// The next update; pending forever once the speaker is gone.
async fn receive_unbounded<T>(receiver: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Task {
    async fn run(mut self) {
        self.refresh_snapshot().await;
        self.resync(true).await;
        loop {
            let exhausted = self.drain();
            if self.stop.is_some() || self.handles_dropped {
                break;
            }
            self.answer_status().await;
            self.fail_over().await;
            self.core.on_timer(Instant::now());
            if self.core.resync_needed() {
                self.resync(false).await;
            }
            if self.core.needs_snapshot() {
                self.refresh_snapshot().await;
            }
            let changes = self.core.plan_batch();
            if !changes.is_empty() {
                let results = self.fib.apply(changes.clone()).await;
                self.core.record(changes, results, Instant::now());
                continue;
            }
            if self.core.has_dirty() || !exhausted {
                continue;
            }
            self.applied.send_replace(self.received);
            for waiter in self.settled.drain(..) {
                // A waiter that gave up is no concern of ours.
                let _ = waiter.send(());
            }
            let wake = self.wait().await;
            self.wake(wake);
        }
        self.finish().await;
    }

    /// Takes queued messages without waiting; true if every channel was
    /// emptied within the bound.
    fn drain(&mut self) -> bool {
        let mut exhausted = true;
        let core = &mut self.core;
        let updates = self.updates.as_mut().map(|updates| {
            drain_channel(updates, |batch| {
                self.received += 1;
                core.apply_updates(batch);
            })
        });
        match updates {
            Some(None) => {
                info!("the speaker closed its route updates");
                self.updates = None;
            }
            Some(Some(emptied)) => exhausted &= emptied,
            None => {}
        }
        let core = &mut self.core;
        let events = self
            .events
            .as_mut()
            .map(|events| drain_channel(events, |event| core.on_notification(event)));
        match events {
            Some(None) => {
                self.events = None;
                self.core.events_ended();
            }
            Some(Some(emptied)) => exhausted &= emptied,
            None => {}
        }
        loop {
            match self.commands.try_recv() {
                Ok(command) => self.command(command),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.handles_dropped = true;
                    break;
                }
            }
            if self.stop.is_some() {
                break;
            }
        }
        exhausted
    }

    async fn wait(&mut self) -> Wake {
        let deadline = self.core.next_deadline();
        tokio::select! {
            biased;
            update = receive_unbounded(&mut self.updates) => Wake::Update(update),
            event = receive(&mut self.events) => Wake::Event(event),
            command = self.commands.recv() => Wake::Command(command),
            () = sleep_until(deadline) => Wake::Timer,
        }
    }

    fn wake(&mut self, wake: Wake) {
        match wake {
            Wake::Update(Some(batch)) => {
                self.received += 1;
                self.core.apply_updates(batch);
            }
            Wake::Update(None) => {
                info!("the speaker closed its route updates");
                self.updates = None;
            }
            Wake::Event(Some(event)) => self.core.on_notification(event),
            Wake::Event(None) => {
                self.events = None;
                self.core.events_ended();
            }
            Wake::Command(Some(command)) => self.command(command),
            Wake::Command(None) => self.handles_dropped = true,
            Wake::Timer => {}
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::EndOfRibAll => self.core.end_of_rib_all(Instant::now()),
            Command::SetOriginated(originated) => self.core.set_originated(&originated),
            // Answered in the loop: the object each route uses is the
            // FIB's to say, and asking it is asynchronous.
            Command::Status(reply) => self.status_waiters.push(reply),
            Command::Settled(reply) => self.settled.push(reply),
            Command::Shutdown { keep, reply } => self.stop = Some((keep, reply)),
        }
    }

    async fn answer_status(&mut self) {
        if self.status_waiters.is_empty() {
            return;
        }
        let objects = self.fib.route_objects().await;
        let status = self.core.status(Instant::now()).with_objects(&objects);
        for waiter in self.status_waiters.drain(..) {
            // A client that gave up is no concern of ours.
            let _ = waiter.send(status.clone());
        }
    }

    /// Takes every gateway BGP stopped using out of the kernel at once: all
    /// of them in one request to the FIB, so that many sessions lost
    /// together cost a few kernel round trips, not a few per gateway.
    async fn fail_over(&mut self) {
        let gateways = self.core.take_failed_gateways();
        if gateways.is_empty() {
            return;
        }
        match self.fib.fail_gateways(gateways.clone()).await {
            Ok(Some(removals)) => {
                for (gateway, removal) in gateways.iter().zip(&removals) {
                    self.core.gateway_removed(*gateway, removal);
                }
            }
            // This FIB has no faster way: the per-prefix changes do it.
            Ok(None) => {}
            Err(error) => {
                let error = error.to_string();
                for gateway in gateways {
                    self.core.gateway_removal_failed(gateway, &error);
                }
            }
        }
    }

    async fn resync(&mut self, initial: bool) {
        match self.fib.list_owned().await {
            Ok(routes) => self.core.adopt(routes, initial),
            Err(error) => self.core.resync_failed(Instant::now(), &error.to_string()),
        }
    }

    async fn refresh_snapshot(&mut self) {
        let Some(routes) = &self.routes else {
            return;
        };
        match routes.kernel_routes().await {
            Ok(routes) => self.core.refresh_snapshot(routes),
            Err(error) => self.core.snapshot_failed(&error.to_string()),
        }
    }

    async fn finish(mut self) {
        let Some((keep, reply)) = self.stop.take() else {
            info!("every kernel handle was dropped; leaving our routes in place");
            return;
        };
        let report = if keep {
            let kept = self.core.installed_count();
            info!(kept, "stopping; our routes stay in the kernel");
            ShutdownReport {
                kept,
                removed: 0,
                failures: Vec::new(),
            }
        } else {
            self.remove_all().await
        };
        let _ = reply.send(report);
    }

    /// Removes every route we own: those the kernel lists, or those we
    /// believe are installed if it cannot list them.
    async fn remove_all(&mut self) -> ShutdownReport {
        let prefixes = match self.fib.list_owned().await {
            Ok(routes) => routes.iter().map(fib::Route::prefix).collect(),
            Err(error) => {
                warn!(%error, "cannot list our routes; removing those we know of");
                self.core.installed_prefixes()
            }
        };
        let mut removed = 0;
        let mut failures = Vec::new();
        let batch_size = self.core.batch_size();
        for chunk in prefixes.chunks(batch_size) {
            let changes: Vec<FibChange> = chunk.iter().copied().map(FibChange::Remove).collect();
            for result in self.fib.apply(changes).await {
                match result {
                    Ok(()) => removed += 1,
                    Err(error) => failures.push(error.to_string()),
                }
            }
        }
        info!(
            removed,
            failed = failures.len(),
            "stopping; removed our routes"
        );
        ShutdownReport {
            kept: 0,
            removed,
            failures,
        }
    }
}

/// Takes up to [`DRAIN_LIMIT`] queued messages. `Some(true)`: emptied;
/// `Some(false)`: more are queued; `None`: the channel is closed.
/// The receiving half of either kind of tokio channel, for [`drain_channel`].
trait TryReceiver<T> {
    fn try_recv(&mut self) -> Result<T, mpsc::error::TryRecvError>;
    fn is_empty(&self) -> bool;
}

impl<T> TryReceiver<T> for mpsc::Receiver<T> {
    fn try_recv(&mut self) -> Result<T, mpsc::error::TryRecvError> {
        mpsc::Receiver::try_recv(self)
    }
    fn is_empty(&self) -> bool {
        mpsc::Receiver::is_empty(self)
    }
}

impl<T> TryReceiver<T> for mpsc::UnboundedReceiver<T> {
    fn try_recv(&mut self) -> Result<T, mpsc::error::TryRecvError> {
        mpsc::UnboundedReceiver::try_recv(self)
    }
    fn is_empty(&self) -> bool {
        mpsc::UnboundedReceiver::is_empty(self)
    }
}

fn drain_channel<T>(receiver: &mut impl TryReceiver<T>, mut take: impl FnMut(T)) -> Option<bool> {
    for _ in 0..DRAIN_LIMIT {
        match receiver.try_recv() {
            Ok(message) => take(message),
            Err(mpsc::error::TryRecvError::Empty) => return Some(true),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
        }
    }
    Some(receiver.is_empty())
}
