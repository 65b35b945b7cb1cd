//! podroute's TOML (docs/configuration.md) rendered from the same neutral
//! [`RouterSpec`] the other daemons are configured from, plus what only
//! podroute has in the lab: `[[listen_range]]` dynamic neighbors.
//!
//! Flow: the spec's router fields become `[router]`, each [`NeighborSpec`]
//! one `[[neighbor]]`, each [`ListenRange`] one `[[listen_range]]`. The FIB
//! is switched off (the lab asserts sessions, and a container's kernel
//! table is not the point here). `connect_retry` is the spec's (2 s unless
//! a test says otherwise), podroute's cap for its retry backoff, so that a
//! session repaired after a fault comes back within seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::spec::{Family, NeighborSpec, RouterSpec};

/// `max_prefixes = { limit, action, restart_after }` of one neighbor: the
/// RFC 4486 Cease / Maximum Number of Prefixes Reached (6/1) guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPrefixes {
    /// Prefixes accepted after import policy, all families together.
    pub limit: u32,
    /// `true`: tear the session down (Cease 6/1); `false`: log only.
    pub teardown: bool,
    /// Seconds before podroute connects again after a teardown.
    pub restart_after: Option<u32>,
}

/// What only podroute's config has for one neighbor, beyond the neutral
/// [`NeighborSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodrouteNeighborOptions {
    /// Import policy name (`all`, `none`, `originated` or a `[[policy]]`);
    /// `None` keeps podroute's default (RFC 8212: `none` for eBGP).
    pub import: Option<String>,
    /// Export policy name, as `import`.
    pub export: Option<String>,
    /// ADD-PATH receive (RFC 7911).
    pub add_path_receive: bool,
    /// ADD-PATH send: most paths per prefix advertised (0: best only).
    pub add_path_send: u8,
    /// The prefix limit, if any.
    pub max_prefixes: Option<MaxPrefixes>,
}

/// podroute-only settings rendered beside a [`RouterSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodrouteOptions {
    /// Per-neighbor settings, by the neighbor's address.
    pub neighbors: BTreeMap<IpAddr, PodrouteNeighborOptions>,
}

impl PodrouteOptions {
    /// The options of `address`, created empty on first use.
    pub fn neighbor(&mut self, address: IpAddr) -> &mut PodrouteNeighborOptions {
        self.neighbors.entry(address).or_default()
    }
}

/// One `[[listen_range]]`: accept sessions from any address in `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRange {
    /// `a.b.c.d/len` or `x::/len`, no host bits.
    pub prefix: String,
    /// The peers' AS.
    pub asn: u32,
    /// Accepted peers are route-reflector clients (RFC 4456).
    pub route_reflector_client: bool,
}

impl ListenRange {
    /// A range of peers in one AS, not reflector clients.
    pub fn new(prefix: &str, asn: u32) -> ListenRange {
        ListenRange {
            prefix: prefix.to_string(),
            asn,
            route_reflector_client: false,
        }
    }
}

/// A TOML basic string: quotes and backslashes escaped.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    }
}

fn render_neighbor(text: &mut String, neighbor: &NeighborSpec) {
    let _ = writeln!(
        text,
        "\n[[neighbor]]\naddress = {}\nasn = {}\nhold_time = {}\nconnect_retry = {}",
        quoted(&neighbor.address.to_string()),
        neighbor.asn,
        neighbor.hold_time,
        neighbor.connect_retry
    );
    let families: Vec<String> = neighbor
        .effective_families()
        .into_iter()
        .map(|family| quoted(family_name(family)))
        .collect();
    let _ = writeln!(text, "families = [{}]", families.join(", "));
    if let Some(password) = &neighbor.password {
        let _ = writeln!(text, "password = {}", quoted(password));
    }
    if neighbor.ttl_security {
        // RFC 5082 for a directly connected peer: one hop.
        text.push_str("ttl_security = 1\n");
    }
    if let Some(ttl) = neighbor.multihop {
        let _ = writeln!(text, "multihop = {ttl}");
    }
    if neighbor.route_reflector_client {
        text.push_str("route_reflector_client = true\n");
    }
}

fn render_neighbor_options(text: &mut String, options: &PodrouteNeighborOptions) {
    if let Some(import) = &options.import {
        let _ = writeln!(text, "import = {}", quoted(import));
    }
    if let Some(export) = &options.export {
        let _ = writeln!(text, "export = {}", quoted(export));
    }
    if options.add_path_receive || options.add_path_send > 0 {
        let _ = writeln!(
            text,
            "add_path = {{ receive = {}, send = {} }}",
            options.add_path_receive, options.add_path_send
        );
    }
    if let Some(limit) = &options.max_prefixes {
        let action = if limit.teardown { "teardown" } else { "warn" };
        let _ = write!(
            text,
            "max_prefixes = {{ limit = {}, action = {}",
            limit.limit,
            quoted(action)
        );
        if let Some(seconds) = limit.restart_after {
            let _ = write!(text, ", restart_after = {seconds}");
        }
        text.push_str(" }\n");
    }
}

