//! The daemons under test: their configs for the benchmark topologies and
//! how each one is started in its container.
//!
//! Data flow: a scenario describes the device under test as a [`Dut`]
//! (its AS and addresses, and its neighbors with their AS and whether they
//! are route-reflector clients, RFC 4456); [`Daemon::render`] turns that
//! into the daemon's own config language; [`Daemon::start`] writes it into
//! the container and starts the daemon in the foreground of `docker exec -d`
//! (FRR daemonises itself). Every neighbor is passive on the daemon's side:
//! the benchmark peers always connect, so no connection collision (RFC 4271
//! §6.8) or ConnectRetry timer ever delays a run. Configs carry no policy:
//! everything is imported and exported, as in the DESIGN anchors.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use interop::Node;

use crate::error::Result;
use crate::session::HOLD_TIME;

/// A daemon the harness can benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Daemon {
    /// podroute, bind-mounted from the release build.
    Podroute,
    /// BIRD 2 (`bird -f`).
    Bird,
    /// BIRD 1.6 (`bird -f`, the IPv4 daemon) from the second lab image
    /// ([`crate::bird1`]); IPv4-only workloads.
    Bird1,
    /// FRR `bgpd` alone (`-Z`: no zebra, no FIB).
    Frr,
    /// GoBGP `gobgpd`.
    Gobgp,
}

/// One neighbor of the device under test.
#[derive(Debug, Clone)]
pub struct DutNeighbor {
    /// The peer's IPv4 address (sessions run over IPv4 and carry both families).
    pub address: Ipv4Addr,
    /// The peer's AS.
    pub asn: u32,
    /// Reflect routes to and from it as a client (RFC 4456 §6).
    pub route_reflector_client: bool,
}

/// The device under test: its identity and neighbors.
#[derive(Debug, Clone)]
pub struct Dut {
    /// Local AS.
    pub asn: u32,
    /// IPv4 address, also the BGP identifier.
    pub ipv4: Ipv4Addr,
    /// IPv6 address, next hop of IPv6 routes sent over IPv4 sessions.
    pub ipv6: Ipv6Addr,
    /// Cluster id when reflecting (RFC 4456 §7).
    pub cluster_id: Option<Ipv4Addr>,
    /// Configured neighbors.
    pub neighbors: Vec<DutNeighbor>,
    /// Program learned routes into the kernel (scenario 2): podroute's
    /// `[fib]`, BIRD's `kernel` protocols, FRR's zebra.
    pub fib: bool,
}

impl Daemon {
    /// Parses a name given on the command line.
    pub fn parse(name: &str) -> Option<Daemon> {
        match name.trim() {
            "podroute" => Some(Daemon::Podroute),
            "bird" => Some(Daemon::Bird),
            "bird1" => Some(Daemon::Bird1),
            "frr" => Some(Daemon::Frr),
            "gobgp" => Some(Daemon::Gobgp),
            _ => None,
        }
    }

