//! The owner task: the one place that holds every session and the RIB.
//!
//! Everything that happens arrives here as a typed event on a channel:
//! accepted sockets from the listeners, outcomes of connect attempts,
//! messages and failures from connection tasks, commands from the control
//! API, and the passage of time. Each event is fed to the pure state machine
//! it concerns, and the actions that come out are carried out at once:
//! sockets opened or closed, messages encoded and queued, routes handed to
//! the RIB. Nothing here blocks on a peer.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::config::{NeighborSettings, SpeakerConfig};
use super::connection::{ConnectionEvent, ConnectionHandle, SharedMessages, SocketId};
use super::neighbor::{Neighbor, NeighborId};
use super::routing::Routing;
use super::status::{NeighborFacts, NeighborStatus};
use super::transport;
use crate::rib::{FibUpdate, PrefixView, RouteFilter};
use crate::session::{Action, ConnectionId, Input, State};
use crate::wire::{Message, Notification, RouteRefresh, RouteRefreshSubtype};

/// The most connection events handled back to back before the RIB is
/// flushed: enough to take a burst in one flush, few enough that commands
/// and timers wait for a few milliseconds at most.
const MAX_DRAINED: usize = 256;

/// Times the owner steps aside, once a lost session's withdrawals wait or
/// an UPDATE's changes wait for the rest of their event, for the runtime to
/// poll the sockets (tokio runs a yielded task again only after that) and
/// for the readers to report what they have, before it flushes. Sessions
/// lost together (a switch, a node, fifty clients that flap at once) are
/// then withdrawn in one flush, a few UPDATEs per neighbor, instead of one
/// flush and one write per neighbor per loss, which kept the workers
/// writing while the readers of the other lost sockets waited their turn;
/// and the IPv4 and IPv6 UPDATEs of one withdrawal leave together without
/// the fixed millisecond the RIB would otherwise wait for the second
/// ([`crate::rib::Rib::settle`]). Either costs two trips through the run
/// queue.
const GATHER_YIELDS: usize = 2;

/// Forwarding changes of one event few enough to wait for (a neighbor's
/// handful of prefixes; a full table is not held for).
const KERNEL_FIRST_CHANGES: usize = 64;
/// The longest the UPDATEs of such an event wait for the kernel task.
const KERNEL_FIRST: Duration = Duration::from_millis(2);

/// Cease subcode 3, Peer De-configured (RFC 4486 §4).
const PEER_DECONFIGURED: u8 = 3;
/// Cease subcode 6, Other Configuration Change (RFC 4486 §4).
const CONFIGURATION_CHANGE: u8 = 6;
/// How long, after a restart, a neighbor that is down is still waited for
/// before the selection deferral ends without it.
const DOWN_PEER_GRACE: Duration = Duration::from_secs(5);

/// A request from the control API to the owner task.
#[derive(Debug)]
pub enum Command {
    /// Every neighbor's status, sorted by address.
    Neighbors(oneshot::Sender<Vec<NeighborStatus>>),
    /// Administratively shut a neighbor down with an RFC 9003 message.
    Shutdown {
        /// The neighbor.
        address: IpAddr,
        /// Text for the peer's operator.
        communication: Option<String>,
        /// Whether the neighbor was found.
        reply: oneshot::Sender<bool>,
    },
    /// Start an administratively shut-down neighbor again.
    Enable {
        /// The neighbor.
        address: IpAddr,
        /// Whether the neighbor was found.
        reply: oneshot::Sender<bool>,
    },
    /// Tear a neighbor's session down (Cease / Administrative Reset) and
    /// start it again.
    Reset {
        /// The neighbor.
        address: IpAddr,
        /// Text for the peer's operator.
        communication: Option<String>,
        /// Whether the neighbor was found.
        reply: oneshot::Sender<bool>,
    },
    /// Loc-RIB routes matching a filter.
    Routes {
        /// Which prefixes, and whether to explain the decision.
        filter: RouteFilter,
        /// The routes.
        reply: oneshot::Sender<Vec<PrefixView>>,
    },
    /// A neighbor's Adj-RIB-In (`received`, before or after import policy)
    /// or Adj-RIB-Out; `None` for an unknown neighbor.
    AdjRib {
        /// The neighbor.
        address: IpAddr,
        /// Which table.
        table: AdjRibTable,
        /// The routes.
        reply: oneshot::Sender<Option<Vec<crate::rib::AdjRibRoute>>>,
    },
    /// Re-apply import policy to what the neighbor sends (`In`: a
    /// ROUTE-REFRESH request per family) or re-send it our routes (`Out`).
    SoftReset {
        /// The neighbor.
        address: IpAddr,
        /// Which direction.
        direction: SoftDirection,
        /// What was done, or why nothing could be.
        reply: oneshot::Sender<Result<String, String>>,
    },
    /// The histogram of UPDATE propagation times.
    Propagation(oneshot::Sender<super::status::LatencyHistogram>),
    /// Replace the prefixes imported from kernel routes (`[[import_kernel]]`).
    SetImported(std::collections::BTreeSet<ipnetwork::IpNetwork>),
    /// Prefix, path and attribute-set counts of the RIB.
    RibCounts(oneshot::Sender<crate::rib::RibCounts>),
    /// Apply a new configuration, resetting only neighbors whose session
    /// settings changed.
    Reconfigure {
        /// The new configuration.
        config: Box<SpeakerConfig>,
        /// What changed, one line each.
        reply: oneshot::Sender<Vec<String>>,
    },
    /// Stop every session and end the task.
    Stop {
        /// Close the connections without a NOTIFICATION, so that peers
        /// helping with graceful restart keep our routes (RFC 4724 §4.2);
        /// otherwise send Cease / Administrative Shutdown.
        graceful: bool,
        /// Text for the peers' operators.
        communication: Option<String>,
        /// Answered when every NOTIFICATION is queued.
        reply: oneshot::Sender<()>,
    },
}

