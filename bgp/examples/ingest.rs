//! A repeatable profiling driver for bench scenario 1: a full table from one
//! eBGP peer, passed to one eBGP sink, with no FIB and no policy.
//!
//! Data flow, as in the daemon but without sockets or tasks: the stream the
//! bench generator sends (1M IPv4 /24 + 200k IPv6 /48 by default, one
//! attribute set, 4096-byte UPDATEs, then End-of-RIB) is encoded up front;
//! then each message is framed and decoded (`Message::decode`), handed to
//! `Rib::receive_update`, and after each one the owner's flush runs:
//! `Rib::poll_fib_changes` and `Rib::poll_outbound` on a virtual clock, so
//! the 10 ms coalescing window of the daemon's default `update_delay_ms`
//! closes every `--per-window` messages. What goes out towards the sink is
//! counted and decoded again at the end, to check every prefix arrived.
//!
//! With `INGEST_FIB=1` in the environment the RIB also records forwarding
//! changes, as the daemon does when it programs the kernel (scenario 2).
//!
//! ```sh
//! cargo build --release -p bgp --example ingest
//! valgrind --tool=callgrind target/release/examples/ingest --ipv4 200000 --ipv6 50000
//! perf stat -e instructions target/release/examples/ingest
//! target/release/examples/ingest --shuffle 1   # prefixes in random order
//! ```
//!
//! Only the routing phase is timed and reported on stdout; building the
//! stream, checking the output and dropping the RIB are not part of it.
//! To count only that phase's instructions:
//! `valgrind --tool=callgrind --toggle-collect='ingest::run' ...`.

// A profiling driver, not part of the daemon: a broken setup may stop it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/scenario_one.rs"]
mod scenario_one;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp::rib::{NextHopMode, PeerId, PeerInfo, Rib, RibSettings};
use bgp::wire::{CodecContext, Family, Message, Update, framing};
use bytes::{Bytes, BytesMut};
use ipnetwork::IpNetwork;

const GENERATOR: PeerId = PeerId(1);
const SINK: PeerId = PeerId(2);

struct Options {
    ipv4: u32,
    ipv6: u32,
    per_window: u32,
    repeat: u32,
    shuffle: bool,
}

fn options() -> Options {
    let mut options = Options {
        ipv4: 1_000_000,
        ipv6: 200_000,
        per_window: 64,
        repeat: 1,
        shuffle: false,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(name) = arguments.next() {
        let value: u32 = arguments
            .next()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a number"));
        match name.as_str() {
            "--ipv4" => options.ipv4 = value,
            "--ipv6" => options.ipv6 = value,
            "--per-window" => options.per_window = value.max(1),
            "--repeat" => options.repeat = value.max(1),
            "--shuffle" => options.shuffle = value != 0,
            _ => panic!(
                "unknown option {name} (--ipv4 N --ipv6 N --per-window N --repeat N --shuffle 0|1)"
            ),
        }
    }
    options
}

/// The bench generator's stream followed by End-of-RIB for both families.
fn stream(ipv4: u32, ipv6: u32, shuffled: bool) -> Vec<u8> {
    let mut buffer = scenario_one::announcements_in_order(ipv4, ipv6, shuffled);
    let context = CodecContext::new();
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        buffer.extend_from_slice(
            &Message::Update(Update::end_of_rib(family))
                .to_bytes(&context)
                .unwrap(),
        );
    }
    buffer
}

fn external_peer(address: &str, asn: u32, router_id: Ipv4Addr) -> PeerInfo {
    let mut info = PeerInfo::internal(address.parse().unwrap(), asn, router_id);
    info.internal = false;
    info.next_hop = NextHopMode::Keep;
    info.local_ipv4 = Some(Ipv4Addr::new(198, 18, 0, 2));
    info.local_ipv6 = Some("2001:db8::2".parse().unwrap());
    info
}

/// What one run produced, for the check and the report.
struct Run {
    rib: Rib,
    elapsed: Duration,
    sent: Vec<Bytes>,
    fib_changes: usize,
    messages: usize,
}

