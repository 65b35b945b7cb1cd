//! podroute itself on a lab node: the binary is bind-mounted from the host
//! (see [`crate::podroute_binary`]), its TOML config (written by hand or
//! rendered by [`super::podroute_config`]) is written into the node, and
//! `podroute daemon --config` runs under a shell that records its pid.
//!
//! Queries go through podroute's own CLI inside the node: `podroute
//! neighbors --json` is parsed strictly into [`PodrouteNeighbor`] (every
//! field of the documented schema must be present, so a schema drift fails
//! loudly) and reduced to the neutral [`NeighborStatus`]; `podroute
//! neighbor ADDR shutdown|enable|reset` acts on one session; `podroute
//! routes --json` is parsed by [`super::podroute_routes`]; `podroute
//! reload` applies a rewritten config.

use std::net::IpAddr;

use serde::Deserialize;

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

/// One element of `podroute neighbors --json` (the schema DESIGN.md and the
/// lab brief document; podroute adds more fields, which are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PodrouteNeighbor {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS (negotiated, else configured; `null` for a dynamic
    /// neighbor before its OPEN).
    pub remote_asn: Option<u32>,
    /// podroute's AS on this session.
    pub local_asn: u32,
    /// RFC 4271 §8.2.2 state name.
    pub state: String,
    /// Seconds in Established.
    pub uptime_seconds: u64,
    /// The peer's BGP identifier (RFC 4271 §4.2), once known.
    pub router_id: Option<String>,
    /// Route-reflector client (RFC 4456).
    pub route_reflector_client: bool,
    /// Accepted from a `[[listen_range]]` rather than configured.
    pub dynamic: bool,
    /// Administratively shut down.
    pub shutdown: bool,
    /// Prefixes received from the peer.
    pub prefixes_received: u64,
    /// Prefixes accepted by import policy.
    pub prefixes_accepted: u64,
    /// Prefixes advertised to the peer.
    pub prefixes_advertised: u64,
    /// Messages received, all types.
    pub messages_received: u64,
    /// Messages sent, all types.
    pub messages_sent: u64,
    /// Times the session left Established.
    pub flaps: u64,
    /// Negotiated hold time (RFC 4271 §4.2) while Established.
    pub hold_time: Option<u16>,
    /// Negotiated families (RFC 4760), by name.
    pub families: Vec<String>,
    /// The last NOTIFICATION sent or received, or socket error, in words.
    pub last_error: Option<String>,
    /// Seconds since that error, by the daemon's own clock.
    pub last_error_seconds_ago: Option<u64>,
}

impl PodrouteNeighbor {
    /// The neutral view every daemon shares.
    pub fn status(&self) -> NeighborStatus {
        NeighborStatus {
            address: self.address,
            remote_asn: self.remote_asn,
            state: normalise_state(&self.state),
            router_id: self.router_id.clone(),
            last_error: self.last_error.clone(),
        }
    }

    /// Whether the session is up.
    pub fn is_established(&self) -> bool {
        self.status().is_established()
    }
}

/// Queries `podroute neighbors --json` in full.
pub fn neighbor_details(node: &Node) -> Result<Vec<PodrouteNeighbor>> {
    parse_neighbor_details(&node.exec(&[PODROUTE_PATH, "neighbors", "--json"])?)
}

/// Parses `podroute neighbors --json`, refusing output that lacks a field
/// of the documented schema.
pub fn parse_neighbor_details(text: &str) -> Result<Vec<PodrouteNeighbor>> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: "podroute neighbors".to_string(),
        source,
    })
}

/// Queries `podroute neighbors --json`, reduced to [`NeighborStatus`].
pub fn neighbors(node: &Node) -> Result<Vec<NeighborStatus>> {
    parse_neighbors(&node.exec(&[PODROUTE_PATH, "neighbors", "--json"])?)
}

/// Parses `podroute neighbors --json` into the neutral view.
pub fn parse_neighbors(text: &str) -> Result<Vec<NeighborStatus>> {
    Ok(parse_neighbor_details(text)?
        .iter()
        .map(PodrouteNeighbor::status)
        .collect())
}

/// What `podroute neighbor ADDR ACTION` does to one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborAction {
    /// Cease / Administrative Shutdown (RFC 4486 subcode 2), kept down.
    Shutdown,
    /// Start a shut-down neighbor again.
    Enable,
    /// Cease / Administrative Reset (RFC 4486 subcode 4), then reconnect.
    Reset,
}

