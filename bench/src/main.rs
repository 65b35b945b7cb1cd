//! podroute-bench: the side-by-side benchmark of podroute, BIRD, FRR and
//! GoBGP (issue 8).
//!
//! With no subcommand the binary is the harness ([`harness`]): it builds the
//! lab, runs the scenarios and prints tables. The subcommands are the roles
//! the harness copies this same binary into containers to play
//! ([`roles`]): `generate`, `sink` and `mesh`, BGP speakers built on
//! `bgp::wire` ([`session`], [`tables`], [`count`]). Measurements of the
//! daemons come from the host's /proc ([`measure`]) and become tables in
//! [`report`], and scenario 3's chart in [`chart`].

mod bird1;
mod chart;
mod count;
mod daemons;
mod error;
mod harness;
mod kernel;
mod kernel_churn;
mod measure;
mod mesh;
mod report;
mod roles;
mod session;
mod tables;
mod wide;

use clap::{Parser, Subcommand};

pub(crate) use roles::role_event;

/// Side-by-side BGP benchmarks: podroute against BIRD, FRR and GoBGP.
#[derive(Debug, Parser)]
#[command(name = "podroute-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    harness: harness::HarnessOptions,
}

/// The roles played inside lab containers.
#[derive(Debug, Subcommand)]
enum Role {
    /// One eBGP peer sending a pre-encoded table.
    Generate(roles::GenerateOptions),
    /// One peer counting what it receives.
    Sink(roles::SinkOptions),
    /// Many iBGP route-reflector clients.
    Mesh(mesh::MeshOptions),
    /// Watch the namespace's routes until the ingest's are all installed.
    KernelWatch(kernel::WatchOptions),
    /// Watch the DUT's kernel for churn steps (scenario 4, FIB variant).
    KernelChurn(kernel_churn::KernelChurnOptions),
    /// Install the ingest's routes directly: the kernel's ceiling.
    KernelCeiling(kernel::CeilingOptions),
    /// Print the tables and redraw the scenario 3 chart from `--json`
    /// files: several runs of the suite (say, GoBGP's one long repetition
    /// and the others' three) are merged, runs of the same table together.
    Report {
        /// The JSON files written by `--json`, then the PNG to write.
        #[arg(num_args = 2.., required = true, value_name = "FILE")]
        paths: Vec<std::path::PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.role {
        Some(Role::Generate(options)) => roles::generate(options),
        Some(Role::Sink(options)) => roles::sink(options),
        Some(Role::Mesh(options)) => mesh::mesh(options),
        Some(Role::KernelWatch(options)) => kernel::watch(options),
        Some(Role::KernelCeiling(options)) => kernel::ceiling(options),
        Some(Role::KernelChurn(options)) => kernel_churn::kernel_churn(options),
        Some(Role::Report { paths }) => match paths.split_last() {
            Some((chart, jsons)) => harness::chart_from_json(jsons, chart),
            None => Err(error::BenchError::Other("report: no files given".into())),
        },
        None => harness::run(&cli.harness),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("podroute-bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
