//! From the validated TOML [`config::Config`] to what the speaker runs:
//! one [`SessionConfig`] and transport per neighbor and listen range.
//!
//! This is the one place that knows both vocabularies; the `bgp` crate never
//! sees the config crate's types.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use bgp::rib::{self, RibSettings};
use bgp::session::{ExpectedPeerAs, LocalCapabilities, SessionConfig};
use bgp::speaker::transport::TransportSettings;
use bgp::speaker::{ListenRangeSettings, NeighborRouting, NeighborSettings, SpeakerConfig};
use bgp::wire::{
    AddPathMode, Afi, ExtendedNextHopEntry, Family, GracefulRestart, GracefulRestartFamily,
};
use config::{Config, Neighbor};

/// The first connect retry interval; the configured `connect_retry` is the cap
/// the backoff grows to.
const FIRST_CONNECT_RETRY: Duration = Duration::from_secs(5);

/// The speaker configuration for a daemon configuration.
pub fn speaker_config(config: &Config) -> SpeakerConfig {
    let neighbors = config
        .neighbors
        .iter()
        .map(|neighbor| neighbor_settings(config, neighbor))
        .collect();
    let listen_ranges = config
        .listen_ranges
        .iter()
        .map(|range| {
            let template = config::Neighbor {
                address: range.prefix.network(),
                asn: range
                    .asns
                    .iter()
                    .next()
                    .copied()
                    .unwrap_or(config.router.asn),
                description: Some(format!("dynamic neighbor from {}", range.prefix)),
                route_reflector_client: range.route_reflector_client,
                passive: true,
                password: range.password.clone(),
                import: range.import.clone(),
                export: range.export.clone(),
                ..default_neighbor(config)
            };
            let mut settings = neighbor_settings(config, &template);
            settings.session.peer_as = match range.asns.len() {
                0 => ExpectedPeerAs::Any,
                1 => ExpectedPeerAs::Exact(template.asn),
                _ => ExpectedPeerAs::OneOf(range.asns.clone()),
            };
            ListenRangeSettings {
                prefix: range.prefix,
                template: settings,
                max_neighbors: range
                    .max_neighbors
                    .and_then(|limit| usize::try_from(limit).ok()),
            }
        })
        .collect();
    SpeakerConfig {
        local_as: config.router.asn,
        router_id: config.router.router_id,
        listen: config.router.listen.clone(),
        neighbors,
        listen_ranges,
        connection: Default::default(),
        rib: rib_settings(config),
        originate: config
            .originate
            .iter()
            .map(|originate| originate.prefix)
            .collect(),
        restarting: None,
        stale_time: config.graceful_restart.stale_time,
        host_addresses: Vec::new(),
    }
}

/// Marks the speaker as restarting with its forwarding state kept (RFC 4724
/// §4.1): every neighbor's graceful restart capability gets the Restart
/// State bit, and the Forwarding State bit for each family with routes still
/// in the kernel; advertisement waits for End-of-RIB (selection deferral).
pub fn mark_restarting(speaker: &mut SpeakerConfig, config: &Config, kept: &BTreeSet<Family>) {
    speaker.restarting = Some(config.graceful_restart.selection_deferral_time);
    let templates = speaker
        .listen_ranges
        .iter_mut()
        .map(|range| &mut range.template);
    for neighbor in speaker.neighbors.iter_mut().chain(templates) {
        if let Some(restart) = neighbor.session.capabilities.graceful_restart.as_mut() {
            restart.restart_state = true;
            for family in &mut restart.families {
                family.forwarding_state = kept.contains(&family.family);
            }
        }
    }
}

/// The decision process, reflection and policy settings of `[router]` and
/// `[[policy]]`.
fn rib_settings(config: &Config) -> RibSettings {
    let mut settings = RibSettings::new(config.router.asn, config.router.router_id);
    settings.cluster_id = config.router.cluster_id;
    settings.max_paths = u8::try_from(config.router.max_paths)
        .unwrap_or(u8::MAX)
        .max(1);
    settings.relax_as_path = config.router.relax_as_path;
    settings.always_compare_med = config.router.always_compare_med;
    settings.coalesce_window = config.router.update_delay;
    settings.policies = config
        .policies
        .iter()
        .map(|(name, policy)| (name.clone(), rib_policy(policy)))
        .collect();
    settings
}

