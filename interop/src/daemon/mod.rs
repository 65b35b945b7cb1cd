//! Routing daemons on lab nodes. A [`Router`] is one daemon (BIRD, FRR,
//! GoBGP or podroute) on one [`Node`]: its config is rendered from a neutral
//! [`RouterSpec`] by the dialect module (`bird`, `frr`, `gobgp`), written
//! into the container, and the daemon is started with `docker exec -d` in
//! the foreground of a shell that records its pid (so stopping it kills that
//! pid and nothing else). Queries go through the daemon's own CLI and are
//! parsed into [`NeighborStatus`] and [`Route`].

pub mod bird;
pub mod frr;
pub mod gobgp;
pub mod podroute;
pub mod podroute_config;
pub mod podroute_routes;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::node::Node;
use crate::spec::{Origination, RouterSpec};
use crate::status::{NeighborStatus, Route};

/// Which implementation a [`Router`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonKind {
    /// BIRD 2 (`bird`, `birdc`).
    Bird,
    /// FRRouting (`zebra`, `bgpd`, `vtysh`).
    Frr,
    /// GoBGP (`gobgpd`, `gobgp`).
    Gobgp,
    /// podroute itself, bind-mounted from the host.
    Podroute,
}

impl DaemonKind {
    /// Lower-case name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            DaemonKind::Bird => "bird",
            DaemonKind::Frr => "frr",
            DaemonKind::Gobgp => "gobgp",
            DaemonKind::Podroute => "podroute",
        }
    }
}

/// One daemon running on one lab node.
#[derive(Debug, Clone)]
pub struct Router {
    /// The implementation.
    pub kind: DaemonKind,
    /// The container it runs in.
    pub node: Node,
    /// The neutral description it was configured from (absent for podroute,
    /// which takes its own TOML).
    pub spec: Option<RouterSpec>,
    /// The rendered configuration text as written into the node.
    pub config: String,
}

/// How long a freshly started daemon gets before its CLI must answer.
const STARTUP_BOUND: Duration = Duration::from_secs(30);

impl Router {
    /// Renders the config for `kind`, writes it, starts the daemon and waits
    /// until its CLI answers.
    pub fn start(kind: DaemonKind, node: &Node, spec: RouterSpec) -> Result<Router> {
        let config = match kind {
            DaemonKind::Bird => bird::render(&spec),
            DaemonKind::Frr => frr::render(&spec),
            DaemonKind::Gobgp => gobgp::render(&spec),
            DaemonKind::Podroute => {
                return Err(Error::Environment(
                    "use Router::start_podroute for podroute nodes".into(),
                ));
            }
        };
        let router = Router {
            kind,
            node: node.clone(),
            spec: Some(spec),
            config,
        };
        router.launch()?;
        Ok(router)
    }

    /// Starts podroute with a TOML config (see DESIGN.md) on a node whose
    /// container has the binary mounted.
    pub fn start_podroute(node: &Node, config_toml: &str) -> Result<Router> {
        let router = Router {
            kind: DaemonKind::Podroute,
            node: node.clone(),
            spec: None,
            config: config_toml.to_string(),
        };
        router.launch()?;
        Ok(router)
    }

    /// Starts BIRD, FRR or GoBGP with a configuration written by hand
    /// (in the daemon's own dialect) and waits until its CLI answers. The
    /// router has no spec, so spec-driven operations (FRR shutdown,
    /// withdraw) are not available on it.
    pub fn start_with_config(kind: DaemonKind, node: &Node, config: &str) -> Result<Router> {
        if kind == DaemonKind::Podroute {
            return Err(Error::Environment(
                "use Router::start_podroute for podroute nodes".into(),
            ));
        }
        let router = Router {
            kind,
            node: node.clone(),
            spec: None,
            config: config.to_string(),
        };
        router.launch()?;
        Ok(router)
    }