    /// Short name used in tables and container names.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Podroute => "podroute",
            Daemon::Bird => "bird",
            Daemon::Bird1 => "bird1",
            Daemon::Frr => "frr",
            Daemon::Gobgp => "gobgp",
        }
    }

    /// Command names (as `ps` shows them) of the processes whose CPU and
    /// memory count as the daemon's.
    pub fn process_names(self) -> &'static [&'static str] {
        match self {
            Daemon::Podroute => &["podroute"],
            Daemon::Bird | Daemon::Bird1 => &["bird"],
            Daemon::Frr => &["bgpd", "zebra"],
            Daemon::Gobgp => &["gobgpd"],
        }
    }

    /// The daemon's config for `dut`.
    pub fn render(self, dut: &Dut) -> String {
        match self {
            Daemon::Podroute => render_podroute(dut),
            Daemon::Bird => render_bird(dut),
            Daemon::Bird1 => render_bird1(dut),
            Daemon::Frr => render_frr(dut),
            Daemon::Gobgp => render_gobgp(dut),
        }
    }

    /// Whether the daemon can program the kernel by itself. GoBGP cannot:
    /// it needs zebra from FRR for that, which would measure zebra.
    pub fn programs_kernel(self) -> bool {
        self != Daemon::Gobgp
    }

    /// Whether the daemon takes only the IPv4 half of a workload: BIRD 1.6's
    /// IPv4 daemon cannot carry IPv6 over an IPv4 session ([`crate::bird1`]).
    pub fn ipv4_only(self) -> bool {
        self == Daemon::Bird1
    }

    /// Writes `dut`'s config into `node` and starts the daemon (FRR with
    /// zebra when `dut.fib`, `bgpd -Z` alone otherwise).
    pub fn start(self, node: &Node, dut: &Dut) -> Result<()> {
        let config = &self.render(dut);
        match self {
            Daemon::Podroute => {
                node.write_file("/etc/podroute/podroute.toml", config)?;
                node.shell("mkdir -p /run/podroute")?;
                node.spawn(&[
                    "sh",
                    "-c",
                    "exec podroute daemon --config /etc/podroute/podroute.toml >> /var/log/podroute.log 2>&1",
                ])?;
            }
            Daemon::Bird | Daemon::Bird1 => {
                node.write_file("/etc/bird/bench.conf", config)?;
                node.spawn(&[
                    "bird",
                    "-f",
                    "-c",
                    "/etc/bird/bench.conf",
                    "-s",
                    "/run/bird.ctl",
                ])?;
            }
            Daemon::Frr => {
                node.write_file("/etc/frr/bgpd.conf", config)?;
                node.write_file("/etc/frr/vtysh.conf", "")?;
                node.write_file(
                    "/etc/frr/zebra.conf",
                    "log file /var/log/frr/zebra.log warnings\n",
                )?;
                node.shell(
                    "mkdir -p /run/frr /var/log/frr && chown frr:frr /run/frr /var/log/frr /etc/frr/*.conf",
                )?;
                if dut.fib {
                    node.exec(&[
                        "/usr/lib/frr/zebra",
                        "-d",
                        "-f",
                        "/etc/frr/zebra.conf",
                        "--vty_socket=/run/frr",
                        "-z",
                        "/run/frr/zserv.api",
                        "-i",
                        "/run/frr/zebra.pid",
                    ])?;
                    node.exec(&[
                        "/usr/lib/frr/bgpd",
                        "-d",
                        "-f",
                        "/etc/frr/bgpd.conf",
                        "--vty_socket=/run/frr",
                        "-z",
                        "/run/frr/zserv.api",
                        "-i",
                        "/run/frr/bgpd.pid",
                    ])?;
                } else {
                    node.exec(&[
                        "/usr/lib/frr/bgpd",
                        "-d",
                        "-Z",
                        "-f",
                        "/etc/frr/bgpd.conf",
                        "--vty_socket=/run/frr",
                        "-i",
                        "/run/frr/bgpd.pid",
                    ])?;
                }
            }
            Daemon::Gobgp => {
                node.write_file("/etc/gobgp/gobgpd.toml", config)?;
                node.spawn(&[
                    "sh",
                    "-c",
                    "exec gobgpd -f /etc/gobgp/gobgpd.toml -t toml -l warn >> /var/log/gobgpd.log 2>&1",
                ])?;
            }
        }
        Ok(())
    }

    /// The daemon's log file inside its container.
    pub fn log_file(self) -> &'static str {
        match self {
            Daemon::Podroute => "/var/log/podroute.log",
            Daemon::Bird | Daemon::Bird1 => "/var/log/bird.log",
            Daemon::Frr => "/var/log/frr/bgpd.log",
            Daemon::Gobgp => "/var/log/gobgpd.log",
        }
    }

    /// Shell command printing the daemon's version inside the lab image.
    pub fn version_command(self) -> &'static str {
        match self {
            Daemon::Podroute => "podroute --version 2>&1 | head -1",
            Daemon::Bird | Daemon::Bird1 => "bird --version 2>&1 | head -1",
            Daemon::Frr => "/usr/lib/frr/bgpd --version 2>&1 | head -1",
            Daemon::Gobgp => "gobgpd --version 2>&1 | head -1",
        }
    }
}

