//! Session protection and OPEN checks between podroute and the other
//! daemons (issue 3, scenarios 2 to 4), all in one topology since none of
//! the sessions disturbs another. podroute is AS 64512; every peer is eBGP.
//!
//! | peer (AS)         | IPv4 transport                 | IPv6 transport                 |
//! |-------------------|--------------------------------|--------------------------------|
//! | BIRD (65001)      | TCP-MD5, same password         | TCP-MD5, podroute's is wrong   |
//! | FRR (65002)       | TCP-MD5, same password         | TCP-MD5, podroute's is wrong   |
//! | FRR GTSM (65003)  | GTSM, `ttl-security hops 1`    | -                              |
//! | GoBGP (65004)     | podroute expects AS 65099      | -                              |
//! | BIRD AS (65005)   | podroute expects AS 65099      | -                              |
//!
//! FRR as the peer with the wrong AS is a test of its own, ignored while
//! podroute resets the connection right after its NOTIFICATION (see
//! `frr_records_the_bad_peer_as_podroute_sends`).
//!
//! - RFC 2385: with the right password the session comes up; with a wrong
//!   one the kernel drops every segment, so neither side ever sees an OPEN:
//!   podroute's `last_error` names the failed connection, it has received
//!   no message at all, and the peer is not Established either.
//! - RFC 5082: FRR only accepts TTL 255 and podroute's eBGP default is TTL
//!   1, so Established proves podroute's GTSM setting reached the socket.
//! - RFC 4271 §6.2: podroute, configured with the wrong AS for a peer,
//!   answers its OPEN with OPEN Message Error / Bad Peer AS (2/2), and the
//!   peer itself reports having received it (BIRD and FRR by name; GoBGP
//!   keeps only a count of NOTIFICATIONs received, and its log at level
//!   info names none).

use std::net::IpAddr;

use interop::{DaemonKind, Family, Lab, NeighborSpec, Result, Router, RouterSpec};

const PODROUTE_AS: u32 = 64512;
const WRONG_AS: u32 = 65099;
const PASSWORD: &str = "lab-secret";
const WRONG_PASSWORD: &str = "not-the-lab-secret";

fn neighbor(address: IpAddr, asn: u32) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = match address {
        IpAddr::V4(_) => vec![Family::Ipv4Unicast],
        IpAddr::V6(_) => vec![Family::Ipv6Unicast],
    };
    spec
}

fn with_password(mut spec: NeighborSpec, password: &str) -> NeighborSpec {
    spec.password = Some(password.to_string());
    spec
}

/// A neighbor whose TCP-MD5 key differs from the peer's. Its connect retry
/// cap is well above podroute's 5 s connect timeout: podroute reports a
/// timed-out connect only when the retry timer has not replaced the attempt
/// first (see `a_connect_superseded_by_the_retry_timer_is_still_reported`).
fn with_wrong_password(spec: NeighborSpec) -> NeighborSpec {
    let mut spec = with_password(spec, WRONG_PASSWORD);
    spec.connect_retry = 30;
    spec
}

fn podroute_error(podroute: &Router, peer: IpAddr) -> Option<String> {
    podroute
        .podroute_neighbor(peer)
        .ok()
        .flatten()
        .and_then(|view| view.last_error)
}

