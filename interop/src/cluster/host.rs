//! One cluster host: a container running podroute (or BIRD) with pods, each
//! pod a network namespace inside the container joined by a veth pair.
//!
//! Address plan of host number `n` (1-based): pod CIDR `198.19.n.0/24`;
//! the host's side of every pod link holds `198.19.n.1/32`, the pods'
//! gateway; pod `k` (1-based) is `198.19.n.(10 + k)/32` with a `/32` route
//! to it on the host. The `/32`s are more specific than the block's
//! blackhole, so the block's unused addresses are dropped at its owner while
//! every pod is reached. Traffic from a pod leaves by its default route to
//! the host, which forwards it by the routes BGP put into its kernel.
//!
//! Everything a test asks of a host goes through `docker exec`: pings from
//! a pod, podroute's CLI, `ip route`, `ip -d link`.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::cluster::kernel::{self, KernelRoute};
use crate::daemon::{DaemonKind, Router};
use crate::error::{Error, Result};
use crate::node::{Node, PODROUTE_PATH};

/// The first pod address is `.11`: `.1` is the gateway and `.2`..=`.10`
/// stay free, so a ping to one of them shows the block's blackhole at work.
const FIRST_POD_HOST_PART: u8 = 10;

/// The pod CIDR of host number `number`.
pub fn pod_cidr(number: u8) -> String {
    format!("198.19.{number}.0/24")
}

/// The pods' gateway on host number `number`.
pub fn pod_gateway(number: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, number, 1)
}

/// The address of pod `pod` (1-based) on host number `number`.
pub fn pod_address(number: u8, pod: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, number, FIRST_POD_HOST_PART.saturating_add(pod))
}

/// One pod: a network namespace in its host's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// Namespace name inside the container (`pod1`).
    pub name: String,
    /// Its address (a `/32` inside the host's pod CIDR).
    pub address: Ipv4Addr,
}

/// The outcome of one ping from a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// `host/pod` the ping left from.
    pub from: String,
    /// Source address (the pod's).
    pub source: Ipv4Addr,
    /// `host/pod` it was sent to.
    pub to: String,
    /// Destination address.
    pub destination: Ipv4Addr,
    /// Whether the echo reply came back.
    pub ok: bool,
    /// Round-trip time as ping printed it (`0.081 ms`), or why it failed.
    pub detail: String,
}

impl std::fmt::Display for Ping {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{:<15} {:<13} -> {:<15} {:<13} {}  {}",
            self.from,
            self.source,
            self.to,
            self.destination,
            if self.ok { "ok  " } else { "FAIL" },
            self.detail
        )
    }
}

/// A cluster host: its container, its routing daemon and its pods.
#[derive(Debug, Clone)]
pub struct Host {
    /// Short name (`host1`).
    pub name: String,
    /// Host number `n`: the pod CIDR is `198.19.n.0/24`.
    pub number: u8,
    /// The container.
    pub node: Node,
    /// podroute, or BIRD on a BIRD host.
    pub router: Router,
    /// Its pods.
    pub pods: Vec<Pod>,
}

impl Host {
    /// The fabric address (BGP identifier and next hop of its routes).
    pub fn address(&self) -> IpAddr {
        IpAddr::V4(self.node.ipv4)
    }

    /// The host's pod CIDR.
    pub fn pod_cidr(&self) -> String {
        pod_cidr(self.number)
    }

    /// Whether podroute (rather than BIRD) routes this host.
    pub fn runs_podroute(&self) -> bool {
        self.router.kind == DaemonKind::Podroute
    }

    /// Creates `count` pods on `node` for host number `number`.
    pub fn create_pods(node: &Node, number: u8, count: u8) -> Result<Vec<Pod>> {
        let gateway = IpAddr::V4(pod_gateway(number));
        let mut pods = Vec::new();
        for index in 1..=count {
            let pod = Pod {
                name: format!("pod{index}"),
                address: pod_address(number, index),
            };
            node.add_pod(&pod.name, &[(&format!("{}/32", pod.address), gateway)])?;
            pods.push(pod);
        }
        Ok(pods)
    }

