//! Scenarios 3 (route reflection), 4 (churn) and 5 (session storm): one
//! DUT reflecting between many iBGP clients, all played by the `mesh` role
//! ([`crate::mesh`]) in the generator's container on the wide network
//! ([`crate::wide`]).
//!
//! Data flow of one run: the DUT container joins the wide network and gets
//! its daemon's config with one neighbor per client; the mesh connects
//! every client (or, for the storm, connects them all on `go`); the DUT is
//! sampled before `go` and once settled after the mesh's result; churn
//! steps follow the reflection result on the same sessions, each a command
//! on the mesh's stdin and one JSON result back.

use std::time::Duration;

use crate::daemons::{Daemon, Dut, DutNeighbor};
use crate::error::{BenchError, Result};
use crate::kernel_churn::KernelChurnResult;
use crate::measure;
use crate::mesh::{ChurnResult, MeshResult};
use crate::report::{Measurement, ScenarioReport};
use crate::wide::{DUT_OFFSET, WideNetwork};

use super::{Bench, DUT_ASN, DutNode, RoleProcess};

/// One churn step's outcome at the clients and, with the FIB on, at the
/// DUT's kernel.
type ChurnStep = (ChurnResult, Option<KernelChurnResult>);

/// The three churn steps of scenario 4, as mesh commands, for `clients`
/// clients of which `flapping` flap: client 0 withdraws, client 1 is cut,
/// clients 2..2+flapping flap.
pub fn churn_commands(clients: u32, flapping: u32) -> Vec<(String, String)> {
    let last = (2 + flapping).min(clients).saturating_sub(1);
    vec![
        (
            "(a) one client withdraws everything".into(),
            "withdraw 0".into(),
        ),
        ("(b) one client's session is cut".into(), "cut 1".into()),
        (
            format!("(c) {} clients flap at once", last.saturating_sub(1)),
            format!("flap 2 {last}"),
        ),
    ]
}

impl Bench {
    /// The wide network with `clients` client addresses on the mesh's node.
    fn wide(&self, clients: u32) -> Result<&WideNetwork> {
        let wide = match self.wide.get() {
            Some(wide) => wide,
            None => {
                let created = WideNetwork::create(&format!("{}-wide", self.lab.prefix()))?;
                created.connect(&self.generator, crate::wide::MESH_OFFSET)?;
                self.wide.get_or_init(|| created)
            }
        };
        wide.add_client_addresses(&self.generator, clients)?;
        Ok(wide)
    }

    fn reflector(&self, wide: &WideNetwork, clients: u32, fib: bool) -> Dut {
        let ipv4 = wide.ipv4(DUT_OFFSET);
        Dut {
            asn: DUT_ASN,
            ipv4,
            ipv6: wide.ipv6(DUT_OFFSET),
            cluster_id: Some(ipv4),
            neighbors: (0..clients)
                .map(|client| DutNeighbor {
                    address: wide.client_ipv4(client),
                    asn: DUT_ASN,
                    route_reflector_client: true,
                })
                .collect(),
            fib,
        }
    }

    /// Starts a reflecting DUT on the wide network.
    fn start_reflector(
        &self,
        daemon: Daemon,
        wide: &WideNetwork,
        clients: u32,
        run: usize,
        fib: bool,
    ) -> Result<(Dut, DutNode)> {
        let dut = self.reflector(wide, clients, fib);
        let node = self.start_dut_with(daemon, &dut, run, |node| {
            wide.connect(node, DUT_OFFSET)?;
            wide.pin_neighbors(node, &self.generator, clients)
        })?;
        Ok((dut, node))
    }

    fn mesh_arguments(
        &self,
        wide: &WideNetwork,
        dut: &Dut,
        clients: u32,
        ipv4_only: bool,
    ) -> Vec<String> {
        let mut arguments: Vec<String> = vec![
            "mesh".into(),
            "--connect".into(),
            dut.ipv4.to_string(),
            "--first-ipv4".into(),
            wide.client_ipv4(0).to_string(),
            "--first-ipv6".into(),
            wide.client_ipv6(0).to_string(),
            "--clients".into(),
            clients.to_string(),
            "--asn".into(),
            DUT_ASN.to_string(),
            "--timeout".into(),
            self.role_timeout.to_string(),
        ];
        if ipv4_only {
            arguments.push("--ipv4-only".into());
        }
        arguments
    }

