//! The `podroute` binary: one CLI for the daemon and every operator command.
//!
//! `main` parses the command line ([`cli`]) and hands each subcommand to the
//! module that implements it: [`daemon`] runs the speaker and serves the
//! control API ([`api`]) and the metrics listener ([`metrics`]); [`commands`]
//! are the operator's requests to a running daemon over that API; `decode`
//! works offline on captured bytes; `completions` and `man` print what
//! [`cli`] generates from its own definition.

mod api;
mod cli;
mod commands;
mod daemon;
mod decode;
mod kernel;
mod metrics;

use std::process::ExitCode;

use clap::Parser;

use cli::Command;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    let socket = arguments.socket;
    match arguments.command {
        Command::Daemon { config } => daemon::run(&config),
        Command::CheckConfig { file } => commands::check_config(&file),
        Command::Decode(options) => decode::run(&options),
        Command::Completions { shell } => cli::print(Ok(cli::completions(shell))),
        Command::Man { output_directory } => match output_directory {
            Some(directory) => cli::write_man_pages(&directory),
            None => cli::print(cli::man_page()),
        },
        Command::Status(output) => commands::remote(&socket, async |client| {
            commands::status(client, output).await
        }),
        Command::Neighbors { address, output } => commands::remote(&socket, async |client| {
            commands::neighbors(client, address.as_deref(), output).await
        }),
        Command::Neighbor(command) => commands::remote(&socket, async |client| {
            commands::neighbor(client, &command, command.output).await
        }),
        Command::Routes(query) => commands::remote(&socket, async |client| {
            commands::routes(client, &query).await
        }),
        Command::Fib(output) => {
            commands::remote(&socket, async |client| commands::fib(client, output).await)
        }
        Command::Reload(output) => commands::remote(&socket, async |client| {
            commands::reload(client, output).await
        }),
    }
}
