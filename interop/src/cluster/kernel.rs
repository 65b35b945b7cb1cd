//! Reading a host's kernel: `ip route show` text parsed into
//! [`KernelRoute`]s (prefix, type, next hops, protocol, metric), and
//! `ip -d link show` text searched for tunnel devices.
//!
//! Flow: [`crate::cluster::Host`] runs `ip` inside the container and hands
//! the text to [`parse_routes`] / [`tunnel_devices`]; tests compare the
//! parsed values (one route per prefix, the expected gateways), never raw
//! text, so iproute2's column order does not matter.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Route types iproute2 prints before the destination.
const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "local",
    "broadcast",
    "throw",
    "nat",
    "anycast",
    "multicast",
];

/// Link kinds that encapsulate packets (overlay networks); a cluster routed
/// by podroute must have none.
pub const TUNNEL_KINDS: &[&str] = &[
    "vxlan",
    "ipip",
    "geneve",
    "gre",
    "gretap",
    "ip6gre",
    "ip6tnl",
    "sit",
    "wireguard",
    "fou",
];

/// One route as `ip route show` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelRoute {
    /// Destination with its length (`/32` added where iproute2 omits it).
    pub prefix: String,
    /// `unicast` unless iproute2 printed another type (`blackhole`).
    pub kind: String,
    /// Gateways, sorted: one for a plain route, several for ECMP.
    pub gateways: Vec<IpAddr>,
    /// Output devices, in the order printed.
    pub devices: Vec<String>,
    /// `proto` as printed: a number (`201`) or a name (`kernel`, `bird`).
    pub protocol: String,
    /// `metric`, 0 when absent.
    pub metric: u32,
    /// The route's text, nexthop lines included, for failure messages.
    pub text: String,
}

fn with_length(destination: &str) -> String {
    if destination.contains('/') || destination == "default" {
        return destination.to_string();
    }
    if destination.contains(':') {
        format!("{destination}/128")
    } else {
        format!("{destination}/32")
    }
}

