//! A lab node: one Docker container from the lab image, standing for one
//! router or host. Everything a test does inside it goes through
//! `docker exec`; pods are network namespaces inside the container joined to
//! it by veth pairs; faults (pause, disconnect, kill) act on the container.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::command::{run, run_with_input};
use crate::error::Result;
use crate::network::Network;

/// Flags every lab container gets. `--privileged` is refused by the lab
/// machines' kernel; the two capabilities suffice for routing daemons,
/// `ip netns` and veth pairs. `--init` puts a reaper at pid 1: daemons that
/// fork into the background (FRR) are reparented to it, and without it a
/// killed daemon would stay a zombie that still answers `kill -0`.
pub const RUN_FLAGS: &[&str] = &[
    "--init",
    "--cap-add",
    "NET_ADMIN",
    "--cap-add",
    "SYS_ADMIN",
    "--sysctl",
    "net.ipv4.ip_forward=1",
    "--sysctl",
    "net.ipv6.conf.all.forwarding=1",
    "--sysctl",
    "net.ipv6.conf.all.disable_ipv6=0",
];

/// Where the podroute binary appears inside a container.
pub const PODROUTE_PATH: &str = "/usr/local/bin/podroute";

/// One running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Short role name given by the test (`bird`, `host1`).
    pub name: String,
    /// Docker container name (unique per test and process).
    pub container: String,
    /// IPv4 address on the first network.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on the first network.
    pub ipv6: Ipv6Addr,
}

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions<'a> {
    /// The network the container starts on.
    pub network: &'a Network,
    /// Host part of its addresses on that network.
    pub host: u8,
    /// Host path of a podroute binary to bind-mount read-only at
    /// [`PODROUTE_PATH`].
    pub podroute_binary: Option<&'a std::path::Path>,
}

