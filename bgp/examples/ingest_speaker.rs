//! The speaker-level twin of `ingest.rs`: bench scenario 1 through the real
//! speaker over loopback sockets, so that framing, the reader tasks, the
//! owner's channel, the writer tasks and the kernel's socket work are all
//! counted as in the daemon.
//!
//! Data flow: a speaker (AS 64512) listens on 127.0.0.2 with two passive
//! eBGP neighbors, a generator on 127.0.0.10 (AS 65001) and a sink on
//! 127.0.0.20 (AS 65002), `next_hop = keep`, import and export `all`, the
//! daemon's default 10 ms `update_delay_ms`. Both peers are plain threads
//! with blocking sockets: they exchange OPENs, the generator writes the
//! pre-encoded stream (the one `ingest.rs` builds) as fast as the socket
//! takes it, and the sink decodes what it is sent until it holds every
//! prefix. The speaker's own CPU time is that of the tokio worker threads,
//! read from `/proc/self/task/*/stat`; the peers' threads are named and
//! reported apart.
//!
//! ```sh
//! cargo build --release -p bgp --example ingest_speaker
//! target/release/examples/ingest_speaker --ipv4 1000000 --ipv6 200000
//! ```
//!
//! With `--external ADDRESS:PORT --pid PID` the peers talk to a running
//! podroute daemon instead (neighbors 127.0.0.10 AS 65001 and 127.0.0.20
//! AS 65002, both passive, `next_hop = "keep"`, `[fib] enabled = false`),
//! and the CPU time and peak resident memory reported are that process's
//! own, from `/proc/PID`.

// A profiling driver, not part of the daemon: a broken setup may stop it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/scenario_one.rs"]
mod scenario_one;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bgp::rib::{NextHopMode, RibSettings};
use bgp::session::{ExpectedPeerAs, SessionConfig};
use bgp::speaker::transport::TransportSettings;
use bgp::speaker::{self, NeighborRouting, NeighborSettings, SpeakerConfig};
use bgp::wire::{AS_TRANS, Capability, CodecContext, Family, Message, Open, framing};
use bytes::BytesMut;

const LOCAL_AS: u32 = 64512;

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The driver's options.
struct Options {
    ipv4: u32,
    ipv6: u32,
    /// A running daemon to measure instead of an in-process speaker.
    external: Option<(SocketAddr, u32)>,
}

fn arguments() -> Options {
    let mut options = Options {
        ipv4: 1_000_000,
        ipv6: 200_000,
        external: None,
    };
    let mut address = None;
    let mut pid = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(name) = arguments.next() {
        let value = arguments
            .next()
            .unwrap_or_else(|| panic!("{name} needs a value"));
        let number = || -> u32 {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} needs a number"))
        };
        match name.as_str() {
            "--ipv4" => options.ipv4 = number(),
            "--ipv6" => options.ipv6 = number(),
            "--pid" => pid = Some(number()),
            "--external" => {
                address = Some(
                    value
                        .parse::<SocketAddr>()
                        .expect("--external ADDRESS:PORT"),
                )
            }
            _ => panic!(
                "unknown option {name} (--ipv4 N --ipv6 N [--external ADDRESS:PORT --pid PID])"
            ),
        }
    }
    options.external = match (address, pid) {
        (Some(address), Some(pid)) => Some((address, pid)),
        (None, None) => None,
        _ => panic!("--external and --pid go together"),
    };
    options
}

/// The bench generator's stream, without End-of-RIB: the generator keeps
/// its session and the sink counts prefixes.
fn stream(ipv4: u32, ipv6: u32) -> Vec<u8> {
    scenario_one::announcements(ipv4, ipv6)
}

fn neighbor(address: IpAddr, asn: u32) -> NeighborSettings {
    let mut session = SessionConfig::new(
        LOCAL_AS,
        Ipv4Addr::new(198, 18, 0, 2),
        address,
        ExpectedPeerAs::Exact(asn),
    );
    session.passive = true;
    session.hold_time = 240;
    let mut routing = NeighborRouting::open();
    routing.next_hop = NextHopMode::Keep;
    NeighborSettings {
        session,
        port: 179,
        transport: TransportSettings {
            source_address: Some(loopback(2)),
            ..Default::default()
        },
        route_reflector_client: false,
        routing,
        description: None,
        shutdown: false,
    }
}

/// A blocking BGP peer: just enough of RFC 4271 §8 to reach Established.
struct Peer {
    stream: TcpStream,
    buffer: BytesMut,
    context: CodecContext,
}

