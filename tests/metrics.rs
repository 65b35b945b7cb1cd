//! The metrics listener of a running daemon: `/metrics`, `/healthz` and
//! `/readyz` scraped over TCP, and a taken port refusing the start. Each
//! test uses its own 127.0.0.6x addresses, its own sockets, and
//! `[fib] enabled = false`: these daemons run on the host, whose routing
//! table is not theirs to change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;

use serde_json::Value;
use support::Daemon;

fn directory(test: &str) -> PathBuf {
    support::directory("metrics", test)
}

fn start(directory: &Path, name: &str, router: &str, metrics: &str) -> Daemon {
    let daemon = support::spawn(directory, name, router, Some(metrics.parse().unwrap()));
    // The metrics listener is bound before the control socket exists.
    wait("the control socket", || daemon.socket.exists());
    daemon
}

/// The daemon's metrics address.
fn metrics(daemon: &Daemon) -> SocketAddr {
    daemon.metrics.unwrap()
}

/// Polls a condition; the bound only turns a hang into a failure.
fn wait(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} never happened");
}

/// One HTTP/1.1 GET; returns the status code, the headers and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

fn documented_names() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// The value of the sample line that starts with `selector` followed by a space.
fn sample(text: &str, selector: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(selector)?.strip_prefix(' '))
        .map(str::to_owned)
}

const PAIR_A: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.1"
listen = ["127.0.0.61:1791"]

[[neighbor]]
address = "127.0.0.62"
asn = 64512
port = 1791
passive = true
"#;

const PAIR_B: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.2"
listen = ["127.0.0.62:1791"]

[[neighbor]]
address = "127.0.0.61"
asn = 64512
port = 1791
source_address = "127.0.0.62"
"#;