impl NeighborAction {
    fn word(self) -> &'static str {
        match self {
            NeighborAction::Shutdown => "shutdown",
            NeighborAction::Enable => "enable",
            NeighborAction::Reset => "reset",
        }
    }
}

/// Runs `podroute neighbor ADDR ACTION [-m MESSAGE]`; the message is the
/// RFC 9003 shutdown communication (ignored by `enable`).
pub fn neighbor_action(
    node: &Node,
    address: IpAddr,
    action: NeighborAction,
    message: Option<&str>,
) -> Result<()> {
    let address = address.to_string();
    let mut arguments = vec![PODROUTE_PATH, "neighbor", address.as_str(), action.word()];
    if let (Some(message), NeighborAction::Shutdown | NeighborAction::Reset) = (message, action) {
        arguments.extend_from_slice(&["-m", message]);
    }
    node.exec(&arguments).map(|_| ())
}

/// Queries `podroute routes --json`, one neutral [`Route`] per path.
pub fn routes(node: &Node) -> Result<Vec<Route>> {
    super::podroute_routes::parse_routes(&node.exec(&[PODROUTE_PATH, "routes", "--json"])?)
}

/// Queries `podroute routes --json` in full (ADD-PATH identifiers,
/// multipath, reachability).
pub fn route_details(node: &Node) -> Result<Vec<super::podroute_routes::PodroutePrefix>> {
    super::podroute_routes::parse_prefixes(&node.exec(&[PODROUTE_PATH, "routes", "--json"])?)
}

/// Writes a new config and runs `podroute reload` (docs/configuration.md,
/// "Reload"); returns the CLI's answer, one line per applied change.
pub fn reload(node: &Node, config: &str) -> Result<String> {
    node.write_file(CONFIG_FILE, config)?;
    node.exec(&[PODROUTE_PATH, "reload"])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEIGHBORS: &str = r#"[
      {"address":"198.18.1.3","remote_asn":65002,"local_asn":64512,"state":"Established",
       "uptime_seconds":12,"router_id":"198.18.1.3","route_reflector_client":false,"dynamic":false,
       "description":null,"shutdown":false,"prefixes_received":0,"prefixes_accepted":0,
       "prefixes_advertised":0,"messages_received":4,"messages_sent":5,"flaps":0,"hold_time":6,
       "keepalive":2,"families":["ipv4-unicast"],"last_error":null,"last_error_seconds_ago":null},
      {"address":"2001:db8:1::4","remote_asn":null,"local_asn":64512,"state":"Active",
       "uptime_seconds":0,"router_id":null,"route_reflector_client":true,"dynamic":true,
       "shutdown":false,"prefixes_received":0,"prefixes_accepted":0,"prefixes_advertised":0,
       "messages_received":0,"messages_sent":1,"flaps":2,"hold_time":null,"families":[],
       "last_error":"sent OPEN Message Error / Bad Peer AS (2/2)","last_error_seconds_ago":7}
    ]"#;

    #[test]
    fn neighbors_follow_the_documented_schema() {
        let details = parse_neighbor_details(NEIGHBORS).unwrap();
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].hold_time, Some(6));
        assert_eq!(details[0].families, vec!["ipv4-unicast".to_string()]);
        assert!(details[1].dynamic && details[1].route_reflector_client);
        assert_eq!(details[1].flaps, 2);
        assert_eq!(details[0].last_error_seconds_ago, None);
        assert_eq!(details[1].last_error_seconds_ago, Some(7));
        let neutral = parse_neighbors(NEIGHBORS).unwrap();
        assert!(neutral[0].is_established());
        assert_eq!(neutral[0].remote_asn, Some(65002));
        assert_eq!(neutral[0].router_id.as_deref(), Some("198.18.1.3"));
        assert_eq!(neutral[1].state, "Active");
        assert_eq!(neutral[1].remote_asn, None);
        assert_eq!(
            neutral[1].last_error.as_deref(),
            Some("sent OPEN Message Error / Bad Peer AS (2/2)")
        );
    }

    #[test]
    fn a_neighbor_missing_a_schema_field_is_refused() {
        let without_state = NEIGHBORS.replacen("\"state\":\"Established\",", "", 1);
        assert!(parse_neighbor_details(&without_state).is_err());
        assert!(parse_neighbors("{\"error\":\"x\"}").is_err());
    }
}
