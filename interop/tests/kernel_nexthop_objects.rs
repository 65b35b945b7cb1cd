//! Kernel nexthop objects in the lab (issue 5): ECMP routes forward through
//! an object group, a host's failure shrinks the group in place, and the
//! routes are the same as without objects.
//!
//! Three podroute hosts in an iBGP full mesh (AS 64512), two pods each,
//! `max_paths = 2`, `[fib] nexthop_objects` at its default (true). host1
//! and host2 both originate the anycast 198.19.255.1/32. Phases:
//! 1. objects: host3 routes the anycast through a group object holding
//!    host1 and host2 (`ip route` shows `nhid`, `ip nexthop` the group),
//!    `podroute fib --json` names the group, and the objects of protocol
//!    201 are exactly those host3's routes use;
//! 2. the same without objects: host3's podroute restarted with
//!    `nexthop_objects = false` installs the same route set, with no object
//!    left behind; then restarted with objects again;
//! 3. failure: host2's container is killed; once host3's session to it
//!    times out, the anycast's group holds host1 only (replaced in place,
//!    one fast failover counted), host2's CIDR is gone, the objects are
//!    still exactly those in use, and host1's and host3's pods still reach
//!    each other.

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

use interop::cluster::{Cluster, ClusterSpec, Host, HostSpec, Peering};
use interop::{Error, Lab, Result};
use serde_json::Value;

const ANYCAST: &str = "198.19.255.1/32";

fn spec() -> ClusterSpec {
    let mut host1 = HostSpec::podroute("host1", 2);
    host1.anycast = vec![ANYCAST.to_string()];
    let mut host2 = HostSpec::podroute("host2", 2);
    host2.anycast = vec![ANYCAST.to_string()];
    let mut spec = ClusterSpec::new(
        Peering::FullMesh,
        vec![host1, host2, HostSpec::podroute("host3", 2)],
    );
    spec.max_paths = 2;
    spec
}

fn phase(started: Instant, name: &str) {
    eprintln!("[{:6.1} s] {name}", started.elapsed().as_secs_f64());
}

fn json(host: &Host, command: &str) -> Result<Vec<Value>> {
    let text = host.node.shell(command)?;
    serde_json::from_str(&text)
        .map_err(|error| Error::Environment(format!("{command}: {error}: {text}")))
}

/// host's routes of protocol 201 as prefix -> sorted gateways (empty for a
/// blackhole), with the object id each uses.
type RouteSet = BTreeMap<String, Vec<IpAddr>>;

fn routes(host: &Host) -> Result<(RouteSet, BTreeMap<String, u64>)> {
    let mut set = RouteSet::new();
    let mut objects = BTreeMap::new();
    for route in json(host, "ip -j route show proto 201")? {
        let prefix = route["dst"].as_str().unwrap_or_default().to_string();
        let prefix = if prefix.contains('/') {
            prefix
        } else {
            format!("{prefix}/32")
        };
        let mut gateways: Vec<IpAddr> = route["nexthops"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&route))
            .filter_map(|hop| hop["gateway"].as_str()?.parse().ok())
            .collect();
        gateways.sort();
        if let Some(id) = route["nhid"].as_u64() {
            objects.insert(prefix.clone(), id);
        }
        set.insert(prefix, gateways);
    }
    Ok((set, objects))
}

/// Ids of protocol-201 objects, ids host's routes use directly or as group
/// members, and each group's members.
type Objects = (BTreeSet<u64>, BTreeSet<u64>, BTreeMap<u64, Vec<u64>>);

fn objects(host: &Host) -> Result<Objects> {
    let all = json(host, "ip -j nexthop show")?;
    let ours: BTreeSet<u64> = all
        .iter()
        .filter(|object| object["protocol"] == "201")
        .filter_map(|object| object["id"].as_u64())
        .collect();
    let groups: BTreeMap<u64, Vec<u64>> = all
        .iter()
        .filter_map(|object| {
            let members = object["group"]
                .as_array()?
                .iter()
                .filter_map(|member| member["id"].as_u64())
                .collect();
            Some((object["id"].as_u64()?, members))
        })
        .collect();
    let mut used = BTreeSet::new();
    for id in routes(host)?.1.values() {
        used.insert(*id);
        used.extend(groups.get(id).into_iter().flatten().copied());
    }
    Ok((ours, used, groups))
}

/// The gateway of each single-gateway object of host.
fn gateways_of(host: &Host) -> Result<BTreeMap<u64, IpAddr>> {
    Ok(json(host, "ip -j nexthop show")?
        .iter()
        .filter_map(|object| {
            Some((
                object["id"].as_u64()?,
                object["gateway"].as_str()?.parse().ok()?,
            ))
        })
        .collect())
}

/// The anycast's group members, as gateways.
fn anycast_group(host: &Host) -> Result<Vec<IpAddr>> {
    let (_, objects_of) = routes(host)?;
    let (_, _, groups) = objects(host)?;
    let gateways = gateways_of(host)?;
    let Some(id) = objects_of.get(ANYCAST) else {
        return Ok(Vec::new());
    };
    let mut members: Vec<IpAddr> = groups
        .get(id)
        .into_iter()
        .flatten()
        .filter_map(|member| gateways.get(member).copied())
        .collect();
    members.sort();
    Ok(members)
}

