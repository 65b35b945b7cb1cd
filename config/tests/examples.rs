//! The shipped example configurations and the DESIGN.md example: they
//! validate, carry the values they were written with (defaults applied),
//! and survive a round trip through `Config::to_toml`.

// Test helpers may unwrap, index and panic: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use config::{
    BuiltinPolicy, Community, Config, Family, KernelProtocol, LargeCommunity, LogFormat,
    MaxPrefixAction, NextHopMode, PolicyAction, PolicyDefault,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

fn load(relative: &str) -> Config {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    match config::load(&path) {
        Ok(config) => config,
        Err(errors) => panic!("{relative} does not validate:\n{errors}"),
    }
}

/// Rendering then parsing gives the same config, and rendering is stable.
fn assert_round_trip(config: &Config) {
    let text = config.to_toml();
    let reparsed = Config::from_str(&text, "rendered.toml")
        .unwrap_or_else(|errors| panic!("rendered config does not parse:\n{errors}\n---\n{text}"));
    assert_eq!(&reparsed, config, "round trip changed the config:\n{text}");
    assert_eq!(reparsed.to_toml(), text);
}

#[test]
fn design_example_parses_with_its_values_and_defaults() {
    let config = load("tests/data/design_example.toml");
    assert_eq!(config.router.asn, 64512);
    assert_eq!(config.router.router_id, Ipv4Addr::new(198, 18, 0, 1));
    let listen: Vec<SocketAddr> = vec!["0.0.0.0:179".parse().unwrap(), "[::]:179".parse().unwrap()];
    assert_eq!(config.router.listen, listen);
    assert_eq!(config.router.cluster_id, None);
    assert_eq!(config.router.max_paths, 1);
    assert_eq!(config.router.update_delay, Duration::from_millis(10));

    assert!(config.fib.enabled);
    assert_eq!((config.fib.table, config.fib.protocol), (254, 201));
    // Graceful restart is on, so routes stay in the kernel on shutdown.
    assert!(config.fib.keep_on_shutdown);

    assert!(config.graceful_restart.enabled);
    assert_eq!(
        config.graceful_restart.restart_time,
        Duration::from_secs(120)
    );
    assert!(config.graceful_restart.notification);
    assert_eq!(config.graceful_restart.long_lived_stale_time, None);

    assert_eq!(config.originate.len(), 1);
    assert_eq!(config.originate[0].prefix.to_string(), "198.19.1.0/24");
    assert!(config.originate[0].blackhole);

    let neighbor = &config.neighbors[0];
    assert_eq!(neighbor.address, "198.18.0.2".parse::<IpAddr>().unwrap());
    assert!(config.is_internal(neighbor));
    assert_eq!(neighbor.hold_time, Duration::from_secs(90));
    assert_eq!(neighbor.keepalive, None);
    assert_eq!(neighbor.port, 179);
    assert_eq!(neighbor.next_hop, NextHopMode::Auto);
    assert_eq!(
        neighbor.families,
        BTreeSet::from([Family::Ipv4, Family::Ipv6])
    );
    assert_eq!(
        (neighbor.import.as_str(), neighbor.export.as_str()),
        ("all", "all")
    );
    assert!(config.graceful_restart_for(neighbor));

    let range = &config.listen_ranges[0];
    assert_eq!(range.prefix.to_string(), "198.18.0.0/16");
    assert_eq!(range.asns, BTreeSet::from([64512]));
    assert!(range.route_reflector_client);
    // The configured neighbor lies inside the range; both are kept, and the
    // range still answers for other addresses.
    assert!(
        config
            .listen_range_for("198.18.0.2".parse().unwrap())
            .is_some()
    );
    assert!(
        config
            .listen_range_for("198.20.0.1".parse().unwrap())
            .is_none()
    );

    assert_eq!(
        config.api.socket,
        PathBuf::from("/run/podroute/podroute.sock")
    );
    assert_eq!(config.api.socket_mode, 0o660);
    assert_eq!(config.api.metrics, Some("127.0.0.1:9179".parse().unwrap()));
    assert_eq!(config.logging.level, "info");
    assert_eq!(config.logging.format, LogFormat::Human);
}

#[test]
fn design_example_round_trips() {
    assert_round_trip(&load("tests/data/design_example.toml"));
}

#[test]
fn full_mesh_example_validates() {
    let config = load("examples/full-mesh.toml");
    assert_eq!(config.neighbors.len(), 3);
    assert!(
        config
            .neighbors
            .iter()
            .all(|neighbor| config.is_internal(neighbor))
    );
    assert!(config.neighbors[2].shutdown);
    assert_eq!(config.neighbors[0].hold_time, Duration::from_secs(30));
    assert_eq!(config.originate[1].prefix.to_string(), "2001:db8:1:1::/64");
    assert_eq!(config.router.hostname.as_deref(), Some("node-1"));
    assert_eq!(config.graceful_restart.stale_time, Duration::from_secs(300));
    assert_eq!(config.logging.format, LogFormat::Json);
    assert_round_trip(&config);
}

