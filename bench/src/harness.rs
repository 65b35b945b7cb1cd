//! The harness: builds the lab, runs every scenario against every daemon,
//! and measures each run from outside.
//!
//! Data flow of one run: a fresh container for the device under test (DUT)
//! is started and its daemon configured ([`crate::daemons`]); the sink role
//! (or, for route reflection, the mesh role) connects and reports `ready`;
//! the generator establishes and reports `ready`; the DUT's CPU is sampled
//! ([`crate::measure`]); `go` starts the stream; the generator's first-byte
//! time and the sink's completion time give the wall time; the DUT's CPU is
//! sampled again once it has settled, and its peak resident memory read;
//! the container is removed. Runs of different daemons are interleaved per
//! repetition so that a slow drift of the machine hits them all alike.
//!
//! The generator, sink and mesh run in their own containers on the same lab
//! network as the DUT, not in the host's namespaces: their addresses come
//! from the lab plan, the DUT sees them as ordinary neighbors on its link,
//! and their CPU is never confused with the DUT's.

mod kernel;
mod reflection;

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use interop::node::NodeOptions;
use interop::{Lab, Network, Node};

use crate::daemons::{Daemon, Dut, DutNeighbor};
use crate::error::{BenchError, Result, io_context};
use crate::measure;
use crate::report::{Measurement, ScenarioReport};
use crate::roles::{GenerateResult, SinkResult};

/// Where the benchmark binary is copied inside role containers.
const BENCH_PATH: &str = "/usr/local/bin/podroute-bench";
/// Host parts of the lab addresses.
const DUT_HOST: u8 = 2;
const GENERATOR_HOST: u8 = 10;
const SINK_HOST: u8 = 20;
/// AS numbers of the eBGP topology: generator -> DUT -> sink.
const DUT_ASN: u32 = 65000;
const GENERATOR_ASN: u32 = 65001;
const SINK_ASN: u32 = 65002;
/// Bound on one run; only a broken run gets near it.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

/// Command-line options of the harness.
#[derive(Debug, Clone, clap::Args)]
pub struct HarnessOptions {
    /// Smaller counts and one repetition: a few minutes for everyday use.
    #[arg(long)]
    pub quick: bool,
    /// Run only this scenario (1 to 5).
    #[arg(long)]
    pub scenario: Option<u8>,
    /// Daemons to compare, comma-separated (`bird1` is BIRD 1.6, built as a
    /// second lab image on first use).
    #[arg(long, default_value = "podroute,bird,frr,gobgp")]
    pub daemons: String,
    /// Repetitions per daemon (default 3, quick mode 1).
    #[arg(long)]
    pub repetitions: Option<usize>,
    /// podroute release binary (default: the static build of
    /// `scripts/build-static`, `target/ARCH-unknown-linux-gnu/daemon/podroute`
    /// of the workspace or of $CARGO_TARGET_DIR).
    #[arg(long)]
    pub podroute_binary: Option<PathBuf>,
    /// Client counts of scenario 3, comma-separated (2 to 2000).
    #[arg(long)]
    pub clients: Option<String>,
    /// Clients of the session storm, scenario 5 (default 1000, quick 100).
    #[arg(long)]
    pub storm_clients: Option<u32>,
    /// Clients of the churn scenario 4 (default 100, quick 20).
    #[arg(long)]
    pub churn_clients: Option<u32>,
    /// Clients that flap at once in scenario 4 (default 50, quick 10).
    #[arg(long)]
    pub flapping: Option<u32>,
    /// Seconds a role waits for completion before the run counts as
    /// incomplete (default 600, quick mode 120).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Also write every measurement as JSON to this file (rewritten after
    /// each scenario, so an interrupted run keeps what it measured).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Where scenario 3's chart (PNG) goes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/scenario3.png"))]
    pub chart: PathBuf,
}

/// Parses a client count in 2..=2000.
fn client_count(text: &str) -> Result<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|count| (2..=crate::wide::MAX_CLIENTS).contains(count))
        .ok_or_else(|| BenchError::Other(format!("bad client count {text}")))
}