#[test]
fn a_pair_scrapes_established_and_is_ready() {
    let directory = directory("pair");
    let first = start(&directory, "a", PAIR_A, "127.0.0.61:9179");
    let _second = start(&directory, "b", PAIR_B, "127.0.0.62:9179");
    const STATE: &str =
        r#"podroute_neighbor_state{neighbor="127.0.0.62",remote_asn="64512",state="Established"}"#;
    wait("Established in /metrics", || {
        sample(&get(metrics(&first), "/metrics").2, STATE).as_deref() == Some("1")
    });

    let (status, head, text) = get(metrics(&first), "/metrics");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"podroute_neighbor_state{neighbor="127.0.0.62",remote_asn="64512",state="Active"}"#
        )
        .as_deref(),
        Some("0")
    );
    let opens = sample(
        &text,
        r#"podroute_neighbor_messages_received_total{neighbor="127.0.0.62",remote_asn="64512",type="open"}"#,
    );
    assert_eq!(opens.as_deref(), Some("1"), "{text}");
    assert_eq!(sample(&text, "podroute_fib_enabled").as_deref(), Some("0"));
    let version = format!(
        r#"podroute_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &version).as_deref(), Some("1"), "{text}");
    let started: u64 = sample(&text, "podroute_process_start_time_seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!(started > 1_600_000_000, "a Unix time: {started}");

    let undocumented: Vec<String> = sample_names(&text)
        .difference(&documented_names())
        .cloned()
        .collect();
    assert!(
        undocumented.is_empty(),
        "metrics missing from docs/metrics.md: {undocumented:?}"
    );

    let (status, _, body) = get(metrics(&first), "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let (status, _, body) = get(metrics(&first), "/readyz");
    assert_eq!(status, 200, "{body}");
    let readiness: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(readiness["ready"], true);
    assert_eq!(readiness["missing"], Value::Array(Vec::new()));
    assert_eq!(readiness["fib"]["state"], "disabled");

    let (status, _, _) = get(metrics(&first), "/nothing-here");
    assert_eq!(status, 404);
}

#[test]
fn a_neighbor_that_never_answers_keeps_readyz_at_503_during_the_grace_period() {
    let directory = directory("waiting");
    // Graceful restart on: the grace period is the selection deferral time.
    let router = r#"
[router]
asn = 64512
router_id = "198.18.0.3"
listen = ["127.0.0.63:1791"]

[graceful_restart]
enabled = true
selection_deferral_time = 3600

[[neighbor]]
address = "127.0.0.64"
asn = 64512
port = 1791
passive = true

[[neighbor]]
address = "127.0.0.65"
asn = 64512
port = 1791
passive = true
shutdown = true
"#;
    let daemon = start(&directory, "lonely", router, "127.0.0.63:9179");
    let (status, _, body) = get(metrics(&daemon), "/readyz");
    assert_eq!(status, 503, "{body}");
    let readiness: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(readiness["ready"], false);
    let waiting = readiness["neighbors_not_established"].as_array().unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "the shut-down neighbor does not count: {body}"
    );
    assert_eq!(waiting[0]["address"], "127.0.0.64");
    let remaining = readiness["grace_remaining_seconds"].as_u64().unwrap();
    assert!(remaining > 3000 && remaining <= 3600, "{body}");
    let missing = readiness["missing"][0].as_str().unwrap();
    assert!(missing.contains("127.0.0.64"), "{missing}");

    // Not ready is not unhealthy.
    let (status, _, _) = get(metrics(&daemon), "/healthz");
    assert_eq!(status, 200);
    let (_, _, text) = get(metrics(&daemon), "/metrics");
    assert_eq!(
        sample(
            &text,
            r#"podroute_neighbor_established_seconds{neighbor="127.0.0.64",remote_asn="64512"}"#
        )
        .as_deref(),
        Some("0"),
        "{text}"
    );
}

#[test]
fn a_taken_metrics_port_stops_the_start_with_a_clear_message() {
    let directory = directory("taken");
    let taken = TcpListener::bind("127.0.0.66:0").unwrap();
    let address = taken.local_addr().unwrap();
    let router = r#"
[router]
asn = 64512
router_id = "198.18.0.6"
listen = ["127.0.0.66:1791"]
"#;
    let mut daemon = support::spawn(&directory, "taken", router, Some(address));
    let status = daemon.child.wait().unwrap();
    assert!(!status.success());
    let stderr = std::fs::read_to_string(&daemon.log).unwrap();
    assert!(
        stderr.contains("[api] metrics") && stderr.contains(&address.to_string()),
        "{stderr}"
    );
    assert!(!daemon.socket.exists(), "nothing was left behind");
}

/// A stderr nobody reads (a stalled log pipe) fills after 64 KiB; the
/// daemon must go on answering, dropping and counting the lines it cannot
/// write instead of waiting for the reader.
#[test]
fn a_log_reader_that_stalls_costs_log_lines_not_the_daemon() {
    let directory = directory("stalled_log");
    // A thousand neighbors whose connections are refused at once, logged
    // at debug level: some 3000 lines, far beyond the pipe and the queue.
    let mut config = String::from(
        "[router]\nasn = 64512\nrouter_id = \"198.18.0.64\"\nlisten = [\"127.0.0.64:1791\"]\n\n[logging]\nlevel = \"debug\"\n",
    );
    for index in 0..1000u32 {
        config.push_str(&format!(
            "\n[[neighbor]]\naddress = \"127.0.{}.{}\"\nasn = 64512\nport = 1\nsource_address = \"127.0.0.64\"\n",
            10 + index / 200,
            1 + index % 200
        ));
    }
    // Piped, and the test never reads `daemon.child.stderr`.
    let daemon = support::spawn_with_stderr(
        &directory,
        "a",
        &config,
        Some("127.0.0.64:9179".parse().unwrap()),
        std::process::Stdio::piped(),
    );
    wait("the control socket", || daemon.socket.exists());
    // Every neighbor's state comes from the task that owns the sessions:
    // it has logged far more than the pipe holds, and still answers.
    wait("a thousand neighbors and dropped lines in /metrics", || {
        let (status, _, body) = get(metrics(&daemon), "/metrics");
        let states = body
            .lines()
            .filter(|line| line.starts_with("podroute_neighbor_state{"))
            .filter(|line| line.ends_with(" 1"))
            .count();
        let dropped: u64 = sample(&body, "podroute_log_lines_dropped_total")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        status == 200 && states == 1000 && dropped > 0
    });
}