fn scenario() -> Result<()> {
    let lab = Lab::new("peering-security")?;
    let net = lab.network("net")?;
    let podroute_node = lab.podroute_node("podroute", &net, 2)?;
    let bird_node = lab.node("bird", &net, 3)?;
    let frr_node = lab.node("frr", &net, 4)?;
    let gtsm_node = lab.node("frr-gtsm", &net, 5)?;
    let gobgp_node = lab.node("gobgp", &net, 6)?;
    let bird_as_node = lab.node("bird-as", &net, 7)?;
    let (p4, p6) = (
        IpAddr::V4(podroute_node.ipv4),
        IpAddr::V6(podroute_node.ipv6),
    );
    let (bird4, bird6) = (IpAddr::V4(bird_node.ipv4), IpAddr::V6(bird_node.ipv6));
    let (frr4, frr6) = (IpAddr::V4(frr_node.ipv4), IpAddr::V6(frr_node.ipv6));
    let gtsm4 = IpAddr::V4(gtsm_node.ipv4);
    let gobgp4 = IpAddr::V4(gobgp_node.ipv4);
    let bird_as4 = IpAddr::V4(bird_as_node.ipv4);

    let mut bird_spec = RouterSpec::new(65001, bird_node.ipv4, Some(bird_node.ipv6));
    bird_spec.neighbors = vec![
        with_password(neighbor(p4, PODROUTE_AS), PASSWORD),
        with_password(neighbor(p6, PODROUTE_AS), PASSWORD),
    ];
    let mut frr_spec = RouterSpec::new(65002, frr_node.ipv4, Some(frr_node.ipv6));
    frr_spec.neighbors = bird_spec.neighbors.clone();
    let mut gtsm_spec = RouterSpec::new(65003, gtsm_node.ipv4, None);
    let mut gtsm = neighbor(p4, PODROUTE_AS);
    gtsm.ttl_security = true;
    gtsm_spec.neighbors = vec![gtsm];
    let mut gobgp_spec = RouterSpec::new(65004, gobgp_node.ipv4, None);
    gobgp_spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];
    let mut bird_as_spec = RouterSpec::new(65005, bird_as_node.ipv4, None);
    bird_as_spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];

    let mut podroute_spec =
        RouterSpec::new(PODROUTE_AS, podroute_node.ipv4, Some(podroute_node.ipv6));
    let mut podroute_gtsm = neighbor(gtsm4, 65003);
    podroute_gtsm.ttl_security = true;
    podroute_spec.neighbors = vec![
        with_password(neighbor(bird4, 65001), PASSWORD),
        with_wrong_password(neighbor(bird6, 65001)),
        with_password(neighbor(frr4, 65002), PASSWORD),
        with_wrong_password(neighbor(frr6, 65002)),
        podroute_gtsm,
        neighbor(gobgp4, WRONG_AS),
        neighbor(bird_as4, WRONG_AS),
    ];

    let bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let frr_gtsm = lab.router(DaemonKind::Frr, &gtsm_node, gtsm_spec)?;
    let gobgp = lab.router(DaemonKind::Gobgp, &gobgp_node, gobgp_spec)?;
    let bird_as = lab.router(DaemonKind::Bird, &bird_as_node, bird_as_spec)?;
    let podroute = lab.podroute_with_spec(&podroute_node, podroute_spec, &[])?;

    // Scenarios 2 (right password) and 3: up on both ends.
    let good: [(&Router, IpAddr, &Router, IpAddr); 3] = [
        (&bird, p4, &podroute, bird4),
        (&frr, p4, &podroute, frr4),
        (&frr_gtsm, p4, &podroute, gtsm4),
    ];
    lab.wait_until("MD5 (right password) and GTSM sessions Established", || {
        good.iter().all(|(peer, at_peer, podroute, at_podroute)| {
            peer.is_established(*at_peer) && podroute.is_established(*at_podroute)
        })
    })?;

    // Scenario 2, wrong password: the failed connection shows in podroute.
    let wrong_password = [(&bird, bird6), (&frr, frr6)];
    lab.wait_until(
        "podroute reports the wrong-password connections failing",
        || {
            wrong_password.iter().all(|(_, address)| {
                podroute_error(&podroute, *address)
                    .is_some_and(|error| error.starts_with("connection"))
            })
        },
    )?;
    for (peer, address) in wrong_password {
        let view = podroute
            .podroute_neighbor(address)?
            .ok_or_else(|| interop::Error::Environment(format!("{address} not listed")))?;
        assert!(!view.is_established(), "{view:?}");
        assert_eq!(
            view.messages_received, 0,
            "no segment with the wrong key may get through: {view:?}"
        );
        let at_peer = peer.neighbor(p6)?;
        assert!(
            at_peer
                .as_ref()
                .is_some_and(|status| !status.is_established()),
            "{at_peer:?}\n{}",
            peer.report()
        );
    }

    // Scenario 4: Bad Peer AS, sent by podroute, reported by each peer.
    let wrong_as = [gobgp4, bird_as4];
    lab.wait_until("podroute reports sending Bad Peer AS", || {
        wrong_as.iter().all(|address| {
            podroute_error(&podroute, *address).is_some_and(|error| {
                error.starts_with("sent")
                    && error.contains("Bad Peer AS")
                    && error.contains("(2/2)")
            })
        })
    })?;
    lab.wait_until("each peer reports receiving Bad Peer AS", || {
        let bird_saw = matches!(bird_as.neighbor(p4), Ok(Some(status))
            if status.last_error.as_deref().is_some_and(|e| e.contains("Received: Bad peer AS")));
        let gobgp_saw = gobgp
            .gobgp_notifications_received(p4)
            .is_ok_and(|count| count > 0);
        bird_saw && gobgp_saw
    })?;
    for (peer, address) in [(&gobgp, p4), (&bird_as, p4)] {
        assert!(!peer.is_established(address), "{}", peer.report());
    }
    for address in wrong_as {
        assert!(!podroute.is_established(address), "{}", podroute.report());
    }
    Ok(())
}

