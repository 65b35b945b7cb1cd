//! The lab's error type: every failure of an external command, a parse of a
//! daemon's output or a timed-out wait becomes one [`Error`] value, carrying
//! enough text (the command line, its stderr, the daemons' logs) to debug a
//! failing test from its output alone.

use std::path::PathBuf;

/// Any failure while building images, running containers or querying daemons.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An external program (docker, debootstrap, tar, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line, space-joined, for the reader.
        command: String,
        /// How it exited.
        status: String,
        /// What it wrote on stderr (and stdout, when stderr was empty).
        stderr: String,
    },
    /// An external program could not be started at all.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The program and its arguments.
        command: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A daemon's JSON output could not be understood.
    #[error("cannot parse {what}: {source}")]
    Json {
        /// Which output was being parsed.
        what: String,
        /// serde_json's reason.
        source: serde_json::Error,
    },
    /// Any other output (BIRD's text, tshark's dissection) did not have the
    /// expected shape.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// Which output was being parsed.
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The machine lacks something the lab needs (a mirror, a binary).
    #[error("lab environment: {0}")]
    Environment(String),
    /// [`crate::Lab::wait_until`] gave up; `report` holds every daemon's state and log.
    #[error("timed out after {seconds} s waiting for {description}\n{report}")]
    Timeout {
        /// What was awaited.
        description: String,
        /// The bound that elapsed.
        seconds: u64,
        /// Logs and state of every daemon in the lab at the time of failure.
        report: String,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
