//! Scenario 2: ingest into the kernel. The stream of scenario 1 through a
//! daemon that programs the kernel (podroute's `[fib]`, BIRD's `kernel`
//! protocols, FRR's bgpd with zebra), timed until the DUT's kernel holds
//! every route, against the kernel's own ceiling measured in the same run.
//!
//! Data flow: per repetition, the ceiling first: a fresh container (the
//! DUT's address, no daemon) runs the `kernel-ceiling` role, which installs
//! the same routes by batched netlink, then in a second fresh container by
//! `ip -batch`. Then each daemon: its DUT container starts with the FIB on,
//! this binary is copied in and the `kernel-watch` role subscribes to route
//! notifications there before the generator gets `go`; the run is timed
//! from the generator's first byte to the watcher's count reaching N.
//! GoBGP cannot program the kernel without FRR's zebra, so it is left out.

use interop::Node;
use interop::node::NodeOptions;

use crate::daemons::Daemon;
use crate::error::Result;
use crate::kernel::{CeilingMethod, CeilingResult};
use crate::report::{Measurement, ScenarioReport};

use super::{Bench, DUT_HOST, DutNode, GENERATOR_HOST, RoleProcess};

/// Names of the ceiling lines in scenario 2's tables.
pub const CEILING_NETLINK: &str = "ceiling: batched netlink (no daemon)";
/// `ip -batch` line.
pub const CEILING_IP_BATCH: &str = "ceiling: ip -batch (no daemon)";

impl Bench {
    /// Copies this binary into `node` and starts `kernel-watch` there.
    pub(super) fn start_kernel_watch(
        &self,
        node: &Node,
        ipv4: u32,
        ipv6: u32,
    ) -> Result<RoleProcess> {
        self.copy_bench_binary(node)?;
        let watcher = RoleProcess::spawn(
            node,
            &[
                "kernel-watch".into(),
                "--ipv4".into(),
                ipv4.to_string(),
                "--ipv6".into(),
                ipv6.to_string(),
                "--timeout".into(),
                self.role_timeout.to_string(),
            ],
        )?;
        watcher.wait_for_ready()?;
        Ok(watcher)
    }

    /// The ceiling by `method` in a fresh container with the DUT's address.
    fn ceiling_run(
        &self,
        method: CeilingMethod,
        run: usize,
        ipv4: u32,
        ipv6: u32,
    ) -> Result<CeilingResult> {
        let name = match method {
            CeilingMethod::Netlink => "netlink",
            CeilingMethod::IpBatch => "ipbatch",
        };
        let container = format!("{}-ceiling-{name}-{run}", self.lab.prefix());
        let options = NodeOptions {
            network: &self.network,
            host: DUT_HOST,
            podroute_binary: None,
        };
        let guard = DutNode {
            node: Node::start(&self.image, "ceiling", &container, &options)?,
        };
        self.copy_bench_binary(&guard.node)?;
        let method_name = match method {
            CeilingMethod::Netlink => "netlink",
            CeilingMethod::IpBatch => "ip-batch",
        };
        let role = RoleProcess::spawn(
            &guard.node,
            &[
                "kernel-ceiling".into(),
                "--ipv4".into(),
                ipv4.to_string(),
                "--ipv6".into(),
                ipv6.to_string(),
                "--gateway4".into(),
                self.network.ipv4(GENERATOR_HOST).to_string(),
                "--gateway6".into(),
                self.network.ipv6(GENERATOR_HOST).to_string(),
                "--method".into(),
                method_name.into(),
            ],
        )?;
        let result: CeilingResult = role.result()?;
        role.stop();
        Ok(result)
    }

    pub(super) fn scenario_kernel(
        &self,
        daemons: &[Daemon],
        repetitions: usize,
        ipv4: u32,
        ipv6: u32,
    ) -> Result<Vec<ScenarioReport>> {
        let routes = u64::from(ipv4) + u64::from(ipv6);
        let mut kernel = ScenarioReport::new(
            format!(
                "Scenario 2: ingest {ipv4} IPv4 /24 + {ipv6} IPv6 /48 into the kernel: until the DUT's kernel holds every route"
            ),
            routes,
        );
        let mut sink = ScenarioReport::new(
            "Scenario 2: the same runs, until the sink peer holds every route (FIB on)".to_string(),
            routes,
        );
        for repetition in 0..repetitions {
            for (method, label) in [
                (CeilingMethod::Netlink, CEILING_NETLINK),
                (CeilingMethod::IpBatch, CEILING_IP_BATCH),
            ] {
                let result = self.ceiling_run(method, repetition, ipv4, ipv6)?;
                eprintln!("{label} #{repetition}: {result:?}");
                let complete =
                    result.errors == 0 && u64::try_from(result.dumped).unwrap_or(0) >= routes;
                let mut measurement = Measurement::without_daemon(complete, 0, 0);
                measurement.wall_seconds = result.seconds;
                kernel.add(label, measurement);
            }
            for daemon in daemons {
                if !daemon.programs_kernel() {
                    eprintln!(
                        "{}: cannot program the kernel by itself; skipped",
                        daemon.name()
                    );
                    continue;
                }
                let (through, into_kernel) =
                    self.ingest_run_with(*daemon, repetition, ipv4, ipv6, true)?;
                eprintln!(
                    "{} FIB #{repetition}: sink {through:?}, kernel {into_kernel:?}",
                    daemon.name()
                );
                sink.add(daemon.name(), through);
                if let Some(measurement) = into_kernel {
                    kernel.add(daemon.name(), measurement);
                }
            }
        }
        kernel.reference = Some(CEILING_NETLINK.to_string());
        Ok(vec![kernel, sink])
    }
}
