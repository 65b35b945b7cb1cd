//! The topology builder: a [`ClusterSpec`] says which members a cluster
//! has; [`Cluster::start`] brings them up inside a [`Lab`] and
//! [`Cluster::wait_converged`] waits until every host routes to every other
//! host's pods.
//!
//! Flow of [`Cluster::start`]:
//!
//! 1. one fabric network (`198.18.X.0/24`, internal) and the bridge rule
//!    that lets routed pod traffic cross it ([`super::firewall`]);
//! 2. the containers, at fixed host parts: top of rack `.2`, reflector
//!    `.3`, podroute hosts `.11`, `.12`, ..., BIRD hosts after them;
//! 3. pods in every host container ([`Host::create_pods`]);
//! 4. the daemons: FRR (or BIRD, [`ClusterSpec::top_of_rack_daemon`]) on
//!    the top of rack (eBGP, AS 65001, one session per host, graceful
//!    restart when [`ClusterSpec::top_of_rack_graceful_restart`]),
//!    podroute on the reflector (a `[[listen_range]]` of route reflector
//!    clients), then each host's podroute (or BIRD), configured by
//!    [`super::config`].
//!
//! Why the top of rack peers with every host rather than with the
//! reflector: that is how an L3 fabric is run (RFC 7938). The ToR learns
//! each pod CIDR from the host that owns it, with that host as next hop,
//! so its forwarding never depends on a control-plane box; a host that dies
//! is withdrawn by the ToR's own session to it; an anycast prefix from two
//! hosts is two eBGP paths the ToR can balance over. The reflector only
//! spares the hosts an iBGP full mesh among themselves.

use std::net::{IpAddr, Ipv4Addr};

use crate::cluster::config::{
    BirdHostConfig, BirdTopOfRackConfig, HostConfig, Peer, ReflectorConfig,
};
use crate::cluster::firewall::{self, BridgeForwarding};
use crate::cluster::host::{Host, Ping, pod_cidr};
use crate::daemon::{DaemonKind, Router};
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::network::Network;
use crate::node::Node;
use crate::spec::{Family, NeighborSpec, RouterSpec};

/// The cluster's AS: hosts and reflector (iBGP).
pub const CLUSTER_AS: u32 = 64512;
/// The top-of-rack router's AS (eBGP to every host).
pub const TOR_AS: u32 = 65001;
/// Host part of the top-of-rack router on the fabric.
pub const TOR_HOST_PART: u8 = 2;
/// Host part of the route reflector on the fabric.
pub const REFLECTOR_HOST_PART: u8 = 3;
/// Host part of host number 1; host `n` is at `10 + n`.
pub const FIRST_HOST_PART: u8 = 10;

/// How the hosts exchange routes among themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peering {
    /// Every host peers with every other host (iBGP full mesh).
    FullMesh,
    /// Every host peers with one podroute route reflector (RFC 4456).
    Reflector,
}

/// One host to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// Short name (`host1`).
    pub name: String,
    /// Number of pods.
    pub pods: u8,
    /// Extra prefixes originated without a blackhole (anycast).
    pub anycast: Vec<String>,
    /// BIRD instead of podroute (a Calico-style host).
    pub bird: bool,
    /// Shell commands run in the host after its pods exist and before its
    /// daemon starts (a foreign route that must be there first).
    pub setup: Vec<String>,
}

impl HostSpec {
    /// A podroute host with `pods` pods.
    pub fn podroute(name: &str, pods: u8) -> HostSpec {
        HostSpec {
            name: name.to_string(),
            pods,
            anycast: Vec::new(),
            bird: false,
            setup: Vec::new(),
        }
    }

    /// A BIRD host with `pods` pods.
    pub fn bird(name: &str, pods: u8) -> HostSpec {
        HostSpec {
            bird: true,
            ..HostSpec::podroute(name, pods)
        }
    }
}

/// What a cluster is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Hosts in order; host `n` (1-based position) gets `198.19.n.0/24`.
    pub hosts: Vec<HostSpec>,
    /// Full mesh or reflector.
    pub peering: Peering,
    /// An FRR top-of-rack router peering over eBGP with every host.
    pub top_of_rack: bool,
    /// `[router] max_paths` on podroute hosts (ECMP).
    pub max_paths: u8,
    /// Graceful restart time on podroute hosts, when enabled.
    pub graceful_restart: Option<u16>,
    /// Hold time on every session: short, so a vanished host is noticed.
    pub hold_time: u16,
    /// Which daemon runs the top of rack: FRR (the default) or BIRD, each
    /// installing what it learns into its own kernel.
    pub top_of_rack_daemon: DaemonKind,
    /// The top of rack advertises graceful restart (RFC 4724) and so acts
    /// as helper when a host's podroute restarts.
    pub top_of_rack_graceful_restart: bool,
}