    pub(super) fn scenario_reflection(
        &self,
        daemons: &[Daemon],
        repetitions: usize,
        clients: u32,
        ipv4_only: bool,
    ) -> Result<ScenarioReport> {
        self.wide(clients)?;
        let mut report = if ipv4_only {
            // Not a point of the chart: another workload.
            ScenarioReport::new(
                format!(
                    "Scenario 3, IPv4 half only (for BIRD 1.6): route reflection, {clients} iBGP clients, each announcing 4 /26 + 4 /32 IPv4"
                ),
                u64::from(clients) * 8,
            )
        } else {
            let mut report = ScenarioReport::new(
                format!(
                    "Scenario 3: route reflection, {clients} iBGP clients, each announcing 4 /26 + 4 /32 IPv4 and 4 /64 + 4 /128 IPv6"
                ),
                u64::from(clients) * 16,
            );
            report.clients = Some(clients);
            report
        };
        for repetition in 0..repetitions {
            for daemon in daemons {
                let measurement = match self.reflection_run(
                    *daemon,
                    repetition,
                    clients,
                    &[],
                    ipv4_only,
                    false,
                ) {
                    Ok((measurement, _)) => measurement,
                    Err(error) => failed_run(*daemon, repetition, &error),
                };
                eprintln!(
                    "{} {clients} clients #{repetition}: {measurement:?}",
                    daemon.name()
                );
                report.add(daemon.name(), measurement);
            }
        }
        Ok(report)
    }

    /// One reflection run, then the churn `steps` on the same sessions.
    fn reflection_run(
        &self,
        daemon: Daemon,
        run: usize,
        clients: u32,
        steps: &[String],
        ipv4_only: bool,
        fib: bool,
    ) -> Result<(Measurement, Vec<ChurnStep>)> {
        let wide = self.wide(clients)?;
        let (dut, node) = self.start_reflector(daemon, wide, clients, run, fib)?;
        let mut kernel_watch = if fib {
            self.copy_bench_binary(&node.node)?;
            let watcher = RoleProcess::spawn(
                &node.node,
                &[
                    "kernel-churn".into(),
                    "--clients".into(),
                    clients.to_string(),
                    "--timeout".into(),
                    self.role_timeout.to_string(),
                ],
            )?;
            watcher.wait_for_ready()?;
            Some(watcher)
        } else {
            None
        };
        let arguments = self.mesh_arguments(wide, &dut, clients, ipv4_only);
        let (mut mesh, result, before, after) = self.mesh_run(&node, daemon, &arguments)?;
        let reached = result.complete_clients == result.clients;
        if !reached {
            eprintln!(
                "{}: only {} of {} clients complete; log tail:\n{}",
                daemon.name(),
                result.complete_clients,
                result.clients,
                tail(&node.node.read_file(daemon.log_file()))
            );
        }
        let mut churn = Vec::new();
        for step in steps {
            if let Some(watcher) = kernel_watch.as_mut() {
                watcher.command(step)?;
                watcher.wait_for_line("marked")?;
            }
            mesh.command(step)?;
            let outcome: ChurnResult = mesh.result()?;
            let kernel = match kernel_watch.as_ref() {
                Some(watcher) => Some(watcher.result::<KernelChurnResult>()?),
                None => None,
            };
            eprintln!(
                "{} churn `{step}`: {outcome:?} kernel {kernel:?}",
                daemon.name()
            );
            if outcome.complete_observers < outcome.observers {
                eprintln!(
                    "{}: churn `{step}` seen whole by {} of {} observers; log tail:\n{}",
                    daemon.name(),
                    outcome.complete_observers,
                    outcome.observers,
                    tail(&node.node.read_file(daemon.log_file()))
                );
            }
            churn.push((outcome, kernel));
        }
        if let Some(watcher) = kernel_watch {
            watcher.stop();
        }
        mesh.stop();
        Ok((
            Measurement::of_daemon(
                reached,
                result.first_byte_ns,
                result.complete_ns,
                before,
                after,
                self.ticks_per_second,
            ),
            churn,
        ))
    }