/// Which of a neighbor's tables [`Command::AdjRib`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjRibTable {
    /// What it sent us, after import policy.
    Received,
    /// What it sent us, before import policy (kept only with
    /// `soft_reconfiguration_inbound`).
    ReceivedBeforePolicy,
    /// What we send it.
    Advertised,
}

/// The direction of a soft reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoftDirection {
    /// Routes from the neighbor.
    In,
    /// Routes to the neighbor.
    Out,
}

/// Where the speaker sends what it produces besides BGP messages.
#[derive(Debug, Default)]
pub struct SpeakerOutputs {
    /// Forwarding changes for the kernel, in batches.
    pub fib: Option<mpsc::UnboundedSender<Vec<FibUpdate>>>,
    /// How many of the batches sent on `fib` the kernel task has carried
    /// out (see `Owner::gather_event`).
    pub fib_applied: Option<tokio::sync::watch::Receiver<u64>>,
    /// Fired once, when every configured neighbor that is not shut down is
    /// Established and has sent End-of-RIB for each of its families: the
    /// moment to sweep routes left over from before a restart.
    pub converged: Option<oneshot::Sender<()>>,
}

struct ConnectOutcome {
    address: IpAddr,
    connection: ConnectionId,
    result: io::Result<TcpStream>,
}

/// The owner task's state.
pub(super) struct Owner {
    config: SpeakerConfig,
    /// Boxed: a B-tree node holds eleven values, so unboxed a node would
    /// cost eleven neighbors' state however many it held.
    neighbors: BTreeMap<IpAddr, Box<Neighbor>>,
    /// Each neighbor's address by its id, for the RIB's per-group output.
    addresses: BTreeMap<NeighborId, IpAddr>,
    sockets: BTreeMap<SocketId, (IpAddr, ConnectionId)>,
    next_socket: u64,
    next_neighbor: u32,
    listeners: Vec<Arc<TcpListener>>,
    /// Aborted when the owner ends, which closes the listening sockets.
    accept_tasks: Vec<tokio::task::JoinHandle<()>>,
    routing: Routing,
    outputs: SpeakerOutputs,
    /// While this speaker restarts: when it started, and the latest moment
    /// to stop waiting for End-of-RIB (RFC 4724 §4.1 selection deferral).
    deferral: Option<(Instant, Instant)>,
    /// When the oldest UPDATE not yet passed on arrived.
    update_pending_since: Option<Instant>,
    /// Time from an UPDATE's arrival to the re-advertisement it caused.
    propagation: super::status::LatencyHistogram,
    /// Batches of forwarding changes sent to the kernel task so far.
    fib_batches_sent: u64,
    connection_events: mpsc::Sender<ConnectionEvent>,
    connect_outcomes: mpsc::Sender<ConnectOutcome>,
}

/// The receiving ends of the owner's channels.
pub(super) struct Inboxes {
    pub commands: mpsc::Receiver<Command>,
    pub accepted: mpsc::Receiver<(TcpStream, SocketAddr)>,
    connection_events: mpsc::Receiver<ConnectionEvent>,
    connect_outcomes: mpsc::Receiver<ConnectOutcome>,
}

impl Owner {
    pub(super) fn new(
        config: SpeakerConfig,
        listeners: Vec<Arc<TcpListener>>,
        accept_tasks: Vec<tokio::task::JoinHandle<()>>,
        commands: mpsc::Receiver<Command>,
        accepted: mpsc::Receiver<(TcpStream, SocketAddr)>,
        outputs: SpeakerOutputs,
    ) -> (Owner, Inboxes) {
        // Bounded: a peer that floods us fills this and stalls its own
        // reader, not the daemon's memory.
        let (connection_events, connection_events_receiver) = mpsc::channel(1024);
        let (connect_outcomes, connect_outcomes_receiver) = mpsc::channel(256);
        let owner = Owner {
            routing: Routing::new(Instant::now(), &config),
            outputs,
            update_pending_since: None,
            propagation: super::status::LatencyHistogram::for_propagation(),
            fib_batches_sent: 0,
            deferral: config
                .restarting
                .map(|time| (Instant::now(), Instant::now() + time)),
            config,
            neighbors: BTreeMap::new(),
            addresses: BTreeMap::new(),
            sockets: BTreeMap::new(),
            next_socket: 0,
            next_neighbor: 0,
            listeners,
            accept_tasks,
            connection_events,
            connect_outcomes,
        };
        let inboxes = Inboxes {
            commands,
            accepted,
            connection_events: connection_events_receiver,
            connect_outcomes: connect_outcomes_receiver,
        };
        (owner, inboxes)
    }

