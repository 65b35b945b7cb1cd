//! The [`Lab`] guard: one per test. It makes sure the image exists, names
//! every network and container `podroute-lab-<test>-<pid>-...`, remembers
//! each one it created, and removes them all in `Drop`, also when the test
//! panics. When the test is failing (`std::thread::panicking()`), `Drop`
//! first prints every daemon's state and log, so a red test explains itself.
//! [`Lab::wait_until`] is the only way tests wait: it polls a condition and,
//! on timeout, returns an error carrying the same report.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::daemon::podroute_config::{self, ListenRange, PodrouteOptions};
use crate::daemon::{DaemonKind, Router};
use crate::error::{Error, Result};
use crate::image::ensure_image;
use crate::network::{self, Network};
use crate::node::{Node, NodeOptions};
use crate::spec::RouterSpec;

/// Default failure bound for [`Lab::wait_until`]: generous, since it only
/// bounds a failing test and never stands in for an assertion.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variable naming the podroute binary to mount into nodes.
pub const BINARY_VARIABLE: &str = "PODROUTE_BINARY";

/// The podroute binary: `$PODROUTE_BINARY`, else `target/debug/podroute`
/// under the workspace (or `$CARGO_TARGET_DIR/debug/podroute`).
pub fn podroute_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_VARIABLE) {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        });
    target.join("debug").join("podroute")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Everything one test created, removed on drop.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    image: String,
    networks: Mutex<Vec<String>>,
    containers: Mutex<Vec<String>>,
    routers: Mutex<Vec<Router>>,
}

impl Lab {
    /// Starts a lab for the test `name` (letters, digits and `-`), building
    /// the image first if needed.
    pub fn new(name: &str) -> Result<Lab> {
        let image = ensure_image()?;
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Ok(Lab {
            prefix: format!("podroute-lab-{clean}-{}", std::process::id()),
            image,
            networks: Mutex::new(Vec::new()),
            containers: Mutex::new(Vec::new()),
            routers: Mutex::new(Vec::new()),
        })
    }

    /// The name prefix of everything this lab creates.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates a dual-stack internal network `198.18.X.0/24` + `2001:db8:X::/64`.
    pub fn network(&self, name: &str) -> Result<Network> {
        let full = format!("{}-{name}", self.prefix);
        // Spread start points so parallel labs rarely collide on the first try.
        let seed = full.bytes().fold(std::process::id(), |acc, b| {
            acc.wrapping_mul(31).wrapping_add(u32::from(b))
        });
        let network = network::create(&full, u8::try_from(seed % 250).unwrap_or(0))?;
        lock(&self.networks).push(full);
        Ok(network)
    }

    /// Starts a node (container) on `network` with host part `host`.
    pub fn node(&self, name: &str, network: &Network, host: u8) -> Result<Node> {
        self.start_node(
            name,
            &NodeOptions {
                network,
                host,
                podroute_binary: None,
            },
        )
    }

    /// Starts a node with the podroute binary mounted at `/usr/local/bin/podroute`.
    pub fn podroute_node(&self, name: &str, network: &Network, host: u8) -> Result<Node> {
        let binary = podroute_binary();
        if !binary.exists() {
            return Err(Error::Environment(format!(
                "podroute binary {} missing: build it or set {BINARY_VARIABLE}",
                binary.display()
            )));
        }
        self.start_node(
            name,
            &NodeOptions {
                network,
                host,
                podroute_binary: Some(&binary),
            },
        )
    }

    fn start_node(&self, name: &str, options: &NodeOptions<'_>) -> Result<Node> {
        let container = format!("{}-{name}", self.prefix);
        // Record before starting: a half-created container is still removed.
        lock(&self.containers).push(container.clone());
        Node::start(&self.image, name, &container, options)
    }

    /// Starts BIRD, FRR or GoBGP on `node` configured from `spec`.
    pub fn router(&self, kind: DaemonKind, node: &Node, spec: RouterSpec) -> Result<Router> {
        let router = Router::start(kind, node, spec)?;
        lock(&self.routers).push(router.clone());
        Ok(router)
    }

    /// Starts podroute on a node made by [`Lab::podroute_node`].
    pub fn podroute(&self, node: &Node, config_toml: &str) -> Result<Router> {
        let router = Router::start_podroute(node, config_toml)?;
        lock(&self.routers).push(router.clone());
        Ok(router)
    }

    /// Starts podroute configured from a neutral [`RouterSpec`] (rendered by
    /// [`crate::daemon::podroute_config::render`]) plus its listen ranges.
    pub fn podroute_with_spec(
        &self,
        node: &Node,
        spec: RouterSpec,
        listen_ranges: &[ListenRange],
    ) -> Result<Router> {
        let toml = podroute_config::render(&spec, listen_ranges);
        let mut router = Router::start_podroute(node, &toml)?;
        router.spec = Some(spec);
        lock(&self.routers).push(router.clone());
        Ok(router)
    }

    /// [`Lab::podroute_with_spec`] plus podroute-only settings (policies,
    /// ADD-PATH, prefix limits), rendered by
    /// [`crate::daemon::podroute_config::render_with_options`].
    pub fn podroute_with_options(
        &self,
        node: &Node,
        spec: RouterSpec,
        listen_ranges: &[ListenRange],
        options: &PodrouteOptions,
    ) -> Result<Router> {
        let toml = podroute_config::render_with_options(&spec, listen_ranges, options);
        let mut router = Router::start_podroute(node, &toml)?;
        router.spec = Some(spec);
        lock(&self.routers).push(router.clone());
        Ok(router)
    }

    /// Starts BIRD, FRR or GoBGP on `node` with a configuration written by
    /// hand (for what [`RouterSpec`] does not describe, such as BIRD's
    /// kernel protocol on a cluster host).
    pub fn router_with_config(
        &self,
        kind: DaemonKind,
        node: &Node,
        config: &str,
    ) -> Result<Router> {
        let router = Router::start_with_config(kind, node, config)?;
        lock(&self.routers).push(router.clone());
        Ok(router)
    }

    /// Keeps everything this lab created running: `Drop` will remove
    /// nothing. Returns the container and network names, for the operator
    /// who wants to look inside and remove them later.
    pub fn keep(&self) -> (Vec<String>, Vec<String>) {
        let containers = lock(&self.containers).drain(..).collect();
        let networks = lock(&self.networks).drain(..).collect();
        (containers, networks)
    }

    /// State and log of every daemon started in this lab.
    pub fn report(&self) -> String {
        lock(&self.routers).iter().map(Router::report).collect()
    }

    /// Polls `condition` every 250 ms until it holds; after `timeout` fails
    /// with [`Error::Timeout`] carrying [`Lab::report`].
    pub fn wait_until_within(
        &self,
        description: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if condition() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    description: description.to_string(),
                    seconds: timeout.as_secs(),
                    report: self.report(),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// [`Lab::wait_until_within`] with [`DEFAULT_TIMEOUT`].
    pub fn wait_until(&self, description: &str, condition: impl FnMut() -> bool) -> Result<()> {
        self.wait_until_within(description, DEFAULT_TIMEOUT, condition)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "interop: test failing; state of lab {}:\n{}",
                self.prefix,
                self.report()
            );
        }
        for container in lock(&self.containers).drain(..) {
            if let Err(error) = Node::remove(&container) {
                eprintln!("interop: cannot remove container {container}: {error}");
            }
        }
        for name in lock(&self.networks).drain(..) {
            if let Err(error) = network::remove(&name) {
                eprintln!("interop: cannot remove network {name}: {error}");
            }
        }
    }
}