    fn launch(&self) -> Result<()> {
        match self.kind {
            DaemonKind::Bird => bird::start(&self.node, &self.config)?,
            DaemonKind::Frr => frr::start(&self.node, &self.config)?,
            DaemonKind::Gobgp => gobgp::start(&self.node, &self.config)?,
            DaemonKind::Podroute => podroute::start(&self.node, &self.config)?,
        }
        let deadline = Instant::now() + STARTUP_BOUND;
        loop {
            match self.neighbors() {
                Ok(_) => break,
                Err(error) if Instant::now() >= deadline => {
                    return Err(Error::Environment(format!(
                        "{} on {} did not answer its CLI: {error}\nlog:\n{}",
                        self.kind.name(),
                        self.node.container,
                        self.log()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        if self.kind == DaemonKind::Gobgp {
            if let Some(spec) = &self.spec {
                for origination in &spec.originate {
                    gobgp::announce(&self.node, spec, origination)?;
                }
            }
        }
        Ok(())
    }

    /// Stops the daemon gracefully (SIGTERM to its recorded pid).
    pub fn stop(&self) -> Result<()> {
        self.signal("TERM")
    }

    /// Kills the daemon without letting it send anything (a crash).
    pub fn kill(&self) -> Result<()> {
        self.signal("KILL")
    }

    fn signal(&self, signal: &str) -> Result<()> {
        let pid_files: &[&str] = match self.kind {
            DaemonKind::Bird => &[bird::PID_FILE],
            DaemonKind::Frr => &[frr::BGPD_PID_FILE, frr::ZEBRA_PID_FILE],
            DaemonKind::Gobgp => &[gobgp::PID_FILE],
            DaemonKind::Podroute => &[podroute::PID_FILE],
        };
        for pid_file in pid_files {
            // Wait for the process to be gone so a restart does not race it.
            self.node.shell(&format!(
                "pid=$(cat {pid_file} 2>/dev/null) || exit 0; kill -{signal} \"$pid\" 2>/dev/null || exit 0; \
                 for i in $(seq 100); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done; rm -f {pid_file}"
            ))?;
        }
        Ok(())
    }

    /// Stops and starts the daemon with the same configuration.
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.launch()
    }

    /// Starts the daemon again in a container that was killed and started
    /// again ([`Node::kill`], [`Node::restart`]). The pid files left by the
    /// dead daemon name processes that no longer exist, and a new process
    /// may have taken one of those pids, so they are removed unread.
    pub fn start_again(&self) -> Result<()> {
        let pid_files: &[&str] = match self.kind {
            DaemonKind::Bird => &[bird::PID_FILE, bird::SOCKET],
            DaemonKind::Frr => &[frr::BGPD_PID_FILE, frr::ZEBRA_PID_FILE],
            DaemonKind::Gobgp => &[gobgp::PID_FILE],
            DaemonKind::Podroute => &[podroute::PID_FILE],
        };
        for file in pid_files {
            self.node.exec(&["rm", "-f", file])?;
        }
        self.launch()
    }

    /// podroute only: every field of `podroute neighbors --json`.
    pub fn podroute_neighbors(&self) -> Result<Vec<podroute::PodrouteNeighbor>> {
        if self.kind != DaemonKind::Podroute {
            return Err(Error::Environment(format!(
                "{} is not podroute",
                self.kind.name()
            )));
        }
        podroute::neighbor_details(&self.node)
    }

    /// podroute only: one neighbor's full status, if podroute lists it.
    pub fn podroute_neighbor(&self, address: IpAddr) -> Result<Option<podroute::PodrouteNeighbor>> {
        Ok(self
            .podroute_neighbors()?
            .into_iter()
            .find(|neighbor| neighbor.address == address))
    }

    /// podroute only: every field of `podroute routes --json`.
    pub fn podroute_routes(&self) -> Result<Vec<podroute_routes::PodroutePrefix>> {
        if self.kind != DaemonKind::Podroute {
            return Err(Error::Environment(format!(
                "{} is not podroute",
                self.kind.name()
            )));
        }
        podroute::route_details(&self.node)
    }

    /// podroute only: replaces the config with `config_toml` and runs
    /// `podroute reload`; returns the changes podroute reports.
    pub fn podroute_reload(&mut self, config_toml: &str) -> Result<String> {
        if self.kind != DaemonKind::Podroute {
            return Err(Error::Environment(format!(
                "{} is not podroute",
                self.kind.name()
            )));
        }
        let answer = podroute::reload(&self.node, config_toml)?;
        self.config = config_toml.to_string();
        Ok(answer)
    }

    /// GoBGP only: NOTIFICATIONs received from `address`, the one trace of
    /// a peer's NOTIFICATION GoBGP's API keeps.
    pub fn gobgp_notifications_received(&self, address: IpAddr) -> Result<u64> {
        if self.kind != DaemonKind::Gobgp {
            return Err(Error::Environment(format!(
                "{} is not GoBGP",
                self.kind.name()
            )));
        }
        gobgp::notifications_received(&self.node, address)
    }

    /// podroute only: `podroute neighbor ADDR reset [-m MESSAGE]`.
    pub fn reset_neighbor(&self, address: IpAddr, message: Option<&str>) -> Result<()> {
        if self.kind != DaemonKind::Podroute {
            return Err(Error::Environment(format!(
                "reset is implemented for podroute only, not {}",
                self.kind.name()
            )));
        }
        podroute::neighbor_action(
            &self.node,
            address,
            podroute::NeighborAction::Reset,
            message,
        )
    }

    /// Session state of every configured neighbor, sorted by address.
    pub fn neighbors(&self) -> Result<Vec<NeighborStatus>> {
        let mut neighbors = match self.kind {
            DaemonKind::Bird => bird::neighbors(&self.node)?,
            DaemonKind::Frr => frr::neighbors(&self.node)?,
            DaemonKind::Gobgp => gobgp::neighbors(&self.node)?,
            DaemonKind::Podroute => podroute::neighbors(&self.node)?,
        };
        neighbors.sort_by_key(|neighbor| neighbor.address);
        Ok(neighbors)
    }

    /// The state of one neighbor, if configured.
    pub fn neighbor(&self, address: IpAddr) -> Result<Option<NeighborStatus>> {
        Ok(self
            .neighbors()?
            .into_iter()
            .find(|neighbor| neighbor.address == address))
    }

    /// Whether the session with `address` is Established (false on any error,
    /// which suits polling).
    pub fn is_established(&self, address: IpAddr) -> bool {
        matches!(self.neighbor(address), Ok(Some(status)) if status.is_established())
    }

    /// Whether the session with `address` is Established with the peer's AS
    /// and BGP identifier (RFC 4271 §4.2) as expected, as this daemon sees
    /// it (false on any error, which suits polling).
    pub fn is_established_with(
        &self,
        address: IpAddr,
        remote_asn: u32,
        router_id: std::net::Ipv4Addr,
    ) -> bool {
        let router_id = router_id.to_string();
        matches!(self.neighbor(address), Ok(Some(status))
            if status.is_established()
                && status.remote_asn == Some(remote_asn)
                && status.router_id.as_deref() == Some(router_id.as_str()))
    }

    /// Every path in the daemon's IPv4 and IPv6 unicast RIB, sorted by prefix.
    pub fn routes(&self) -> Result<Vec<Route>> {
        let mut routes = match self.kind {
            DaemonKind::Bird => bird::routes(&self.node)?,
            DaemonKind::Frr => frr::routes(&self.node)?,
            DaemonKind::Gobgp => gobgp::routes(&self.node)?,
            DaemonKind::Podroute => podroute::routes(&self.node)?,
        };
        routes.sort_by(|a, b| {
            (&a.prefix, &a.next_hops, &a.as_path).cmp(&(&b.prefix, &b.next_hops, &b.as_path))
        });
        Ok(routes)
    }

    /// Paths for `prefix` learned from a peer.
    pub fn learned(&self, prefix: &str) -> Result<Vec<Route>> {
        Ok(self
            .routes()?
            .into_iter()
            .filter(|route| route.prefix == prefix && route.learned)
            .collect())
    }

    /// Whether `prefix` was learned from a peer (false on any error).
    pub fn has_learned(&self, prefix: &str) -> bool {
        matches!(self.learned(prefix), Ok(paths) if !paths.is_empty())
    }

    /// Administratively shuts the session with `address`, sending a Cease
    /// NOTIFICATION with `message` as shutdown communication (RFC 9003).
    pub fn shutdown_neighbor(&self, address: IpAddr, message: &str) -> Result<()> {
        match self.kind {
            DaemonKind::Bird => bird::shutdown_neighbor(&self.node, address, message),
            DaemonKind::Frr => {
                frr::shutdown_neighbor(&self.node, self.frr_spec()?, address, message)
            }
            DaemonKind::Gobgp => gobgp::shutdown_neighbor(&self.node, address, message),
            DaemonKind::Podroute => podroute::neighbor_action(
                &self.node,
                address,
                podroute::NeighborAction::Shutdown,
                Some(message),
            ),
        }
    }

    fn frr_spec(&self) -> Result<&RouterSpec> {
        self.spec
            .as_ref()
            .ok_or_else(|| Error::Environment("FRR router without its spec".into()))
    }

    /// Undoes [`Router::shutdown_neighbor`]: the session may come up again.
    pub fn enable_neighbor(&self, address: IpAddr) -> Result<()> {
        match self.kind {
            DaemonKind::Bird => bird::enable_neighbor(&self.node, address),
            DaemonKind::Frr => frr::enable_neighbor(&self.node, self.frr_spec()?, address),
            DaemonKind::Gobgp => gobgp::enable_neighbor(&self.node, address),
            DaemonKind::Podroute => podroute::neighbor_action(
                &self.node,
                address,
                podroute::NeighborAction::Enable,
                None,
            ),
        }
    }

    /// Stops originating `prefix`, so peers receive a withdrawal.
    pub fn withdraw(&mut self, prefix: &str) -> Result<()> {
        let spec = self
            .spec
            .as_mut()
            .ok_or_else(|| Error::Environment("podroute: edit its config".into()))?;
        let removed: Vec<Origination> = spec
            .originate
            .iter()
            .filter(|o| o.prefix == prefix)
            .cloned()
            .collect();
        spec.originate
            .retain(|origination| origination.prefix != prefix);
        let spec = spec.clone();
        match self.kind {
            DaemonKind::Bird => {
                self.config = bird::render(&spec);
                bird::reconfigure(&self.node, &self.config)
            }
            DaemonKind::Frr => frr::withdraw(&self.node, &spec, prefix),
            DaemonKind::Gobgp => {
                for origination in &removed {
                    gobgp::withdraw(&self.node, origination)?;
                }
                Ok(())
            }
            DaemonKind::Podroute => Err(Error::Environment("podroute: edit its config".into())),
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        match self.kind {
            DaemonKind::Bird => self.node.read_file(bird::LOG_FILE),
            DaemonKind::Frr => format!(
                "--- zebra ---\n{}--- bgpd ---\n{}",
                self.node.read_file(frr::ZEBRA_LOG_FILE),
                self.node.read_file(frr::BGPD_LOG_FILE)
            ),
            DaemonKind::Gobgp => self.node.read_file(gobgp::LOG_FILE),
            DaemonKind::Podroute => self.node.read_file(podroute::LOG_FILE),
        }
    }

    /// A human-readable dump: neighbors, routes, the tail of the log. Used
    /// in failure reports.
    pub fn report(&self) -> String {
        let neighbors = match self.neighbors() {
            Ok(list) => list
                .iter()
                .map(|n| format!("  {n:?}\n"))
                .collect::<String>(),
            Err(error) => format!("  (error: {error})\n"),
        };
        let mut routes = match self.routes() {
            Ok(list) => list
                .iter()
                .map(|r| format!("  {r:?}\n"))
                .collect::<String>(),
            Err(error) => format!("  (error: {error})\n"),
        };
        // podroute's full neighbor JSON says more about its sessions
        // (counters, flaps, negotiated families) than the neutral view.
        if self.kind == DaemonKind::Podroute {
            match self
                .node
                .exec(&[crate::node::PODROUTE_PATH, "neighbors", "--json"])
            {
                Ok(json) => {
                    routes.push_str(&format!("  (podroute neighbors --json) {}\n", json.trim()))
                }
                Err(error) => routes.push_str(&format!("  (error: {error})\n")),
            }
        }
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(60)..)
            .unwrap_or_default()
            .join("\n");
        format!(
            "===== {} on {} =====\nneighbors:\n{neighbors}routes:\n{routes}log (tail):\n{tail}\n",
            self.kind.name(),
            self.node.container
        )
    }
}