#[inline(never)]
fn run(input: &[u8], per_window: u32) -> Run {
    let start = Instant::now();
    let mut settings = RibSettings::new(64512, Ipv4Addr::new(198, 18, 0, 2));
    settings.coalesce_window = Duration::from_millis(10);
    // As in the daemon with `[fib] enabled = false` (scenario 1): no
    // forwarding changes are recorded.
    settings.forwarding = std::env::var_os("INGEST_FIB").is_some();
    let step = settings.coalesce_window / per_window;
    let mut rib = Rib::new(settings);
    let mut now = Instant::now();
    rib.peer_up(
        now,
        GENERATOR,
        external_peer("198.18.0.10", 65001, Ipv4Addr::new(198, 18, 0, 10)),
    );
    rib.peer_up(
        now,
        SINK,
        external_peer("198.18.0.20", 65002, Ipv4Addr::new(198, 18, 0, 20)),
    );
    let mut sent = Vec::new();
    let mut fib_changes = 0usize;
    let mut flush = |rib: &mut Rib, now: Instant, sent: &mut Vec<Bytes>| {
        fib_changes += rib.poll_fib_changes().len();
        for outbound in rib.poll_outbound(now) {
            if outbound.peers.contains(&SINK) {
                sent.extend(outbound.messages);
            }
        }
    };
    flush(&mut rib, now, &mut sent);
    let context = CodecContext::new();
    let mut buffer = BytesMut::from(input);
    let mut messages = 0usize;
    while let Some(frame) = framing::split_message(&mut buffer, &context).unwrap() {
        let Ok(Message::Update(update)) = Message::decode(&frame, &context) else {
            panic!("the stream holds only UPDATEs");
        };
        rib.receive_update(now, GENERATOR, update);
        messages += 1;
        now += step;
        flush(&mut rib, now, &mut sent);
    }
    now += Duration::from_secs(1);
    flush(&mut rib, now, &mut sent);
    let elapsed = start.elapsed();
    Run {
        rib,
        elapsed,
        sent,
        fib_changes,
        messages,
    }
}

/// Decodes what the sink was sent: distinct IPv4 and IPv6 prefixes announced.
fn received(sent: &[Bytes]) -> (usize, usize) {
    let context = CodecContext::new();
    let mut ipv4 = std::collections::BTreeSet::new();
    let mut ipv6 = std::collections::BTreeSet::new();
    for message in sent {
        if let Ok(Message::Update(update)) = Message::decode(message, &context) {
            for (_, nlri) in update.announced() {
                match nlri.prefix {
                    IpNetwork::V4(_) => ipv4.insert(nlri.prefix),
                    IpNetwork::V6(_) => ipv6.insert(nlri.prefix),
                };
            }
        }
    }
    (ipv4.len(), ipv6.len())
}

fn main() {
    let options = options();
    let input = stream(options.ipv4, options.ipv6, options.shuffle);
    for repetition in 0..options.repeat {
        let outcome = run(&input, options.per_window);
        // Dropping a full RIB takes a while too; the daemon never does it
        // while routing, so it is left out of the timed (and profiled) part.
        drop(outcome.rib);
        let bytes: usize = outcome.sent.iter().map(Bytes::len).sum();
        let (ipv4, ipv6) = received(&outcome.sent);
        println!(
            "run {repetition}: {} messages in, {} routes in {:.3} s ({:.0} routes/s); {} messages ({bytes} bytes) to the sink; {} FIB changes",
            outcome.messages,
            options.ipv4 + options.ipv6,
            outcome.elapsed.as_secs_f64(),
            f64::from(options.ipv4 + options.ipv6) / outcome.elapsed.as_secs_f64(),
            outcome.sent.len(),
            outcome.fib_changes,
        );
        assert_eq!(
            (ipv4, ipv6),
            (options.ipv4 as usize, options.ipv6 as usize),
            "the sink must receive every prefix"
        );
    }
}
