//! The three roles the harness runs inside lab containers, each a
//! subcommand of this same binary: `generate` (one eBGP peer sending a
//! pre-encoded table), `sink` (one peer receiving and counting), `mesh`
//! (many iBGP route-reflector clients sending their own routes and counting
//! everyone else's).
//!
//! Protocol with the harness, over the role's stdin and stdout: the role
//! prints `ready` once it can be measured against (sessions Established, or
//! the sink listening), waits for a `go` line where it sends anything, prints
//! one JSON result line when done, then keeps its sessions up until stdin
//! closes, so that tearing down never lands inside a measurement.
//! Timestamps are nanoseconds of the realtime clock, which every container
//! shares with the host's kernel.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgp::wire::Message;
use serde::Serialize;

use crate::count::PrefixCounter;
use crate::error::{BenchError, Result};
use crate::session::{self, Session, SharedWriter};
use crate::tables;

/// BGP port every daemon listens on.
pub const BGP_PORT: u16 = 179;

/// Nanoseconds since the Unix epoch, from the realtime clock.
pub fn now_nanoseconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Prints one line for the harness and flushes it.
pub fn role_event(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn print_result(result: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(result)
        .map_err(|error| BenchError::Other(format!("serializing a result: {error}")))?;
    role_event(&text);
    Ok(())
}

/// Watches stdin: each `go` line is passed on; end of input ends the
/// process, which is how the harness stops a role.
fn stdin_control() -> Receiver<()> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(text) if text.trim() == "go" => {
                    let _ = sender.send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        std::process::exit(0);
    });
    receiver
}

fn wait_for_go(control: &Receiver<()>) -> Result<()> {
    control
        .recv()
        .map_err(|_| BenchError::Other("the harness went away before `go`".into()))
}

/// Keeps reading (and dropping) what the peer sends, so its writes never block.
fn spawn_drain(mut session: Session) {
    std::thread::spawn(move || while session.read_message().is_ok() {});
}

/// Options of the `generate` role.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateOptions {
    /// Address of the peer to connect to (port 179).
    #[arg(long)]
    pub connect: IpAddr,
    /// Our IPv4 source address, also NEXT_HOP and BGP identifier.
    #[arg(long)]
    pub local: Ipv4Addr,
    /// Our IPv6 address, the next hop of the IPv6 routes.
    #[arg(long)]
    pub local_ipv6: Ipv6Addr,
    /// Our AS.
    #[arg(long, default_value_t = 65001)]
    pub asn: u32,
    /// IPv4 /24 prefixes to send.
    #[arg(long)]
    pub ipv4: u32,
    /// IPv6 /48 prefixes to send.
    #[arg(long)]
    pub ipv6: u32,
}

/// What the generator reports.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct GenerateResult {
    /// When the first UPDATE byte was handed to the socket.
    pub first_byte_ns: u64,
    /// When the socket took the last byte.
    pub last_byte_ns: u64,
    /// UPDATE messages sent, End-of-RIB included.
    pub messages: usize,
    /// Bytes sent.
    pub bytes: usize,
}

/// One eBGP peer announcing a pre-encoded table as fast as the socket takes it.
pub fn generate(options: &GenerateOptions) -> Result<()> {
    let control = stdin_control();
    let ipv4_prefixes = tables::ingest_ipv4(options.ipv4)?;
    let ipv6_prefixes = tables::ingest_ipv6(options.ipv6)?;
    let (buffer, messages) = tables::encode_announcements(
        &tables::attributes(options.asn, false),
        &ipv4_prefixes,
        options.local,
        &ipv6_prefixes,
        options.local_ipv6,
    )?;
    drop((ipv4_prefixes, ipv6_prefixes));
    let deadline = Instant::now() + Duration::from_secs(60);
    let stream = session::connect(
        IpAddr::V4(options.local),
        SocketAddr::new(options.connect, BGP_PORT),
        deadline,
    )?;
    let session = Session::open(stream, options.asn, options.local)?;
    let writer = session.writer();
    session::spawn_keepalives(vec![Arc::clone(&writer)]);
    spawn_drain(session);
    role_event("ready");
    wait_for_go(&control)?;
    let first_byte_ns = now_nanoseconds();
    session::write_locked(&writer, &buffer)?;
    let last_byte_ns = now_nanoseconds();
    print_result(&GenerateResult {
        first_byte_ns,
        last_byte_ns,
        messages,
        bytes: buffer.len(),
    })?;
    // Stay Established until the harness closes stdin.
    loop {
        let _ = control.recv();
    }
}