impl ClusterSpec {
    /// A cluster of `hosts` with no top of rack, no ECMP, no graceful
    /// restart and a 9 s hold time.
    pub fn new(peering: Peering, hosts: Vec<HostSpec>) -> ClusterSpec {
        ClusterSpec {
            hosts,
            peering,
            top_of_rack: false,
            max_paths: 1,
            graceful_restart: None,
            hold_time: 9,
            top_of_rack_daemon: DaemonKind::Frr,
            top_of_rack_graceful_restart: false,
        }
    }
}

/// A running cluster. Its containers and network belong to the [`Lab`],
/// which removes them; the bridge rule is deleted when the cluster drops.
#[derive(Debug)]
pub struct Cluster {
    /// The shared L2 segment of every member.
    pub fabric: Network,
    /// Hosts, in spec order.
    pub hosts: Vec<Host>,
    /// The podroute route reflector, for [`Peering::Reflector`].
    pub reflector: Option<Router>,
    /// The FRR top-of-rack router.
    pub top_of_rack: Option<Router>,
    /// The `DOCKER-USER` rule of the fabric bridge.
    pub forwarding: BridgeForwarding,
}

fn host_part(number: u8) -> Result<u8> {
    FIRST_HOST_PART
        .checked_add(number)
        .ok_or_else(|| Error::Environment(format!("host number {number} out of range")))
}

impl Cluster {
    /// Creates every member of `spec` in `lab` and starts its daemons (see
    /// the module documentation for the order).
    pub fn start(lab: &Lab, spec: &ClusterSpec) -> Result<Cluster> {
        let fabric = lab.network("fabric")?;
        let forwarding = firewall::allow_forwarding(&fabric, lab.prefix())?;
        let tor_node = if spec.top_of_rack {
            Some(lab.node("tor", &fabric, TOR_HOST_PART)?)
        } else {
            None
        };
        let reflector_node = match spec.peering {
            Peering::Reflector => {
                Some(lab.podroute_node("reflector", &fabric, REFLECTOR_HOST_PART)?)
            }
            Peering::FullMesh => None,
        };
        let mut nodes: Vec<(u8, &HostSpec, Node)> = Vec::new();
        for (position, host) in spec.hosts.iter().enumerate() {
            let number = u8::try_from(position.saturating_add(1))
                .map_err(|_| Error::Environment("at most 255 hosts".into()))?;
            let node = if host.bird {
                lab.node(&host.name, &fabric, host_part(number)?)?
            } else {
                lab.podroute_node(&host.name, &fabric, host_part(number)?)?
            };
            nodes.push((number, host, node));
        }
        let host_addresses: Vec<IpAddr> = nodes
            .iter()
            .map(|(_, _, node)| IpAddr::V4(node.ipv4))
            .collect();
        let top_of_rack = match &tor_node {
            Some(node) => Some(start_top_of_rack(lab, node, &host_addresses, spec)?),
            None => None,
        };
        let reflector = match &reflector_node {
            Some(node) => Some(
                lab.podroute(
                    node,
                    &ReflectorConfig {
                        asn: CLUSTER_AS,
                        router_id: node.ipv4,
                        clients: fabric.ipv4_subnet(),
                    }
                    .render(),
                )?,
            ),
            None => None,
        };
        let tor_peer = tor_node.as_ref().map(|node| Peer {
            address: IpAddr::V4(node.ipv4),
            asn: TOR_AS,
        });
        let mut hosts = Vec::new();
        for (number, host, node) in nodes {
            let pods = Host::create_pods(&node, number, host.pods)?;
            for command in &host.setup {
                node.shell(command)?;
            }
            let internal_peers: Vec<IpAddr> = match &reflector_node {
                Some(reflector) => vec![IpAddr::V4(reflector.ipv4)],
                None => host_addresses
                    .iter()
                    .copied()
                    .filter(|address| *address != IpAddr::V4(node.ipv4))
                    .collect(),
            };
            let router = if host.bird {
                let config = BirdHostConfig {
                    asn: CLUSTER_AS,
                    router_id: node.ipv4,
                    pod_cidr: pod_cidr(number),
                    internal_peers,
                    top_of_rack: tor_peer.clone(),
                    hold_time: spec.hold_time,
                };
                lab.router_with_config(DaemonKind::Bird, &node, &config.render())?
            } else {
                let config = HostConfig {
                    asn: CLUSTER_AS,
                    router_id: node.ipv4,
                    pod_cidrs: vec![pod_cidr(number)],
                    anycast: host.anycast.clone(),
                    internal_peers,
                    top_of_rack: tor_peer.clone(),
                    max_paths: spec.max_paths,
                    graceful_restart: spec.graceful_restart,
                    hold_time: spec.hold_time,
                };
                lab.podroute(&node, &config.render())?
            };
            hosts.push(Host {
                name: host.name.clone(),
                number,
                node,
                router,
                pods,
            });
        }
        Ok(Cluster {
            fabric,
            hosts,
            reflector,
            top_of_rack,
            forwarding,
        })
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|host| host.name == name)
            .ok_or_else(|| Error::Environment(format!("no host {name} in the cluster")))
    }

    /// Every BGP session of every member, as `(member, peer, established)`.
    pub fn sessions(&self) -> Vec<(String, IpAddr, bool)> {
        let mut members: Vec<(&str, &Router)> = self
            .hosts
            .iter()
            .map(|host| (host.name.as_str(), &host.router))
            .collect();
        if let Some(router) = &self.top_of_rack {
            members.push(("tor", router));
        }
        if let Some(router) = &self.reflector {
            members.push(("reflector", router));
        }
        let mut sessions = Vec::new();
        for (name, router) in members {
            match router.neighbors() {
                Ok(neighbors) => sessions.extend(neighbors.iter().map(|neighbor| {
                    (
                        name.to_string(),
                        neighbor.address,
                        neighbor.is_established(),
                    )
                })),
                Err(_) => {
                    sessions.push((name.to_string(), IpAddr::V4(Ipv4Addr::UNSPECIFIED), false))
                }
            }
        }
        sessions
    }

    /// Whether every host has a route to every other live host's pod CIDR
    /// via that host, from its BGP daemon (false on any error).
    pub fn routes_complete(&self, hosts: &[&Host]) -> bool {
        hosts.iter().all(|host| {
            hosts
                .iter()
                .filter(|other| other.name != host.name)
                .all(|other| host.routes_via(&other.pod_cidr(), &[other.address()]))
        })
    }

    /// Waits until every session is Established and every host routes to
    /// every other host's pods ([`Cluster::routes_complete`]).
    pub fn wait_converged(&self, lab: &Lab) -> Result<()> {
        lab.wait_until("every BGP session Established", || {
            self.sessions().iter().all(|(_, _, up)| *up)
        })?;
        let hosts: Vec<&Host> = self.hosts.iter().collect();
        lab.wait_until("every host routing to every other host's pods", || {
            self.routes_complete(&hosts)
        })
    }

    /// Pings, from every pod of every host in `hosts`, every pod of every
    /// other host in `hosts`, in a fixed order.
    pub fn ping_between(hosts: &[&Host]) -> Vec<Ping> {
        let mut pings = Vec::new();
        for host in hosts {
            for pod in &host.pods {
                for other in hosts.iter().filter(|other| other.name != host.name) {
                    for target in &other.pods {
                        let to = format!("{}/{}", other.name, target.name);
                        pings.push(host.ping(pod, target.address, &to));
                    }
                }
            }
        }
        pings
    }
}

