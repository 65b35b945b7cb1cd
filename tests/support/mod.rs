//! Running the daemon binary in integration tests: a config file of its
//! own in a temporary directory, its own control socket, kernel programming
//! off (these daemons run on the host, whose routing table is not theirs to
//! change; the netlink tests use namespaces), and the process killed by its
//! pid when the test ends, with its log printed if the test failed.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test, and not every test file uses every helper"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A daemon process.
pub struct Daemon {
    /// The process.
    pub child: Child,
    /// Its control socket.
    pub socket: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its standard error.
    pub log: PathBuf,
    /// Where its metrics listener is, if it has one.
    pub metrics: Option<SocketAddr>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- log of {}:\n{}",
                self.config.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// A fresh temporary directory for one test of one suite.
pub fn directory(suite: &str, test: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("podroute-{suite}-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// The end of every test config: `[fib] enabled = false`, the socket, and
/// the metrics listener (none when `None`).
pub fn tail(socket: &Path, metrics: Option<SocketAddr>) -> String {
    let metrics = metrics
        .map(|address| address.to_string())
        .unwrap_or_default();
    format!("[fib]\nenabled = false\n\n[api]\nsocket = {socket:?}\nmetrics = \"{metrics}\"\n")
}

/// Writes `name.toml` (`config` plus the [`tail`]) and starts the daemon on
/// it, without waiting for it to be ready.
pub fn spawn(directory: &Path, name: &str, config: &str, metrics: Option<SocketAddr>) -> Daemon {
    let log = directory.join(format!("{name}.log"));
    let stderr = Stdio::from(std::fs::File::create(&log).unwrap());
    spawn_with_stderr(directory, name, config, metrics, stderr)
}

/// As [`spawn`], with the daemon's standard error going to `stderr`
/// (`Daemon::log` is then a file that does not exist).
pub fn spawn_with_stderr(
    directory: &Path,
    name: &str,
    config: &str,
    metrics: Option<SocketAddr>,
    stderr: Stdio,
) -> Daemon {
    let config_path = directory.join(format!("{name}.toml"));
    let socket = directory.join(format!("{name}.sock"));
    let log = directory.join(format!("{name}.log"));
    std::fs::write(
        &config_path,
        format!("{config}\n{}", tail(&socket, metrics)),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_podroute"))
        .args(["daemon", "--config"])
        .arg(&config_path)
        .stderr(stderr)
        .spawn()
        .unwrap();
    Daemon {
        child,
        socket,
        config: config_path,
        log,
        metrics,
    }
}