fn render_podroute(dut: &Dut) -> String {
    let mut text = format!(
        "# Generated by podroute-bench.\n[router]\nasn = {}\nrouter_id = \"{}\"\nlisten = [\"0.0.0.0:179\"]\n",
        dut.asn, dut.ipv4
    );
    if let Some(cluster) = dut.cluster_id {
        let _ = writeln!(text, "cluster_id = \"{cluster}\"");
    }
    let _ = writeln!(text, "\n[fib]\nenabled = {}", dut.fib);
    for neighbor in &dut.neighbors {
        let _ = write!(
            text,
            "\n[[neighbor]]\naddress = \"{}\"\nasn = {}\npassive = true\nhold_time = {HOLD_TIME}\nfamilies = [\"ipv4\", \"ipv6\"]\nimport = \"all\"\nexport = \"all\"\n",
            neighbor.address, neighbor.asn
        );
        if neighbor.route_reflector_client {
            text.push_str("route_reflector_client = true\n");
        }
        if neighbor.asn != dut.asn {
            // podroute takes its IPv6 next-hop-self address only from an
            // IPv6 session's local address, so over these IPv4 sessions it
            // would send no IPv6 route at all; passing the generator's
            // (on-link) next hop on, RFC 4271 §5.1.3 third-party style,
            // costs the same work.
            text.push_str("next_hop = \"keep\"\n");
        }
    }
    text
}

fn render_bird(dut: &Dut) -> String {
    let mut text = format!(
        "# Generated by podroute-bench.\nlog \"/var/log/bird.log\" {{ warning, error, fatal }};\nrouter id {};\nprotocol device {{ scan time 60; }}\n",
        dut.ipv4
    );
    if dut.fib {
        // One kernel protocol per table (BIRD 2 channels), exporting the
        // best route of every prefix to the main table.
        text.push_str(
            "protocol kernel kernel4 {\n  ipv4 { export all; };\n}\nprotocol kernel kernel6 {\n  ipv6 { export all; };\n}\n",
        );
    }
    for (index, neighbor) in dut.neighbors.iter().enumerate() {
        let _ = writeln!(
            text,
            "protocol bgp peer{index} {{\n  local {} as {};\n  neighbor {} as {};\n  passive on;\n  hold time {HOLD_TIME};",
            dut.ipv4, dut.asn, neighbor.address, neighbor.asn
        );
        if neighbor.asn == dut.asn {
            // iBGP on a shared link with no IGP: next hops are resolved directly.
            text.push_str("  direct;\n");
        }
        if neighbor.route_reflector_client {
            text.push_str("  rr client;\n");
            if let Some(cluster) = dut.cluster_id {
                let _ = writeln!(text, "  rr cluster id {cluster};");
            }
        }
        let _ = writeln!(
            text,
            "  ipv4 {{ import all; export all; }};\n  ipv6 {{ import all; export all; next hop address {}; }};\n}}",
            dut.ipv6
        );
    }
    text
}

/// BIRD 1.6's IPv4 daemon: one table, no channels, `import`/`export` in
/// the protocol itself.
fn render_bird1(dut: &Dut) -> String {
    let mut text = format!(
        "# Generated by podroute-bench.\nlog \"/var/log/bird.log\" {{ warning, error, fatal }};\nrouter id {};\nprotocol device {{ scan time 60; }}\n",
        dut.ipv4
    );
    if dut.fib {
        text.push_str("protocol kernel {\n  export all;\n}\n");
    }
    for (index, neighbor) in dut.neighbors.iter().enumerate() {
        let _ = writeln!(
            text,
            "protocol bgp peer{index} {{\n  local {} as {};\n  neighbor {} as {};\n  passive on;\n  hold time {HOLD_TIME};",
            dut.ipv4, dut.asn, neighbor.address, neighbor.asn
        );
        if neighbor.asn == dut.asn {
            text.push_str("  direct;\n");
        }
        if neighbor.route_reflector_client {
            text.push_str("  rr client;\n");
            if let Some(cluster) = dut.cluster_id {
                let _ = writeln!(text, "  rr cluster id {cluster};");
            }
        }
        text.push_str("  import all;\n  export all;\n}\n");
    }
    text
}

