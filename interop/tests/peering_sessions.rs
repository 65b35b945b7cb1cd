//! podroute peering with BIRD, FRR, GoBGP and itself (issue 3, scenarios 1
//! and 9). One lab network; every router id differs from every address, so
//! a daemon that reported the address as the identifier would be caught.
//!
//! | router     | AS    | sessions                                                   |
//! |------------|-------|------------------------------------------------------------|
//! | podroute A | 64512 | iBGP to BIRD, FRR, GoBGP, podroute C; eBGP to podroute B    |
//! | podroute B | 65010 | eBGP to BIRD, FRR, GoBGP, podroute A                        |
//! | podroute C | 64512 | iBGP to podroute A                                          |
//! | BIRD, FRR, GoBGP | 64512 | iBGP to A, eBGP to B                                  |
//!
//! Every pair peers twice, over IPv4 and over IPv6 transport (each session
//! carrying its transport's family): 16 sessions, each checked from both
//! ends, podroute's `neighbors --json` and the peer's own CLI, for
//! Established, the peer's AS and the peer's router id. The peers offer a
//! 30 s hold time against podroute's 90 s, so podroute must report the
//! negotiated 30 (RFC 4271 §4.2: the smaller of the two).
//!
//! Then podroute A shuts its IPv4 session to C down with a shutdown
//! communication (RFC 9003): C shows the text in its `last_error`, A shows
//! the neighbor shut down, the IPv6 session between them stays up, and
//! `enable` brings the IPv4 one back.

use std::net::{IpAddr, Ipv4Addr};

use interop::{
    DaemonKind, Family, Lab, NeighborSpec, Node, PodrouteNeighbor, Result, Router, RouterSpec,
};

const SHARED_AS: u32 = 64512;
const EXTERNAL_AS: u32 = 65010;
const PEER_HOLD_TIME: u16 = 30;
const SHUTDOWN_TEXT: &str = "lab maintenance window 42";

/// One neighbor over `address`'s transport, carrying that family only.
fn neighbor(address: IpAddr, asn: u32, hold_time: u16) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = match address {
        IpAddr::V4(_) => vec![Family::Ipv4Unicast],
        IpAddr::V6(_) => vec![Family::Ipv6Unicast],
    };
    spec.hold_time = hold_time;
    spec
}

/// Both transports of a node.
fn addresses(node: &Node) -> [IpAddr; 2] {
    [IpAddr::V4(node.ipv4), IpAddr::V6(node.ipv6)]
}

/// A router identifier outside the lab network's addresses.
fn router_id(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, host)
}

fn spec(asn: u32, node: &Node, host: u8) -> RouterSpec {
    let mut spec = RouterSpec::new(asn, node.ipv4, Some(node.ipv6));
    spec.router_id = router_id(host);
    spec
}

/// One end of one session: who looks, at which address, and what it must see.
struct End<'a> {
    router: &'a Router,
    peer: IpAddr,
    remote_asn: u32,
    remote_router_id: Ipv4Addr,
}

impl End<'_> {
    fn is_up(&self) -> bool {
        self.router
            .is_established_with(self.peer, self.remote_asn, self.remote_router_id)
    }
}

fn podroute_view(router: &Router, peer: IpAddr) -> Result<PodrouteNeighbor> {
    router.podroute_neighbor(peer)?.ok_or_else(|| {
        interop::Error::Environment(format!("{} does not list {peer}", router.node.container))
    })
}