/// Renders a complete podroute configuration.
pub fn render(spec: &RouterSpec, listen_ranges: &[ListenRange]) -> String {
    render_with_options(spec, listen_ranges, &PodrouteOptions::default())
}

/// Renders a complete podroute configuration with podroute-only settings.
pub fn render_with_options(
    spec: &RouterSpec,
    listen_ranges: &[ListenRange],
    options: &PodrouteOptions,
) -> String {
    let mut text = format!(
        "# Generated by the podroute lab.\n[router]\nasn = {}\nrouter_id = {}\n",
        spec.asn,
        quoted(&spec.router_id.to_string())
    );
    if let Some(cluster) = spec.cluster_id {
        let _ = writeln!(text, "cluster_id = {}", quoted(&cluster.to_string()));
    }
    if let Some(paths) = spec.max_paths {
        let _ = writeln!(text, "max_paths = {paths}");
    }
    text.push_str("\n[fib]\nenabled = false\n");
    if spec.graceful_restart {
        text.push_str("\n[graceful_restart]\nenabled = true\n");
    }
    for origination in &spec.originate {
        let _ = writeln!(
            text,
            "\n[[originate]]\nprefix = {}",
            quoted(&origination.prefix)
        );
    }
    for neighbor in &spec.neighbors {
        render_neighbor(&mut text, neighbor);
        if let Some(extra) = options.neighbors.get(&neighbor.address) {
            render_neighbor_options(&mut text, extra);
        }
    }
    for range in listen_ranges {
        let _ = writeln!(
            text,
            "\n[[listen_range]]\nprefix = {}\nasn = {}\nroute_reflector_client = {}",
            quoted(&range.prefix),
            range.asn,
            range.route_reflector_client
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbors_and_ranges_are_rendered() {
        let mut spec = RouterSpec::new(64512, "198.18.1.2".parse().unwrap(), None);
        let mut secured = NeighborSpec::new("198.18.1.3".parse().unwrap(), 65002);
        secured.password = Some("se\"cret".into());
        secured.ttl_security = true;
        secured.hold_time = 6;
        spec.neighbors.push(secured);
        spec.neighbors
            .push(NeighborSpec::new("2001:db8:1::4".parse().unwrap(), 64512));
        let text = render(&spec, &[ListenRange::new("198.18.1.0/28", 64512)]);
        assert!(
            text.contains("asn = 64512\nrouter_id = \"198.18.1.2\"\n"),
            "{text}"
        );
        assert!(text.contains(
            "address = \"198.18.1.3\"\nasn = 65002\nhold_time = 6\nconnect_retry = 2\nfamilies = [\"ipv4\"]\npassword = \"se\\\"cret\"\nttl_security = 1\n"
        ), "{text}");
        assert!(
            text.contains("address = \"2001:db8:1::4\"\nasn = 64512\nhold_time = 90"),
            "{text}"
        );
        assert!(text.contains("families = [\"ipv6\"]"), "{text}");
        assert!(text.contains(
            "[[listen_range]]\nprefix = \"198.18.1.0/28\"\nasn = 64512\nroute_reflector_client = false"
        ), "{text}");
    }

    #[test]
    fn podroute_only_options_follow_their_neighbor() {
        let mut spec = RouterSpec::new(64512, "198.18.1.2".parse().unwrap(), None);
        spec.max_paths = Some(2);
        spec.cluster_id = Some("198.19.255.1".parse().unwrap());
        let first: IpAddr = "198.18.1.3".parse().unwrap();
        let second: IpAddr = "198.18.1.4".parse().unwrap();
        spec.neighbors.push(NeighborSpec::new(first, 65001));
        spec.neighbors.push(NeighborSpec::new(second, 64512));
        let mut options = PodrouteOptions::default();
        let limited = options.neighbor(first);
        limited.import = Some("all".into());
        limited.export = Some("none".into());
        limited.max_prefixes = Some(MaxPrefixes {
            limit: 3,
            teardown: true,
            restart_after: Some(5),
        });
        options.neighbor(second).add_path_send = 2;
        let text = render_with_options(&spec, &[], &options);
        assert!(
            text.contains("cluster_id = \"198.19.255.1\"\nmax_paths = 2\n"),
            "{text}"
        );
        assert!(text.contains(
            "families = [\"ipv4\"]\nimport = \"all\"\nexport = \"none\"\nmax_prefixes = { limit = 3, action = \"teardown\", restart_after = 5 }\n\n[[neighbor]]\naddress = \"198.18.1.4\""
        ), "{text}");
        assert!(
            text.ends_with("add_path = { receive = false, send = 2 }\n"),
            "{text}"
        );
        assert_eq!(
            render(&spec, &[]),
            render_with_options(&spec, &[], &PodrouteOptions::default())
        );
        assert!(!render(&spec, &[]).contains("add_path"));
    }
}