/// Reads the `via` and `dev` words of one line into the route.
fn read_hops(route: &mut KernelRoute, words: &[&str]) {
    for pair in words.windows(2) {
        if let [key, value] = pair {
            match *key {
                "via" => {
                    if let Ok(gateway) = value.parse::<IpAddr>() {
                        route.gateways.push(gateway);
                    }
                }
                "dev" => route.devices.push((*value).to_string()),
                "proto" => route.protocol = (*value).to_string(),
                "metric" => route.metric = value.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
}

/// Parses `ip route show` output. Continuation lines (`nexthop via ...`,
/// indented) belong to the route above them.
pub fn parse_routes(text: &str) -> Vec<KernelRoute> {
    let mut routes: Vec<KernelRoute> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with(char::is_whitespace) {
            if let Some(route) = routes.last_mut() {
                read_hops(route, &words);
                route.text.push('\n');
                route.text.push_str(line.trim_end());
            }
            continue;
        }
        let (kind, rest) = match words.split_first() {
            Some((first, rest)) if ROUTE_TYPES.contains(first) => ((*first).to_string(), rest),
            _ => ("unicast".to_string(), words.as_slice()),
        };
        let Some((destination, attributes)) = rest.split_first() else {
            continue;
        };
        let mut route = KernelRoute {
            prefix: with_length(destination),
            kind,
            gateways: Vec::new(),
            devices: Vec::new(),
            protocol: String::new(),
            metric: 0,
            text: line.trim_end().to_string(),
        };
        read_hops(&mut route, attributes);
        routes.push(route);
    }
    for route in &mut routes {
        route.gateways.sort();
    }
    routes
}

/// Prefixes that appear more than once, with their count: a duplicate of
/// podroute's route (same prefix twice under protocol 201) is a bug.
pub fn duplicated_prefixes(routes: &[KernelRoute]) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for route in routes {
        *counts.entry(route.prefix.clone()).or_default() += 1;
    }
    counts.retain(|_, count| *count > 1);
    counts
}

/// Devices of `ip -d link show` output whose kind is a tunnel, as
/// `name (kind)`. The kind is the first word of a device's third line in
/// iproute2's detailed output, and also appears after `link/` for some
/// (`link/ipip`, `link/gre`), so both are checked.
pub fn tunnel_devices(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if !line.starts_with(char::is_whitespace) {
            // "3: eth0@if12: <...>" names the device.
            current = trimmed
                .split(':')
                .nth(1)
                .map(|name| {
                    name.trim()
                        .split('@')
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .unwrap_or_default();
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let kind = match words.first() {
            Some(word) if word.starts_with("link/") => word.trim_start_matches("link/"),
            Some(word) => word,
            None => continue,
        };
        if TUNNEL_KINDS.contains(&kind) {
            let entry = format!("{current} ({kind})");
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = "\
default via 198.18.5.1 dev eth0 proto static metric 5
blackhole 198.19.1.0/24 proto 201 metric 20
198.19.2.0/24 via 198.18.5.12 dev eth0 proto 201 metric 20
198.19.255.1 proto 201 metric 20
\tnexthop via 198.18.5.11 dev eth0 weight 1
\tnexthop via 198.18.5.12 dev eth0 weight 1
198.18.5.0/24 dev eth0 proto kernel scope link src 198.18.5.13
198.19.2.0/24 via 198.18.5.12 dev eth0 proto 201 metric 20
";

    #[test]
    fn plain_blackhole_and_multipath_routes_are_read() {
        let routes = parse_routes(ROUTES);
        assert_eq!(routes.len(), 6);
        assert_eq!(routes[0].prefix, "default");
        assert_eq!(routes[0].protocol, "static");
        assert_eq!(routes[1].kind, "blackhole");
        assert_eq!(routes[1].prefix, "198.19.1.0/24");
        assert!(routes[1].gateways.is_empty());
        assert_eq!(
            routes[2].gateways,
            vec!["198.18.5.12".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(routes[2].metric, 20);
        assert_eq!(routes[3].prefix, "198.19.255.1/32");
        assert_eq!(
            routes[3].gateways,
            vec![
                "198.18.5.11".parse::<IpAddr>().unwrap(),
                "198.18.5.12".parse().unwrap()
            ]
        );
        assert!(routes[3].text.contains("nexthop via 198.18.5.12"));
        assert_eq!(routes[4].protocol, "kernel");
    }

    #[test]
    fn a_prefix_listed_twice_is_a_duplicate() {
        let duplicates = duplicated_prefixes(&parse_routes(ROUTES));
        assert_eq!(duplicates.len(), 1);
        assert_eq!(duplicates.get("198.19.2.0/24"), Some(&2));
    }

    #[test]
    fn tunnel_devices_are_found_and_plain_links_are_not() {
        let links = "\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0
2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default
    link/ether 02:42:c6:12:05:0b brd ff:ff:ff:ff:ff:ff link-netnsid 0 promiscuity 0
    veth addrgenmode eui64 numtxqueues 1
3: vxlan0: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether 6a:1b:aa:00:00:01 brd ff:ff:ff:ff:ff:ff promiscuity 0
    vxlan id 4 dstport 4789 srcport 0 0 ttl auto ageing 300
4: tunl0@NONE: <NOARP> mtu 1480 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ipip 0.0.0.0 brd 0.0.0.0 promiscuity 0
    ipip any remote any local any ttl inherit nopmtudisc
";
        assert_eq!(
            tunnel_devices(links),
            vec!["vxlan0 (vxlan)".to_string(), "tunl0 (ipip)".to_string()]
        );
        let plain: String = links.lines().take(6).map(|l| format!("{l}\n")).collect();
        assert!(tunnel_devices(&plain).is_empty());
    }
}