#[test]
fn route_reflector_example_validates() {
    let config = load("examples/route-reflector.toml");
    assert_eq!(
        config.router.cluster_id,
        Some(Ipv4Addr::new(198, 18, 255, 1))
    );
    assert!(!config.fib.enabled);
    assert_eq!(config.api.metrics, None);
    assert_eq!(
        config.graceful_restart.long_lived_stale_time,
        Some(Duration::from_secs(3600))
    );
    let twin = &config.neighbors[0];
    assert!(!twin.route_reflector_client);
    assert!(twin.add_path.receive);
    assert_eq!(twin.add_path.send, 4);
    let range = &config.listen_ranges[0];
    assert_eq!(range.max_neighbors, Some(500));
    assert_eq!(range.import, "pod-prefixes-only");
    assert_eq!(range.export, "all");
    let policy = &config.policies["pod-prefixes-only"];
    assert_eq!(policy.default, PolicyDefault::Reject);
    let filters = &policy.terms[0].matches.prefixes;
    assert!(filters[0].matches(&"198.19.4.0/24".parse().unwrap()));
    assert!(filters[0].matches(&"198.19.4.64/26".parse().unwrap()));
    assert!(!filters[0].matches(&"198.19.4.0/27".parse().unwrap()));
    assert!(!filters[0].matches(&"198.19.0.0/16".parse().unwrap()));
    assert!(filters[1].matches(&"2001:db8:1:7::/64".parse().unwrap()));
    assert_round_trip(&config);
}

#[test]
fn tor_uplink_example_validates() {
    let config = load("examples/tor-uplink.toml");
    assert_eq!(config.router.max_paths, 2);
    assert!(config.router.always_compare_med);
    assert_eq!(config.fib.sweep_delay, Duration::from_secs(5));
    let tor = &config.neighbors[0];
    assert!(!config.is_internal(tor));
    assert_eq!(tor.ttl_security, Some(1));
    assert_eq!(tor.password.as_deref(), Some("rack-1-secret"));
    let limit = tor.max_prefixes.unwrap();
    assert_eq!(
        (limit.limit, limit.action),
        (100, MaxPrefixAction::Teardown)
    );
    assert_eq!(limit.restart_after, Some(Duration::from_secs(60)));
    assert_eq!(tor.families, BTreeSet::from([Family::Ipv4]));
    let v6 = &config.neighbors[2];
    assert_eq!(v6.source_address, Some("2001:db8:1::10".parse().unwrap()));
    assert_eq!(
        BuiltinPolicy::from_name(&v6.export),
        Some(BuiltinPolicy::Originated)
    );

    let import = &config.import_kernel[0];
    assert_eq!(import.protocols, BTreeSet::from([KernelProtocol(4)]));
    assert_eq!(import.table, 254);
    assert!(import.prefixes[0].matches(&"198.19.200.7/32".parse().unwrap()));

    let to_tor = &config.policies["to-tor"];
    assert_eq!(to_tor.terms[0].action, PolicyAction::Reject);
    assert_eq!(
        to_tor.terms[0].matches.communities,
        BTreeSet::from([Community::BLACKHOLE])
    );
    let accept = &to_tor.terms[1];
    assert_eq!(
        accept.set.add_communities,
        BTreeSet::from([Community(64512 << 16 | 100)])
    );
    assert_eq!(
        accept.set.add_large_communities,
        BTreeSet::from([LargeCommunity {
            global: 64512,
            local1: 1,
            local2: 10
        }])
    );
    // `prefix` with only `le`: from the prefix's own length up to le.
    let filter = accept.matches.prefixes[0];
    assert_eq!((filter.ge, filter.le), (16, 32));
    assert_eq!(
        config.policies["from-tor"].terms[0].set.local_pref,
        Some(200)
    );
    assert_round_trip(&config);
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let config = Config::from_str(
        "[router]\nasn = 65000\nrouter_id = \"198.18.0.9\"\n",
        "m.toml",
    )
    .unwrap();
    assert!(!config.graceful_restart.enabled);
    assert!(!config.fib.keep_on_shutdown);
    assert_eq!(config.fib.sweep_delay, Duration::ZERO);
    assert_eq!(config.graceful_restart.stale_time, Duration::from_secs(360));
    assert_eq!(
        config.graceful_restart.selection_deferral_time,
        Duration::from_secs(360)
    );
    assert_eq!(config.router.listen.len(), 2);
    assert!(config.neighbors.is_empty() && config.policies.is_empty());
    assert_round_trip(&config);
}

#[test]
fn ebgp_neighbors_default_to_rfc8212_deny() {
    let text = "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\
                [[neighbor]]\naddress = \"198.18.0.2\"\nasn = 65001\n\
                [[listen_range]]\nprefix = \"198.18.8.0/24\"\nasns = [64512, 65002]\n";
    let config = Config::from_str(text, "t.toml").unwrap();
    assert_eq!(
        (
            config.neighbors[0].import.as_str(),
            config.neighbors[0].export.as_str()
        ),
        ("none", "none")
    );
    assert_eq!(config.listen_ranges[0].import, "none");
}

#[test]
fn strings_with_quotes_survive_the_round_trip() {
    let text = "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\
                [[neighbor]]\naddress = \"2001:db8::2\"\nasn = 64512\n\
                description = 'rack \"7\" \\ east'\npassword = \"p\\u00e4ss\"\n";
    let config = Config::from_str(text, "t.toml").unwrap();
    assert_eq!(
        config.neighbors[0].description.as_deref(),
        Some("rack \"7\" \\ east")
    );
    assert_round_trip(&config);
}
