//! The capture topology and its timeline. One lab network; BIRD (AS
//! 4200000001, a 4-octet AS), FRR and GoBGP (both AS 65002) peer pairwise
//! over IPv4 and over IPv6 transport, six sessions with different features:
//!
//! | session                     | scenario name        | features |
//! |-----------------------------|----------------------|----------|
//! | BIRD - FRR, IPv4 transport  | `ebgp-dual-stack-addpath` | eBGP, IPv4 + IPv6 unicast, ADD-PATH, graceful restart, communities, large communities, MED |
//! | BIRD - FRR, IPv6 transport  | `ebgp-extended-next-hop`  | IPv4 NLRI with IPv6 next hop (RFC 8950), extended messages (RFC 8654) |
//! | FRR - GoBGP, IPv4 transport | `ibgp-local-pref`         | iBGP, LOCAL_PREF |
//! | FRR - GoBGP, IPv6 transport | `ibgp-ipv6`               | iBGP, IPv6 unicast |
//! | GoBGP - BIRD, IPv4 transport| `ibgp-md5`                | iBGP (BIRD local AS 65002), TCP-MD5 |
//! | GoBGP - BIRD, IPv6 transport| `ebgp-ipv6`               | eBGP, IPv6 unicast |
//!
//! Timeline: establish, converge, withdraw one prefix per daemon, then shut
//! three sessions with RFC 9003 shutdown communications (one per daemon),
//! so the capture holds OPEN, UPDATE (announce, withdraw, End-of-RIB),
//! KEEPALIVE and NOTIFICATION from every implementation.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::command;
use crate::daemon::{DaemonKind, Router};
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::node::Node;
use crate::spec::{Family, NeighborSpec, Origination, RouterSpec};

/// What the converter needs to know about the capture beyond the packets:
/// which daemon owns each address, and the scenario name of each session.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Plan {
    /// Address -> `"bird 2.0.12"` style label.
    pub speakers: BTreeMap<String, String>,
    /// Address -> short name used in file names (`bird`, `frr`, `gobgp`).
    pub short_names: BTreeMap<String, String>,
    /// `"A|B"` (addresses, sorted) -> scenario name.
    pub sessions: BTreeMap<String, String>,
    /// Shutdown communications sent, keyed by sender address.
    pub shutdown_messages: BTreeMap<String, String>,
}

/// Key of a session in [`Plan::sessions`].
pub fn session_key(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}|{b}")
    } else {
        format!("{b}|{a}")
    }
}

/// A `--pcap` run without a lab reads the plan saved beside the capture.
pub fn plan_for_existing_capture(pcap: &Path) -> Result<Plan> {
    let path = plan_path(pcap);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        what: path.display().to_string(),
        source,
    })
}

/// Path of the plan saved beside a capture.
pub fn plan_path(pcap: &Path) -> std::path::PathBuf {
    let mut text = pcap.as_os_str().to_os_string();
    text.push(".plan.json");
    std::path::PathBuf::from(text)
}