fn counter(status: &Value, name: &str) -> u64 {
    status["counters"][name].as_u64().unwrap_or_default()
}

fn assert_objects_exactly_in_use(host: &Host, when: &str) -> Result<()> {
    let (ours, used, _) = objects(host)?;
    assert_eq!(
        ours,
        used,
        "{when}: {}'s objects are not exactly those in use:\n{}",
        host.name,
        host.node
            .shell("ip nexthop show; ip route show proto 201")?
    );
    Ok(())
}

#[test]
fn ecmp_routes_fail_over_through_a_nexthop_group() -> Result<()> {
    let started = Instant::now();
    let lab = Lab::new("kernel-nexthop")?;
    let cluster = Cluster::start(&lab, &spec())?;
    let host1 = cluster.host("host1")?;
    let host2 = cluster.host("host2")?;
    let host3 = cluster.host("host3")?;
    lab.wait_until("every BGP session Established", || {
        cluster.sessions().iter().all(|(_, _, up)| *up)
    })?;
    cluster.wait_converged(&lab)?;
    let both = vec![host1.address(), host2.address()];
    lab.wait_until(
        "host3's anycast group holds host1 and host2",
        || matches!(anycast_group(host3), Ok(members) if members == both),
    )?;
    phase(started, "converged");

    // 1. Objects.
    let (with_objects, objects_of) = routes(host3)?;
    assert_eq!(with_objects.get(ANYCAST), Some(&both), "{with_objects:?}");
    for host in [host1, host2] {
        assert_eq!(
            with_objects.get(&host.pod_cidr()),
            Some(&vec![host.address()]),
            "{with_objects:?}"
        );
        assert!(objects_of.contains_key(&host.pod_cidr()), "{objects_of:?}");
    }
    let shown = host3.node.shell("ip route show proto 201")?;
    assert!(shown.contains("198.19.255.1 nhid"), "{shown}");
    let status = host3.fib_status()?;
    let anycast = status["installed"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|route| route["prefix"] == ANYCAST)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        anycast["nexthop_object"]["id"].as_u64(),
        objects_of.get(ANYCAST).copied(),
        "{anycast}"
    );
    assert_eq!(
        anycast["nexthop_object"]["group"].as_array().map(Vec::len),
        Some(2),
        "{anycast}"
    );
    assert_objects_exactly_in_use(host3, "with objects")?;
    phase(started, "host3 forwards through objects");

    // 2. The same routes without objects, then objects again.
    let mut plain = host3.router.clone();
    plain.config = host3.router.config.replace(
        "protocol = 201\n",
        "protocol = 201\nnexthop_objects = false\n",
    );
    assert_ne!(plain.config, host3.router.config);
    plain.restart()?;
    lab.wait_until(
        "host3 reinstalls every route without objects",
        || matches!(routes(host3), Ok((set, _)) if set == with_objects),
    )?;
    let (_, objects_of) = routes(host3)?;
    assert!(objects_of.is_empty(), "{objects_of:?}");
    assert_eq!(objects(host3)?.0, BTreeSet::new(), "objects left behind");
    phase(started, "the same route set without objects");
    let mut objects_again = host3.router.clone();
    objects_again.config = host3.router.config.replace(
        "protocol = 201\n",
        "protocol = 201\nnexthop_objects = true\n",
    );
    plain.stop()?;
    objects_again.start_again()?;
    lab.wait_until("host3 forwards through objects again", || {
        matches!(routes(host3), Ok((set, objects)) if set == with_objects && objects.len() == set.len() - 1)
    })?;
    assert_objects_exactly_in_use(host3, "after restarts")?;
    phase(started, "objects again");

    // 3. host2 fails.
    let failovers_before = counter(&host3.fib_status()?, "gateway_failovers");
    host2.node.kill()?;
    let only_host1 = vec![host1.address()];
    lab.wait_until(
        "host3's anycast group holds host1 only",
        || matches!(anycast_group(host3), Ok(members) if members == only_host1),
    )?;
    lab.wait_until(
        "host3 drops host2's CIDR",
        || matches!(routes(host3), Ok((set, _)) if !set.contains_key(&host2.pod_cidr())),
    )?;
    let (after, _) = routes(host3)?;
    let mut expected = with_objects.clone();
    expected.remove(&host2.pod_cidr());
    expected.insert(ANYCAST.to_string(), only_host1.clone());
    assert_eq!(after, expected);
    let status = host3.fib_status()?;
    assert!(
        counter(&status, "gateway_failovers") > failovers_before,
        "{}",
        status["counters"]
    );
    assert_eq!(
        counter(&status, "drift_repairs"),
        0,
        "{}",
        status["counters"]
    );
    assert_objects_exactly_in_use(host3, "after host2 failed")?;
    let pings = Cluster::ping_between(&[host1, host3]);
    let failed: Vec<String> = pings
        .iter()
        .filter(|ping| !ping.ok)
        .map(ToString::to_string)
        .collect();
    assert!(failed.is_empty(), "pings failed:\n{}", failed.join("\n"));
    phase(
        started,
        "host2 failed over in place; pods still reach each other",
    );
    Ok(())
}
