//! Graceful restart as a cluster host's podroute reports it (RFC 4724,
//! RFC 8538): per neighbor, the capability the peer sent and the routes
//! kept stale for it; for the host, whether its own restart is over.
//!
//! Flow: each method runs one podroute CLI call inside the host
//! (`podroute neighbors --json`, `podroute fib --json`) and reads the
//! fields `docs/api.md` documents; nothing is cached, so tests poll them
//! with [`crate::Lab::wait_until`].

use std::net::IpAddr;

use serde_json::Value;

use crate::cluster::host::Host;
use crate::error::{Error, Result};

/// One neighbor of `podroute neighbors --json`, the graceful restart part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulView {
    /// The neighbor.
    pub address: IpAddr,
    /// RFC 4271 state name.
    pub state: String,
    /// Routes of the neighbor kept, stale, while it restarts (§4.2).
    pub stale_routes: u64,
    /// The peer sent the capability on the current session.
    pub peer_capable: bool,
    /// Both sides set the N bit (RFC 8538): graceful restart also after a
    /// NOTIFICATION, and a Hard Reset for what must not be one.
    pub notification: bool,
    /// The peer's Restart State bit (it has just restarted).
    pub peer_restarting: bool,
    /// Families for which the peer set the Forwarding State bit.
    pub peer_forwarding: Vec<String>,
    /// Times the session left Established.
    pub flaps: u64,
    /// The last NOTIFICATION or socket error, in words.
    pub last_error: Option<String>,
}

fn graceful_view(neighbor: &Value) -> Option<GracefulView> {
    let address = neighbor.get("address")?.as_str()?.parse().ok()?;
    let peer = neighbor
        .get("graceful_restart")
        .and_then(|restart| restart.get("peer"))
        .filter(|peer| !peer.is_null());
    let mut peer_forwarding: Vec<String> = peer
        .and_then(|peer| peer.get("families"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|family| family.get("forwarding_state").and_then(Value::as_bool) == Some(true))
        .filter_map(|family| family.get("family").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    peer_forwarding.sort();
    Some(GracefulView {
        address,
        state: neighbor.get("state")?.as_str()?.to_string(),
        stale_routes: neighbor.get("stale_routes")?.as_u64()?,
        peer_capable: peer.is_some(),
        notification: neighbor
            .get("graceful_restart")
            .and_then(|restart| restart.get("notification"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        peer_restarting: peer
            .and_then(|peer| peer.get("restart_state"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        peer_forwarding,
        flaps: neighbor.get("flaps").and_then(Value::as_u64).unwrap_or(0),
        last_error: neighbor
            .get("last_error")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

impl Host {
    /// The graceful restart view of every neighbor, sorted by address.
    pub fn graceful_restart_views(&self) -> Result<Vec<GracefulView>> {
        let neighbors = self.podroute_json(&["neighbors"])?;
        let list = neighbors.as_array().ok_or_else(|| Error::Parse {
            what: "podroute neighbors".into(),
            detail: neighbors.to_string(),
        })?;
        let mut views = list
            .iter()
            .map(|neighbor| {
                graceful_view(neighbor).ok_or_else(|| Error::Parse {
                    what: "podroute neighbors: graceful restart fields".into(),
                    detail: neighbor.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        views.sort_by_key(|view| view.address);
        Ok(views)
    }

    /// The graceful restart view of the neighbor `address`.
    pub fn graceful_restart_view(&self, address: IpAddr) -> Result<GracefulView> {
        self.graceful_restart_views()?
            .into_iter()
            .find(|view| view.address == address)
            .ok_or_else(|| Error::Environment(format!("{} has no neighbor {address}", self.name)))
    }

    /// `stale_routes` kept for the neighbor `address`.
    pub fn stale_routes_from(&self, address: IpAddr) -> Result<u64> {
        Ok(self.graceful_restart_view(address)?.stale_routes)
    }

    /// Stale routes kept for all neighbors together.
    pub fn stale_routes_total(&self) -> Result<u64> {
        Ok(self
            .graceful_restart_views()?
            .iter()
            .map(|view| view.stale_routes)
            .sum())
    }

    /// Whether podroute has finished its own restart: the kernel routes it
    /// adopted were swept (`podroute fib --json`, `initial_sweep_done`) and
    /// none of its installed routes is stale any more.
    pub fn restart_complete(&self) -> Result<bool> {
        let status = self.fib_status()?;
        let swept = status.get("initial_sweep_done").and_then(Value::as_bool) == Some(true);
        let none_stale = status
            .get("installed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .all(|route| route.get("stale").and_then(Value::as_bool) != Some(true));
        Ok(swept && none_stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_capability_and_stale_count_are_read() {
        let neighbor: Value = serde_json::from_str(
            r#"{"address":"198.18.5.12","state":"Established","stale_routes":3,"flaps":1,
                "last_error":"connection closed by peer",
                "graceful_restart":{"local":true,"notification":true,"peer":{"restart_time":120,
                "restart_state":true,"families":[{"family":"ipv6-unicast","forwarding_state":false},
                {"family":"ipv4-unicast","forwarding_state":true}]}}}"#,
        )
        .unwrap();
        let view = graceful_view(&neighbor).unwrap();
        assert_eq!(view.stale_routes, 3);
        assert!(view.peer_capable && view.peer_restarting && view.notification);
        assert_eq!(view.peer_forwarding, vec!["ipv4-unicast".to_string()]);
        assert_eq!(view.flaps, 1);
        let before_open: Value = serde_json::from_str(
            r#"{"address":"198.18.5.13","state":"Active","stale_routes":0,"graceful_restart":null,"last_error":null}"#,
        )
        .unwrap();
        let view = graceful_view(&before_open).unwrap();
        assert!(!view.peer_capable && !view.notification && view.peer_forwarding.is_empty());
        assert!(graceful_view(&serde_json::json!({"address": "x"})).is_none());
    }
}
