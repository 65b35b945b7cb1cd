//! Two of the roles the harness runs inside lab containers, each a
//! subcommand of this same binary: `generate` (one eBGP peer sending a
//! pre-encoded table) and `sink` (one peer receiving and counting). The
//! many-client `mesh` role is [`crate::mesh`], the kernel roles
//! [`crate::kernel`].
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgp::wire::Message;
use serde::Serialize;

use crate::count::PrefixCounter;
use crate::error::{BenchError, Result};
use crate::session::{self, Session};
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

/// Reads stdin on a plain thread and hands each trimmed line to `deliver`
/// until it returns false; end of input ends the process, which is how the
/// harness stops a role.
pub fn read_stdin_lines(mut deliver: impl FnMut(String) -> bool + Send + 'static) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(text) = line else { break };
            if !deliver(text.trim().to_string()) {
                break;
            }
        }
        std::process::exit(0);
    });
}

/// Watches stdin: each `go` line is passed on.
fn stdin_control() -> Receiver<()> {
    let (sender, receiver) = channel();
    read_stdin_lines(move |line| {
        if line == "go" {
            let _ = sender.send(());
        }
        true
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
    counter.reserve(options.expect_ipv4, options.expect_ipv6);
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
