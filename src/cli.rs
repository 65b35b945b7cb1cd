//! The command-line interface, defined once with clap so that help text,
//! shell completions and the man page all come from the same place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// podroute: a BGP speaker and route reflector for container subnets.
#[derive(Debug, Parser)]
#[command(name = "podroute", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode BGP messages (hex, one per line, or a raw byte stream) to JSON.
    Decode(DecodeOptions),
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