    /// Pings `destination` once from `pod` (2 s to answer).
    pub fn ping(&self, pod: &Pod, destination: Ipv4Addr, to: &str) -> Ping {
        let target = destination.to_string();
        let result = self.node.exec_in_pod(
            &pod.name,
            &["ping", "-n", "-c", "1", "-W", "2", target.as_str()],
        );
        let (ok, detail) = match result {
            Ok(output) => (
                true,
                output
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("time="))
                    .map(|time| format!("{time} ms"))
                    .unwrap_or_default(),
            ),
            Err(Error::CommandFailed { stderr, .. }) => (
                false,
                stderr
                    .lines()
                    .find(|line| line.contains("packet loss") || line.contains("Unreachable"))
                    .unwrap_or("no reply")
                    .trim()
                    .to_string(),
            ),
            Err(other) => (false, other.to_string()),
        };
        Ping {
            from: format!("{}/{}", self.name, pod.name),
            source: pod.address,
            to: to.to_string(),
            destination,
            ok,
            detail,
        }
    }

    /// Runs `podroute ARGUMENTS...` inside the host and returns its output.
    pub fn podroute(&self, arguments: &[&str]) -> Result<String> {
        let mut command = vec![PODROUTE_PATH];
        command.extend_from_slice(arguments);
        self.node.exec(&command)
    }

    /// Runs `podroute ARGUMENTS... --json` and parses the answer.
    pub fn podroute_json(&self, arguments: &[&str]) -> Result<Value> {
        let mut command = arguments.to_vec();
        command.push("--json");
        let text = self.podroute(&command)?;
        serde_json::from_str(&text).map_err(|source| Error::Json {
            what: format!("podroute {}", arguments.join(" ")),
            source,
        })
    }

    /// `podroute fib --json`.
    pub fn fib_status(&self) -> Result<Value> {
        self.podroute_json(&["fib"])
    }

    /// Prefixes `podroute fib` lists as installed, with their kind.
    pub fn fib_installed(&self) -> Result<Vec<(String, String)>> {
        let status = self.fib_status()?;
        Ok(status
            .get("installed")
            .and_then(Value::as_array)
            .map(|routes| {
                routes
                    .iter()
                    .map(|route| {
                        let field = |key: &str| {
                            route
                                .get(key)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        (field("prefix"), field("kind"))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `ip route show FILTER...` (main table), parsed.
    pub fn kernel_routes(&self, filter: &[&str]) -> Result<Vec<KernelRoute>> {
        let mut command = vec!["ip", "-4", "route", "show"];
        command.extend_from_slice(filter);
        Ok(kernel::parse_routes(&self.node.exec(&command)?))
    }

    /// The routes the host's BGP daemon owns in the kernel: `proto 201`
    /// for podroute, `proto bird` for BIRD.
    pub fn bgp_routes(&self) -> Result<Vec<KernelRoute>> {
        let protocol = if self.runs_podroute() { "201" } else { "bird" };
        self.kernel_routes(&["proto", protocol])
    }

    /// The routes of the daemon for `prefix` (empty when there is none).
    pub fn bgp_routes_for(&self, prefix: &str) -> Result<Vec<KernelRoute>> {
        Ok(self
            .bgp_routes()?
            .into_iter()
            .filter(|route| route.prefix == prefix)
            .collect())
    }

    /// Whether the kernel routes `prefix` through exactly `gateways` by the
    /// BGP daemon's route (false on any error, which suits polling).
    pub fn routes_via(&self, prefix: &str, gateways: &[IpAddr]) -> bool {
        let mut expected = gateways.to_vec();
        expected.sort();
        matches!(self.bgp_routes_for(prefix), Ok(routes)
            if routes.len() == 1 && routes.iter().all(|route| route.gateways == expected))
    }

    /// Tunnel devices in the host (`ip -d link show`), as `name (kind)`.
    pub fn tunnel_devices(&self) -> Result<Vec<String>> {
        Ok(kernel::tunnel_devices(
            &self.node.exec(&["ip", "-d", "link", "show"])?,
        ))
    }
}