/// Options of the `sink` role.
#[derive(Debug, Clone, clap::Args)]
pub struct SinkOptions {
    /// Connect to this peer (port 179)...
    #[arg(long, conflicts_with = "listen")]
    pub connect: Option<IpAddr>,
    /// ...or accept one session on this address (calibration).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Our IPv4 source address and BGP identifier.
    #[arg(long)]
    pub local: Ipv4Addr,
    /// Our AS.
    #[arg(long, default_value_t = 65002)]
    pub asn: u32,
    /// IPv4 prefixes that complete the run.
    #[arg(long)]
    pub expect_ipv4: usize,
    /// IPv6 prefixes that complete the run.
    #[arg(long)]
    pub expect_ipv6: usize,
    /// Give up after this many seconds of being ready.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

/// What the sink reports.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct SinkResult {
    /// Whether the expected counts were reached before the timeout.
    pub reached: bool,
    /// When they were reached (or when the sink gave up).
    pub complete_ns: u64,
    /// When the first UPDATE carrying a prefix arrived.
    pub first_update_ns: u64,
    /// Distinct IPv4 prefixes held.
    pub ipv4: usize,
    /// Distinct IPv6 prefixes held.
    pub ipv6: usize,
    /// Announcements seen, repeats included.
    pub announcements: u64,
    /// Withdrawals seen.
    pub withdrawals: u64,
    /// UPDATE messages received.
    pub updates: u64,
}

/// One peer that decodes every UPDATE and timestamps the moment it holds
/// every expected prefix.
pub fn sink(options: &SinkOptions) -> Result<()> {
    let control = stdin_control();
    let stream = match (options.connect, options.listen) {
        (Some(peer), _) => session::connect(
            IpAddr::V4(options.local),
            SocketAddr::new(peer, BGP_PORT),
            Instant::now() + Duration::from_secs(60),
        )?,
        (None, Some(address)) => session::accept(address)?,
        (None, None) => return Err(BenchError::Other("sink needs --connect or --listen".into())),
    };
    let mut session = Session::open(stream, options.asn, options.local)?;
    session::spawn_keepalives(vec![session.writer()]);
    if options.connect.is_some() {
        role_event("ready");
    }
    let deadline = Instant::now() + Duration::from_secs(options.timeout);
    let result = count_until(&mut session, options, deadline)?;
    print_result(&result)?;
    spawn_drain(session);
    loop {
        let _ = control.recv();
    }
}

fn count_until(
    session: &mut Session,
    options: &SinkOptions,
    deadline: Instant,
) -> Result<SinkResult> {
    // The reader blocks on the socket; a watchdog reports a timeout instead.
    let timeout = deadline.saturating_duration_since(Instant::now());
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0u64, 0u64, 0u64, 0u64)));
    let watchdog_counts = Arc::clone(&counts);
    std::thread::spawn(move || {
        std::thread::sleep(timeout);
        let snapshot = watchdog_counts
            .lock()
            .map(|counts| *counts)
            .unwrap_or_default();
        let (ipv4, ipv6, announcements, withdrawals, updates, first_update_ns) = snapshot;
        print_result_or_log(&SinkResult {
            reached: false,
            complete_ns: now_nanoseconds(),
            first_update_ns,
            ipv4,
            ipv6,
            announcements,
            withdrawals,
            updates,
        });
        std::process::exit(2);
    });
    let mut counter = PrefixCounter::default();
    let mut updates = 0u64;
    let mut first_update_ns = 0u64;
    loop {
        let frame = session.read_message()?;
        let message = session::decode(&frame, session.context())?;
        let Message::Update(update) = message else {
            continue;
        };
        updates += 1;
        if first_update_ns == 0 && update.is_end_of_rib().is_none() {
            first_update_ns = now_nanoseconds();
        }
        counter.record(&update);
        if let Ok(mut shared) = counts.lock() {
            *shared = (
                counter.ipv4_announced(),
                counter.ipv6_announced(),
                counter.announcements,
                counter.withdrawals,
                updates,
                first_update_ns,
            );
        }
        if counter.reached(options.expect_ipv4, options.expect_ipv6) {
            return Ok(SinkResult {
                reached: true,
                complete_ns: now_nanoseconds(),
                first_update_ns,
                ipv4: counter.ipv4_announced(),
                ipv6: counter.ipv6_announced(),
                announcements: counter.announcements,
                withdrawals: counter.withdrawals,
                updates,
            });
        }
    }
}

fn print_result_or_log(result: &impl Serialize) {
    if let Err(error) = print_result(result) {
        eprintln!("{error}");
    }
}

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
    /// Give up after this many seconds of being ready.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

/// What the mesh reports.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct MeshResult {
    /// Clients that came to hold every other client's routes.
    pub complete_clients: u32,
    /// Clients in the run.
    pub clients: u32,
    /// The earliest first UPDATE byte of any client.
    pub first_byte_ns: u64,
    /// When the last client became complete (or the mesh gave up).
    pub complete_ns: u64,
    /// When the first client became complete.
    pub first_complete_ns: u64,
}

/// Shared start signal of the mesh's client threads.
type StartGate = Arc<(Mutex<bool>, Condvar)>;