fn scenario() -> Result<()> {
    let lab = Lab::new("peering-sessions")?;
    let net = lab.network("net")?;
    let a_node = lab.podroute_node("podroute-a", &net, 2)?;
    let b_node = lab.podroute_node("podroute-b", &net, 3)?;
    let c_node = lab.podroute_node("podroute-c", &net, 4)?;
    let bird_node = lab.node("bird", &net, 5)?;
    let frr_node = lab.node("frr", &net, 6)?;
    let gobgp_node = lab.node("gobgp", &net, 7)?;
    let [a4, a6] = addresses(&a_node);
    let [b4, b6] = addresses(&b_node);
    let [c4, c6] = addresses(&c_node);
    let peers = [
        (DaemonKind::Bird, &bird_node, 5u8),
        (DaemonKind::Frr, &frr_node, 6),
        (DaemonKind::Gobgp, &gobgp_node, 7),
    ];

    // Each peer: iBGP with A and eBGP with B, over both transports.
    let mut peer_routers = Vec::new();
    for (kind, node, host) in peers {
        let mut peer_spec = spec(SHARED_AS, node, host);
        for address in [a4, a6] {
            peer_spec
                .neighbors
                .push(neighbor(address, SHARED_AS, PEER_HOLD_TIME));
        }
        for address in [b4, b6] {
            peer_spec
                .neighbors
                .push(neighbor(address, EXTERNAL_AS, PEER_HOLD_TIME));
        }
        peer_routers.push((lab.router(kind, node, peer_spec)?, host));
    }

    let mut a_spec = spec(SHARED_AS, &a_node, 2);
    let mut b_spec = spec(EXTERNAL_AS, &b_node, 3);
    let mut c_spec = spec(SHARED_AS, &c_node, 4);
    for (_, node, _) in peers {
        for address in addresses(node) {
            a_spec.neighbors.push(neighbor(address, SHARED_AS, 90));
            b_spec.neighbors.push(neighbor(address, SHARED_AS, 90));
        }
    }
    for address in [b4, b6] {
        a_spec.neighbors.push(neighbor(address, EXTERNAL_AS, 90));
    }
    for address in [a4, a6] {
        b_spec.neighbors.push(neighbor(address, SHARED_AS, 90));
        c_spec.neighbors.push(neighbor(address, SHARED_AS, 90));
    }
    for address in [c4, c6] {
        a_spec.neighbors.push(neighbor(address, SHARED_AS, 90));
    }
    let a = lab.podroute_with_spec(&a_node, a_spec, &[])?;
    let b = lab.podroute_with_spec(&b_node, b_spec, &[])?;
    let c = lab.podroute_with_spec(&c_node, c_spec, &[])?;

    let mut ends: Vec<End<'_>> = Vec::new();
    for (peer, host) in &peer_routers {
        for (address, podroute_address) in addresses(&peer.node).into_iter().zip([a4, a6]) {
            ends.push(End {
                router: &a,
                peer: address,
                remote_asn: SHARED_AS,
                remote_router_id: router_id(*host),
            });
            ends.push(End {
                router: peer,
                peer: podroute_address,
                remote_asn: SHARED_AS,
                remote_router_id: router_id(2),
            });
        }
        for (address, podroute_address) in addresses(&peer.node).into_iter().zip([b4, b6]) {
            ends.push(End {
                router: &b,
                peer: address,
                remote_asn: SHARED_AS,
                remote_router_id: router_id(*host),
            });
            ends.push(End {
                router: peer,
                peer: podroute_address,
                remote_asn: EXTERNAL_AS,
                remote_router_id: router_id(3),
            });
        }
    }
    for (a_address, b_address, c_address) in [(a4, b4, c4), (a6, b6, c6)] {
        ends.push(End {
            router: &a,
            peer: b_address,
            remote_asn: EXTERNAL_AS,
            remote_router_id: router_id(3),
        });
        ends.push(End {
            router: &b,
            peer: a_address,
            remote_asn: SHARED_AS,
            remote_router_id: router_id(2),
        });
        ends.push(End {
            router: &a,
            peer: c_address,
            remote_asn: SHARED_AS,
            remote_router_id: router_id(4),
        });
        ends.push(End {
            router: &c,
            peer: a_address,
            remote_asn: SHARED_AS,
            remote_router_id: router_id(2),
        });
    }
    assert_eq!(ends.len(), 32, "16 sessions, two ends each");
    lab.wait_until(
        "every session end Established with the right AS and router id",
        || ends.iter().all(End::is_up),
    )?;

    // podroute's own view of the negotiated facts.
    for (peer, _) in &peer_routers {
        for (address, family) in addresses(&peer.node)
            .into_iter()
            .zip(["ipv4-unicast", "ipv6-unicast"])
        {
            for (podroute, local_asn) in [(&a, SHARED_AS), (&b, EXTERNAL_AS)] {
                let view = podroute_view(podroute, address)?;
                assert_eq!(view.local_asn, local_asn, "{view:?}");
                assert_eq!(view.hold_time, Some(PEER_HOLD_TIME), "{view:?}");
                assert_eq!(view.families, vec![family.to_string()], "{view:?}");
                assert!(!view.dynamic && !view.shutdown, "{view:?}");
                assert!(
                    view.messages_received >= 2 && view.messages_sent >= 2,
                    "{view:?}"
                );
            }
        }
    }
    // Each podroute lists exactly its configured neighbors.
    for (podroute, count) in [(&a, 10), (&b, 8), (&c, 2)] {
        assert_eq!(
            podroute.podroute_neighbors()?.len(),
            count,
            "{}",
            podroute.report()
        );
    }

    // Scenario 9: an administrative shutdown with a message reaches the other podroute.
    a.shutdown_neighbor(c4, SHUTDOWN_TEXT)?;
    lab.wait_until("C reports A's shutdown communication", || {
        matches!(podroute_view(&c, a4), Ok(view)
            if !view.is_established()
                && view.last_error.as_deref().is_some_and(|error| error.contains(SHUTDOWN_TEXT)))
    })?;
    let at_a = podroute_view(&a, c4)?;
    assert!(at_a.shutdown && !at_a.is_established(), "{at_a:?}");
    let at_c = podroute_view(&c, a4)?;
    let error = at_c.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("Cease") && error.contains("(6/2)"),
        "C must name the Cease / Administrative Shutdown it received: {at_c:?}"
    );
    assert!(
        a.is_established_with(c6, SHARED_AS, router_id(4)),
        "the IPv6 session between A and C is not touched: {}",
        a.report()
    );
    a.enable_neighbor(c4)?;
    lab.wait_until("A-C over IPv4 back after enable", || {
        a.is_established_with(c4, SHARED_AS, router_id(4))
            && c.is_established_with(a4, SHARED_AS, router_id(2))
    })?;
    assert!(!podroute_view(&a, c4)?.shutdown);
    Ok(())
}

#[test]
fn podroute_peers_with_bird_frr_gobgp_and_itself() {
    let started = std::time::Instant::now();
    if let Err(error) = scenario() {
        panic!("{error}");
    }
    eprintln!("peering_sessions: {:.1} s", started.elapsed().as_secs_f64());
}
