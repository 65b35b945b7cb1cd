//! Kernel evidence (issue 5): podroute's routes carry pod traffic as plain
//! IP, and podroute touches nothing in the kernel that is not its own.
//!
//! One topology for the whole file (containers are slow to make): three
//! hosts in an iBGP full mesh (AS 64512), two pods each, `max_paths = 2`,
//! and an FRR top-of-rack router (AS 65001) peering over eBGP with every
//! host. host1 and host2 both originate the anycast 198.19.255.1/32. Before
//! host1's podroute starts, host1 gets a foreign static route to an unused
//! prefix and a conflicting static route for host3's pod CIDR at podroute's
//! own metric (20).
//!
//! Phases, in order:
//! 1. conflict: host1's `podroute fib` lists host3's CIDR as a conflict
//!    with protocol 4 (static) and the static route stays; deleting it by
//!    hand lets podroute install its own at once (no timer involved);
//! 2. forwarding: every pod pings every pod on the other hosts, while
//!    tcpdump on host1's and host2's fabric interfaces records ICMP with
//!    pod source and destination in plain IPv4 frames, and no
//!    encapsulated packet at all; no host has a tunnel device;
//! 3. ECMP: host3 routes the anycast via host1 and host2;
//! 4. drift: routes deleted by hand (a learned one, the blackhole) return;
//! 5. ownership: host1's foreign routes (static, connected, the pods'
//!    /32s, the default) are byte-for-byte what they were, and no host
//!    lists a prefix twice under protocol 201;
//! 6. removal: host2's container is killed; host1, host3 and the top of
//!    rack drop its CIDR, host3's anycast keeps the one next hop via host1,
//!    and the remaining pods still reach each other.

use std::time::Instant;

use interop::cluster::capture::{Capture, parse_icmp};
use interop::cluster::{Cluster, ClusterSpec, Host, HostSpec, KernelRoute, Peering};
use interop::{Lab, Result};

const ANYCAST: &str = "198.19.255.1/32";
/// A prefix no one announces, routed by a foreign static route on host1.
const FOREIGN_STATIC: &str = "198.19.200.0/24";
/// host3's pod CIDR, held on host1 by a foreign route when podroute starts.
const CONFLICTED: &str = "198.19.3.0/24";

fn spec() -> ClusterSpec {
    let mut host1 = HostSpec::podroute("host1", 2);
    host1.anycast = vec![ANYCAST.to_string()];
    host1.setup = vec![
        format!("ip route add {FOREIGN_STATIC} dev eth0 proto static"),
        // Same table and metric as podroute's route would have: a conflict.
        format!("ip route add {CONFLICTED} dev eth0 proto static metric 20"),
    ];
    let mut host2 = HostSpec::podroute("host2", 2);
    host2.anycast = vec![ANYCAST.to_string()];
    let mut spec = ClusterSpec::new(
        Peering::FullMesh,
        vec![host1, host2, HostSpec::podroute("host3", 2)],
    );
    spec.top_of_rack = true;
    spec.max_paths = 2;
    spec
}

/// Every route of `host` not owned by podroute, in kernel order.
fn foreign_routes(host: &Host) -> Result<Vec<KernelRoute>> {
    Ok(host
        .kernel_routes(&[])?
        .into_iter()
        .filter(|route| route.protocol != "201")
        .collect())
}

