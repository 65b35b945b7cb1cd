//! The daemon as operators run it: the binary with a config file, the CLI
//! over the control socket, SIGHUP and SIGTERM. Each test uses its own
//! 127.0.0.x addresses and sockets so tests run side by side.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod support;

use serde_json::Value;
use support::Daemon;

fn directory(test: &str) -> PathBuf {
    support::directory("daemon", test)
}

fn tail(socket: &Path) -> String {
    support::tail(socket, None)
}

fn start(directory: &Path, name: &str, config: &str) -> Daemon {
    let daemon = support::spawn(directory, name, config, None);
    wait(&daemon, "the control socket", |_| daemon.socket.exists());
    daemon
}

fn cli(daemon: &Daemon, arguments: &[&str]) -> (String, String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_podroute"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(arguments)
        .output()
        .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

fn neighbors(daemon: &Daemon) -> Vec<Value> {
    let (stdout, stderr, ok) = cli(daemon, &["neighbors", "--json"]);
    assert!(ok, "neighbors --json failed: {stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn neighbor(daemon: &Daemon, address: &str) -> Value {
    neighbors(daemon)
        .into_iter()
        .find(|neighbor| neighbor["address"] == address)
        .unwrap_or(Value::Null)
}

/// Polls a condition; the bound only turns a hang into a failure.
fn wait(daemon: &Daemon, what: &str, condition: impl Fn(&Daemon) -> bool) {
    for _ in 0..200 {
        if condition(daemon) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} never happened");
}

fn signal(daemon: &Daemon, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &daemon.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

const PAIR_A: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.1"
listen = ["127.0.0.21:1791"]

[[neighbor]]
address = "127.0.0.22"
asn = 64512
port = 1791
passive = true
"#;

const PAIR_B: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.2"
listen = ["127.0.0.22:1791"]

[[neighbor]]
address = "127.0.0.21"
asn = 64512
port = 1791
source_address = "127.0.0.22"
"#;

#[test]
fn neighbors_establish_and_the_cli_shows_them_in_json_and_tables() {
    let directory = directory("pair");
    let first = start(&directory, "a", PAIR_A);
    let second = start(&directory, "b", PAIR_B);
    wait(&first, "Established", |daemon| {
        neighbor(daemon, "127.0.0.22")["state"] == "Established"
    });

    let status = neighbor(&first, "127.0.0.22");
    for key in [
        "address",
        "remote_asn",
        "local_asn",
        "state",
        "uptime_seconds",
        "router_id",
        "route_reflector_client",
        "prefixes_received",
        "prefixes_accepted",
        "prefixes_advertised",
        "messages_received",
        "messages_sent",
        "last_error",
    ] {
        assert!(
            status.get(key).is_some(),
            "neighbors --json lacks {key}: {status}"
        );
    }
    assert_eq!(status["router_id"], "198.18.0.2");
    assert_eq!(status["remote_asn"], 64512);

    let (table, _, ok) = cli(&first, &["neighbors"]);
    assert!(ok);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("127.0.0.22  64512  Established"),
        "{table}"
    );

    let mode = std::fs::metadata(&first.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660, "the control socket is mode 0660");

    // Reset and shutdown without a message (an empty request body).
    let (stdout, stderr, ok) = cli(&first, &["neighbor", "127.0.0.22", "reset"]);
    assert!(ok, "reset without a message: {stderr}");
    assert_eq!(stdout, "neighbor 127.0.0.22: reset\n");
    wait(&first, "the reset counted", |daemon| {
        let status = neighbor(daemon, "127.0.0.22");
        status["flaps"] == 1 && status["state"] == "Established"
    });
    assert_eq!(
        neighbor(&first, "127.0.0.22")["last_error"],
        "sent Cease / Administrative Reset (6/4)"
    );
    let (_, stderr, ok) = cli(&first, &["neighbor", "127.0.0.22", "shutdown"]);
    assert!(ok, "shutdown without a message: {stderr}");
    let (_, stderr, ok) = cli(&first, &["neighbor", "127.0.0.22", "enable"]);
    assert!(ok, "enable: {stderr}");
    wait(&first, "Established again", |daemon| {
        neighbor(daemon, "127.0.0.22")["state"] == "Established"
    });

    // SIGTERM: the peer is told why, and the socket is removed.
    signal(&first, "TERM");
    wait(&second, "the shutdown reaching the peer", |daemon| {
        neighbor(daemon, "127.0.0.21")["last_error"]
            .as_str()
            .is_some_and(|text| text.contains("shutting down"))
    });
    wait(&first, "the socket removed", |daemon| {
        !daemon.socket.exists()
    });
    let (_, stderr, ok) = cli(&first, &["neighbors"]);
    assert!(!ok);
    assert!(
        stderr.contains("podroute is not running") && stderr.contains("a.sock"),
        "{stderr}"
    );
}

#[test]
fn reload_keeps_unchanged_sessions_and_refuses_a_broken_file() {
    let directory = directory("reload");
    let config_a = PAIR_A
        .replace("127.0.0.21", "127.0.0.31")
        .replace("127.0.0.22", "127.0.0.32");
    let config_b = PAIR_B
        .replace("127.0.0.21", "127.0.0.31")
        .replace("127.0.0.22", "127.0.0.32");
    let first = start(&directory, "a", &config_a);
    let _second = start(&directory, "b", &config_b);
    wait(&first, "Established", |daemon| {
        neighbor(daemon, "127.0.0.32")["state"] == "Established"
    });
    std::thread::sleep(Duration::from_millis(1100));
    let before = neighbor(&first, "127.0.0.32");

    // Add a neighbor, change the kept one's description: no reset for it.
    let api = format!("\n{}", tail(&first.socket));
    let added = format!(
        "{}\ndescription = \"node b\"\n\n[[neighbor]]\naddress = \"127.0.0.33\"\nasn = 64512\nport = 1791\npassive = true\n{api}",
        config_a.trim_end()
    );
    std::fs::write(&first.config, &added).unwrap();
    let (stdout, stderr, ok) = cli(&first, &["reload"]);
    assert!(ok, "reload failed: {stderr}");
    assert!(stdout.contains("127.0.0.33"), "{stdout}");
    let after = neighbor(&first, "127.0.0.32");
    assert_eq!(after["state"], "Established");
    assert_eq!(after["flaps"], before["flaps"]);
    assert_eq!(after["description"], "node b");
    assert!(
        after["uptime_seconds"].as_u64() >= before["uptime_seconds"].as_u64(),
        "uptime continued"
    );
    assert!(
        after["messages_received"].as_u64() >= before["messages_received"].as_u64(),
        "counters continued"
    );
    assert_eq!(neighbor(&first, "127.0.0.33")["state"], "Active");

    // SIGHUP with the extra neighbor removed again.
    std::fs::write(
        &first.config,
        format!("{}\ndescription = \"node b\"\n{api}", config_a.trim_end()),
    )
    .unwrap();
    signal(&first, "HUP");
    wait(&first, "the removed neighbor gone", |daemon| {
        neighbor(daemon, "127.0.0.33").is_null()
    });
    assert_eq!(neighbor(&first, "127.0.0.32")["flaps"], before["flaps"]);

    // A broken file is refused whole, with line and column.
    std::fs::write(
        &first.config,
        format!("{}\nhold_time = 2\n{api}", config_a.trim_end()),
    )
    .unwrap();
    let (_, stderr, ok) = cli(&first, &["reload"]);
    assert!(!ok);
    assert!(
        stderr.contains("a.toml:12:13: neighbor[0].hold_time"),
        "{stderr}"
    );
    assert_eq!(neighbor(&first, "127.0.0.32")["state"], "Established");
}

#[test]
fn check_config_lists_every_error_with_line_and_column() {
    let directory = directory("check");
    let path = directory.join("broken.toml");
    std::fs::write(
        &path,
        "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\n[[neighbor]]\naddress = \"198.18.0.2\"\nasn = 0\nhold_time = 2\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_podroute"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains("broken.toml:7:7: neighbor[0].asn"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("broken.toml:8:13: neighbor[0].hold_time"),
        "{stdout}"
    );
}

#[test]
fn every_key_the_api_returns_is_documented_in_docs_api_md() {
    let directory = directory("schema");
    let config = PAIR_A
        .replace("127.0.0.21", "127.0.0.41")
        .replace("127.0.0.22", "127.0.0.42");
    let daemon = start(&directory, "a", &config);
    let documentation =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    let (status, _, ok) = cli(&daemon, &["status", "--json"]);
    assert!(ok);
    let status: Value = serde_json::from_str(&status).unwrap();
    let neighbor = neighbor(&daemon, "127.0.0.42");
    let mut keys: Vec<String> = Vec::new();
    for object in [&status, &neighbor] {
        keys.extend(object.as_object().unwrap().keys().cloned());
    }
    keys.extend(
        neighbor["messages_sent_by_type"]
            .as_object()
            .unwrap()
            .keys()
            .cloned(),
    );
    for key in keys {
        assert!(
            documentation.contains(&format!("`{key}`")),
            "docs/api.md does not document `{key}`"
        );
    }
}

#[test]
fn originated_prefixes_reach_the_other_node_and_routes_explain_the_choice() {
    let directory = directory("routes");
    let config_a = PAIR_A
        .replace("127.0.0.21", "127.0.0.51")
        .replace("127.0.0.22", "127.0.0.52");
    let config_b = PAIR_B
        .replace("127.0.0.21", "127.0.0.51")
        .replace("127.0.0.22", "127.0.0.52");
    let first = start(
        &directory,
        "a",
        &format!("{config_a}\n[[originate]]\nprefix = \"198.19.1.0/24\"\n"),
    );
    let second = start(
        &directory,
        "b",
        &format!("{config_b}\n[[originate]]\nprefix = \"198.19.2.0/24\"\n"),
    );
    let routes = |daemon: &Daemon| -> Value {
        let (stdout, stderr, ok) = cli(daemon, &["routes", "--json"]);
        assert!(ok, "routes --json failed: {stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    wait(&first, "B's prefix learned", |daemon| {
        routes(daemon)
            .as_array()
            .unwrap()
            .iter()
            .any(|prefix| prefix["prefix"] == "198.19.2.0/24")
    });
    wait(&second, "A's prefix learned", |daemon| {
        routes(daemon)
            .as_array()
            .unwrap()
            .iter()
            .any(|prefix| prefix["prefix"] == "198.19.1.0/24")
    });
    let learned = routes(&first)
        .as_array()
        .unwrap()
        .iter()
        .find(|prefix| prefix["prefix"] == "198.19.2.0/24")
        .cloned()
        .unwrap();
    let path = &learned["paths"][0];
    assert_eq!(path["peer_address"], "127.0.0.52");
    assert_eq!(
        path["next_hop"]["address"], "127.0.0.52",
        "iBGP: our own prefix goes out with next hop self"
    );
    assert_eq!(path["attributes"]["local_pref"], 100);
    assert_eq!(path["best"], true);

    wait(&first, "counters", |daemon| {
        neighbor(daemon, "127.0.0.52")["prefixes_advertised"] == 1
    });
    let counters = neighbor(&first, "127.0.0.52");
    assert_eq!(counters["prefixes_received"], 1);
    assert_eq!(counters["prefixes_accepted"], 1);

    let (table, _, ok) = cli(&first, &["routes", "198.19.2.0/24", "--explain"]);
    assert!(ok);
    assert!(
        table.contains("*>  198.19.2.0/24  127.0.0.52  127.0.0.52"),
        "{table}"
    );

    // The neighbor's own tables, and soft resets that keep the session.
    let received = |daemon: &Daemon, table: &str| -> Value {
        let (stdout, stderr, ok) = cli(daemon, &["neighbor", "127.0.0.52", table, "--json"]);
        assert!(ok, "{table}: {stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    assert_eq!(received(&first, "received")[0]["prefix"], "198.19.2.0/24");
    assert_eq!(received(&first, "advertised")[0]["prefix"], "198.19.1.0/24");
    for direction in ["in", "out"] {
        let (stdout, stderr, ok) = cli(
            &first,
            &["neighbor", "127.0.0.52", "reset", "--soft", direction],
        );
        assert!(ok, "soft {direction}: {stderr}");
        assert!(
            stdout.contains(&format!("soft reset {direction}")),
            "{stdout}"
        );
    }
    assert_eq!(
        neighbor(&first, "127.0.0.52")["flaps"],
        0,
        "soft resets keep the session"
    );
    wait(&first, "B's prefix still held", |daemon| {
        routes(daemon)
            .as_array()
            .unwrap()
            .iter()
            .any(|prefix| prefix["prefix"] == "198.19.2.0/24")
    });

    let (_, stderr, ok) = cli(&first, &["fib"]);
    assert!(!ok, "the FIB is off in this test");
    assert!(stderr.contains("[fib] enabled = false"), "{stderr}");

    // A withdrawn origination disappears from the other node.
    std::fs::write(
        &second.config,
        format!("{config_b}\n{}", tail(&second.socket)),
    )
    .unwrap();
    let (_, stderr, ok) = cli(&second, &["reload"]);
    assert!(ok, "{stderr}");
    wait(&first, "B's prefix withdrawn", |daemon| {
        !routes(daemon)
            .as_array()
            .unwrap()
            .iter()
            .any(|prefix| prefix["prefix"] == "198.19.2.0/24")
    });
}