fn render_frr(dut: &Dut) -> String {
    let mut text = format!(
        "! Generated by podroute-bench.\nfrr defaults traditional\nhostname dut\nlog file /var/log/frr/bgpd.log warnings\n!\nrouter bgp {}\n bgp router-id {}\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n",
        dut.asn, dut.ipv4
    );
    if let Some(cluster) = dut.cluster_id {
        let _ = writeln!(text, " bgp cluster-id {cluster}");
    }
    // Route-reflector clients share one peer group: one set of settings
    // (and one update group) for a thousand neighbors.
    let clients: Vec<&DutNeighbor> = dut
        .neighbors
        .iter()
        .filter(|neighbor| neighbor.route_reflector_client)
        .collect();
    if let Some(first) = clients.first() {
        let _ = writeln!(
            text,
            " neighbor clients peer-group\n neighbor clients remote-as {}\n neighbor clients passive\n neighbor clients timers {} {HOLD_TIME}",
            first.asn,
            HOLD_TIME / 3
        );
    }
    for neighbor in &dut.neighbors {
        let address = neighbor.address;
        if neighbor.route_reflector_client {
            let _ = writeln!(text, " neighbor {address} peer-group clients");
            continue;
        }
        let _ = writeln!(
            text,
            " neighbor {address} remote-as {}\n neighbor {address} passive\n neighbor {address} timers {} {HOLD_TIME}",
            neighbor.asn,
            HOLD_TIME / 3
        );
    }
    for family in ["ipv4", "ipv6"] {
        let _ = writeln!(text, " address-family {family} unicast");
        if !clients.is_empty() {
            text.push_str(
                "  neighbor clients activate\n  neighbor clients route-reflector-client\n",
            );
        }
        for neighbor in &dut.neighbors {
            if !neighbor.route_reflector_client {
                let _ = writeln!(text, "  neighbor {} activate", neighbor.address);
            }
        }
        text.push_str(" exit-address-family\n");
    }
    text.push_str("!\n");
    text
}

fn render_gobgp(dut: &Dut) -> String {
    let mut text = format!(
        "# Generated by podroute-bench.\n[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = 179\n",
        dut.asn, dut.ipv4
    );
    for neighbor in &dut.neighbors {
        let _ = write!(
            text,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n  [neighbors.timers.config]\n    hold-time = {HOLD_TIME}\n    keepalive-interval = {}\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{}\"\n",
            neighbor.address,
            neighbor.asn,
            HOLD_TIME / 3,
            dut.ipv4
        );
        if neighbor.route_reflector_client {
            let cluster = dut.cluster_id.unwrap_or(dut.ipv4);
            let _ = writeln!(
                text,
                "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{cluster}\""
            );
        }
        for family in ["ipv4-unicast", "ipv6-unicast"] {
            let _ = writeln!(
                text,
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{family}\""
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dut() -> Dut {
        Dut {
            asn: 65000,
            ipv4: Ipv4Addr::new(198, 18, 7, 2),
            ipv6: "2001:db8:7::2".parse().unwrap(),
            cluster_id: Some(Ipv4Addr::new(198, 18, 7, 2)),
            neighbors: vec![
                DutNeighbor {
                    address: Ipv4Addr::new(198, 18, 7, 10),
                    asn: 65001,
                    route_reflector_client: false,
                },
                DutNeighbor {
                    address: Ipv4Addr::new(198, 18, 7, 100),
                    asn: 65000,
                    route_reflector_client: true,
                },
            ],
            fib: false,
        }
    }

    #[test]
    fn every_daemon_config_names_every_neighbor_as_passive() {
        let dut = dut();
        let podroute = Daemon::Podroute.render(&dut);
        assert!(podroute.contains("address = \"198.18.7.10\"\nasn = 65001\npassive = true"));
        assert!(podroute.contains("route_reflector_client = true"));
        let bird = Daemon::Bird.render(&dut);
        assert!(bird.contains("neighbor 198.18.7.100 as 65000;\n  passive on;"));
        assert!(bird.contains("rr client;\n  rr cluster id 198.18.7.2;"));
        assert_eq!(bird.matches("direct;").count(), 1, "{bird}");
        let bird1 = Daemon::Bird1.render(&dut);
        assert!(bird1.contains("neighbor 198.18.7.100 as 65000;\n  passive on;"));
        assert!(bird1.contains("  import all;\n  export all;\n}"));
        assert!(!bird1.contains("ipv6"), "{bird1}");
        let frr = Daemon::Frr.render(&dut);
        assert!(frr.contains(" neighbor 198.18.7.10 passive"));
        assert!(frr.contains(" neighbor clients passive"));
        assert!(frr.contains(" neighbor 198.18.7.100 peer-group clients"));
        assert!(frr.contains("  neighbor clients route-reflector-client"));
        assert!(frr.contains("  neighbor 198.18.7.10 activate"));
        assert!(!frr.contains("neighbor 198.18.7.100 activate"));
        let gobgp = Daemon::Gobgp.render(&dut);
        assert_eq!(gobgp.matches("passive-mode = true").count(), 2);
        assert_eq!(gobgp.matches("route-reflector-client = true").count(), 1);
    }
}