fn rib_policy(policy: &config::Policy) -> rib::Policy {
    let large = |communities: &BTreeSet<config::LargeCommunity>| {
        communities
            .iter()
            .map(|community| bgp::wire::LargeCommunity {
                global_admin: community.global,
                local_data_1: community.local1,
                local_data_2: community.local2,
            })
            .collect()
    };
    let plain = |communities: &BTreeSet<config::Community>| {
        communities.iter().map(|community| community.0).collect()
    };
    rib::Policy {
        name: policy.name.clone(),
        terms: policy
            .terms
            .iter()
            .map(|term| rib::Term {
                name: term.name.clone(),
                matches: rib::TermMatch {
                    prefixes: term
                        .matches
                        .prefixes
                        .iter()
                        .map(|filter| rib::PrefixFilter {
                            prefix: filter.prefix,
                            ge: filter.ge,
                            le: filter.le,
                        })
                        .collect(),
                    communities: plain(&term.matches.communities),
                    large_communities: large(&term.matches.large_communities),
                    as_path_length: term.matches.as_path_length.map(|length| rib::AsPathLength {
                        min: length.min,
                        max: length.max,
                    }),
                    neighbors: term.matches.neighbors.clone(),
                },
                set: rib::TermSet {
                    local_pref: term.set.local_pref,
                    med: term.set.med,
                    add_communities: plain(&term.set.add_communities),
                    remove_communities: plain(&term.set.remove_communities),
                    add_large_communities: large(&term.set.add_large_communities),
                    remove_large_communities: large(&term.set.remove_large_communities),
                    prepend_as: term.set.prepend_as,
                },
                action: match term.action {
                    config::PolicyAction::Accept => rib::PolicyAction::Accept,
                    config::PolicyAction::Reject => rib::PolicyAction::Reject,
                    config::PolicyAction::Next => rib::PolicyAction::Next,
                },
            })
            .collect(),
        default: match policy.default {
            config::PolicyDefault::Accept => rib::PolicyDefault::Accept,
            config::PolicyDefault::Reject => rib::PolicyDefault::Reject,
        },
    }
}

/// A neighbor with every default, as a template for listen ranges.
fn default_neighbor(config: &Config) -> Neighbor {
    Neighbor {
        address: IpAddr::from([0, 0, 0, 0]),
        asn: config.router.asn,
        description: None,
        route_reflector_client: false,
        passive: false,
        next_hop: config::NextHopMode::Auto,
        hold_time: Duration::from_secs(90),
        keepalive: None,
        connect_retry: Duration::from_secs(120),
        password: None,
        ttl_security: None,
        multihop: None,
        source_address: None,
        delay_open: None,
        next_hop_ipv4: None,
        next_hop_ipv6: None,
        port: 179,
        families: [config::Family::Ipv4, config::Family::Ipv6]
            .into_iter()
            .collect(),
        import: "all".into(),
        export: "all".into(),
        add_path: config::AddPath::default(),
        max_prefixes: None,
        allowas_in: 0,
        soft_reconfiguration_inbound: false,
        graceful_restart: None,
        shutdown: false,
    }
}

fn neighbor_settings(config: &Config, neighbor: &Neighbor) -> NeighborSettings {
    let internal = config.is_internal(neighbor);
    let mut session = SessionConfig::new(
        config.router.asn,
        config.router.router_id,
        neighbor.address,
        ExpectedPeerAs::Exact(neighbor.asn),
    );
    session.hold_time = u16::try_from(neighbor.hold_time.as_secs()).unwrap_or(u16::MAX);
    session.keepalive = neighbor
        .keepalive
        .map(|keepalive| u16::try_from(keepalive.as_secs()).unwrap_or(u16::MAX));
    session.connect_retry = FIRST_CONNECT_RETRY.min(neighbor.connect_retry);
    session.connect_retry_cap = neighbor.connect_retry.max(session.connect_retry);
    session.jitter_seed = jitter_seed(neighbor.address);
    session.passive = neighbor.passive;
    session.delay_open = neighbor.delay_open;
    session.capabilities = capabilities(config, neighbor);
    let transport = TransportSettings {
        password: neighbor.password.clone(),
        ttl_security: neighbor.ttl_security,
        // Directly connected eBGP uses TTL 1, as BIRD and FRR do, so that a
        // session cannot form with a router further away by accident.
        ttl: if internal {
            None
        } else {
            Some(neighbor.multihop.unwrap_or(1))
        },
        source_address: neighbor.source_address,
    };
    let routing = NeighborRouting {
        next_hop: match neighbor.next_hop {
            config::NextHopMode::Auto => rib::NextHopMode::Auto,
            config::NextHopMode::SelfAddress => rib::NextHopMode::SelfAddress,
            config::NextHopMode::Keep => rib::NextHopMode::Keep,
        },
        import_policy: neighbor.import.clone(),
        export_policy: neighbor.export.clone(),
        allowas_in: neighbor.allowas_in,
        max_prefixes: neighbor.max_prefixes.map(|limit| rib::MaxPrefixes {
            limit: limit.limit,
            action: match limit.action {
                config::MaxPrefixAction::Warn => rib::MaxPrefixAction::Warn,
                config::MaxPrefixAction::Teardown => rib::MaxPrefixAction::Teardown,
            },
        }),
        max_prefixes_restart: neighbor.max_prefixes.and_then(|limit| limit.restart_after),
        soft_reconfiguration_inbound: neighbor.soft_reconfiguration_inbound,
        add_path_send: neighbor.add_path.send,
        next_hop_ipv4: match neighbor.next_hop_ipv4 {
            Some(std::net::IpAddr::V4(address)) => Some(address),
            _ => None,
        },
        next_hop_ipv6: match neighbor.next_hop_ipv6 {
            Some(std::net::IpAddr::V6(address)) => Some(address),
            _ => None,
        },
    };
    NeighborSettings {
        session,
        port: neighbor.port,
        transport,
        routing,
        route_reflector_client: neighbor.route_reflector_client,
        description: neighbor.description.clone(),
        shutdown: neighbor.shutdown,
    }
}