fn package_version(node: &Node, package: &str) -> String {
    let raw = node
        .exec(&["dpkg-query", "-W", "-f", "${Version}", package])
        .unwrap_or_default();
    // Drop the epoch and the Debian revision: `1:2.0.12-7` -> `2.0.12`.
    let without_epoch = raw.rsplit(':').next().unwrap_or_default();
    without_epoch
        .split('-')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn neighbor(address: IpAddr, asn: u32, families: &[Family]) -> NeighborSpec {
    let mut spec = NeighborSpec::new(address, asn);
    spec.families = families.to_vec();
    spec
}

fn origination(
    prefix: &str,
    community: (u16, u16),
    large: (u32, u32, u32),
    med: Option<u32>,
    local_pref: Option<u32>,
) -> Origination {
    Origination {
        prefix: prefix.to_string(),
        communities: vec![community],
        large_communities: vec![large],
        med,
        local_pref,
    }
}

struct Tcpdump {
    child: Child,
}

impl Tcpdump {
    fn start(interface: &str, path: &Path) -> Result<Tcpdump> {
        let child = Command::new("tcpdump")
            .args(["-i", interface, "-U", "-s", "0", "-w"])
            .arg(path)
            .arg("tcp port 179")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn {
                command: "tcpdump".into(),
                source,
            })?;
        Ok(Tcpdump { child })
    }

    fn stop(mut self) -> Result<()> {
        // SIGTERM lets tcpdump flush; the pid is the one we spawned.
        command::run("kill", &["-TERM", &self.child.id().to_string()])?;
        self.child.wait().map_err(|source| Error::Spawn {
            command: "tcpdump wait".into(),
            source,
        })?;
        Ok(())
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const BIRD_AS: u32 = 4_200_000_001;
const SHARED_AS: u32 = 65002;

/// Runs the topology, records it into `pcap`, and returns (and saves beside
/// the pcap) the plan.
pub fn run(pcap: &Path) -> Result<Plan> {
    let lab = Lab::new("capture")?;
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
    let v4 = [Family::Ipv4Unicast];
    let v6 = [Family::Ipv6Unicast];
    let both = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    let mut bird_spec = RouterSpec::new(BIRD_AS, bird_node.ipv4, Some(bird_node.ipv6));
    bird_spec.graceful_restart = true;
    let mut bird_frr = neighbor(frr4, SHARED_AS, &both);
    bird_frr.add_path = true;
    let mut bird_frr_ext = neighbor(frr6, SHARED_AS, &v4);
    bird_frr_ext.extended_next_hop = true;
    bird_frr_ext.extended_message = true;
    let mut bird_gobgp_md5 = neighbor(gobgp4, SHARED_AS, &v4);
    bird_gobgp_md5.local_asn = Some(SHARED_AS);
    bird_gobgp_md5.password = Some("capture-secret".into());
    bird_spec.neighbors = vec![
        bird_frr,
        bird_frr_ext,
        bird_gobgp_md5,
        neighbor(gobgp6, SHARED_AS, &v6),
    ];
    bird_spec.originate = vec![
        origination(
            "198.19.1.0/24",
            (65001, 100),
            (BIRD_AS, 1, 1),
            Some(10),
            Some(150),
        ),
        origination("198.19.11.0/24", (65001, 101), (BIRD_AS, 1, 2), None, None),
        origination(
            "2001:db8:f001::/48",
            (65001, 600),
            (BIRD_AS, 6, 1),
            None,
            None,
        ),
    ];

    let mut frr_spec = RouterSpec::new(SHARED_AS, frr_node.ipv4, Some(frr_node.ipv6));
    frr_spec.graceful_restart = true;
    let mut frr_bird = neighbor(bird4, BIRD_AS, &both);
    frr_bird.add_path = true;
    let mut frr_bird_ext = neighbor(bird6, BIRD_AS, &v4);
    frr_bird_ext.extended_next_hop = true;
    frr_spec.neighbors = vec![
        frr_bird,
        frr_bird_ext,
        neighbor(gobgp4, SHARED_AS, &v4),
        neighbor(gobgp6, SHARED_AS, &v6),
    ];
    frr_spec.originate = vec![
        origination(
            "198.19.2.0/24",
            (65002, 200),
            (SHARED_AS, 2, 1),
            Some(20),
            Some(200),
        ),
        origination(
            "198.19.12.0/24",
            (65002, 201),
            (SHARED_AS, 2, 2),
            None,
            None,
        ),
        origination(
            "2001:db8:f002::/48",
            (65002, 600),
            (SHARED_AS, 6, 2),
            Some(5),
            None,
        ),
    ];

    let mut gobgp_spec = RouterSpec::new(SHARED_AS, gobgp_node.ipv4, Some(gobgp_node.ipv6));
    gobgp_spec.graceful_restart = true;
    let mut gobgp_bird_md5 = neighbor(bird4, SHARED_AS, &v4);
    gobgp_bird_md5.password = Some("capture-secret".into());
    gobgp_spec.neighbors = vec![
        gobgp_bird_md5,
        neighbor(bird6, BIRD_AS, &v6),
        neighbor(frr4, SHARED_AS, &v4),
        neighbor(frr6, SHARED_AS, &v6),
    ];
    gobgp_spec.originate = vec![
        origination(
            "198.19.3.0/24",
            (65003, 300),
            (SHARED_AS, 3, 1),
            Some(30),
            Some(300),
        ),
        origination(
            "198.19.13.0/24",
            (65003, 301),
            (SHARED_AS, 3, 2),
            None,
            None,
        ),
        origination(
            "2001:db8:f003::/48",
            (65003, 600),
            (SHARED_AS, 6, 3),
            None,
            None,
        ),
    ];

    let tcpdump = Tcpdump::start(&net.bridge_interface()?, pcap)?;
    // tcpdump needs a moment to open the interface; the first SYNs must be in the capture.
    std::thread::sleep(Duration::from_secs(2));

    let mut bird = lab.router(DaemonKind::Bird, &bird_node, bird_spec)?;
    let mut frr = lab.router(DaemonKind::Frr, &frr_node, frr_spec)?;
    let mut gobgp = lab.router(DaemonKind::Gobgp, &gobgp_node, gobgp_spec)?;

    let ends: [(&Router, IpAddr); 12] = [
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
    lab.wait_until("all capture sessions Established", || {
        ends.iter().all(|(r, p)| r.is_established(*p))
    })?;
    let learned = [
        (&bird, "198.19.12.0/24"),
        (&bird, "198.19.13.0/24"),
        (&frr, "198.19.11.0/24"),
        (&frr, "198.19.13.0/24"),
        (&gobgp, "198.19.11.0/24"),
        (&gobgp, "198.19.12.0/24"),
        (&bird, "2001:db8:f003::/48"),
        (&frr, "2001:db8:f001::/48"),
        (&gobgp, "2001:db8:f002::/48"),
    ];
    lab.wait_until("every prefix learned", || {
        learned.iter().all(|(r, p)| r.has_learned(p))
    })?;

    bird.withdraw("198.19.11.0/24")?;
    frr.withdraw("198.19.12.0/24")?;
    gobgp.withdraw("198.19.13.0/24")?;
    let gone = [
        (&frr, "198.19.11.0/24"),
        (&gobgp, "198.19.12.0/24"),
        (&bird, "198.19.13.0/24"),
    ];
    lab.wait_until("withdrawals seen", || {
        gone.iter().all(|(r, p)| !r.has_learned(p))
    })?;

    let mut plan = Plan::default();
    bird.shutdown_neighbor(frr4, "bird maintenance")?;
    frr.shutdown_neighbor(gobgp4, "frr maintenance")?;
    gobgp.shutdown_neighbor(bird6, "gobgp maintenance")?;
    plan.shutdown_messages
        .insert(bird4.to_string(), "bird maintenance".into());
    plan.shutdown_messages
        .insert(frr4.to_string(), "frr maintenance".into());
    plan.shutdown_messages
        .insert(gobgp6.to_string(), "gobgp maintenance".into());
    let down = [(&frr, bird4), (&gobgp, frr4), (&bird, gobgp6)];
    lab.wait_until("shut sessions down at the peer", || {
        down.iter().all(|(r, p)| !r.is_established(*p))
    })?;
    // Let the last segments reach the capture before stopping it.
    std::thread::sleep(Duration::from_secs(1));
    tcpdump.stop()?;

    for (node, short, package, address4, address6) in [
        (&bird_node, "bird", "bird2", bird4, bird6),
        (&frr_node, "frr", "frr", frr4, frr6),
        (&gobgp_node, "gobgp", "gobgpd", gobgp4, gobgp6),
    ] {
        let label = format!("{short} {}", package_version(node, package));
        for address in [address4, address6] {
            plan.speakers.insert(address.to_string(), label.clone());
            plan.short_names
                .insert(address.to_string(), short.to_string());
        }
    }
    for (a, b, name) in [
        (bird4, frr4, "ebgp-dual-stack-addpath"),
        (bird6, frr6, "ebgp-extended-next-hop"),
        (frr4, gobgp4, "ibgp-local-pref"),
        (frr6, gobgp6, "ibgp-ipv6"),
        (gobgp4, bird4, "ibgp-md5"),
        (gobgp6, bird6, "ebgp-ipv6"),
    ] {
        plan.sessions.insert(
            session_key(&a.to_string(), &b.to_string()),
            name.to_string(),
        );
    }
    let text = serde_json::to_string_pretty(&plan).map_err(|source| Error::Json {
        what: "plan".into(),
        source,
    })?;
    let path = plan_path(pcap);
    std::fs::write(&path, text).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    drop(lab);
    Ok(plan)
}