impl Peer {
    fn connect(local: IpAddr, remote: SocketAddr, asn: u32) -> Peer {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket
            .bind(&SocketAddr::new(local, 0).into())
            .expect("bind");
        socket.connect(&remote.into()).expect("connect");
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true).expect("nodelay");
        let mut peer = Peer {
            stream,
            buffer: BytesMut::new(),
            context: CodecContext::legacy(),
        };
        let open = Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time: 240,
            bgp_identifier: match local {
                IpAddr::V4(address) => address,
                IpAddr::V6(_) => Ipv4Addr::new(198, 18, 0, 99),
            },
            capabilities: vec![
                Capability::Multiprotocol {
                    family: Family::IPV4_UNICAST,
                },
                Capability::Multiprotocol {
                    family: Family::IPV6_UNICAST,
                },
                Capability::FourOctetAs { asn },
            ],
        };
        peer.send(&Message::Open(open));
        loop {
            match peer.next() {
                Message::Open(_) => {
                    peer.context = CodecContext::new();
                    peer.send(&Message::Keepalive);
                }
                Message::Keepalive => return peer,
                other => panic!("before Established: {other:?}"),
            }
        }
    }

    fn send(&mut self, message: &Message) {
        let bytes = message.to_bytes(&self.context).unwrap();
        self.stream.write_all(&bytes).unwrap();
    }

    fn next(&mut self) -> Message {
        loop {
            if let Some(frame) = framing::split_message(&mut self.buffer, &self.context).unwrap() {
                return Message::decode(&frame, &self.context).unwrap();
            }
            let mut chunk = [0u8; 65536];
            let read = self.stream.read(&mut chunk).unwrap();
            assert!(read > 0, "the speaker closed the session");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// Fields of a `/proc/.../stat` line after the parenthesised name.
fn stat_fields(stat: &str) -> Vec<u64> {
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .map(|field| field.parse::<u64>().unwrap_or(0))
        .collect()
}

/// CPU seconds (user + system) of process `pid`.
fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields = stat_fields(&stat);
    (fields[11] + fields[12]) as f64 / 100.0
}

/// Peak resident memory of process `pid`, MiB.
fn process_peak_mebibytes(pid: u32) -> f64 {
    process_status_mebibytes(pid, "VmHWM:")
}

/// Resident memory of process `pid` now, MiB.
fn process_resident_mebibytes(pid: u32) -> f64 {
    process_status_mebibytes(pid, "VmRSS:")
}

/// One `kB` field of `/proc/PID/status`, MiB.
fn process_status_mebibytes(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kibibytes: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kibibytes / 1024.0
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn thread_cpu_seconds(prefix: &str) -> f64 {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let value = |index: usize| {
            fields
                .get(index)
                .and_then(|field| field.parse::<u64>().ok())
        };
        ticks += value(11).unwrap_or(0) + value(12).unwrap_or(0);
    }
    ticks as f64 / 100.0
}

fn main() {
    let options = arguments();
    let (ipv4, ipv6) = (options.ipv4, options.ipv6);
    let input = stream(ipv4, ipv6);
    let expected = ipv4 as usize + ipv6 as usize;
    if let Some((address, pid)) = options.external {
        let idle = process_resident_mebibytes(pid);
        let cpu = move || process_cpu_seconds(pid);
        let (wall, used) = run_peers(address, input, expected, cpu);
        println!(
            "{expected} routes through the daemon (pid {pid}) in {wall:.3} s wall; {used:.2} CPU-s; resident {idle:.1} MiB idle, peak {:.1} MiB, {:.1} MiB when done",
            process_peak_mebibytes(pid),
            process_resident_mebibytes(pid)
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tokio-speaker")
        .enable_all()
        .build()
        .unwrap();
    let config = SpeakerConfig {
        local_as: LOCAL_AS,
        router_id: Ipv4Addr::new(198, 18, 0, 2),
        listen: vec![SocketAddr::new(loopback(2), 0)],
        neighbors: vec![neighbor(loopback(10), 65001), neighbor(loopback(20), 65002)],
        listen_ranges: vec![],
        connection: Default::default(),
        rib: {
            let mut settings = RibSettings::new(LOCAL_AS, Ipv4Addr::new(198, 18, 0, 2));
            settings.coalesce_window = Duration::from_millis(10);
            settings
        },
        originate: vec![],
        restarting: None,
        host_addresses: vec![],
        stale_time: Duration::from_secs(360),
    };
    let handle = runtime
        .block_on(async { speaker::spawn(config, Default::default()).map(|(handle, _)| handle) })
        .unwrap();
    let address = handle.listening()[0];
    let (wall, speaker_cpu) = run_peers(address, input, expected, || {
        thread_cpu_seconds("tokio-speaker")
    });
    println!(
        "{expected} routes through the speaker in {wall:.3} s wall; speaker threads {speaker_cpu:.2} CPU-s; End-of-RIB not sent; {} routes/s",
        (expected as f64 / wall) as u64
    );
}

/// Connects the sink and the generator to `address`, sends the stream and
/// waits until the sink holds `expected` prefixes: the wall time from the
/// first byte sent, and what `cpu` counted meanwhile.
fn run_peers(
    address: SocketAddr,
    input: Vec<u8>,
    expected: usize,
    cpu: impl Fn() -> f64 + Send + 'static,
) -> (f64, f64) {
    let sink = std::thread::Builder::new()
        .name("sink".into())
        .spawn(move || {
            let mut peer = Peer::connect(loopback(20), address, 65002);
            let mut received = 0usize;
            while received < expected {
                if let Message::Update(update) = peer.next() {
                    received += update.announced().count();
                }
            }
            (Instant::now(), peer)
        })
        .unwrap();
    let (start, generator) = std::thread::Builder::new()
        .name("generator".into())
        .spawn(move || {
            let mut peer = Peer::connect(loopback(10), address, 65001);
            // Give the sink's session time to come up, so that it is sent
            // the routes as they arrive, not as one initial table.
            std::thread::sleep(Duration::from_millis(300));
            let before = cpu();
            let start = Instant::now();
            peer.stream.write_all(&input).unwrap();
            (start, (peer, before, cpu))
        })
        .unwrap()
        .join()
        .unwrap();
    let (done, _sink) = sink.join().unwrap();
    let (_generator_peer, before, cpu) = generator;
    (done.duration_since(start).as_secs_f64(), cpu() - before)
}