fn capabilities(config: &Config, neighbor: &Neighbor) -> LocalCapabilities {
    let families: BTreeSet<Family> = neighbor
        .families
        .iter()
        .map(|family| wire_family(*family))
        .collect();
    let add_path: BTreeMap<Family, AddPathMode> = families
        .iter()
        .filter_map(|family| {
            let mode = match (neighbor.add_path.receive, neighbor.add_path.send > 0) {
                (true, true) => AddPathMode::Both,
                (true, false) => AddPathMode::Receive,
                (false, true) => AddPathMode::Send,
                (false, false) => return None,
            };
            Some((*family, mode))
        })
        .collect();
    let graceful_restart = config
        .graceful_restart_for(neighbor)
        .then(|| GracefulRestart {
            restart_state: false,
            notification: config.graceful_restart.notification,
            restart_time: u16::try_from(config.graceful_restart.restart_time.as_secs())
                .unwrap_or(4095)
                .min(4095),
            families: families
                .iter()
                .map(|family| GracefulRestartFamily {
                    family: *family,
                    forwarding_state: false,
                })
                .collect(),
        });
    // IPv4 routes over an IPv6 session (RFC 8950), as Calico's dual-stack
    // and IPv6-only underlays use.
    let extended_next_hop =
        if neighbor.address.is_ipv6() && families.contains(&Family::IPV4_UNICAST) {
            vec![ExtendedNextHopEntry {
                family: Family::IPV4_UNICAST,
                next_hop_afi: Afi::IPV6,
            }]
        } else {
            Vec::new()
        };
    LocalCapabilities {
        families,
        route_refresh: true,
        enhanced_route_refresh: true,
        four_octet_as: true,
        graceful_restart,
        add_path,
        extended_next_hop,
        extended_message: true,
        hostname: config
            .router
            .hostname
            .clone()
            .map(|hostname| (hostname, String::new())),
    }
}

fn wire_family(family: config::Family) -> Family {
    match family {
        config::Family::Ipv4 => Family::IPV4_UNICAST,
        config::Family::Ipv6 => Family::IPV6_UNICAST,
    }
}

/// A seed that differs between neighbors and stays the same across restarts,
/// so nodes restarted together do not retry in lockstep.
fn jitter_seed(address: IpAddr) -> u64 {
    let octets = match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    octets.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.1"

[[neighbor]]
address = "198.18.0.2"
asn = 64512
add_path = { receive = true, send = 2 }

[[neighbor]]
address = "2001:db8::3"
asn = 65001
password = "secret"
import = "all"
export = "all"

[[listen_range]]
prefix = "198.18.1.0/24"
asn = 64512
route_reflector_client = true
"#;

    #[test]
    fn neighbors_become_sessions_with_their_capabilities_and_transport() {
        let config = Config::from_str(CONFIG, "test.toml").unwrap();
        let speaker = speaker_config(&config);
        let internal = &speaker.neighbors[0];
        assert_eq!(internal.session.peer_as, ExpectedPeerAs::Exact(64512));
        assert_eq!(
            internal
                .session
                .capabilities
                .add_path
                .get(&Family::IPV4_UNICAST),
            Some(&AddPathMode::Both)
        );
        assert_eq!(internal.transport.ttl, None, "iBGP keeps the OS TTL");

        let external = &speaker.neighbors[1];
        assert_eq!(external.transport.ttl, Some(1), "directly connected eBGP");
        assert_eq!(external.transport.password.as_deref(), Some("secret"));
        assert_eq!(
            external.session.capabilities.extended_next_hop,
            vec![ExtendedNextHopEntry {
                family: Family::IPV4_UNICAST,
                next_hop_afi: Afi::IPV6
            }],
            "IPv4 over an IPv6 session"
        );

        let range = &speaker.listen_ranges[0];
        assert!(range.template.route_reflector_client);
        assert!(range.template.session.passive);
    }

    #[test]
    fn jitter_seeds_differ_between_neighbors_and_not_between_runs() {
        let first = jitter_seed("198.18.0.2".parse().unwrap());
        assert_eq!(first, jitter_seed("198.18.0.2".parse().unwrap()));
        assert_ne!(first, jitter_seed("198.18.0.3".parse().unwrap()));
    }
}
