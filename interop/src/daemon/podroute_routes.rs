//! `podroute routes --json` (the Loc-RIB view of docs/api.md `GET /routes`)
//! parsed strictly into [`PodroutePrefix`] and [`PodroutePath`], then
//! reduced to the neutral [`Route`] every daemon shares.
//!
//! Flow: the CLI prints a list of prefixes, each with its paths best first
//! (then the rest of the multipath set, then the others). Each path names
//! its source (`"local"` or a peer), the peer's address, the received and
//! the sent ADD-PATH identifiers (RFC 7911), the next hop as a tagged
//! object (`ipv4`, or `ipv6` with an optional link-local address), the
//! path attributes after import policy, and its standing in the decision
//! process (`best`, `multipath`, `reachable`, and `lost_at` with
//! `--explain`). A field of that schema that goes missing fails the parse,
//! so a schema drift shows up as a red test instead of empty routes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::status::Route;

/// One prefix of `podroute routes --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PodroutePrefix {
    /// `a.b.c.d/len` or `x::/len`.
    pub prefix: String,
    /// Its paths: best first, then the multipath set, then the rest.
    pub paths: Vec<PodroutePath>,
}

/// One path of a prefix in podroute's Loc-RIB.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PodroutePath {
    /// `"local"` for an originated path, else an object naming the peer.
    pub source: Value,
    /// The address of the peer the path came from (`null` when local).
    pub peer_address: Option<IpAddr>,
    /// ADD-PATH identifier as received (RFC 7911 §3), 0 without ADD-PATH.
    pub path_id: u32,
    /// ADD-PATH identifier podroute sends for this path (RFC 7911 §3).
    pub local_path_id: u32,
    /// The next hop (`null`: podroute itself).
    pub next_hop: Option<PodrouteNextHop>,
    /// Path attributes after import policy (RFC 4271 §5).
    pub attributes: PodrouteAttributes,
    /// Selected by the decision process (RFC 4271 §9.1.2).
    pub best: bool,
    /// In the multipath (ECMP) set.
    pub multipath: bool,
    /// The next hop resolves (RFC 4271 §9.1.2.1).
    pub reachable: bool,
    /// With `--explain`: the decision step at which the path lost.
    #[serde(default)]
    pub lost_at: Option<String>,
}

/// A next hop from NEXT_HOP or MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PodrouteNextHop {
    /// An IPv4 next hop.
    Ipv4 {
        /// The address.
        address: Ipv4Addr,
    },
    /// An IPv6 global next hop with an optional link-local one.
    Ipv6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address, when the peer shares a link.
        link_local: Option<Ipv6Addr>,
    },
}

/// One AS_PATH segment (RFC 4271 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PodrouteAsPathSegment {
    /// `sequence`, `set`, `confed-sequence` or `confed-set`.
    pub kind: String,
    /// The AS numbers, four-octet (RFC 6793).
    pub asns: Vec<u32>,
}

/// The path attributes podroute reports (more fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PodrouteAttributes {
    /// ORIGIN (RFC 4271 §5.1.1): `igp`, `egp`, `incomplete`.
    pub origin: Option<String>,
    /// AS_PATH segments (RFC 4271 §5.1.2).
    pub as_path: Option<Vec<PodrouteAsPathSegment>>,
    /// NEXT_HOP attribute (RFC 4271 §5.1.3), IPv4 NLRI only.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub med: Option<u32>,
    /// LOCAL_PREF (RFC 4271 §5.1.5).
    pub local_pref: Option<u32>,
    /// Communities as `asn:value` (RFC 1997).
    pub communities: Vec<String>,
    /// ORIGINATOR_ID (RFC 4456 §8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456 §8), most recent first.
    pub cluster_list: Vec<Ipv4Addr>,
    /// Large communities as `global:local1:local2` (RFC 8092).
    pub large_communities: Vec<String>,
}

impl PodroutePath {
    /// Whether the path came from a peer rather than from `[[originate]]`.
    pub fn is_learned(&self) -> bool {
        self.source.as_str() != Some("local")
    }

    /// The next hops as text, global address first.
    pub fn next_hops(&self) -> Vec<String> {
        match self.next_hop {
            None => Vec::new(),
            Some(PodrouteNextHop::Ipv4 { address }) => vec![address.to_string()],
            Some(PodrouteNextHop::Ipv6 { global, link_local }) => std::iter::once(global)
                .chain(link_local)
                .map(|address| address.to_string())
                .collect(),
        }
    }

    /// The neutral view of this path of `prefix`.
    pub fn route(&self, prefix: &str) -> Route {
        let attributes = &self.attributes;
        let mut communities = attributes.communities.clone();
        communities.sort();
        let mut large_communities = attributes.large_communities.clone();
        large_communities.sort();
        Route {
            prefix: prefix.to_string(),
            next_hops: self.next_hops(),
            as_path: attributes
                .as_path
                .iter()
                .flatten()
                .flat_map(|segment| segment.asns.iter().copied())
                .collect(),
            local_pref: attributes.local_pref,
            med: attributes.med,
            communities,
            large_communities,
            best: self.best,
            learned: self.is_learned(),
            originator_id: attributes.originator_id.map(|id| id.to_string()),
            cluster_list: attributes
                .cluster_list
                .iter()
                .map(ToString::to_string)
                .collect(),
            multipath: self.multipath,
            peer: self.peer_address.map(|address| address.to_string()),
        }
    }
}

