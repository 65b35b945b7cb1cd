//! podroute itself on a lab node: the binary is bind-mounted from the host
//! (see [`crate::podroute_binary`]), its TOML config is written into the
//! node, and `podroute daemon --config` runs under a shell that records its
//! pid. Queries use `podroute neighbors --json` and `podroute routes --json`
//! whose schemas DESIGN.md documents.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::node::{Node, PODROUTE_PATH};
use crate::status::{NeighborStatus, Route, normalise_state};

/// Config file inside the node.
pub const CONFIG_FILE: &str = "/etc/podroute/podroute.toml";
/// Pid file inside the node.
pub const PID_FILE: &str = "/run/podroute.pid";
/// Log file (stdout and stderr of the daemon).
pub const LOG_FILE: &str = "/var/log/podroute.log";

/// Writes the config and starts the daemon.
pub fn start(node: &Node, config: &str) -> Result<()> {
    node.write_file(CONFIG_FILE, config)?;
    node.shell("mkdir -p /run/podroute")?;
    let script = format!(
        "echo $$ > {PID_FILE}; exec {PODROUTE_PATH} daemon --config {CONFIG_FILE} >> {LOG_FILE} 2>&1"
    );
    node.spawn(&["sh", "-c", &script])
}

fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: what.to_string(),
        source,
    })
}

/// Queries `podroute neighbors --json`.
pub fn neighbors(node: &Node) -> Result<Vec<NeighborStatus>> {
    parse_neighbors(&node.exec(&[PODROUTE_PATH, "neighbors", "--json"])?)
}

/// Parses the DESIGN.md neighbor list (`address`, `remote_asn`, `state`, `router_id`).
pub fn parse_neighbors(text: &str) -> Result<Vec<NeighborStatus>> {
    let value = parse_json("podroute neighbors", text)?;
    let mut result = Vec::new();
    for neighbor in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(address) = neighbor
            .get("address")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<IpAddr>().ok())
        else {
            continue;
        };
        result.push(NeighborStatus {
            address,
            remote_asn: neighbor
                .get("remote_asn")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok()),
            state: normalise_state(
                neighbor
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("Unknown"),
            ),
            router_id: neighbor
                .get("router_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(result)
}

/// Queries `podroute routes --json`.
pub fn routes(node: &Node) -> Result<Vec<Route>> {
    parse_routes(&node.exec(&[PODROUTE_PATH, "routes", "--json"])?)
}

/// Parses a list of paths with the neutral field names of [`Route`]
/// (`prefix`, `next_hops` or `next_hop`, `as_path`, `local_pref`, `med`,
/// `communities`, `large_communities`, `best`, `learned`). Adjust here when
/// podroute's documented schema settles.
pub fn parse_routes(text: &str) -> Result<Vec<Route>> {
    let value = parse_json("podroute routes", text)?;
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut result = Vec::new();
    for path in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let number = |key: &str| {
            path.get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let mut next_hops = strings(path.get("next_hops"));
        if let Some(hop) = path.get("next_hop").and_then(Value::as_str) {
            next_hops.push(hop.to_string());
        }
        result.push(Route {
            prefix: path
                .get("prefix")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            next_hops,
            as_path: path
                .get("as_path")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_u64)
                        .filter_map(|v| u32::try_from(v).ok())
                        .collect()
                })
                .unwrap_or_default(),
            local_pref: number("local_pref"),
            med: number("med"),
            communities: strings(path.get("communities")),
            large_communities: strings(path.get("large_communities")),
            best: path.get("best").and_then(Value::as_bool).unwrap_or(false),
            learned: path.get("learned").and_then(Value::as_bool).unwrap_or(true),
        });
    }
    Ok(result)
}
