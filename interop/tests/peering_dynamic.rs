//! Dynamic neighbors and refused strangers (issue 3, scenarios 7 and 8).
//! podroute (AS 64512, host .2) has no `[[neighbor]]` at all, only three
//! `[[listen_range]]`s, which do not overlap:
//!
//! | range                | AS    | reflector clients | who connects from it            |
//! |----------------------|-------|-------------------|---------------------------------|
//! | `198.18.X.0/29`      | 64512 | yes               | BIRD (.3), iBGP over IPv4       |
//! | `198.18.X.8/29`      | 65002 | no                | FRR (.9), eBGP over IPv4        |
//! | `2001:db8:X::/124`   | 64512 | yes               | BIRD (::3), iBGP over IPv6      |
//!
//! Each of those sessions comes up, and podroute lists it with
//! `"dynamic": true`, the peer's AS and router id, and the range's
//! route-reflector flag. GoBGP (.40, AS 64512) is outside every range but
//! configured to peer with podroute: podroute refuses its connections
//! (logging "connection refused: not a configured neighbor nor inside a
//! listen range" with GoBGP's address), never lists it, and GoBGP never
//! reaches Established, checked at every poll from the start.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

use interop::{DaemonKind, Family, Lab, ListenRange, NeighborSpec, Result, Router, RouterSpec};

const PODROUTE_AS: u32 = 64512;
const FRR_AS: u32 = 65002;
const REFUSAL: &str = "connection refused: not a configured neighbor nor inside a listen range";

fn neighbor(address: IpAddr, asn: u32) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = match address {
        IpAddr::V4(_) => vec![Family::Ipv4Unicast],
        IpAddr::V6(_) => vec![Family::Ipv6Unicast],
    };
    spec
}

/// What podroute must list for one dynamic neighbor.
struct Expected {
    address: IpAddr,
    asn: u32,
    router_id: Ipv4Addr,
    route_reflector_client: bool,
}

fn listed_as_expected(podroute: &Router, expected: &Expected) -> bool {
    let router_id = expected.router_id.to_string();
    matches!(podroute.podroute_neighbor(expected.address), Ok(Some(view))
        if view.is_established()
            && view.dynamic
            && view.remote_asn == Some(expected.asn)
            && view.router_id.as_deref() == Some(router_id.as_str())
            && view.route_reflector_client == expected.route_reflector_client)
}

fn scenario() -> Result<()> {
    let lab = Lab::new("peering-dynamic")?;
    let net = lab.network("net")?;
    let podroute_node = lab.podroute_node("podroute", &net, 2)?;
    let bird_node = lab.node("bird", &net, 3)?;
    let frr_node = lab.node("frr", &net, 9)?;
    let gobgp_node = lab.node("gobgp", &net, 40)?;
    let (p4, p6) = (
        IpAddr::V4(podroute_node.ipv4),
        IpAddr::V6(podroute_node.ipv6),
    );
    let (bird4, bird6) = (IpAddr::V4(bird_node.ipv4), IpAddr::V6(bird_node.ipv6));
    let frr4 = IpAddr::V4(frr_node.ipv4);
    let gobgp4 = IpAddr::V4(gobgp_node.ipv4);

    let ranges = [
        ListenRange {
            route_reflector_client: true,
            ..ListenRange::new(&format!("198.18.{}.0/29", net.index), PODROUTE_AS)
        },
        ListenRange::new(&format!("198.18.{}.8/29", net.index), FRR_AS),
        ListenRange {
            route_reflector_client: true,
            ..ListenRange::new(&format!("2001:db8:{:x}::/124", net.index), PODROUTE_AS)
        },
    ];
    let podroute_spec = RouterSpec::new(PODROUTE_AS, podroute_node.ipv4, Some(podroute_node.ipv6));
    let podroute = lab.podroute_with_spec(&podroute_node, podroute_spec, &ranges)?;

    let mut bird_spec = RouterSpec::new(PODROUTE_AS, bird_node.ipv4, Some(bird_node.ipv6));
    bird_spec.neighbors = vec![neighbor(p4, PODROUTE_AS), neighbor(p6, PODROUTE_AS)];
    let mut frr_spec = RouterSpec::new(FRR_AS, frr_node.ipv4, None);
    frr_spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];
    let mut gobgp_spec = RouterSpec::new(PODROUTE_AS, gobgp_node.ipv4, None);
    gobgp_spec.neighbors = vec![neighbor(p4, PODROUTE_AS)];
    let gobgp = lab.router(DaemonKind::Gobgp, &gobgp_node, gobgp_spec)?;
    let bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;

    // From here on, every poll also checks that the stranger never got in.
    let stranger_seen = Cell::new(false);
    let watch_stranger = || {
        if gobgp.is_established(p4) {
            stranger_seen.set(true);
        }
        if matches!(podroute.podroute_neighbor(gobgp4), Ok(Some(_))) {
            stranger_seen.set(true);
        }
        !stranger_seen.get()
    };

    let expected = [
        Expected {
            address: bird4,
            asn: PODROUTE_AS,
            router_id: bird_node.ipv4,
            route_reflector_client: true,
        },
        Expected {
            address: bird6,
            asn: PODROUTE_AS,
            router_id: bird_node.ipv4,
            route_reflector_client: true,
        },
        Expected {
            address: frr4,
            asn: FRR_AS,
            router_id: frr_node.ipv4,
            route_reflector_client: false,
        },
    ];
    let podroute_id = podroute_node.ipv4;
    lab.wait_until("the three dynamic sessions up on both ends", || {
        watch_stranger()
            && expected
                .iter()
                .all(|neighbor| listed_as_expected(&podroute, neighbor))
            && bird.is_established_with(p4, PODROUTE_AS, podroute_id)
            && bird.is_established_with(p6, PODROUTE_AS, podroute_id)
            && frr.is_established_with(p4, PODROUTE_AS, podroute_id)
    })?;

    // The stranger: refused twice (GoBGP retries every 2 s), never let in.
    let gobgp_text = gobgp4.to_string();
    lab.wait_until("podroute logs refusing GoBGP at least twice", || {
        watch_stranger()
            && podroute
                .log()
                .lines()
                .filter(|line| line.contains(REFUSAL) && line.contains(&gobgp_text))
                .count()
                >= 2
    })?;
    assert!(watch_stranger(), "GoBGP got in: {}", lab.report());
    let mut listed: Vec<IpAddr> = podroute
        .podroute_neighbors()?
        .iter()
        .map(|neighbor| neighbor.address)
        .collect();
    listed.sort();
    let mut dynamic = vec![bird4, bird6, frr4];
    dynamic.sort();
    assert_eq!(listed, dynamic, "{}", podroute.report());
    let at_gobgp = gobgp.neighbor(p4)?;
    assert!(
        at_gobgp
            .as_ref()
            .is_some_and(|status| !status.is_established()),
        "{at_gobgp:?}"
    );
    Ok(())
}

#[test]
fn listen_ranges_accept_peers_and_refuse_strangers() {
    let started = std::time::Instant::now();
    if let Err(error) = scenario() {
        panic!("{error}");
    }
    eprintln!("peering_dynamic: {:.1} s", started.elapsed().as_secs_f64());
}