/// The conflicts `podroute fib --json` lists, as (prefix, foreign protocol).
fn conflicts(host: &Host) -> Result<Vec<(String, u64)>> {
    let status = host.fib_status()?;
    Ok(status
        .get("conflicts")
        .and_then(|list| list.as_array())
        .map(|list| {
            list.iter()
                .map(|conflict| {
                    (
                        conflict
                            .get("prefix")
                            .and_then(|prefix| prefix.as_str())
                            .unwrap_or_default()
                            .to_string(),
                        conflict
                            .get("foreign_protocol")
                            .and_then(|protocol| protocol.as_u64())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

fn phase(started: Instant, name: &str) {
    eprintln!("[{:6.1} s] {name}", started.elapsed().as_secs_f64());
}

#[test]
fn pods_are_routed_as_plain_ip_and_foreign_routes_are_left_alone() -> Result<()> {
    let started = Instant::now();
    let lab = Lab::new("kernel-forwarding")?;
    let cluster = Cluster::start(&lab, &spec())?;
    let host1 = cluster.host("host1")?;
    let host2 = cluster.host("host2")?;
    let host3 = cluster.host("host3")?;
    let tor = cluster.top_of_rack.as_ref().unwrap();
    lab.wait_until("every BGP session Established", || {
        cluster.sessions().iter().all(|(_, _, up)| *up)
    })?;
    phase(started, "sessions up");

    // 1. The conflict is reported, and the foreign route stays as it was.
    lab.wait_until(
        "host1 reports the conflict on host3's CIDR",
        || matches!(conflicts(host1), Ok(list) if list == [(CONFLICTED.to_string(), 4)]),
    )?;
    let held = host1.kernel_routes(&[CONFLICTED])?;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].protocol, "static", "{held:?}");
    assert_eq!(held[0].metric, 20, "{held:?}");
    assert!(
        host1.bgp_routes_for(CONFLICTED)?.is_empty(),
        "podroute replaced a foreign route"
    );
    host1
        .node
        .shell(&format!("ip route del {CONFLICTED} proto static metric 20"))?;
    lab.wait_until("host1 installs host3's CIDR once the way is free", || {
        host1.routes_via(CONFLICTED, &[host3.address()])
    })?;
    assert!(conflicts(host1)?.is_empty());
    cluster.wait_converged(&lab)?;
    phase(started, "conflict reported, then resolved");
    let foreign_before = foreign_routes(host1)?;
    assert!(
        foreign_before
            .iter()
            .any(|route| route.prefix == FOREIGN_STATIC && route.protocol == "static"),
        "{foreign_before:?}"
    );
    assert!(
        foreign_before
            .iter()
            .any(|route| route.protocol == "kernel" && route.devices == ["eth0"]),
        "no connected route: {foreign_before:?}"
    );

    // 2. Pod to pod as plain IP, seen on the wire.
    let captures = [
        Capture::start(&host1.node, "host1", "eth0", "not tcp port 179 and not arp")?,
        Capture::start(&host2.node, "host2", "eth0", "not tcp port 179 and not arp")?,
    ];
    let hosts = [host1, host2, host3];
    let pings = Cluster::ping_between(&hosts);
    for capture in &captures {
        capture.stop()?;
    }
    let failed: Vec<String> = pings
        .iter()
        .filter(|ping| !ping.ok)
        .map(ToString::to_string)
        .collect();
    assert_eq!(pings.len(), 24);
    assert!(failed.is_empty(), "pings failed:\n{}", failed.join("\n"));
    for (capture, host) in captures.iter().zip([host1, host2]) {
        let packets = parse_icmp(&capture.read("icmp")?);
        for ping in pings.iter().filter(|ping| {
            ping.from.starts_with(&format!("{}/", host.name))
                || ping.to.starts_with(&format!("{}/", host.name))
        }) {
            for (source, destination, kind) in [
                (ping.source, ping.destination, "echo request"),
                (ping.destination, ping.source, "echo reply"),
            ] {
                assert!(
                    packets.iter().any(|packet| packet.ethertype == "IPv4"
                        && packet.source == source
                        && packet.destination == destination
                        && packet.kind == kind),
                    "{}: no plain {kind} {source} > {destination} on eth0 in\n{packets:#?}",
                    host.name
                );
            }
        }
        assert!(
            packets
                .iter()
                .all(|packet| packet.source.octets()[1] == 19
                    && packet.destination.octets()[1] == 19),
            "ICMP between other addresses than pods: {packets:#?}"
        );
        let encapsulated = capture.read(
            "ip proto 4 or ip proto 41 or ip proto 47 or udp port 4789 or udp port 8472 or udp port 6081 or udp port 51820",
        )?;
        assert!(
            encapsulated.trim().is_empty(),
            "{}: encapsulated packets on the wire:\n{encapsulated}",
            host.name
        );
    }
    for host in hosts {
        assert_eq!(
            host.tunnel_devices()?,
            Vec::<String>::new(),
            "{}",
            host.name
        );
    }
    phase(started, "24 pings as plain IP, no tunnels");

    // 3. ECMP: the anycast via both of its hosts, at host3.
    lab.wait_until("host3 routes the anycast via host1 and host2", || {
        host3.routes_via(ANYCAST, &[host1.address(), host2.address()])
    })?;
    let multipath = host3.bgp_routes_for(ANYCAST)?;
    assert!(
        multipath[0].text.contains("nexthop via"),
        "{}",
        multipath[0].text
    );
    for host in hosts {
        assert!(
            tor.has_learned(&host.pod_cidr()),
            "ToR lacks {}",
            host.pod_cidr()
        );
    }
    phase(started, "ECMP");

    // 4. Drift repair.
    host1
        .node
        .shell(&format!("ip route del {} proto 201", host2.pod_cidr()))?;
    host1.node.shell(&format!(
        "ip route del blackhole {} proto 201",
        host1.pod_cidr()
    ))?;
    lab.wait_until("host1 reinstalls the deleted learned route", || {
        host1.routes_via(&host2.pod_cidr(), &[host2.address()])
    })?;
    lab.wait_until("host1 reinstalls its deleted blackhole", || {
        matches!(host1.bgp_routes_for(&host1.pod_cidr()), Ok(routes)
            if routes.len() == 1 && routes[0].kind == "blackhole")
    })?;
    phase(started, "drift repaired");

    // 5. Ownership: foreign routes untouched, nothing duplicated.
    assert_eq!(foreign_routes(host1)?, foreign_before);
    for host in hosts {
        let duplicates = interop::cluster::kernel::duplicated_prefixes(&host.bgp_routes()?);
        assert!(duplicates.is_empty(), "{}: {duplicates:?}", host.name);
    }

    // 6. A host goes away.
    host2.node.kill()?;
    let gone = host2.pod_cidr();
    lab.wait_until("host2's CIDR withdrawn everywhere", || {
        [host1, host3]
            .iter()
            .all(|host| matches!(host.bgp_routes_for(&gone), Ok(routes) if routes.is_empty()))
            && !tor.has_learned(&gone)
            && tor.routes().is_ok()
    })?;
    lab.wait_until("host3's anycast keeps one next hop, via host1", || {
        host3.routes_via(ANYCAST, &[host1.address()])
    })?;
    let remaining = Cluster::ping_between(&[host1, host3]);
    assert!(
        remaining.iter().all(|ping| ping.ok),
        "{}",
        remaining
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(foreign_routes(host1)?, foreign_before);
    phase(started, "host2 removed");
    Ok(())
}
