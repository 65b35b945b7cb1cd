//! BIRD, FRR and GoBGP on one lab network, every pair peering twice (IPv4
//! and IPv6 transport), iBGP and eBGP, one pair with TCP-MD5. Proves the
//! harness against the real daemons alone: each session reaches Established
//! in both daemons' CLIs and each daemon learns the prefixes the others
//! originate, with the attributes they were configured with.
//!
//! | pair          | IPv4 transport          | IPv6 transport |
//! |---------------|-------------------------|----------------|
//! | BIRD - FRR    | eBGP, TCP-MD5 (RFC 2385)| eBGP           |
//! | FRR - GoBGP   | iBGP                    | iBGP           |
//! | GoBGP - BIRD  | iBGP (BIRD local AS)    | eBGP           |

use std::net::IpAddr;

use interop::{DaemonKind, Family, Lab, NeighborSpec, Origination, Result, Router, RouterSpec};

const BIRD_AS: u32 = 65001;
const SHARED_AS: u32 = 65002;

fn neighbor(address: IpAddr, asn: u32) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = match address {
        IpAddr::V4(_) => vec![Family::Ipv4Unicast],
        IpAddr::V6(_) => vec![Family::Ipv6Unicast],
    };
    spec
}

fn origination(prefix: &str, community: (u16, u16)) -> Origination {
    Origination {
        communities: vec![community],
        ..Origination::prefix(prefix)
    }
}