/// The top-of-rack daemon the spec asks for: FRR from a neutral
/// [`RouterSpec`], or BIRD from [`BirdTopOfRackConfig`] (BIRD's neutral
/// rendering has no kernel protocol, and a ToR must forward).
fn start_top_of_rack(
    lab: &Lab,
    node: &Node,
    hosts: &[IpAddr],
    spec: &ClusterSpec,
) -> Result<Router> {
    match spec.top_of_rack_daemon {
        DaemonKind::Frr => {
            let mut tor = tor_spec(node.ipv4, hosts, spec.hold_time);
            tor.graceful_restart = spec.top_of_rack_graceful_restart;
            lab.router(DaemonKind::Frr, node, tor)
        }
        DaemonKind::Bird => {
            let config = BirdTopOfRackConfig {
                asn: TOR_AS,
                router_id: node.ipv4,
                hosts: hosts.to_vec(),
                host_asn: CLUSTER_AS,
                hold_time: spec.hold_time,
                graceful_restart: spec.top_of_rack_graceful_restart,
            };
            lab.router_with_config(DaemonKind::Bird, node, &config.render())
        }
        other => Err(Error::Environment(format!(
            "a top of rack runs FRR or BIRD, not {}",
            other.name()
        ))),
    }
}

/// FRR on the top of rack: one eBGP session per host, nothing originated.
/// The lab's FRR rendering carries `no bgp ebgp-requires-policy`, which
/// stands in for a ToR's own import and export policy here.
fn tor_spec(address: Ipv4Addr, hosts: &[IpAddr], hold_time: u16) -> RouterSpec {
    let mut spec = RouterSpec::new(TOR_AS, address, None);
    for host in hosts {
        let mut neighbor = NeighborSpec::new(*host, CLUSTER_AS);
        neighbor.families = vec![Family::Ipv4Unicast];
        neighbor.hold_time = hold_time;
        spec.neighbors.push(neighbor);
    }
    spec
}
