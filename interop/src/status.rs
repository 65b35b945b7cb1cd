//! What the lab reads back from a daemon, in one neutral shape whatever the
//! daemon: the session state of each neighbor and the routes in its RIB.
//! The parsers in [`crate::daemon`] fill these from BIRD's text, FRR's JSON,
//! GoBGP's JSON and podroute's JSON.

use std::net::IpAddr;

/// One neighbor as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborStatus {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS.
    pub remote_asn: Option<u32>,
    /// RFC 4271 §8.2.2 state name: `Idle`, `Connect`, `Active`, `OpenSent`,
    /// `OpenConfirm` or `Established`.
    pub state: String,
    /// The peer's BGP identifier, once known.
    pub router_id: Option<String>,
    /// The daemon's own words for why the session last failed (a
    /// NOTIFICATION sent or received, a socket error), when it keeps one:
    /// BIRD's `Last error:`, FRR's `lastNotificationReason` (else
    /// `lastResetDueTo`), podroute's `last_error`. GoBGP keeps none in its
    /// API; its log has the NOTIFICATIONs.
    pub last_error: Option<String>,
}

impl NeighborStatus {
    /// Whether the session is up.
    pub fn is_established(&self) -> bool {
        self.state == "Established"
    }
}

/// One path in a daemon's RIB.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// The prefix, `a.b.c.d/len` or `x::/len`.
    pub prefix: String,
    /// Next hops, global address first.
    pub next_hops: Vec<String>,
    /// AS_PATH flattened (sets are rare in the lab and kept in order).
    pub as_path: Vec<u32>,
    /// LOCAL_PREF if present.
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC if present.
    pub med: Option<u32>,
    /// RFC 1997 communities as `asn:value`, sorted.
    pub communities: Vec<String>,
    /// RFC 8092 large communities as `a:b:c`, sorted.
    pub large_communities: Vec<String>,
    /// Whether the daemon selected this path as best.
    pub best: bool,
    /// Whether the path was learned from a BGP peer (not local).
    pub learned: bool,
    /// ORIGINATOR_ID (RFC 4456 §8): the router id of the path's originator
    /// inside the AS, set by the first route reflector on the way.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST (RFC 4456 §8): the cluster ids of the reflectors the
    /// path passed, most recent first.
    pub cluster_list: Vec<String>,
    /// Whether the daemon put this path in its multipath (ECMP) set; the
    /// best path counts when the set has more than one member. BIRD's text
    /// does not say, so its parser leaves this false.
    pub multipath: bool,
    /// The address of the peer the path was learned from, when the daemon
    /// names it (`None` for local paths).
    pub peer: Option<String>,
}

/// Normalises a state name from any daemon's spelling to RFC 4271's.
pub fn normalise_state(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let name = match lower.as_str() {
        "idle" | "down" => "Idle",
        "connect" => "Connect",
        "active" => "Active",
        "opensent" => "OpenSent",
        "openconfirm" => "OpenConfirm",
        "established" => "Established",
        _ => return raw.trim().to_string(),
    };
    name.to_string()
}

/// GoBGP's numeric session states (its API's `PeerState.SessionState`).
pub fn gobgp_state_name(value: u64) -> String {
    match value {
        1 => "Idle",
        2 => "Connect",
        3 => "Active",
        4 => "OpenSent",
        5 => "OpenConfirm",
        6 => "Established",
        _ => "Unknown",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_normalised() {
        assert_eq!(normalise_state("ESTABLISHED"), "Established");
        assert_eq!(normalise_state("opensent"), "OpenSent");
        assert_eq!(gobgp_state_name(6), "Established");
        assert_eq!(gobgp_state_name(3), "Active");
    }
}