fn scenario() -> Result<()> {
    let lab = Lab::new("three-daemons")?;
    let net = lab.network("net")?;
    let bird_node = lab.node("bird", &net, 2)?;
    let frr_node = lab.node("frr", &net, 3)?;
    let gobgp_node = lab.node("gobgp", &net, 4)?;
    let (bird4, frr4, gobgp4) = (
        IpAddr::V4(bird_node.ipv4),
        IpAddr::V4(frr_node.ipv4),
        IpAddr::V4(gobgp_node.ipv4),
    );
    let (bird6, frr6, gobgp6) = (
        IpAddr::V6(bird_node.ipv6),
        IpAddr::V6(frr_node.ipv6),
        IpAddr::V6(gobgp_node.ipv6),
    );

    let mut bird_spec = RouterSpec::new(BIRD_AS, bird_node.ipv4, Some(bird_node.ipv6));
    let mut md5 = neighbor(frr4, SHARED_AS);
    md5.password = Some("lab-secret".into());
    let mut bird_to_gobgp_ibgp = neighbor(gobgp4, SHARED_AS);
    bird_to_gobgp_ibgp.local_asn = Some(SHARED_AS);
    bird_spec.neighbors = vec![
        md5,
        neighbor(frr6, SHARED_AS),
        bird_to_gobgp_ibgp,
        neighbor(gobgp6, SHARED_AS),
    ];
    bird_spec.originate = vec![
        origination("198.19.1.0/24", (65001, 1)),
        origination("2001:db8:f001::/48", (65001, 6)),
    ];

    let mut frr_spec = RouterSpec::new(SHARED_AS, frr_node.ipv4, Some(frr_node.ipv6));
    let mut frr_to_bird = neighbor(bird4, BIRD_AS);
    frr_to_bird.password = Some("lab-secret".into());
    frr_spec.neighbors = vec![
        frr_to_bird,
        neighbor(bird6, BIRD_AS),
        neighbor(gobgp4, SHARED_AS),
        neighbor(gobgp6, SHARED_AS),
    ];
    frr_spec.originate = vec![
        Origination {
            med: Some(20),
            ..origination("198.19.2.0/24", (65002, 2))
        },
        origination("2001:db8:f002::/48", (65002, 6)),
    ];

    let mut gobgp_spec = RouterSpec::new(SHARED_AS, gobgp_node.ipv4, Some(gobgp_node.ipv6));
    gobgp_spec.neighbors = vec![
        neighbor(bird4, SHARED_AS),
        neighbor(bird6, BIRD_AS),
        neighbor(frr4, SHARED_AS),
        neighbor(frr6, SHARED_AS),
    ];
    gobgp_spec.originate = vec![
        Origination {
            local_pref: Some(250),
            ..origination("198.19.3.0/24", (65002, 3))
        },
        origination("2001:db8:f003::/48", (65002, 7)),
    ];

    let bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let gobgp = lab.router(DaemonKind::Gobgp, &gobgp_node, gobgp_spec)?;

    let sessions: [(&Router, IpAddr); 12] = [
        (&bird, frr4),
        (&bird, frr6),
        (&bird, gobgp4),
        (&bird, gobgp6),
        (&frr, bird4),
        (&frr, bird6),
        (&frr, gobgp4),
        (&frr, gobgp6),
        (&gobgp, bird4),
        (&gobgp, bird6),
        (&gobgp, frr4),
        (&gobgp, frr6),
    ];
    lab.wait_until("all twelve session ends Established", || {
        sessions
            .iter()
            .all(|(router, peer)| router.is_established(*peer))
    })?;

    let expectations: [(&Router, &str); 12] = [
        (&bird, "198.19.2.0/24"),
        (&bird, "198.19.3.0/24"),
        (&bird, "2001:db8:f002::/48"),
        (&bird, "2001:db8:f003::/48"),
        (&frr, "198.19.1.0/24"),
        (&frr, "198.19.3.0/24"),
        (&frr, "2001:db8:f001::/48"),
        (&frr, "2001:db8:f003::/48"),
        (&gobgp, "198.19.1.0/24"),
        (&gobgp, "198.19.2.0/24"),
        (&gobgp, "2001:db8:f001::/48"),
        (&gobgp, "2001:db8:f002::/48"),
    ];
    lab.wait_until("every prefix learned by the other two daemons", || {
        expectations
            .iter()
            .all(|(router, prefix)| router.has_learned(prefix))
    })?;

    // Attributes survive each hop as configured.
    let at_frr = frr.learned("198.19.1.0/24")?;
    assert!(
        at_frr
            .iter()
            .any(|r| r.communities == ["65001:1"] && r.as_path == [BIRD_AS]),
        "{at_frr:?}"
    );
    let at_bird = bird.learned("198.19.2.0/24")?;
    assert!(
        at_bird
            .iter()
            .any(|r| r.med == Some(20) && r.as_path == [SHARED_AS] && r.communities == ["65002:2"]),
        "{at_bird:?}"
    );
    // GoBGP -> FRR is iBGP: LOCAL_PREF is carried and the AS_PATH stays empty.
    let at_frr_from_gobgp = frr.learned("198.19.3.0/24")?;
    assert!(
        at_frr_from_gobgp.iter().any(|r| r.local_pref == Some(250)
            && r.as_path.is_empty()
            && r.next_hops.first() == Some(&gobgp4.to_string())),
        "{at_frr_from_gobgp:?}"
    );
    let at_gobgp = gobgp.learned("2001:db8:f001::/48")?;
    assert!(
        at_gobgp
            .iter()
            .any(|r| r.as_path == [BIRD_AS] && r.communities == ["65001:6"]),
        "{at_gobgp:?}"
    );

    // A pod (network namespace behind a veth) on the FRR node answers from
    // its own address over both families, and reaches its gateway.
    frr_node.add_pod(
        "pod1",
        &[
            ("198.19.2.10/24", IpAddr::from([198, 19, 2, 1])),
            (
                "2001:db8:f002::10/64",
                IpAddr::from([0x2001, 0xdb8, 0xf002, 0, 0, 0, 0, 1]),
            ),
        ],
    )?;
    frr_node.exec(&["ping", "-c", "1", "-W", "5", "198.19.2.10"])?;
    frr_node.exec(&["ping", "-c", "1", "-W", "5", "2001:db8:f002::10"])?;
    frr_node.exec_in_pod("pod1", &["ping", "-c", "1", "-W", "5", "198.19.2.1"])?;
    let pod_addresses =
        frr_node.exec_in_pod("pod1", &["ip", "-o", "addr", "show", "dev", "eth0"])?;
    assert!(
        pod_addresses.contains("198.19.2.10/24") && pod_addresses.contains("2001:db8:f002::10/64"),
        "{pod_addresses}"
    );

    // Every daemon reports its four neighbors, and only those.
    for router in [&bird, &frr, &gobgp] {
        assert_eq!(router.neighbors()?.len(), 4, "{}", router.report());
    }
    Ok(())
}

#[test]
fn bird_frr_gobgp_establish_and_exchange_prefixes() {
    if let Err(error) = scenario() {
        panic!("{error}");
    }
}