impl Node {
    /// Starts a container running `sleep infinity`; daemons are started
    /// later with `docker exec`, so a crashed daemon leaves the node up.
    pub fn start(
        image: &str,
        name: &str,
        container: &str,
        options: &NodeOptions<'_>,
    ) -> Result<Node> {
        let ipv4 = options.network.ipv4(options.host);
        let ipv6 = options.network.ipv6(options.host);
        let ipv4_text = ipv4.to_string();
        let ipv6_text = ipv6.to_string();
        let mount;
        let mut arguments: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            container,
            "--hostname",
            name,
            "--label",
            "podroute-lab=1",
        ];
        arguments.extend_from_slice(RUN_FLAGS);
        arguments.extend_from_slice(&[
            "--network",
            &options.network.name,
            "--ip",
            &ipv4_text,
            "--ip6",
            &ipv6_text,
        ]);
        if let Some(binary) = options.podroute_binary {
            mount = format!("{}:{PODROUTE_PATH}:ro", binary.display());
            arguments.extend_from_slice(&["-v", &mount]);
        }
        arguments.extend_from_slice(&[image, "sleep", "infinity"]);
        run("docker", &arguments)?;
        Ok(Node {
            name: name.to_string(),
            container: container.to_string(),
            ipv4,
            ipv6,
        })
    }

    /// Runs a command inside the node and returns its stdout.
    pub fn exec(&self, command: &[&str]) -> Result<String> {
        let mut arguments = vec!["exec", self.container.as_str()];
        arguments.extend_from_slice(command);
        run("docker", &arguments)
    }

    /// Runs a shell script inside the node.
    pub fn shell(&self, script: &str) -> Result<String> {
        self.exec(&["sh", "-c", script])
    }

    /// Starts a command in the background inside the node (`docker exec -d`).
    pub fn spawn(&self, command: &[&str]) -> Result<()> {
        let mut arguments = vec!["exec", "-d", self.container.as_str()];
        arguments.extend_from_slice(command);
        run("docker", &arguments).map(|_| ())
    }

    /// Writes `contents` to `path` inside the node.
    pub fn write_file(&self, path: &str, contents: &str) -> Result<()> {
        let script = format!("mkdir -p \"$(dirname '{path}')\" && cat > '{path}'");
        run_with_input(
            "docker",
            &["exec", "-i", self.container.as_str(), "sh", "-c", &script],
            contents.as_bytes(),
        )
        .map(|_| ())
    }

    /// Reads a file inside the node; a missing file reads as empty.
    pub fn read_file(&self, path: &str) -> String {
        self.shell(&format!("cat '{path}' 2>/dev/null || true"))
            .unwrap_or_default()
    }

    /// Joins another network with the given host part.
    pub fn connect(&self, network: &Network, host: u8) -> Result<()> {
        let ipv4 = network.ipv4(host).to_string();
        let ipv6 = network.ipv6(host).to_string();
        run(
            "docker",
            &[
                "network",
                "connect",
                "--ip",
                &ipv4,
                "--ip6",
                &ipv6,
                &network.name,
                &self.container,
            ],
        )
        .map(|_| ())
    }

    /// Cuts this node from a network (a link failure).
    pub fn disconnect(&self, network: &Network) -> Result<()> {
        run(
            "docker",
            &["network", "disconnect", &network.name, &self.container],
        )
        .map(|_| ())
    }

    /// Freezes every process of the node (a hung host).
    pub fn pause(&self) -> Result<()> {
        run("docker", &["pause", &self.container]).map(|_| ())
    }

    /// Thaws a paused node.
    pub fn unpause(&self) -> Result<()> {
        run("docker", &["unpause", &self.container]).map(|_| ())
    }

    /// Kills the container outright (a crashed host); its daemons die with it.
    pub fn kill(&self) -> Result<()> {
        run("docker", &["kill", &self.container]).map(|_| ())
    }

    /// Starts a killed container again; daemons must be started again too.
    pub fn restart(&self) -> Result<()> {
        run("docker", &["start", &self.container]).map(|_| ())
    }

    /// Adds an address to an interface inside the node.
    pub fn add_address(&self, interface: &str, address_with_length: &str) -> Result<()> {
        self.exec(&["ip", "addr", "add", address_with_length, "dev", interface])
            .map(|_| ())
    }

    /// Creates a pod: a network namespace `pod` joined to the node by a
    /// veth pair, with `pod_address` (`a.b.c.d/len` or `x::/len`) inside and
    /// `gateway` (same family, no length) on the node's side as its default
    /// route. Several addresses may be given for a dual-stack pod.
    pub fn add_pod(&self, pod: &str, addresses: &[(&str, IpAddr)]) -> Result<()> {
        let outside = format!("v-{pod}");
        let mut script = format!(
            "set -e; mkdir -p /run/netns; ip netns add {pod}; \
             ip link add {outside} type veth peer name eth0 netns {pod}; \
             ip link set {outside} up; ip -n {pod} link set lo up; ip -n {pod} link set eth0 up; "
        );
        for (address, gateway) in addresses {
            let family = if gateway.is_ipv6() { "-6" } else { "-4" };
            // No duplicate address detection: the link has two ends we own,
            // and a tentative address would fail the first packets.
            let nodad = if gateway.is_ipv6() { " nodad" } else { "" };
            let length = if gateway.is_ipv6() { 128 } else { 32 };
            script.push_str(&format!(
                "ip -n {pod} addr add {address} dev eth0{nodad}; \
                 ip addr add {gateway}/{length} dev {outside}{nodad} 2>/dev/null || true; \
                 ip -n {pod} {family} route add {gateway} dev eth0; \
                 ip -n {pod} {family} route add default via {gateway}; \
                 ip {family} route replace {host} dev {outside}; ",
                host = address.split('/').next().unwrap_or(address),
            ));
        }
        self.shell(&script).map(|_| ())
    }

    /// Runs a command inside a pod of this node.
    pub fn exec_in_pod(&self, pod: &str, command: &[&str]) -> Result<String> {
        let mut arguments = vec!["ip", "netns", "exec", pod];
        arguments.extend_from_slice(command);
        self.exec(&arguments)
    }

    /// Removes the container (used by [`crate::Lab`]'s `Drop`).
    pub fn remove(container: &str) -> Result<()> {
        run("docker", &["rm", "-f", "-v", container]).map(|_| ())
    }
}