    /// Runs until a Stop command or until every command sender is gone.
    pub(super) async fn run(mut self, mut inboxes: Inboxes) {
        let now = Instant::now();
        for settings in self.config.neighbors.clone() {
            self.add_neighbor(now, settings, false);
        }
        // With no neighbor to wait for, the start is already complete.
        self.check_converged();
        // An event drained but handed back until the flush (see
        // `drain_connection_events`).
        let mut held = None;
        loop {
            let deadline = self.next_deadline();
            let sleep = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = inboxes.commands.recv() => match command {
                    Some(Command::Stop { graceful, communication, reply }) => {
                        self.stop_all(Instant::now(), graceful, communication);
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.command(Instant::now(), command),
                    None => return,
                },
                Some(event) = inboxes.connection_events.recv() => {
                    self.connection_event(Instant::now(), event);
                    held = self.drain_connection_events(&mut inboxes.connection_events);
                    if held.is_none() {
                        if self.routing.lost_session_pending() {
                            held = self.gather_loss(&mut inboxes.connection_events).await;
                        } else if self.routing.settling() {
                            held = self.gather_event(&mut inboxes.connection_events).await;
                        }
                    }
                }
                Some(outcome) = inboxes.connect_outcomes.recv() => self.connect_outcome(Instant::now(), outcome),
                Some((stream, remote)) = inboxes.accepted.recv() => self.accepted(Instant::now(), stream, remote),
                () = sleep => self.timeouts(Instant::now()),
            }
            self.end_deferral_when_done(Instant::now());
            self.flush_routes(Instant::now());
            if let Some(event) = held.take() {
                self.connection_event(Instant::now(), event);
                self.end_deferral_when_done(Instant::now());
                self.flush_routes(Instant::now());
            }
        }
    }

    /// Handles the connection events already queued behind the one just
    /// handled, up to [`MAX_DRAINED`], before the RIB is flushed: a burst
    /// (a full table's UPDATEs, many sessions lost at once, a storm of
    /// OPENs) then costs one flush and one round of writes instead of one
    /// per event. Once a lost session's withdrawals wait to go out, only
    /// further losses are taken in; any other event is handed back, to be
    /// handled after the flush, so that a neighbor already back cannot
    /// re-announce its routes before the others heard them withdrawn.
    fn drain_connection_events(
        &mut self,
        events: &mut mpsc::Receiver<ConnectionEvent>,
    ) -> Option<ConnectionEvent> {
        for _ in 0..MAX_DRAINED {
            let event = events.try_recv().ok()?;
            let loss = matches!(event, ConnectionEvent::Closed { .. });
            if !loss && self.routing.lost_session_pending() {
                return Some(event);
            }
            self.connection_event(Instant::now(), event);
        }
        None
    }

    /// Changes wait to go out (a lost session's withdrawals, or an UPDATE's
    /// changes waiting for the rest of their event): the kernel is told at
    /// once, and the owner steps aside [`GATHER_YIELDS`] times to take in
    /// what the other readers report meanwhile (more losses, the event's
    /// other messages), so that they are flushed together. Returns how many
    /// forwarding changes the kernel was sent, and an event handed back as
    /// by [`Owner::drain_connection_events`].
    async fn gather(
        &mut self,
        events: &mut mpsc::Receiver<ConnectionEvent>,
    ) -> (usize, Option<ConnectionEvent>) {
        let changes = self.send_fib_changes();
        for _ in 0..GATHER_YIELDS {
            tokio::task::yield_now().await;
            let held = self.drain_connection_events(events);
            if held.is_some() {
                return (changes, held);
            }
        }
        (changes, None)
    }

    /// An UPDATE's changes wait for the other messages of their event (the
    /// same withdrawal's other family, say): after [`Owner::gather`] they
    /// go at the next flush instead of after the RIB's fixed settling time.
    /// A few forwarding changes are given up to [`KERNEL_FIRST`] to reach
    /// the kernel before the UPDATEs leave, as a single-threaded daemon does
    /// by construction: writing the UPDATEs to every neighbor on both
    /// runtime workers meanwhile delayed the kernel's change by half a
    /// millisecond or more. Returns an event handed back as by
    /// [`Owner::drain_connection_events`] (a loss taken in meanwhile).
    async fn gather_event(
        &mut self,
        events: &mut mpsc::Receiver<ConnectionEvent>,
    ) -> Option<ConnectionEvent> {
        let (changes, held) = self.gather(events).await;
        self.kernel_first(changes).await;
        self.routing.settle();
        held
    }

    /// A lost session's withdrawals wait for further losses
    /// ([`Owner::gather`]); the forwarding changes of the losses taken in
    /// meanwhile go to the kernel too, and when all of them are few (one
    /// neighbor's prefixes, not fifty flapping clients') the kernel is
    /// given up to [`KERNEL_FIRST`] to have carried them out before the
    /// withdrawals leave, as for an UPDATE's ([`Owner::gather_event`]):
    /// writing the withdrawals to every other neighbor on both workers
    /// delayed a cut session's kernel change by one to four milliseconds.
    async fn gather_loss(
        &mut self,
        events: &mut mpsc::Receiver<ConnectionEvent>,
    ) -> Option<ConnectionEvent> {
        let (changes, held) = self.gather(events).await;
        let changes = changes + self.send_fib_changes();
        self.kernel_first(changes).await;
        held
    }

    /// Waits up to [`KERNEL_FIRST`] for the kernel task to have carried
    /// out every batch sent so far, when the `changes` just sent are
    /// between 1 and [`KERNEL_FIRST_CHANGES`].
    async fn kernel_first(&mut self, changes: usize) {
        if !(1..=KERNEL_FIRST_CHANGES).contains(&changes) {
            return;
        }
        let sent = self.fib_batches_sent;
        if let Some(applied) = self.outputs.fib_applied.as_mut() {
            let _ =
                tokio::time::timeout(KERNEL_FIRST, applied.wait_for(|applied| *applied >= sent))
                    .await;
        }
    }