    pub(super) fn scenario_churn(
        &self,
        daemons: &[Daemon],
        repetitions: usize,
        clients: u32,
        flapping: u32,
    ) -> Result<Vec<ScenarioReport>> {
        let commands = churn_commands(clients, flapping);
        let steps: Vec<String> = commands
            .iter()
            .map(|(_, command)| command.clone())
            .collect();
        let mut reports: Vec<ScenarioReport> = Vec::new();
        for (title, command) in &commands {
            let outcomes: &[&str] = if command.starts_with("flap") {
                &[
                    "until every other client saw the routes withdrawn",
                    "until every other client has them back, announced anew",
                ]
            } else {
                &["until every other client has the change"]
            };
            for outcome in outcomes {
                reports.push(ScenarioReport::new(
                    format!(
                        "Scenario 4: churn with {clients} clients, {title} (`{command}`): {outcome}"
                    ),
                    u64::from(clients) * 16,
                ));
            }
        }
        // The same steps with the FIB on, timed at the DUT's kernel.
        let mut kernel_reports: Vec<ScenarioReport> = reports
            .iter()
            .map(|report| {
                ScenarioReport::new(
                    report
                        .title
                        .replace(
                            "until every other client saw",
                            "until the DUT's kernel (FIB on) had",
                        )
                        .replace(
                            "until every other client",
                            "until the DUT's kernel (FIB on)",
                        )
                        .replace("announced anew", "re-added"),
                    report.routes,
                )
            })
            .collect();
        for repetition in 0..repetitions {
            for daemon in daemons {
                let (_, results) =
                    self.reflection_run(*daemon, repetition, clients, &steps, false, false)?;
                let measurements = results
                    .iter()
                    .flat_map(|(result, _)| churn_measurements(result));
                for (report, measurement) in reports.iter_mut().zip(measurements) {
                    report.add(daemon.name(), measurement);
                }
            }
            for daemon in daemons.iter().filter(|daemon| daemon.programs_kernel()) {
                let (_, results) =
                    self.reflection_run(*daemon, repetition, clients, &steps, false, true)?;
                let measurements = results.iter().flat_map(|(result, kernel)| {
                    kernel
                        .as_ref()
                        .map(|kernel| kernel_measurements(result, kernel))
                        .unwrap_or_default()
                });
                for (report, measurement) in kernel_reports.iter_mut().zip(measurements) {
                    report.add(daemon.name(), measurement);
                }
            }
        }
        reports.extend(kernel_reports);
        Ok(reports)
    }

    pub(super) fn scenario_storm(
        &self,
        daemons: &[Daemon],
        repetitions: usize,
        clients: u32,
    ) -> Result<Vec<ScenarioReport>> {
        let wide = self.wide(clients)?;
        let mut established = ScenarioReport::new(
            format!(
                "Scenario 5: session storm, {clients} clients connect at once: until all Established"
            ),
            u64::from(clients) * 16,
        );
        let mut complete = ScenarioReport::new(
            format!(
                "Scenario 5: session storm, {clients} clients connect at once: until every table is complete"
            ),
            u64::from(clients) * 16,
        );
        for repetition in 0..repetitions {
            for daemon in daemons {
                let (until_established, until_complete) =
                    match self.storm_run(*daemon, wide, repetition, clients) {
                        Ok(measurements) => measurements,
                        Err(error) => {
                            let failed = failed_run(*daemon, repetition, &error);
                            (failed.clone(), failed)
                        }
                    };
                established.add(daemon.name(), until_established);
                complete.add(daemon.name(), until_complete);
            }
        }
        Ok(vec![established, complete])
    }

    /// Starts the mesh with `arguments` against the daemon in `node`, says
    /// `go` and waits for its first result, sampling the daemon's CPU and
    /// memory before `go` and once it has settled after the result. The
    /// mesh is handed back still running, for churn steps.
    fn mesh_run(
        &self,
        node: &DutNode,
        daemon: Daemon,
        arguments: &[String],
    ) -> Result<(RoleProcess, MeshResult, measure::Sample, measure::Sample)> {
        let mut mesh = RoleProcess::spawn(&self.generator, arguments)?;
        mesh.wait_for_ready()?;
        let pids = measure::daemon_pids(&node.node.container, daemon.process_names())?;
        let before = measure::sample(&pids)?;
        mesh.go()?;
        let result: MeshResult = mesh.result()?;
        let after = measure::settled(&pids, Duration::from_secs(30))?;
        Ok((mesh, result, before, after))
    }