/// Parses `podroute routes --json` in full, refusing output that lacks a
/// field of the documented schema.
pub fn parse_prefixes(text: &str) -> Result<Vec<PodroutePrefix>> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: "podroute routes".to_string(),
        source,
    })
}

/// Parses `podroute routes --json` into one neutral [`Route`] per path.
pub fn parse_routes(text: &str) -> Result<Vec<Route>> {
    Ok(parse_prefixes(text)?
        .iter()
        .flat_map(|prefix| prefix.paths.iter().map(|path| path.route(&prefix.prefix)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `podroute routes --json` prints: a local path, a
    /// reflected one with ORIGINATOR_ID and CLUSTER_LIST, and an IPv6 path
    /// with a link-local next hop and `lost_at` from `--explain`.
    const ROUTES: &str = r#"[
      {"prefix":"198.19.2.0/24","paths":[
        {"source":"local","peer_address":null,"path_id":0,"local_path_id":1,"next_hop":null,
         "attributes":{"origin":"igp","as_path":[],"next_hop":null,"med":null,"local_pref":null,
           "atomic_aggregate":false,"aggregator":null,"communities":[],"originator_id":null,
           "cluster_list":[],"extended_communities":[],"large_communities":[],"unknown":[]},
         "best":true,"multipath":true,"reachable":true}]},
      {"prefix":"198.19.5.0/24","paths":[
        {"source":{"peer":3},"peer_address":"198.18.1.4","path_id":2,"local_path_id":7,
         "next_hop":{"kind":"ipv4","address":"198.18.1.5"},
         "attributes":{"origin":"igp","as_path":[{"kind":"sequence","asns":[65001,4200000001]}],
           "next_hop":"198.18.1.5","med":10,"local_pref":100,"atomic_aggregate":false,
           "aggregator":null,"communities":["65001:7","64512:100"],"originator_id":"198.19.0.5",
           "cluster_list":["198.19.255.1","198.19.255.2"],"extended_communities":[],
           "large_communities":["64512:1:2"],"unknown":[]},
         "best":false,"multipath":true,"reachable":true}]},
      {"prefix":"2001:db8:5::/48","paths":[
        {"source":{"peer":4},"peer_address":"2001:db8:1::4","path_id":0,"local_path_id":2,
         "next_hop":{"kind":"ipv6","global":"2001:db8:1::4","link_local":"fe80::1"},
         "attributes":{"origin":"incomplete","as_path":null,"next_hop":null,"med":null,
           "local_pref":100,"communities":[],"originator_id":null,"cluster_list":[],
           "large_communities":[]},
         "best":false,"multipath":false,"reachable":false,"lost_at":"router-id"}]}
    ]"#;

    #[test]
    fn every_path_keeps_its_reflection_attributes() {
        let routes = parse_routes(ROUTES).unwrap();
        assert_eq!(routes.len(), 3);
        let local = &routes[0];
        assert!(!local.learned && local.best && local.next_hops.is_empty());
        assert_eq!(local.originator_id, None);
        assert!(local.cluster_list.is_empty());
        assert_eq!(local.peer, None);
        let reflected = &routes[1];
        assert!(reflected.learned && reflected.multipath && !reflected.best);
        assert_eq!(reflected.originator_id.as_deref(), Some("198.19.0.5"));
        assert_eq!(reflected.cluster_list, vec!["198.19.255.1", "198.19.255.2"]);
        assert_eq!(reflected.as_path, vec![65001, 4_200_000_001]);
        assert_eq!(reflected.next_hops, vec!["198.18.1.5"]);
        assert_eq!(reflected.communities, vec!["64512:100", "65001:7"]);
        assert_eq!(reflected.large_communities, vec!["64512:1:2"]);
        assert_eq!((reflected.med, reflected.local_pref), (Some(10), Some(100)));
        assert_eq!(reflected.peer.as_deref(), Some("198.18.1.4"));
        let ipv6 = &routes[2];
        assert_eq!(ipv6.next_hops, vec!["2001:db8:1::4", "fe80::1"]);
        assert!(ipv6.as_path.is_empty());
    }

    #[test]
    fn full_view_keeps_path_identifiers_and_explanations() {
        let prefixes = parse_prefixes(ROUTES).unwrap();
        let path = &prefixes[1].paths[0];
        assert_eq!((path.path_id, path.local_path_id), (2, 7));
        assert!(path.is_learned() && path.reachable);
        assert_eq!(prefixes[2].paths[0].lost_at.as_deref(), Some("router-id"));
        assert!(!prefixes[2].paths[0].reachable);
        assert_eq!(prefixes[0].paths[0].lost_at, None);
    }

    #[test]
    fn a_path_missing_a_schema_field_is_refused() {
        let without_multipath = ROUTES.replacen("\"multipath\":true,", "", 1);
        assert!(parse_prefixes(&without_multipath).is_err());
        let without_cluster_list = ROUTES.replacen("\"cluster_list\":[],", "", 1);
        assert!(parse_routes(&without_cluster_list).is_err());
        assert!(parse_routes("{\"error\":\"stopped\"}").is_err());
        assert!(parse_routes("[]").unwrap().is_empty());
    }
}