    /// Ends the selection deferral of a restart (RFC 4724 §4.1) once every
    /// configured neighbor that is up has sent End-of-RIB, not waiting for
    /// neighbors that are down, restarting themselves, or without graceful
    /// restart, or when the deferral time is over. From then
    /// on routes are advertised and OPENs no longer carry the Restart State bit.
    fn end_deferral_when_done(&mut self, now: Instant) {
        let Some((started, until)) = self.deferral else {
            return;
        };
        let mut waiting = 0usize;
        let mut done = 0usize;
        for neighbor in self
            .neighbors
            .values()
            .filter(|neighbor| !neighbor.dynamic && !neighbor.settings.shutdown)
        {
            let established = neighbor.peer.state() == State::Established;
            let received: std::collections::BTreeSet<_> = self
                .routing
                .rib()
                .end_of_rib_received(crate::rib::PeerId(neighbor.id.0))
                .into_iter()
                .collect();
            // RFC 4724 §4.1: End-of-RIB is awaited from every peer except
            // those that are restarting themselves (R bit) and those that do
            // not do graceful restart (which need not send one): waiting
            // for peers that wait for us would hold everyone until the timer.
            let excluded = neighbor
                .peer
                .session()
                .negotiated()
                .is_some_and(|negotiated| {
                    negotiated
                        .peer_graceful_restart
                        .as_ref()
                        .is_none_or(|restart| restart.restart_state)
                });
            if established && (excluded || neighbor.families.is_subset(&received)) {
                done += 1;
            } else if established
                || !matches!(
                    neighbor.peer.state(),
                    State::Idle | State::Active | State::Connect
                )
            {
                // Up or coming up: wait for it.
                waiting += 1;
            } else if now < started + DOWN_PEER_GRACE {
                // Down so far, but give it a moment to come back.
                waiting += 1;
            }
        }
        if waiting > 0 && now < until {
            return;
        }
        self.deferral = None;
        info!(
            neighbors_done = done,
            after_seconds = now.saturating_duration_since(started).as_secs_f64(),
            "restart complete: selection deferral over, advertising routes"
        );
        for neighbor in self.neighbors.values_mut() {
            if let Some(restart) = neighbor
                .settings
                .session
                .capabilities
                .graceful_restart
                .as_mut()
            {
                restart.restart_state = false;
            }
            neighbor
                .peer
                .set_local_capabilities(neighbor.settings.session.capabilities.clone());
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.neighbors
            .values()
            .filter_map(|neighbor| neighbor.next_timeout())
            .chain(self.routing.next_deadline())
            .chain(self.deferral.map(|(_, until)| until))
            .chain(self.deferral.map(|(started, _)| started + DOWN_PEER_GRACE))
            .min()
    }

    fn timeouts(&mut self, now: Instant) {
        self.routing.handle_timeouts(now);
        let due: Vec<IpAddr> = self
            .neighbors
            .iter()
            .filter(|(_, neighbor)| {
                neighbor
                    .next_timeout()
                    .is_some_and(|deadline| deadline <= now)
            })
            .map(|(address, _)| *address)
            .collect();
        for address in due {
            if let Some(neighbor) = self.neighbors.get_mut(&address) {
                if neighbor.restart_at.is_some_and(|at| at <= now) {
                    neighbor.restart_at = None;
                    info!(neighbor = %address, "restarting after the prefix limit teardown");
                    let start = if neighbor.settings.session.passive {
                        Input::ManualStartPassive
                    } else {
                        Input::ManualStart
                    };
                    neighbor.peer.handle(now, start);
                }
                neighbor.peer.handle_timeout(now);
            }
            self.drive(now, address);
        }
    }

    fn add_neighbor(&mut self, now: Instant, settings: NeighborSettings, dynamic: bool) {
        let address = settings.address();
        self.next_neighbor += 1;
        let mut neighbor = Neighbor::new(NeighborId(self.next_neighbor), settings, dynamic);
        if !neighbor.settings.shutdown {
            let start = if neighbor.settings.session.passive {
                Input::ManualStartPassive
            } else {
                Input::ManualStart
            };
            neighbor.peer.handle(now, start);
        }
        self.addresses.insert(neighbor.id, address);
        self.neighbors.insert(address, Box::new(neighbor));
        self.drive(now, address);
    }

    fn feed(&mut self, now: Instant, address: IpAddr, input: Input) {
        if let Some(neighbor) = self.neighbors.get_mut(&address) {
            neighbor.peer.handle(now, input);
            self.drive(now, address);
        }
    }

    /// Carries out every action the neighbor's FSMs produced.
    fn drive(&mut self, now: Instant, address: IpAddr) {
        // Everything logged while acting for this neighbor carries its address
        // (and, with `[logging] format = "json"`, as a field of the span).
        let span = tracing::info_span!("neighbor", address = %address);
        let _entered = span.enter();
        loop {
            let Some(neighbor) = self.neighbors.get_mut(&address) else {
                return;
            };
            let Some(action) = neighbor.peer.poll_action() else {
                break;
            };
            match action {
                Action::Connect { connection } => {
                    let remote = SocketAddr::new(address, neighbor.settings.port);
                    let settings = neighbor.settings.transport.clone();
                    let timeout = neighbor
                        .settings
                        .session
                        .connect_retry
                        .max(Duration::from_secs(5));
                    let outcomes = self.connect_outcomes.clone();
                    tokio::spawn(async move {
                        let result = transport::connect(remote, &settings, timeout).await;
                        let _ = outcomes
                            .send(ConnectOutcome {
                                address,
                                connection,
                                result,
                            })
                            .await;
                    });
                }
                Action::Send {
                    connection,
                    message,
                } => {
                    let context = neighbor.encode_context(connection);
                    match (
                        neighbor.connections.get(&connection),
                        message.to_bytes(&context),
                    ) {
                        (Some(handle), Ok(bytes)) => handle.send(bytes),
                        (None, _) => {
                            debug!(neighbor = %address, %connection, "message for a closed connection dropped")
                        }
                        (_, Err(error)) => {
                            warn!(neighbor = %address, %error, "could not encode a message")
                        }
                    }
                }
                Action::CloseConnection { connection } => {
                    if let Some(handle) = neighbor.connections.remove(&connection) {
                        self.sockets.remove(&handle.id);
                        handle.close_after_flush();
                    }
                }
                Action::Established {
                    connection,
                    negotiated,
                } => {
                    info!(
                        neighbor = %address,
                        asn = negotiated.peer_as,
                        router_id = %negotiated.peer_router_id,
                        "session established"
                    );
                    let local = neighbor
                        .connections
                        .get(&connection)
                        .map(|handle| handle.local);
                    neighbor.restart_time = negotiated
                        .peer_graceful_restart
                        .as_ref()
                        .map(|restart| Duration::from_secs(u64::from(restart.restart_time)));
                    neighbor.families = negotiated.families.clone();
                    let id = neighbor.id;
                    let settings = neighbor.settings.clone();
                    self.routing.peer_up(
                        now,
                        id,
                        &settings,
                        &negotiated,
                        local,
                        &self.config.host_addresses,
                    );
                }
                Action::SessionDown {
                    reason,
                    retain_routes,
                } => {
                    info!(neighbor = %address, ?reason, retain_routes, "session down");
                    let id = neighbor.id;
                    let retain_for = neighbor.restart_time.filter(|_| retain_routes);
                    self.routing.peer_down(now, id, retain_for);
                }
                Action::DeliverUpdate(update) => {
                    if update.treat_as_withdraw.is_some() {
                        neighbor.updates_treated_as_withdraw += 1;
                    }
                    let id = neighbor.id;
                    self.update_pending_since.get_or_insert(now);
                    let end_of_rib = update.is_end_of_rib().is_some();
                    if let Some(notification) = self.routing.receive_update(now, id, *update) {
                        if let Some(neighbor) = self.neighbors.get_mut(&address) {
                            neighbor.restart_at = neighbor
                                .settings
                                .routing
                                .max_prefixes_restart
                                .map(|after| now + after);
                            neighbor
                                .peer
                                .handle(now, Input::AutomaticStop { notification });
                        }
                    }
                    if end_of_rib {
                        self.check_converged();
                    }
                }
                Action::DeliverRouteRefresh(refresh) => {
                    let id = neighbor.id;
                    self.routing.route_refresh(now, id, refresh);
                }
                Action::StateChanged { from, to } => {
                    debug!(neighbor = %address, %from, %to, "state changed");
                }
            }
        }
        self.forget_if_finished(address);
    }

    fn forget_if_finished(&mut self, address: IpAddr) {
        if self
            .neighbors
            .get(&address)
            .is_some_and(|neighbor| neighbor.is_finished())
        {
            if let Some(neighbor) = self.neighbors.remove(&address) {
                self.addresses.remove(&neighbor.id);
            }
            info!(neighbor = %address, "dynamic neighbor gone");
        }
    }

    fn accepted(&mut self, now: Instant, stream: TcpStream, remote: SocketAddr) {
        let address = canonical(remote.ip());
        if !self.neighbors.contains_key(&address) {
            match self.dynamic_settings(address) {
                Some(settings) => self.add_neighbor(now, settings, true),
                None => {
                    warn!(remote = %remote, "connection refused: not a configured neighbor nor inside a listen range");
                    return;
                }
            }
        }
        let Some(neighbor) = self.neighbors.get_mut(&address) else {
            return;
        };
        if let Err(error) = transport::configure_accepted(&stream, &neighbor.settings.transport) {
            warn!(neighbor = %address, %error, "could not apply TTL settings to an accepted connection");
            return;
        }
        let connection = neighbor.allocate_inbound();
        match self.attach(address, connection, stream) {
            Ok(()) => {
                self.feed(now, address, Input::TcpConnectionConfirmed { connection });
                self.drop_unowned(address);
            }
            Err(error) => warn!(neighbor = %address, %error, "accepted connection failed at once"),
        }
    }

    /// Settings for a peer connecting from a listen range, if one covers it
    /// (the longest matching range) and it has room.
    fn dynamic_settings(&self, address: IpAddr) -> Option<NeighborSettings> {
        let range = self
            .config
            .listen_ranges
            .iter()
            .filter(|range| range.prefix.contains(address))
            .max_by_key(|range| range.prefix.prefix())?;
        if let Some(limit) = range.max_neighbors {
            let present = self
                .neighbors
                .values()
                .filter(|neighbor| neighbor.dynamic && range.prefix.contains(neighbor.address()))
                .count();
            if present >= limit {
                warn!(remote = %address, range = %range.prefix, limit, "connection refused: listen range is full");
                return None;
            }
        }
        let mut settings = range.template.clone();
        settings.session.peer_address = address;
        settings.session.passive = true;
        settings.session.automatic_restart = false;
        settings.shutdown = false;
        Some(settings)
    }

    /// Closes sockets the neighbor's FSMs did not take (e.g. an inbound
    /// connection while administratively down).
    fn drop_unowned(&mut self, address: IpAddr) {
        let Some(neighbor) = self.neighbors.get_mut(&address) else {
            return;
        };
        let unowned: Vec<ConnectionId> = neighbor
            .connections
            .keys()
            .copied()
            .filter(|connection| neighbor.session_of(*connection).is_none())
            .collect();
        for connection in unowned {
            if let Some(handle) = neighbor.connections.remove(&connection) {
                self.sockets.remove(&handle.id);
                handle.close_after_flush();
            }
        }
        self.forget_if_finished(address);
    }

    fn connect_outcome(&mut self, now: Instant, outcome: ConnectOutcome) {
        let ConnectOutcome {
            address,
            connection,
            result,
        } = outcome;
        if !self.neighbors.contains_key(&address) {
            return;
        }
        match result.and_then(|stream| self.attach(address, connection, stream)) {
            Ok(()) => {
                self.feed(now, address, Input::TcpConnectionSucceeded { connection });
                self.drop_unowned(address);
            }
            Err(error) => {
                let error = error.to_string();
                self.feed(
                    now,
                    address,
                    Input::TcpConnectionFails { connection, error },
                );
            }
        }
    }

    /// Starts the tasks of a connected socket and files it under the
    /// neighbor's connection id.
    fn attach(
        &mut self,
        address: IpAddr,
        connection: ConnectionId,
        stream: TcpStream,
    ) -> io::Result<()> {
        let Some(neighbor) = self.neighbors.get_mut(&address) else {
            return Err(io::Error::other("the neighbor was removed"));
        };
        self.next_socket += 1;
        let socket = SocketId(self.next_socket);
        let handle = ConnectionHandle::spawn(
            socket,
            stream,
            self.connection_events.clone(),
            self.config.connection,
        )?;
        neighbor.connections.insert(connection, handle);
        self.sockets.insert(socket, (address, connection));
        Ok(())
    }

    fn connection_event(&mut self, now: Instant, event: ConnectionEvent) {
        let socket = match &event {
            ConnectionEvent::Message { connection, .. }
            | ConnectionEvent::DecodeError { connection, .. }
            | ConnectionEvent::Closed { connection, .. } => *connection,
        };
        let Some(&(address, connection)) = self.sockets.get(&socket) else {
            return;
        };
        match event {
            ConnectionEvent::Message { message, .. } => {
                let is_open = matches!(message, Message::Open(_));
                self.feed(
                    now,
                    address,
                    Input::MessageReceived {
                        connection,
                        message,
                    },
                );
                if is_open {
                    // The reader waits for this before decoding the next
                    // message, which may already use what the OPENs agreed.
                    if let Some(neighbor) = self.neighbors.get(&address) {
                        if let Some(handle) = neighbor.connections.get(&connection) {
                            handle.set_decode_context(neighbor.decode_context(connection));
                        }
                    }
                }
            }
            ConnectionEvent::DecodeError { error, .. } => {
                warn!(neighbor = %address, field = error.field, offset = error.offset, detail = %error.detail, "malformed message");
                self.feed(now, address, Input::DecodeError { connection, error });
            }
            ConnectionEvent::Closed { reason, .. } => {
                if let Some(neighbor) = self.neighbors.get_mut(&address) {
                    neighbor.connections.remove(&connection);
                }
                self.sockets.remove(&socket);
                self.feed(
                    now,
                    address,
                    Input::TcpConnectionFails {
                        connection,
                        error: reason,
                    },
                );
            }
        }
    }

    /// Fires the `converged` output once every configured neighbor that is
    /// not shut down is Established and has sent End-of-RIB for each family.
    fn check_converged(&mut self) {
        if self.outputs.converged.is_none() {
            return;
        }
        let mut expected = BTreeMap::new();
        for neighbor in self
            .neighbors
            .values()
            .filter(|neighbor| !neighbor.dynamic && !neighbor.settings.shutdown)
        {
            if neighbor.peer.state() != State::Established {
                return;
            }
            expected.insert(neighbor.id, neighbor.families.clone());
        }
        if self.routing.end_of_rib_from_all(&expected) {
            if let Some(converged) = self.outputs.converged.take() {
                info!("End-of-RIB received from every neighbor");
                let _ = converged.send(());
            }
        }
    }

    /// Sends what the RIB has queued, encoded once per update group, and
    /// hands forwarding changes to the kernel task. While a restart defers
    /// selection, nothing is advertised yet.
    fn flush_routes(&mut self, now: Instant) {
        self.send_fib_changes();
        if self.deferral.is_some() {
            return;
        }
        let batches = self.routing.poll_outbound(now);
        if let Some(since) = self.update_pending_since {
            if !batches.is_empty() {
                self.propagation
                    .observe(now.saturating_duration_since(since).as_secs_f64());
                self.update_pending_since = None;
            } else if self.routing.next_deadline().is_none() {
                // The UPDATEs changed nothing anyone is sent: no propagation.
                self.update_pending_since = None;
            }
        }
        for batch in batches {
            let count = batch.messages.len() as u64;
            // Held once for all the batch's peers: their writers write from it.
            let messages = SharedMessages::new(batch.messages);
            for id in &batch.neighbors {
                let Some(address) = self.address_of(*id) else {
                    continue;
                };
                let Some(neighbor) = self.neighbors.get_mut(&address) else {
                    continue;
                };
                if neighbor.peer.state() != State::Established {
                    continue;
                }
                let Some(connection) = neighbor.peer.session().connection() else {
                    continue;
                };
                if let Some(handle) = neighbor.connections.get(&connection) {
                    handle.send_shared(&messages);
                    neighbor.peer.handle(now, Input::UpdatesSent { count });
                }
            }
        }
    }

    /// Hands the forwarding changes made so far to the kernel task;
    /// returns how many there were.
    fn send_fib_changes(&mut self) -> usize {
        let changes = self.routing.poll_fib_changes();
        let count = changes.len();
        if count > 0 {
            if let Some(fib) = &self.outputs.fib {
                if fib.send(changes).is_ok() {
                    self.fib_batches_sent += 1;
                }
            }
        }
        count
    }

    fn address_of(&self, id: NeighborId) -> Option<IpAddr> {
        self.addresses.get(&id).copied()
    }

    fn command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Neighbors(reply) => {
                let _ = reply.send(self.statuses(now));
            }
            Command::Routes { filter, reply } => {
                let _ = reply.send(self.routing.routes(filter));
            }
            Command::AdjRib {
                address,
                table,
                reply,
            } => {
                let routes = self.neighbors.get(&address).map(|neighbor| {
                    let peer = crate::rib::PeerId(neighbor.id.0);
                    let rib = self.routing.rib();
                    match table {
                        AdjRibTable::Received => rib.adj_rib_in(peer, false),
                        AdjRibTable::ReceivedBeforePolicy => rib.adj_rib_in(peer, true),
                        AdjRibTable::Advertised => rib.adj_rib_out(peer),
                    }
                });
                let _ = reply.send(routes);
            }
            Command::SoftReset {
                address,
                direction,
                reply,
            } => {
                let _ = reply.send(self.soft_reset(now, address, direction));
            }
            Command::Propagation(reply) => {
                let _ = reply.send(self.propagation.clone());
            }
            Command::SetImported(prefixes) => {
                self.routing.set_imported(now, prefixes);
            }
            Command::RibCounts(reply) => {
                let _ = reply.send(self.routing.rib().counts());
            }
            Command::Shutdown {
                address,
                communication,
                reply,
            } => {
                let found = self
                    .neighbors
                    .get_mut(&address)
                    .map(|neighbor| neighbor.settings.shutdown = true)
                    .is_some();
                self.feed(now, address, Input::ManualStop { communication });
                let _ = reply.send(found);
                self.check_converged();
            }
            Command::Enable { address, reply } => {
                let Some(neighbor) = self.neighbors.get_mut(&address) else {
                    let _ = reply.send(false);
                    return;
                };
                neighbor.settings.shutdown = false;
                let start = if neighbor.settings.session.passive {
                    Input::ManualStartPassive
                } else {
                    Input::ManualStart
                };
                self.feed(now, address, start);
                let _ = reply.send(true);
            }
            Command::Reset {
                address,
                communication,
                reply,
            } => {
                let found = self.neighbors.contains_key(&address);
                self.feed(now, address, Input::AdministrativeReset { communication });
                let _ = reply.send(found);
            }
            Command::Reconfigure { config, reply } => {
                let changes = self.reconfigure(now, *config);
                let _ = reply.send(changes);
                self.check_converged();
            }
            Command::Stop { .. } => {}
        }
    }

    fn statuses(&self, now: Instant) -> Vec<NeighborStatus> {
        self.neighbors
            .values()
            .map(|neighbor| {
                let external = match &neighbor.settings.session.peer_as {
                    crate::session::ExpectedPeerAs::Exact(asn) => *asn != self.config.local_as,
                    _ => neighbor
                        .peer
                        .session()
                        .negotiated()
                        .is_some_and(|negotiated| !negotiated.internal),
                };
                let facts = NeighborFacts {
                    route_reflector_client: neighbor.settings.route_reflector_client,
                    dynamic: neighbor.dynamic,
                    description: neighbor.settings.description.as_deref(),
                    shutdown: neighbor.settings.shutdown,
                    external,
                    import_policy: &neighbor.settings.routing.import_policy,
                    export_policy: &neighbor.settings.routing.export_policy,
                    updates_treated_as_withdraw: neighbor.updates_treated_as_withdraw,
                };
                NeighborStatus::new(
                    now,
                    &neighbor.peer.status(),
                    neighbor.peer.session().negotiated(),
                    facts,
                    self.routing.counts(neighbor.id),
                )
            })
            .collect()
    }

    /// Applies a new configuration. Neighbors whose session, socket or
    /// identity settings are unchanged keep their sessions (and uptime).
    fn reconfigure(&mut self, now: Instant, config: SpeakerConfig) -> Vec<String> {
        let mut changes = Vec::new();
        let mut refreshes = Vec::new();
        let wanted: BTreeMap<IpAddr, NeighborSettings> = config
            .neighbors
            .iter()
            .map(|settings| (settings.address(), settings.clone()))
            .collect();
        let configured: Vec<IpAddr> = self
            .neighbors
            .iter()
            .filter(|(_, neighbor)| !neighbor.dynamic)
            .map(|(address, _)| *address)
            .collect();
        for address in configured {
            if wanted.contains_key(&address) {
                continue;
            }
            changes.push(format!("neighbor {address} removed"));
            self.remove_neighbor(now, address, PEER_DECONFIGURED);
        }
        for (address, settings) in wanted {
            match self.neighbors.get_mut(&address) {
                None => {
                    changes.push(format!("neighbor {address} added"));
                    self.add_neighbor(now, settings, false);
                }
                Some(neighbor) if neighbor.dynamic => {
                    // Now configured: let the dynamic session end and the
                    // configured one take over.
                    changes.push(format!("neighbor {address} now configured"));
                    self.remove_neighbor(now, address, CONFIGURATION_CHANGE);
                    self.add_neighbor(now, settings, false);
                }
                Some(neighbor) if neighbor.settings.needs_reset_for(&settings) => {
                    changes.push(format!("neighbor {address} changed: session reset"));
                    self.remove_neighbor(now, address, CONFIGURATION_CHANGE);
                    self.add_neighbor(now, settings, false);
                }
                Some(neighbor) if neighbor.settings != settings => {
                    changes.push(format!("neighbor {address} changed: no reset needed"));
                    let was_shutdown = neighbor.settings.shutdown;
                    let policy_changed = neighbor.settings.routing.import_policy
                        != settings.routing.import_policy
                        || neighbor.settings.routing.export_policy
                            != settings.routing.export_policy;
                    if neighbor.settings.session.capabilities != settings.session.capabilities {
                        // Announced in the next OPEN; the session stays.
                        neighbor
                            .peer
                            .set_local_capabilities(settings.session.capabilities.clone());
                    }
                    neighbor.settings = settings;
                    if policy_changed {
                        let id = neighbor.id;
                        let routing = neighbor.settings.routing.clone();
                        refreshes.extend(self.routing.set_neighbor_policy(
                            now,
                            id,
                            &routing.import_policy,
                            &routing.export_policy,
                        ));
                    }
                    let Some(neighbor) = self.neighbors.get_mut(&address) else {
                        continue;
                    };
                    match (was_shutdown, neighbor.settings.shutdown) {
                        (false, true) => self.feed(
                            now,
                            address,
                            Input::ManualStop {
                                communication: None,
                            },
                        ),
                        (true, false) => self.feed(now, address, Input::ManualStart),
                        _ => {}
                    }
                }
                Some(_) => {}
            }
        }
        let keys = listener_keys(&config);
        for listener in &self.listeners {
            for (prefix, key) in &keys {
                if let Err(error) = transport::install_listener_key(listener.as_ref(), *prefix, key)
                {
                    warn!(%prefix, %error, "could not install a TCP-MD5 key on a listener");
                }
            }
        }
        refreshes.extend(self.routing.reconfigure(now, &config).route_refresh);
        self.config = config;
        for (id, family) in refreshes {
            let Some(address) = self.address_of(id) else {
                continue;
            };
            changes.push(format!(
                "neighbor {address}: route refresh requested for {family}"
            ));
            let refresh = RouteRefresh {
                family,
                subtype: RouteRefreshSubtype::Request,
            };
            self.feed(now, address, Input::SendRouteRefresh(refresh));
        }
        changes
    }

    /// A soft reset (no session reset): asks the neighbor to send its routes
    /// again (in), or sends it ours again (out), for every negotiated family.
    fn soft_reset(
        &mut self,
        now: Instant,
        address: IpAddr,
        direction: SoftDirection,
    ) -> Result<String, String> {
        let neighbor = self
            .neighbors
            .get(&address)
            .ok_or_else(|| format!("no neighbor {address}"))?;
        let negotiated = neighbor
            .peer
            .session()
            .negotiated()
            .filter(|_| neighbor.peer.state() == State::Established)
            .ok_or_else(|| format!("neighbor {address} is not Established"))?;
        let families: Vec<crate::wire::Family> = negotiated.families.iter().copied().collect();
        let id = neighbor.id;
        match direction {
            SoftDirection::In => {
                if !negotiated.route_refresh {
                    return Err(format!(
                        "neighbor {address} did not negotiate route refresh (RFC 2918); \
                         set soft_reconfiguration_inbound or reset the session"
                    ));
                }
                for family in &families {
                    let refresh = RouteRefresh {
                        family: *family,
                        subtype: RouteRefreshSubtype::Request,
                    };
                    self.feed(now, address, Input::SendRouteRefresh(refresh));
                }
                Ok(format!("asked for {} families again", families.len()))
            }
            SoftDirection::Out => {
                for family in &families {
                    let refresh = RouteRefresh {
                        family: *family,
                        subtype: RouteRefreshSubtype::Request,
                    };
                    self.routing.route_refresh(now, id, refresh);
                }
                Ok(format!("re-sending {} families", families.len()))
            }
        }
    }

    /// Stops a neighbor with a Cease of `subcode` (the NOTIFICATION is
    /// queued and flushed) and forgets it.
    fn remove_neighbor(&mut self, now: Instant, address: IpAddr, subcode: u8) {
        self.feed(
            now,
            address,
            Input::AutomaticStop {
                notification: Notification::cease(subcode),
            },
        );
        if let Some(mut neighbor) = self.neighbors.remove(&address) {
            self.addresses.remove(&neighbor.id);
            // A removed neighbor's routes go now, graceful restart or not.
            self.routing.forget(now, neighbor.id);
            for handle in std::mem::take(&mut neighbor.connections).into_values() {
                self.sockets.remove(&handle.id);
                handle.close_after_flush();
            }
        }
    }

    fn stop_all(&mut self, now: Instant, graceful: bool, communication: Option<String>) {
        if graceful {
            // No NOTIFICATION: to a graceful restart helper, a closed TCP
            // connection means "restarting", and it keeps our routes.
            for neighbor in self.neighbors.values_mut() {
                neighbor.connections.clear();
            }
            self.sockets.clear();
            return;
        }
        let addresses: Vec<IpAddr> = self.neighbors.keys().copied().collect();
        for address in addresses {
            self.feed(
                now,
                address,
                Input::ManualStop {
                    communication: communication.clone(),
                },
            );
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        for task in &self.accept_tasks {
            task.abort();
        }
    }
}

/// Every TCP-MD5 key the listeners need: per neighbor (a host prefix) and
/// per listen range.
pub(super) fn listener_keys(config: &SpeakerConfig) -> Vec<(ipnetwork::IpNetwork, String)> {
    let neighbors = config.neighbors.iter().filter_map(|neighbor| {
        let password = neighbor.transport.password.clone()?;
        Some((ipnetwork::IpNetwork::from(neighbor.address()), password))
    });
    let ranges = config
        .listen_ranges
        .iter()
        .filter_map(|range| Some((range.prefix, range.template.transport.password.clone()?)));
    neighbors.chain(ranges).collect()
}

/// IPv4 peers reaching an IPv6 socket appear as ::ffff:a.b.c.d.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}