/// Runs the chosen scenarios and prints their tables.
pub fn run(options: &HarnessOptions) -> Result<()> {
    let daemons = options
        .daemons
        .split(',')
        .map(|name| {
            Daemon::parse(name).ok_or_else(|| BenchError::Other(format!("unknown daemon {name}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let repetitions = options
        .repetitions
        .unwrap_or(if options.quick { 1 } else { 3 });
    let wanted = |scenario: u8| options.scenario.is_none_or(|chosen| chosen == scenario);
    // IPv4-only daemons (BIRD 1.6) get tables of their own, next to podroute
    // and BIRD 2 on the same IPv4-only workload; the other scenarios skip them.
    let (ipv4_only, full): (Vec<Daemon>, Vec<Daemon>) =
        daemons.iter().partition(|daemon| daemon.ipv4_only());
    let ipv4_daemons: Vec<Daemon> = if ipv4_only.is_empty() {
        Vec::new()
    } else {
        full.iter()
            .copied()
            .filter(|daemon| matches!(daemon, Daemon::Podroute | Daemon::Bird))
            .chain(ipv4_only.iter().copied())
            .collect()
    };
    let daemons = full;
    let bench = Bench::new(options)?;
    remove_lab_on_interrupt(bench.lab.prefix());
    bench.print_versions(&daemons);
    let mut reports = Vec::new();
    let mut publish = |new: Vec<ScenarioReport>| -> Result<()> {
        for report in new {
            println!("{}", report.markdown());
            reports.push(report);
        }
        if let Some(path) = &options.json {
            let text = serde_json::to_string_pretty(&reports)
                .map_err(|error| BenchError::Other(format!("serializing results: {error}")))?;
            std::fs::write(path, text)
                .map_err(io_context(format!("writing {}", path.display())))?;
        }
        let lines = crate::report::reflection_lines(&reports);
        if !lines.is_empty() {
            write_chart(&lines, &options.chart)?;
        }
        Ok(())
    };
    let (ipv4, ipv6) = if options.quick {
        (200_000, 50_000)
    } else {
        (1_000_000, 200_000)
    };
    if wanted(1) {
        publish(vec![bench.scenario_ingest(
            &daemons,
            repetitions,
            ipv4,
            ipv6,
        )?])?;
        if !ipv4_daemons.is_empty() {
            publish(vec![bench.scenario_ingest(
                &ipv4_daemons,
                repetitions,
                ipv4,
                0,
            )?])?;
        }
    }
    if !ipv4_only.is_empty() && (wanted(2) || wanted(4) || wanted(5)) {
        eprintln!("BIRD 1.6 takes part in scenarios 1 and 3 only (IPv4 half)");
    }
    if wanted(2) {
        publish(bench.scenario_kernel(&daemons, repetitions, ipv4, ipv6)?)?;
    }
    if wanted(3) {
        let counts = match &options.clients {
            Some(list) => list
                .split(',')
                .map(client_count)
                .collect::<Result<Vec<_>>>()?,
            None if options.quick => vec![25, 100, 250],
            None => vec![25, 50, 100, 500, 1000],
        };
        for clients in counts {
            publish(vec![bench.scenario_reflection(
                &daemons,
                repetitions,
                clients,
                false,
            )?])?;
            if !ipv4_daemons.is_empty() {
                publish(vec![bench.scenario_reflection(
                    &ipv4_daemons,
                    repetitions,
                    clients,
                    true,
                )?])?;
            }
        }
    }
    if wanted(4) {
        let clients = options
            .churn_clients
            .unwrap_or(if options.quick { 20 } else { 100 });
        let flapping = options
            .flapping
            .unwrap_or(if options.quick { 10 } else { 50 });
        publish(bench.scenario_churn(&daemons, repetitions, clients, flapping)?)?;
    }
    if wanted(5) {
        let clients = options
            .storm_clients
            .unwrap_or(if options.quick { 100 } else { 1000 });
        publish(bench.scenario_storm(&daemons, repetitions, clients)?)?;
    }
    Ok(())
}

/// Draws scenario 3's chart into `path`.
pub fn write_chart(
    lines: &std::collections::BTreeMap<String, Vec<(u32, f64)>>,
    path: &std::path::Path,
) -> Result<()> {
    std::fs::write(path, crate::chart::draw(lines))
        .map_err(io_context(format!("writing {}", path.display())))?;
    println!("chart: {}", path.display());
    Ok(())
}

/// On Ctrl-C or SIGTERM, removes this run's containers and networks (all
/// named after the lab's prefix, which holds this process's id) before
/// exiting: an interrupted run would otherwise leave them behind, since
/// the lab's `Drop` never runs. Removing a network needs its containers
/// gone first, so containers go first.
fn remove_lab_on_interrupt(prefix: &str) {
    let prefix = prefix.to_string();
    let handler = move || {
        eprintln!("interrupted: removing the containers and networks named {prefix}-*");
        let filter = format!("name=^/?{prefix}-");
        for (list, remove) in [
            (
                vec!["ps", "-aq", "--filter", &filter],
                vec!["rm", "-f", "-v"],
            ),
            (
                vec!["network", "ls", "-q", "--filter", &filter],
                vec!["network", "rm"],
            ),
        ] {
            let Ok(ids) = interop::command::run("docker", &list) else {
                continue;
            };
            for id in ids.split_whitespace() {
                let mut arguments = remove.clone();
                arguments.push(id);
                if let Err(error) = interop::command::run("docker", &arguments) {
                    eprintln!("cannot remove {id}: {error}");
                }
            }
        }
        std::process::exit(130);
    };
    if let Err(error) = ctrlc::set_handler(handler) {
        eprintln!("no interrupt handler ({error}): an interrupted run leaves its containers");
    }
}

/// Reprints the tables and redraws the chart from the `--json` files of
/// earlier runs, merged ([`crate::report::merge`]).
pub fn chart_from_json(jsons: &[PathBuf], path: &std::path::Path) -> Result<()> {
    let mut reports = Vec::new();
    for json in jsons {
        let text = std::fs::read_to_string(json)
            .map_err(io_context(format!("reading {}", json.display())))?;
        let runs: Vec<ScenarioReport> = serde_json::from_str(&text)
            .map_err(|error| BenchError::Other(format!("parsing {}: {error}", json.display())))?;
        reports.extend(runs);
    }
    let reports = crate::report::merge(reports);
    for report in &reports {
        println!("{}", report.markdown());
    }
    write_chart(&crate::report::reflection_lines(&reports), path)
}

/// The lab shared by every run: one network, the generator and sink containers.
struct Bench {
    lab: Lab,
    network: Network,
    image: String,
    generator: Node,
    sink: Node,
    podroute_binary: PathBuf,
    ticks_per_second: u64,
    /// Seconds a sink or mesh waits for completion before reporting failure.
    role_timeout: u64,
    /// The /21 of the many-client scenarios, made on first use; declared
    /// after `lab` so that the containers on it are gone when it is removed.
    wide: std::cell::OnceCell<crate::wide::WideNetwork>,
    /// BIRD 1.6's image, made on first use.
    bird1_image: std::cell::OnceCell<String>,
}

impl Bench {
    fn new(options: &HarnessOptions) -> Result<Bench> {
        let podroute_binary = options.podroute_binary.clone().unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join(format!(
                    "{}-unknown-linux-gnu/daemon/podroute",
                    std::env::consts::ARCH
                ))
        });
        if !podroute_binary.exists() {
            return Err(BenchError::Other(format!(
                "{} missing: run `scripts/build-static` (the static release build) or pass --podroute-binary",
                podroute_binary.display()
            )));
        }
        let lab = Lab::new("bench")?;
        let image = interop::image::ensure_image()?;
        let network = lab.network("bench")?;
        let generator = lab.node("generator", &network, GENERATOR_HOST)?;
        let sink = lab.node("sink", &network, SINK_HOST)?;
        let bench_binary = std::env::current_exe().map_err(io_context("finding this binary"))?;
        for node in [&generator, &sink] {
            let target = format!("{}:{BENCH_PATH}", node.container);
            let source = bench_binary.display().to_string();
            interop::command::run("docker", &["cp", &source, &target])?;
        }
        Ok(Bench {
            lab,
            network,
            image,
            generator,
            sink,
            podroute_binary,
            ticks_per_second: measure::clock_ticks_per_second(),
            role_timeout: options
                .timeout
                .unwrap_or(if options.quick { 120 } else { 600 }),
            wide: std::cell::OnceCell::new(),
            bird1_image: std::cell::OnceCell::new(),
        })
    }

    /// The image a daemon's DUT container runs: the lab image, or for
    /// BIRD 1.6 the bullseye image, built on first use.
    fn image_for(&self, daemon: Daemon) -> Result<&str> {
        if daemon != Daemon::Bird1 {
            return Ok(&self.image);
        }
        if let Some(image) = self.bird1_image.get() {
            return Ok(image);
        }
        let image = crate::bird1::ensure_image()?;
        Ok(self.bird1_image.get_or_init(|| image))
    }

    /// Copies this binary into `node` (roles run inside DUT containers too).
    fn copy_bench_binary(&self, node: &Node) -> Result<()> {
        let bench_binary = std::env::current_exe().map_err(io_context("finding this binary"))?;
        let target = format!("{}:{BENCH_PATH}", node.container);
        interop::command::run(
            "docker",
            &["cp", &bench_binary.display().to_string(), &target],
        )?;
        Ok(())
    }

    fn print_versions(&self, daemons: &[Daemon]) {
        println!(
            "lab {}; network {}",
            self.lab.prefix(),
            self.network.ipv4_subnet()
        );
        for daemon in daemons {
            let version = match daemon {
                // The binary's own record of its commit: HEAD may have
                // moved since it was built.
                Daemon::Podroute => interop::command::run(
                    &self.podroute_binary.display().to_string(),
                    &["--version"],
                )
                .map(|version| version.trim().to_owned())
                .map_err(BenchError::from),
                Daemon::Bird1 => self.image_for(Daemon::Bird1).and_then(|image| {
                    Ok(interop::command::run(
                        "docker",
                        &[
                            "run",
                            "--rm",
                            "--network",
                            "none",
                            image,
                            "sh",
                            "-c",
                            Daemon::Bird1.version_command(),
                        ],
                    )?)
                }),
                other => self
                    .generator
                    .shell(other.version_command())
                    .map_err(BenchError::from),
            };
            match version {
                Ok(text) => println!("- {}: {}", daemon.name(), text.trim()),
                Err(error) => println!("- {}: version unknown ({error})", daemon.name()),
            }
        }
    }

    fn dut(&self, neighbors: Vec<DutNeighbor>, reflecting: bool) -> Dut {
        let ipv4 = self.network.ipv4(DUT_HOST);
        Dut {
            asn: DUT_ASN,
            ipv4,
            ipv6: self.network.ipv6(DUT_HOST),
            cluster_id: reflecting.then_some(ipv4),
            neighbors,
            fib: false,
        }
    }

    /// Starts a fresh DUT container running `daemon` with `dut`'s config.
    fn start_dut(&self, daemon: Daemon, dut: &Dut, run: usize) -> Result<DutNode> {
        self.start_dut_with(daemon, dut, run, |_| Ok(()))
    }

    /// As [`Bench::start_dut`], running `prepare` on the container before
    /// the daemon starts (joining the wide network, pinning neighbors).
    fn start_dut_with(
        &self,
        daemon: Daemon,
        dut: &Dut,
        run: usize,
        prepare: impl FnOnce(&Node) -> Result<()>,
    ) -> Result<DutNode> {
        let container = format!("{}-dut-{}-{run}", self.lab.prefix(), daemon.name());
        let options = NodeOptions {
            network: &self.network,
            host: DUT_HOST,
            podroute_binary: (daemon == Daemon::Podroute).then_some(self.podroute_binary.as_path()),
        };
        let guard = DutNode {
            node: Node::start(self.image_for(daemon)?, "dut", &container, &options)?,
        };
        prepare(&guard.node)?;
        daemon.start(&guard.node, dut)?;
        self.lab
            .wait_until(&format!("{} listening", daemon.name()), || {
                guard
                    .node
                    .shell("ss -Hltn 'sport = :179' | grep -q .")
                    .is_ok()
            })?;
        Ok(guard)
    }

    fn scenario_ingest(
        &self,
        daemons: &[Daemon],
        repetitions: usize,
        ipv4: u32,
        ipv6: u32,
    ) -> Result<ScenarioReport> {
        let title = if ipv6 == 0 {
            format!(
                "Scenario 1, IPv4 half only (for BIRD 1.6): ingest {ipv4} IPv4 /24 from one eBGP peer, passed to one sink"
            )
        } else {
            format!(
                "Scenario 1: ingest {ipv4} IPv4 /24 + {ipv6} IPv6 /48 from one eBGP peer, passed to one sink"
            )
        };
        let mut report = ScenarioReport::new(title, u64::from(ipv4) + u64::from(ipv6));
        for repetition in 0..repetitions {
            let calibration = self.ingest_calibration(ipv4, ipv6)?;
            eprintln!("calibration #{repetition}: {calibration:?}");
            report.add("calibration (no daemon)", calibration);
            for daemon in daemons {
                let measurement = self.ingest_run(*daemon, repetition, ipv4, ipv6)?;
                eprintln!("{} #{repetition}: {measurement:?}", daemon.name());
                report.add(daemon.name(), measurement);
            }
        }
        Ok(report)
    }

    fn generate_arguments(&self, connect: IpAddr, ipv4: u32, ipv6: u32) -> Vec<String> {
        vec![
            "generate".into(),
            "--connect".into(),
            connect.to_string(),
            "--local".into(),
            self.generator.ipv4.to_string(),
            "--local-ipv6".into(),
            self.generator.ipv6.to_string(),
            "--asn".into(),
            GENERATOR_ASN.to_string(),
            "--ipv4".into(),
            ipv4.to_string(),
            "--ipv6".into(),
            ipv6.to_string(),
        ]
    }

    fn sink_arguments(&self, peer: Option<IpAddr>, ipv4: u32, ipv6: u32) -> Vec<String> {
        let mut arguments = vec![
            "sink".into(),
            "--local".into(),
            self.sink.ipv4.to_string(),
            "--asn".into(),
            SINK_ASN.to_string(),
            "--expect-ipv4".into(),
            ipv4.to_string(),
            "--expect-ipv6".into(),
            ipv6.to_string(),
            "--timeout".into(),
            self.role_timeout.to_string(),
        ];
        match peer {
            Some(address) => arguments.extend(["--connect".into(), address.to_string()]),
            None => arguments.extend(["--listen".into(), "0.0.0.0:179".into()]),
        }
        arguments
    }

    /// Generator straight into the sink: the ceiling of the harness itself.
    fn ingest_calibration(&self, ipv4: u32, ipv6: u32) -> Result<Measurement> {
        let sink = RoleProcess::spawn(&self.sink, &self.sink_arguments(None, ipv4, ipv6))?;
        sink.wait_for_ready()?;
        let mut generator = RoleProcess::spawn(
            &self.generator,
            &self.generate_arguments(IpAddr::V4(self.sink.ipv4), ipv4, ipv6),
        )?;
        generator.wait_for_ready()?;
        generator.go()?;
        let generated: GenerateResult = generator.result()?;
        let received: SinkResult = sink.result()?;
        generator.stop();
        sink.stop();
        Ok(Measurement::without_daemon(
            received.reached,
            generated.first_byte_ns,
            received.complete_ns,
        ))
    }

    fn ingest_run(&self, daemon: Daemon, run: usize, ipv4: u32, ipv6: u32) -> Result<Measurement> {
        self.ingest_run_with(daemon, run, ipv4, ipv6, false)
            .map(|(measurement, _)| measurement)
    }

    /// One ingest run; with `fib`, the daemon programs the kernel and a
    /// `kernel-watch` role in its namespace gives the second measurement:
    /// first byte sent to the kernel holding every route.
    fn ingest_run_with(
        &self,
        daemon: Daemon,
        run: usize,
        ipv4: u32,
        ipv6: u32,
        fib: bool,
    ) -> Result<(Measurement, Option<Measurement>)> {
        let neighbors = vec![
            DutNeighbor {
                address: self.generator.ipv4,
                asn: GENERATOR_ASN,
                route_reflector_client: false,
            },
            DutNeighbor {
                address: self.sink.ipv4,
                asn: SINK_ASN,
                route_reflector_client: false,
            },
        ];
        let mut dut = self.dut(neighbors, false);
        dut.fib = fib;
        let node = self.start_dut(daemon, &dut, run)?;
        let watcher = if fib {
            Some(self.start_kernel_watch(&node.node, ipv4, ipv6)?)
        } else {
            None
        };
        let sink = RoleProcess::spawn(
            &self.sink,
            &self.sink_arguments(Some(IpAddr::V4(dut.ipv4)), ipv4, ipv6),
        )?;
        sink.wait_for_ready()?;
        let mut generator = RoleProcess::spawn(
            &self.generator,
            &self.generate_arguments(IpAddr::V4(dut.ipv4), ipv4, ipv6),
        )?;
        generator.wait_for_ready()?;
        let pids = measure::daemon_pids(&node.node.container, daemon.process_names())?;
        if pids.is_empty() {
            return Err(BenchError::Other(format!(
                "no {} process found",
                daemon.name()
            )));
        }
        let before = measure::sample(&pids)?;
        generator.go()?;
        let generated: GenerateResult = generator.result()?;
        let received: SinkResult = sink.result()?;
        let after = measure::settled(&pids, Duration::from_secs(30))?;
        if !received.reached {
            eprintln!(
                "{}: sink incomplete ({} IPv4, {} IPv6); log:\n{}",
                daemon.name(),
                received.ipv4,
                received.ipv6,
                node.node.read_file(daemon.log_file())
            );
        }
        let kernel = match watcher {
            Some(watcher) => {
                let watched: crate::kernel::WatchResult = watcher.result()?;
                eprintln!("{} kernel #{run}: {watched:?}", daemon.name());
                watcher.stop();
                let want = usize::try_from(u64::from(ipv4) + u64::from(ipv6)).unwrap_or(usize::MAX);
                Some(Measurement::of_daemon(
                    watched.reached && watched.dumped >= want,
                    generated.first_byte_ns,
                    watched.complete_ns,
                    before,
                    after,
                    self.ticks_per_second,
                ))
            }
            None => None,
        };
        generator.stop();
        sink.stop();
        Ok((
            Measurement::of_daemon(
                received.reached,
                generated.first_byte_ns,
                received.complete_ns,
                before,
                after,
                self.ticks_per_second,
            ),
            kernel,
        ))
    }
}

/// A DUT container, removed when dropped.
struct DutNode {
    node: Node,
}

impl Drop for DutNode {
    fn drop(&mut self) {
        if let Err(error) = Node::remove(&self.node.container) {
            eprintln!("cannot remove {}: {error}", self.node.container);
        }
    }
}

/// A role running under `docker exec -i`: its stdin carries `go` and, when
/// closed, stops it; its stdout lines arrive on a channel.
struct RoleProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl RoleProcess {
    fn spawn(node: &Node, arguments: &[String]) -> Result<RoleProcess> {
        let mut child = Command::new("docker")
            .args(["exec", "-i", &node.container, BENCH_PATH])
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(io_context("starting docker exec"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Other("no stdout from docker exec".into()))?;
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(RoleProcess {
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    fn next_line(&self) -> Result<String> {
        self.lines.recv_timeout(RUN_TIMEOUT).map_err(|_| {
            BenchError::Other("a benchmark role ended or timed out without a result".into())
        })
    }

    fn wait_for_ready(&self) -> Result<()> {
        self.wait_for_line("ready")
    }

    fn wait_for_line(&self, expected: &str) -> Result<()> {
        loop {
            if self.next_line()? == expected {
                return Ok(());
            }
        }
    }

    fn go(&mut self) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| BenchError::Other("role stdin closed".into()))?;
        stdin
            .write_all(b"go\n")
            .and_then(|()| stdin.flush())
            .map_err(io_context("sending go to a role"))
    }

    /// Sends one command line (a churn step) to the role.
    fn command(&mut self, line: &str) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| BenchError::Other("role stdin closed".into()))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(io_context("sending a command to a role"))
    }

    fn result<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        loop {
            let line = self.next_line()?;
            if line.starts_with('{') {
                return serde_json::from_str(&line).map_err(|error| {
                    BenchError::Other(format!("bad role result {line}: {error}"))
                });
            }
        }
    }

    /// Closes stdin (the role exits and its sessions close) and reaps it.
    fn stop(mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
