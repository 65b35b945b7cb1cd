//! An eBGP neighbor without policy exchanges nothing (RFC 8212); one with
//! `import = "all"` and `export = "all"` exchanges routes (issue 4,
//! scenario 5).
//!
//! | router      | AS    | router id  | originates    | policy towards F        |
//! |-------------|-------|------------|---------------|-------------------------|
//! | podroute P1 | 65020 | 198.19.0.2 | 198.19.2.0/24 | none configured         |
//! | podroute P2 | 65021 | 198.19.0.4 | 198.19.4.0/24 | `import = export = "all"` |
//! | FRR F       | 65030 | 198.19.0.3 | 198.19.3.0/24 | (no policy needed: `no bgp ebgp-requires-policy`) |
//!
//! P1's session with F comes up, P1 receives F's prefix (and P2's,
//! which F passes on) but accepts none
//! (`prefixes_accepted` 0) and advertises none (`prefixes_advertised` 0),
//! and F holds nothing from P1, though it runs without a policy
//! requirement: the silence is podroute's. P2, with policies named, holds
//! F's prefix with F's AS in the AS_PATH, and F holds P2's.
//!
//! Then P1's config names the policies and `podroute reload` applies it
//! as a soft change (soft in + soft out): export at once, import through
//! a ROUTE-REFRESH to F. Without a flap, P1 accepts F's prefix (and P2's)
//! and F learns P1's.
//!
//! That works only when P1 advertises graceful restart. FRR 8.4 ignores an
//! enhanced ROUTE-REFRESH (RFC 7313) from a peer it has not yet sent
//! End-of-RIB, and it sends End-of-RIB only to peers with the graceful
//! restart capability: without it, FRR counts the request
//! (`routeRefreshRecv` 1), answers nothing (no BoRR, no UPDATE; checked
//! with a capture). podroute therefore keeps eBGP neighbors' pre-policy
//! routes by default (`soft_reconfiguration_inbound`), and the variant
//! without graceful restart passes from that stored copy.

use std::net::{IpAddr, Ipv4Addr};

use interop::daemon::podroute_config::render_with_options;
use interop::{
    DaemonKind, Lab, NeighborSpec, Origination, PodrouteNeighbor, PodrouteOptions, Result, Router,
    RouterSpec,
};

const PODROUTE_AS: u32 = 65020;
const FRR_AS: u32 = 65030;
const PODROUTE_PREFIX: &str = "198.19.2.0/24";
const FRR_PREFIX: &str = "198.19.3.0/24";
const POLICY_AS: u32 = 65021;
const POLICY_PREFIX: &str = "198.19.4.0/24";

fn view(router: &Router, peer: IpAddr) -> Option<PodrouteNeighbor> {
    router.podroute_neighbor(peer).ok().flatten()
}

/// Whether and how P1's policies are named later, by `podroute reload`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reload {
    /// P1 keeps no policy.
    Never,
    /// P1 advertises graceful restart, so FRR sends it End-of-RIB.
    WithGracefulRestart,
    /// P1 without graceful restart: FRR never sends it End-of-RIB.
    Plain,
}