/// Many iBGP route-reflector clients in one process (RFC 4456 §3): each
/// announces its own routes after `go` and counts everyone else's.
pub fn mesh(options: &MeshOptions) -> Result<()> {
    let control = stdin_control();
    let gate: StartGate = Arc::new((Mutex::new(false), Condvar::new()));
    let (ready_sender, ready) = channel::<Result<SharedWriter>>();
    let (progress_sender, progress) = channel::<(u64, u64)>();
    let each_expects = usize::try_from(options.clients.saturating_sub(1)).unwrap_or(0) * 8;
    for client in 0..options.clients {
        let ipv4 = Ipv4Addr::from(u32::from(options.first_ipv4).wrapping_add(client));
        let ipv6 = Ipv6Addr::from(u128::from(options.first_ipv6).wrapping_add(u128::from(client)));
        let client_options = options.clone();
        let (gate, ready_sender, progress_sender) = (
            Arc::clone(&gate),
            ready_sender.clone(),
            progress_sender.clone(),
        );
        std::thread::spawn(move || {
            let outcome = mesh_client(
                &client_options,
                client,
                ipv4,
                ipv6,
                each_expects,
                &gate,
                &ready_sender,
            );
            match outcome {
                Ok(times) => {
                    let _ = progress_sender.send(times);
                }
                Err(error) => {
                    eprintln!("client {client}: {error}");
                    let _ = ready_sender.send(Err(error));
                }
            }
        });
    }
    drop((ready_sender, progress_sender));
    let mut writers = Vec::new();
    for _ in 0..options.clients {
        let writer = ready
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| BenchError::Other("clients did not all reach Established".into()))??;
        writers.push(writer);
    }
    session::spawn_keepalives(writers);
    role_event("ready");
    wait_for_go(&control)?;
    let (lock, condition) = &*gate;
    if let Ok(mut started) = lock.lock() {
        *started = true;
        condition.notify_all();
    }
    let deadline = Instant::now() + Duration::from_secs(options.timeout);
    let mut result = MeshResult {
        complete_clients: 0,
        clients: options.clients,
        first_byte_ns: u64::MAX,
        complete_ns: 0,
        first_complete_ns: u64::MAX,
    };
    while result.complete_clients < options.clients {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((first_byte_ns, complete_ns)) = progress.recv_timeout(left) else {
            break;
        };
        result.complete_clients += 1;
        result.first_byte_ns = result.first_byte_ns.min(first_byte_ns);
        result.complete_ns = result.complete_ns.max(complete_ns);
        result.first_complete_ns = result.first_complete_ns.min(complete_ns);
    }
    if result.complete_clients < options.clients {
        result.complete_ns = now_nanoseconds();
    }
    print_result(&result)?;
    loop {
        let _ = control.recv();
    }
}

/// One client: establish, wait at the gate, announce, count; returns its
/// first byte and completion times.
fn mesh_client(
    options: &MeshOptions,
    client: u32,
    ipv4: Ipv4Addr,
    ipv6: Ipv6Addr,
    expects: usize,
    gate: &StartGate,
    ready: &std::sync::mpsc::Sender<Result<SharedWriter>>,
) -> Result<(u64, u64)> {
    let (ipv4_prefixes, ipv6_prefixes) = tables::client_prefixes(client)?;
    let (buffer, _) = tables::encode_announcements(
        &tables::attributes(options.asn, true),
        &ipv4_prefixes,
        ipv4,
        &ipv6_prefixes,
        ipv6,
    )?;
    let own = ipv4_prefixes
        .iter()
        .chain(&ipv6_prefixes)
        .map(|nlri| nlri.prefix);
    let mut counter = PrefixCounter::ignoring(own);
    let stream = session::connect(
        IpAddr::V4(ipv4),
        SocketAddr::new(options.connect, BGP_PORT),
        Instant::now() + Duration::from_secs(60),
    )?;
    let mut session = Session::open(stream, options.asn, ipv4)?;
    let writer = session.writer();
    let _ = ready.send(Ok(Arc::clone(&writer)));
    // Routes reflected before `go` (none are sent before it) would be counted too.
    let (lock, condition) = &**gate;
    let mut started = lock
        .lock()
        .map_err(|_| BenchError::Other("start gate poisoned".into()))?;
    while !*started {
        started = condition
            .wait(started)
            .map_err(|_| BenchError::Other("start gate poisoned".into()))?;
    }
    drop(started);
    let first_byte_ns = now_nanoseconds();
    session::write_locked(&writer, &buffer)?;
    loop {
        if counter.reached(expects, expects) {
            let complete_ns = now_nanoseconds();
            spawn_drain(session);
            return Ok((first_byte_ns, complete_ns));
        }
        let frame = session.read_message()?;
        if let Message::Update(update) = session::decode(&frame, session.context())? {
            counter.record(&update);
        }
    }
}