    /// One storm: (until all Established, until every table complete).
    fn storm_run(
        &self,
        daemon: Daemon,
        wide: &WideNetwork,
        repetition: usize,
        clients: u32,
    ) -> Result<(Measurement, Measurement)> {
        let (dut, node) = self.start_reflector(daemon, wide, clients, repetition, false)?;
        let mut arguments = self.mesh_arguments(wide, &dut, clients, false);
        arguments.push("--storm".into());
        let (mesh, result, before, after) = self.mesh_run(&node, daemon, &arguments)?;
        eprintln!("{} storm #{repetition}: {result:?}", daemon.name());
        let all_established = result.established_clients == result.clients;
        let all_complete = result.complete_clients == result.clients;
        if !all_complete {
            eprintln!(
                "{}: {} established, {} complete of {}; log tail:\n{}",
                daemon.name(),
                result.established_clients,
                result.complete_clients,
                result.clients,
                tail(&node.node.read_file(daemon.log_file()))
            );
        }
        mesh.stop();
        Ok((
            Measurement::of_daemon(
                all_established,
                result.first_byte_ns,
                if all_established {
                    result.last_established_ns
                } else {
                    result.complete_ns
                },
                before,
                after,
                self.ticks_per_second,
            ),
            Measurement::of_daemon(
                all_complete,
                result.first_byte_ns,
                result.complete_ns,
                before,
                after,
                self.ticks_per_second,
            ),
        ))
    }
}

/// A run that failed before giving a result (the daemon closed a client's
/// session before Established, say): counted as incomplete, so one daemon's
/// failure costs its own run, not the rest of the suite.
fn failed_run(daemon: Daemon, repetition: usize, error: &BenchError) -> Measurement {
    eprintln!(
        "{} run #{repetition} failed, counted as incomplete: {error}",
        daemon.name()
    );
    Measurement::without_daemon(false, 0, 0)
}

/// The measurements one churn result gives, in the order of the reports:
/// the withdrawal, and for a flap also the re-announcement. A step that
/// timed out is marked incomplete, its time the moment the mesh gave up.
fn churn_measurements(result: &ChurnResult) -> Vec<Measurement> {
    let all = result.complete_observers == result.observers;
    let withdrawn = result.withdrawn_observers == result.observers;
    let mut lines = vec![Measurement::without_daemon(
        withdrawn,
        result.action_ns,
        result.withdrawn_ns,
    )];
    if result.command.starts_with("flap") {
        lines.push(Measurement::without_daemon(
            all,
            result.action_ns,
            result.restored_ns,
        ));
    }
    lines
}

/// As [`churn_measurements`], at the DUT's kernel, from the mesh's action.
/// A change the kernel never showed is timed at the latest moment the step
/// knows of and marked incomplete.
fn kernel_measurements(result: &ChurnResult, kernel: &KernelChurnResult) -> Vec<Measurement> {
    let latest = result
        .withdrawn_ns
        .max(result.restored_ns)
        .max(result.action_ns);
    let at = |ns: u64| if ns == 0 { latest } else { ns };
    let mut lines = vec![Measurement::without_daemon(
        kernel.withdrawn_ns != 0,
        result.action_ns,
        at(kernel.withdrawn_ns),
    )];
    if result.command.starts_with("flap") {
        lines.push(Measurement::without_daemon(
            kernel.complete,
            result.action_ns,
            at(kernel.restored_ns),
        ));
    }
    lines
}

/// The last lines of a daemon log, enough to see why a run failed.
/// Lines of a daemon's log shown when a run is incomplete.
const TAIL_LINES: usize = 150;

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .get(lines.len().saturating_sub(TAIL_LINES)..)
        .unwrap_or(&[])
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_steps_name_distinct_clients() {
        let commands = churn_commands(100, 50);
        let texts: Vec<&str> = commands.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(texts, vec!["withdraw 0", "cut 1", "flap 2 51"]);
        assert!(commands[2].0.contains("50 clients flap"));
        let small = churn_commands(20, 50);
        assert_eq!(small[2].1, "flap 2 19");
    }

    #[test]
    fn an_incomplete_churn_step_is_not_complete() {
        let result = ChurnResult {
            command: "flap 2 3".into(),
            action_ns: 1_000_000_000,
            observers: 4,
            complete_observers: 3,
            withdrawn_ns: 1_500_000_000,
            withdrawn_observers: 4,
            restored_ns: 0,
        };
        let lines = churn_measurements(&result);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].complete);
        assert_eq!(lines[0].wall_seconds, 0.5);
        assert!(!lines[1].complete);
    }
}