fn scenario(reload: Reload) -> Result<()> {
    let lab = Lab::new(match reload {
        Reload::Never => "routing-policy",
        Reload::WithGracefulRestart => "routing-policy-reload-gr",
        Reload::Plain => "routing-policy-reload",
    })?;
    let net = lab.network("net")?;
    let p_node = lab.podroute_node("podroute-p1", &net, 2)?;
    let f_node = lab.node("frr", &net, 3)?;
    let q_node = lab.podroute_node("podroute-p2", &net, 4)?;
    let p_address = IpAddr::V4(p_node.ipv4);
    let q_address = IpAddr::V4(q_node.ipv4);
    let f_address = IpAddr::V4(f_node.ipv4);

    let mut f_spec = RouterSpec::new(FRR_AS, f_node.ipv4, None);
    f_spec.router_id = Ipv4Addr::new(198, 19, 0, 3);
    f_spec.originate.push(Origination::prefix(FRR_PREFIX));
    f_spec
        .neighbors
        .push(NeighborSpec::new(p_address, PODROUTE_AS));
    f_spec
        .neighbors
        .push(NeighborSpec::new(q_address, POLICY_AS));
    let frr = lab.router(DaemonKind::Frr, &f_node, f_spec)?;
    let mut p_spec = RouterSpec::new(PODROUTE_AS, p_node.ipv4, None);
    p_spec.router_id = Ipv4Addr::new(198, 19, 0, 2);
    p_spec.originate.push(Origination::prefix(PODROUTE_PREFIX));
    p_spec.graceful_restart = reload == Reload::WithGracefulRestart;
    p_spec.neighbors.push(NeighborSpec::new(f_address, FRR_AS));
    let mut podroute = lab.podroute_with_spec(&p_node, p_spec.clone(), &[])?;
    let mut q_spec = RouterSpec::new(POLICY_AS, q_node.ipv4, None);
    q_spec.router_id = Ipv4Addr::new(198, 19, 0, 4);
    q_spec.originate.push(Origination::prefix(POLICY_PREFIX));
    q_spec.neighbors.push(NeighborSpec::new(f_address, FRR_AS));
    let mut all = PodrouteOptions::default();
    let neighbor = all.neighbor(f_address);
    neighbor.import = Some("all".into());
    neighbor.export = Some("all".into());
    let with_policy = lab.podroute_with_options(&q_node, q_spec, &[], &all)?;

    // F sends each podroute its own prefix and the other podroute's (P2
    // gets its own back too, and drops it: its AS is in the AS_PATH).
    lab.wait_until(
        "both sessions up, F's prefix at P1 and P2, P2's at F",
        || {
            frr.is_established(p_address)
                && view(&podroute, f_address)
                    .is_some_and(|v| v.is_established() && v.prefixes_received == 2)
                && with_policy.has_learned(FRR_PREFIX)
                && frr.has_learned(POLICY_PREFIX)
        },
    )?;
    let before = view(&podroute, f_address)
        .ok_or_else(|| interop::Error::Environment("P1 lost neighbor F".into()))?;
    assert_eq!(before.prefixes_accepted, 0, "{before:#?}");
    assert_eq!(before.prefixes_advertised, 0, "{before:#?}");
    assert!(
        !podroute.has_learned(FRR_PREFIX),
        "{:#?}",
        podroute.routes()
    );
    assert!(!frr.has_learned(PODROUTE_PREFIX), "{:#?}", frr.routes());
    // P1's own prefix is in its table, so only policy held it back.
    assert!(
        podroute
            .routes()?
            .iter()
            .any(|route| route.prefix == PODROUTE_PREFIX && !route.learned)
    );
    let accepted = with_policy.learned(FRR_PREFIX)?;
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
    assert!(
        accepted.iter().all(|r| r.as_path == [FRR_AS]),
        "{accepted:#?}"
    );
    let at_frr = frr.learned(POLICY_PREFIX)?;
    assert_eq!(at_frr.len(), 1, "{at_frr:#?}");
    assert!(
        at_frr
            .iter()
            .all(|r| r.as_path == [POLICY_AS] && r.peer == Some(q_address.to_string())),
        "{at_frr:#?}"
    );
    let counted = view(&with_policy, f_address)
        .ok_or_else(|| interop::Error::Environment("P2 lost neighbor F".into()))?;
    assert_eq!(
        (
            counted.prefixes_received,
            counted.prefixes_accepted,
            counted.prefixes_advertised
        ),
        (2, 1, 1),
        "{counted:#?}"
    );
    if reload == Reload::Never {
        return Ok(());
    }

    let answer = podroute.podroute_reload(&render_with_options(&p_spec, &[], &all))?;
    assert!(answer.contains(&f_address.to_string()), "reload: {answer}");
    // P1 receives 3 prefixes: F's, P2's through F, and its own back from
    // F (FRR does not filter by the receiver's AS), which it drops.
    lab.wait_until("routes flow both ways after the reload", || {
        podroute.has_learned(FRR_PREFIX)
            && frr.has_learned(PODROUTE_PREFIX)
            && view(&podroute, f_address).is_some_and(|v| v.prefixes_received == 3)
    })?;
    let at_podroute = podroute.learned(FRR_PREFIX)?;
    assert_eq!(at_podroute.len(), 1, "{at_podroute:#?}");
    assert!(
        at_podroute
            .iter()
            .all(|r| r.as_path == [FRR_AS] && r.next_hops == [f_node.ipv4.to_string()]),
        "{at_podroute:#?}"
    );
    let at_frr = frr.learned(PODROUTE_PREFIX)?;
    assert_eq!(at_frr.len(), 1, "{at_frr:#?}");
    assert!(
        at_frr
            .iter()
            .all(|r| r.as_path == [PODROUTE_AS] && r.next_hops == [p_node.ipv4.to_string()]),
        "{at_frr:#?}"
    );
    let after = view(&podroute, f_address)
        .ok_or_else(|| interop::Error::Environment("P lost neighbor F".into()))?;
    assert!(after.is_established(), "{after:#?}");
    assert_eq!(after.flaps, 0, "a policy change is soft: {after:#?}");
    assert_eq!(after.prefixes_accepted, 2, "{after:#?}");
    assert_eq!(after.prefixes_advertised, 1, "{after:#?}");
    Ok(())
}

#[test]
fn ebgp_without_policy_exchanges_nothing_and_with_policy_routes_flow() {
    if let Err(error) = scenario(Reload::Never) {
        panic!("{error}");
    }
}

#[test]
fn a_reload_naming_policies_lets_routes_flow_without_a_reset() {
    if let Err(error) = scenario(Reload::WithGracefulRestart) {
        panic!("{error}");
    }
}

/// FRR 8.4 ignores podroute's ROUTE-REFRESH here, so this passes because
/// eBGP neighbors keep their pre-policy routes by default.
#[test]
fn a_reload_naming_policies_without_graceful_restart() {
    if let Err(error) = scenario(Reload::Plain) {
        panic!("{error}");
    }
}
