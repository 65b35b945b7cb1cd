//! Memory per route, measured rather than asserted (a benchmark, not a
//! test): run with
//! `cargo test -p bgp --release --lib NAME -- --ignored --nocapture --exact`
//! with NAME each of the two tests below, one per process.
//! It loads 1M IPv4 routes from one peer, once with one attribute set and
//! once with 1000, and prints the resident memory each costs per route.

use super::*;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn load(distinct: u32) -> (u64, Rib) {
    const ROUTES: u32 = 1_000_000;
    let mut rib = Rib::new(settings());
    rib.peer_up(now(), PeerId(1), peer(1, Kind::NonClient));
    let before = resident_bytes();
    let per_set = ROUTES / distinct;
    for set in 0..distinct {
        let mut path = attributes(&[64700, 64701 + set]);
        path.next_hop = Some(v4("198.18.1.1"));
        let mut update = Update {
            attributes: path,
            ..Update::default()
        };
        for index in 0..per_set {
            let route = set * per_set + index;
            let address = std::net::Ipv4Addr::from(0x0a00_0000u32 + (route << 8));
            update.nlri.push(Nlri::new(IpNetwork::V4(
                ipnetwork::Ipv4Network::new(address, 24).unwrap(),
            )));
            if update.nlri.len() == 1000 {
                let batch = std::mem::take(&mut update.nlri);
                let mut chunk = update.clone();
                chunk.nlri = batch;
                rib.receive_update(now(), PeerId(1), chunk);
                // As the speaker does after every UPDATE.
                rib.poll_fib_changes();
                rib.poll_outbound(now());
            }
        }
        if !update.nlri.is_empty() {
            rib.receive_update(now(), PeerId(1), update);
        }
    }
    rib.poll_fib_changes();
    let after = resident_bytes();
    (after.saturating_sub(before) / u64::from(ROUTES), rib)
}

fn report(distinct: u32) {
    {
        let (per_route, rib) = load(distinct);
        let counts = rib.counts();
        println!(
            "1M routes, {distinct} attribute set(s): {per_route} bytes per route \
             ({} prefixes, {} attribute sets; size_of Path = {} bytes, Destination = {} bytes)",
            counts.families[&crate::wire::Family::IPV4_UNICAST].prefixes,
            counts.attribute_sets,
            std::mem::size_of::<crate::rib::table::Path>(),
            std::mem::size_of::<crate::rib::table::Destination>(),
        );
        assert_eq!(counts.attribute_sets, u64::from(distinct));
        drop(rib);
    }
}

// Each variant runs alone (`--test-threads=1`, one name per run) so that
// memory freed by one does not hide the cost of the other.
#[test]
#[ignore = "a measurement: run alone with --ignored --nocapture in release mode"]
fn bytes_per_route_one_attribute_set() {
    report(1);
}

#[test]
#[ignore = "a measurement: run alone with --ignored --nocapture in release mode"]
fn bytes_per_route_a_thousand_attribute_sets() {
    report(1000);
}

/// Time to take 1M routes from an eBGP peer into the RIB and pass them on
/// to two iBGP peers of one update group, polling after every UPDATE as the
/// speaker does, then to dump the whole table to a third peer coming up.
#[test]
#[ignore = "a measurement: run alone with --ignored --nocapture in release mode"]
fn time_for_a_million_routes() {
    let start = std::time::Instant::now();
    let mut rib = Rib::new(settings());
    rib.peer_up(now(), PeerId(1), peer(1, Kind::External));
    rib.peer_up(now(), PeerId(2), peer(2, Kind::NonClient));
    rib.peer_up(now(), PeerId(3), peer(3, Kind::NonClient));
    rib.poll_outbound(now());
    let mut bytes_out = 0usize;
    let mut update = announce(&[], attributes(&[64601, 64700]), "198.18.1.1");
    for route in 0..1_000_000u32 {
        let address = std::net::Ipv4Addr::from(0x0a00_0000u32 + (route << 8));
        update.nlri.push(Nlri::new(IpNetwork::V4(
            ipnetwork::Ipv4Network::new(address, 24).unwrap(),
        )));
        if update.nlri.len() == 1000 {
            let chunk = update.clone();
            update.nlri.clear();
            rib.receive_update(now(), PeerId(1), chunk);
            rib.poll_fib_changes();
            for batch in rib.poll_outbound(now()) {
                bytes_out += batch.messages.iter().map(bytes::Bytes::len).sum::<usize>();
            }
        }
    }
    let ingest = start.elapsed();
    let dump_start = std::time::Instant::now();
    rib.peer_up(now(), PeerId(4), peer(4, Kind::NonClient));
    let dump: usize = rib
        .poll_outbound(now())
        .iter()
        .flat_map(|batch| batch.messages.iter())
        .map(bytes::Bytes::len)
        .sum();
    println!(
        "1M routes in and out to one update group of two peers: {:.2} s ({bytes_out} bytes encoded once); \
         full-table dump to a new peer: {:.2} s ({dump} bytes)",
        ingest.as_secs_f64(),
        dump_start.elapsed().as_secs_f64()
    );
    assert_eq!(rib.peer_counters(PeerId(2)).advertised, 1_000_000);
    assert_eq!(rib.peer_counters(PeerId(4)).advertised, 1_000_000);
}
