//! The `podroute` binary: one CLI for the daemon and every operator command.
//!
//! `main` parses the command line ([`cli`]) and hands each subcommand to the
//! module that implements it. Commands that talk to a running daemon go
//! through its control socket; `decode` works offline on captured bytes.

mod cli;
mod decode;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    match arguments.command {
        cli::Command::Decode(options) => decode::run(&options),
    }
}