#[test]
fn md5_gtsm_and_bad_peer_as_between_podroute_and_peers() {
    let started = std::time::Instant::now();
    if let Err(error) = scenario() {
        panic!("{error}");
    }
    eprintln!("peering_security: {:.1} s", started.elapsed().as_secs_f64());
}

/// podroute's connect attempt to a peer that never answers (here: a
/// TCP-MD5 key mismatch, so every SYN is dropped) times out after 5 s; with
/// a `connect_retry` shorter than that, the ConnectRetry timer (RFC 4271
/// §8.2.2, Connect state) replaces the attempt first, the timed-out
/// attempt's failure is then ignored as stale, and `last_error` stays
/// `null` for ever although no connection ever succeeds.
#[test]
fn a_connect_superseded_by_the_retry_timer_is_still_reported() {
    let result = (|| -> Result<()> {
        let lab = Lab::new("peering-retry-error")?;
        let net = lab.network("net")?;
        let podroute_node = lab.podroute_node("podroute", &net, 2)?;
        let bird_node = lab.node("bird", &net, 3)?;
        let (p4, bird4) = (IpAddr::V4(podroute_node.ipv4), IpAddr::V4(bird_node.ipv4));
        let mut bird_spec = RouterSpec::new(65001, bird_node.ipv4, None);
        bird_spec.neighbors = vec![with_password(neighbor(p4, PODROUTE_AS), PASSWORD)];
        let mut podroute_spec = RouterSpec::new(PODROUTE_AS, podroute_node.ipv4, None);
        // The lab default: retry every 2 s, shorter than the 5 s connect timeout.
        podroute_spec.neighbors = vec![with_password(neighbor(bird4, 65001), WRONG_PASSWORD)];
        let _bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
        let podroute = lab.podroute_with_spec(&podroute_node, podroute_spec, &[])?;
        lab.wait_until_within(
            "podroute names the failing connection",
            std::time::Duration::from_secs(30),
            || podroute_error(&podroute, bird4).is_some(),
        )
    })();
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// FRR told the wrong AS by podroute should record the NOTIFICATION, as BIRD
/// does. podroute used to close with FRR's KEEPALIVE unread, so the kernel
/// sent a RST 50 µs after the FIN; it now drains the socket and the RST is
/// gone (bgp/src/speaker/connection.rs has the test), but FRR 8.4 still
/// records only "Waiting for peer OPEN" for a NOTIFICATION that follows the
/// OPEN in the same segment.
#[test]
#[ignore = "FRR 8.4 bookkeeping, not podroute: the wire shows podroute's OPEN and NOTIFICATION 2/2 in one segment, then a FIN and no RST, yet FRR records only 'Waiting for peer OPEN'; to be replaced by a wire-capture assertion"]
fn frr_records_the_bad_peer_as_podroute_sends() {
    let result = (|| -> Result<()> {
        let lab = Lab::new("peering-frr-bad-as")?;
        let net = lab.network("net")?;
        let podroute_node = lab.podroute_node("podroute", &net, 2)?;
        let frr_node = lab.node("frr", &net, 3)?;
        let (p4, frr4) = (IpAddr::V4(podroute_node.ipv4), IpAddr::V4(frr_node.ipv4));
        let mut frr_spec = RouterSpec::new(65006, frr_node.ipv4, None);
        frr_spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];
        let mut podroute_spec = RouterSpec::new(PODROUTE_AS, podroute_node.ipv4, None);
        podroute_spec.neighbors = vec![neighbor(frr4, WRONG_AS)];
        let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
        let podroute = lab.podroute_with_spec(&podroute_node, podroute_spec, &[])?;
        lab.wait_until("podroute reports sending Bad Peer AS to FRR", || {
            podroute_error(&podroute, frr4).is_some_and(|error| error.contains("(2/2)"))
        })?;
        lab.wait_until_within(
            "FRR records the Bad Peer AS NOTIFICATION",
            std::time::Duration::from_secs(30),
            || {
                matches!(frr.neighbor(p4), Ok(Some(status))
                    if status.last_error.as_deref().is_some_and(|e| e.contains("Bad Peer AS")))
            },
        )
    })();
    if let Err(error) = result {
        panic!("{error}");
    }
}
