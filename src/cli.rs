//! The command-line interface, defined once with clap so that help text,
//! shell completions and the man page all come from the same place.

use std::path::PathBuf;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// Where the daemon's control socket is unless `--socket` says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/podroute/podroute.sock";

/// podroute: a BGP speaker and route reflector for container subnets.
#[derive(Debug, Parser)]
#[command(
    name = "podroute",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PODROUTE_COMMIT"), ")"),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// The control socket of the daemon to talk to.
    #[arg(long, global = true, env = "PODROUTE_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--json` on every command that talks to the daemon.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the BGP speaker.
    Daemon {
        /// The configuration file.
        #[arg(long, short, default_value = "/etc/podroute/podroute.toml")]
        config: PathBuf,
    },
    /// Validate a configuration file; print every error with line and column.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// The daemon's version, identity, uptime and neighbor counts.
    Status(Output),
    /// Neighbors and their sessions, like `show bgp summary`; one in detail with ADDR.
    Neighbors {
        /// One neighbor's address.
        address: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Act on one neighbor.
    Neighbor(NeighborCommand),
    /// Routes in the Loc-RIB: every path per prefix, best first.
    Routes(RoutesCommand),
    /// Routes podroute has in the kernel, and failed installs with why.
    Fib(Output),
    /// Re-read the configuration; sessions whose settings did not change stay up.
    Reload(Output),
    /// Decode BGP messages (hex, one per line, or a raw byte stream) to JSON.
    Decode(DecodeOptions),
    /// Print a shell completion script, e.g. `podroute completions bash > /etc/bash_completion.d/podroute`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `podroute man > podroute.1`.
    Man {
        /// Write every page instead (podroute.1, podroute-daemon.1, ...)
        /// into this directory.
        #[arg(long, value_name = "DIRECTORY")]
        output_directory: Option<PathBuf>,
    },
}

/// `podroute routes [PREFIX]`.
#[derive(Debug, Args)]
pub struct RoutesCommand {
    /// One prefix, e.g. 198.19.1.0/24.
    pub prefix: Option<String>,
    /// Only this family.
    #[arg(long)]
    pub family: Option<FamilyName>,
    /// Show the decision step at which each non-best path lost.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub output: Output,
}

/// `podroute neighbor ADDR ACTION`.
#[derive(Debug, Args)]
pub struct NeighborCommand {
    /// The neighbor's address.
    pub address: String,
    /// What to do.
    #[command(subcommand)]
    pub action: NeighborAction,
    #[command(flatten)]
    pub output: Output,
}

/// What to do to a neighbor.
#[derive(Debug, Subcommand)]
pub enum NeighborAction {
    /// Stop the session (Cease / Administrative Shutdown) and keep it down.
    Shutdown {
        /// A message for the peer's operator (RFC 9003).
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Start a shut-down neighbor again.
    Enable,
    /// Tear the session down (Cease / Administrative Reset) and start again;
    /// with --soft, keep the session and only ask for (in) or re-send (out)
    /// the routes.
    Reset {
        /// A message for the peer's operator (RFC 9003).
        #[arg(long, short)]
        message: Option<String>,
        /// A soft reset of one direction: `in` or `out`.
        #[arg(long, value_parser = ["in", "out"])]
        soft: Option<String>,
    },
    /// The routes the neighbor sent us (its Adj-RIB-In), after import policy.
    Received {
        /// Before import policy (kept with soft_reconfiguration_inbound).
        #[arg(long)]
        before_policy: bool,
    },
    /// The routes we send the neighbor (its Adj-RIB-Out).
    Advertised,
}

/// Options of `podroute decode`.
#[derive(Debug, Args)]
pub struct DecodeOptions {
    /// Read from this file instead of standard input.
    pub file: Option<PathBuf>,
    /// Input is a raw byte stream of concatenated messages (one direction of
    /// a TCP session), not hex lines.
    #[arg(long)]
    pub raw: bool,
    /// The session uses 2-octet AS numbers (no RFC 6793 capability).
    #[arg(long)]
    pub as2: bool,
    /// Families whose NLRI carry ADD-PATH path identifiers (RFC 7911).
    #[arg(long, value_delimiter = ',', value_name = "FAMILY,...")]
    pub add_path: Vec<FamilyName>,
    /// Extended messages (RFC 8654) were negotiated: allow up to 65535 bytes.
    #[arg(long)]
    pub extended_message: bool,
}

/// A family name as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyName {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

/// The completion script for `shell`, generated from the clap definition.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "podroute", &mut script);
    script
}

/// The man page (section 1, roff), generated from the clap definition.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

/// Writes the man page of podroute and of each subcommand into `directory`
/// (the top-level page refers to them as `podroute-SUBCOMMAND(1)`).
pub fn write_man_pages(directory: &std::path::Path) -> ExitCode {
    match clap_mangen::generate_to(Cli::command(), directory) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "podroute: writing man pages to {}: {error}",
                directory.display()
            );
            ExitCode::from(1)
        }
    }
}

/// Writes generated text to standard output; a closed pipe is an error
/// message, not a panic.
pub fn print(text: std::io::Result<Vec<u8>>) -> ExitCode {
    let written = text.and_then(|bytes| {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&bytes)?;
        stdout.flush()
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("podroute: {error}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand, nested ones included (`neighbor shutdown`).
    fn subcommand_names(command: &clap::Command) -> Vec<String> {
        command
            .get_subcommands()
            .flat_map(|subcommand| {
                let mut names = vec![subcommand.get_name().to_owned()];
                names.extend(subcommand_names(subcommand));
                names
            })
            .collect()
    }

    #[test]
    fn completions_name_every_subcommand() {
        let names = subcommand_names(&Cli::command());
        assert!(names.len() > 10, "{names:?}");
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = String::from_utf8(completions(shell)).unwrap();
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell}: no {name}");
            }
        }
    }

    #[test]
    fn the_man_page_names_every_top_level_subcommand() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH podroute 1"),
            "{page}"
        );
        for subcommand in Cli::command().get_subcommands() {
            // roff writes a hyphen as `\-`.
            let name = subcommand.get_name().replace('-', "\\-");
            assert!(page.contains(&name), "no {name} in\n{page}");
        }
    }
}
