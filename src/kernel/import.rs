//! `[[import_kernel]]`: kernel routes that BGP advertises as this host's own,
//! such as the routes a CNI plugin installs for local pods or a container
//! bridge's subnet.
//!
//! [`ImportFilter`] decides, route by route, what qualifies: the table, the
//! installing protocol (never podroute's own), and the prefix lists. Block
//! semantics as Calico applies them: a route inside one of the host's
//! originated blocks is not advertised on its own, since the block already
//! covers it; a route outside every block (an address this host uses
//! elsewhere) is. [`spawn_importer`] keeps the set current from a snapshot
//! and then route events (no polling), and sends the whole set whenever it
//! changes.

use std::collections::BTreeSet;

use fib::{KernelRoute, KernelRouteType, NetlinkFib, Notification, RouteEventKind};
use ipnetwork::IpNetwork;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Which kernel routes are imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFilter {
    /// The configured `[[import_kernel]]` entries.
    pub entries: Vec<config::ImportKernel>,
    /// podroute's own `rtm_protocol`: its routes are never re-imported.
    pub own_protocol: u8,
    /// The host's originated blocks: routes inside them are not advertised
    /// separately.
    pub blocks: Vec<IpNetwork>,
}

/// A kernel route as the import set tracks it: the same prefix may be in
/// the table several times (other metrics or protocols).
type ImportKey = (IpNetwork, u32, u8, u32);

impl ImportFilter {
    /// The filter of a configuration.
    pub fn from_config(config: &config::Config) -> ImportFilter {
        ImportFilter {
            entries: config.import_kernel.clone(),
            own_protocol: config.fib.protocol,
            blocks: config
                .originate
                .iter()
                .map(|originate| originate.prefix)
                .collect(),
        }
    }

    /// Whether `route` is advertised.
    pub fn matches(&self, route: &KernelRoute) -> bool {
        if route.route_type != KernelRouteType::Unicast || route.protocol == self.own_protocol {
            return false;
        }
        if self.blocks.iter().any(|block| covers(block, &route.prefix)) {
            return false;
        }
        self.entries.iter().any(|entry| {
            entry.table == route.table
                && (entry.protocols.is_empty()
                    || entry
                        .protocols
                        .iter()
                        .any(|protocol| protocol.0 == route.protocol))
                && entry
                    .prefixes
                    .iter()
                    .any(|filter| filter.matches(&route.prefix))
        })
    }
}

/// Whether `block` contains all of `prefix` (or is it).
fn covers(block: &IpNetwork, prefix: &IpNetwork) -> bool {
    block.is_ipv4() == prefix.is_ipv4()
        && block.prefix() <= prefix.prefix()
        && block.contains(prefix.network())
}

fn key(route: &KernelRoute) -> ImportKey {
    (route.prefix, route.metric, route.protocol, route.table)
}

/// Watches the kernel and sends the set of imported prefixes each time it
/// changes (first after the initial snapshot). Ends when `sender` is closed.
pub fn spawn_importer(
    filter: ImportFilter,
    sender: mpsc::UnboundedSender<BTreeSet<IpNetwork>>,
) -> std::io::Result<JoinHandle<()>> {
    let fib = NetlinkFib::new(fib::NetlinkFibConfig::default())?;
    // Subscribe before the snapshot so nothing between the two is missed.
    let mut monitor = fib.watch()?;
    Ok(tokio::spawn(async move {
        let mut present: BTreeSet<ImportKey> = BTreeSet::new();
        let mut sent: Option<BTreeSet<IpNetwork>> = None;
        let mut resync = true;
        loop {
            if resync {
                match fib.snapshot(None).await {
                    Ok(routes) => {
                        present = routes
                            .iter()
                            .filter(|route| filter.matches(route))
                            .map(key)
                            .collect();
                        resync = false;
                    }
                    Err(error) => {
                        warn!(%error, "[[import_kernel]]: cannot list kernel routes; retrying")
                    }
                }
            }
            let prefixes: BTreeSet<IpNetwork> =
                present.iter().map(|(prefix, ..)| *prefix).collect();
            if sent.as_ref() != Some(&prefixes) {
                info!(
                    prefixes = prefixes.len(),
                    "[[import_kernel]]: advertising kernel routes"
                );
                if sender.send(prefixes.clone()).is_err() {
                    return;
                }
                sent = Some(prefixes);
            }
            let waited = if resync {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            } else {
                monitor.next().await
            };
            match waited {
                None => return,
                Some(Notification::EventsLost) => resync = true,
                Some(Notification::Route(event)) => {
                    if !filter.matches(&event.route) {
                        continue;
                    }
                    match event.kind {
                        RouteEventKind::Added | RouteEventKind::Changed => {
                            present.insert(key(&event.route))
                        }
                        RouteEventKind::Deleted => present.remove(&key(&event.route)),
                    };
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, protocol: u8, table: u32) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            table,
            protocol,
            metric: 0,
            scope: 0,
            route_type: KernelRouteType::Unicast,
            next_hops: Vec::new(),
        }
    }

    fn filter() -> ImportFilter {
        let config = config::Config::from_str(
            r#"
[router]
asn = 64512
router_id = "198.18.0.1"

[[originate]]
prefix = "198.19.1.0/24"

[[import_kernel]]
prefixes = [{ prefix = "198.19.0.0/16", ge = 24, le = 32 }, "172.17.0.0/16"]
protocols = ["static", "kernel"]
"#,
            "test.toml",
        )
        .unwrap();
        ImportFilter::from_config(&config)
    }

    #[test]
    fn routes_qualify_by_table_protocol_and_prefix() {
        let filter = filter();
        assert!(
            filter.matches(&route("198.19.200.5/32", 4, 254)),
            "static host route"
        );
        assert!(
            filter.matches(&route("172.17.0.0/16", 2, 254)),
            "a container bridge's connected subnet"
        );
        assert!(
            !filter.matches(&route("198.19.200.5/32", 4, 100)),
            "another table"
        );
        assert!(
            !filter.matches(&route("198.19.200.5/32", 3, 254)),
            "protocol boot is not listed"
        );
        assert!(
            !filter.matches(&route("198.19.0.0/23", 4, 254)),
            "shorter than ge 24"
        );
        assert!(
            !filter.matches(&route("203.0.113.0/24", 4, 254)),
            "outside every prefix list"
        );
    }

    #[test]
    fn podroutes_own_routes_and_routes_inside_the_hosts_blocks_are_never_imported() {
        let filter = filter();
        assert!(
            !filter.matches(&route("198.19.200.5/32", 201, 254)),
            "our own protocol"
        );
        assert!(
            !filter.matches(&route("198.19.1.7/32", 4, 254)),
            "inside the originated block"
        );
        assert!(
            !filter.matches(&route("198.19.1.0/24", 4, 254)),
            "the block itself"
        );
        let mut blackhole = route("198.19.200.6/32", 4, 254);
        blackhole.route_type = KernelRouteType::Blackhole;
        assert!(!filter.matches(&blackhole), "only unicast routes");
    }

    #[test]
    fn the_same_prefix_at_two_metrics_is_two_routes_and_one_prefix() {
        let mut second = route("198.19.200.5/32", 2, 254);
        second.metric = 100;
        let first = route("198.19.200.5/32", 4, 254);
        assert_ne!(key(&first), key(&second), "deleting one keeps the other");
        assert_eq!(key(&first).0, key(&second).0);
    }
}
