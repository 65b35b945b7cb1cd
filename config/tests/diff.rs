//! `Config::diff`: what a reload must do, for each kind of change.

// Test helpers may unwrap, index and panic: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use config::{Config, Effect, NeighborField, Reaction, SettingChange};
use std::collections::BTreeMap;
use std::net::IpAddr;

const BASE: &str = r#"
[router]
asn = 64512
router_id = "198.18.0.1"

[graceful_restart]
enabled = true

[[originate]]
prefix = "198.19.1.0/24"
blackhole = true

[[neighbor]]
address = "198.18.0.2"
asn = 64512
description = "node-2"
import = "in"

[[neighbor]]
address = "198.18.0.3"
asn = 64512
export = "out"

[[neighbor]]
address = "198.18.1.1"
asn = 65001
import = "in"
export = "out"

[[listen_range]]
prefix = "198.18.8.0/24"
asn = 64512
import = "in"

[[policy]]
name = "in"
default = "accept"

[[policy]]
name = "out"
[[policy.term]]
action = "accept"
[policy.term.match]
prefix = "198.19.0.0/16"
le = 24
"#;

fn parse(text: &str) -> Config {
    Config::from_str(text, "test.toml").unwrap_or_else(|errors| panic!("{errors}"))
}

/// BASE with one textual replacement (which must apply).
fn edited(from: &str, to: &str) -> Config {
    assert!(BASE.contains(from), "edit target `{from}` not in BASE");
    parse(&BASE.replacen(from, to, 1))
}

fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn identical_configs_have_an_empty_diff() {
    let diff = Config::diff(&parse(BASE), &parse(BASE));
    assert!(diff.is_empty());
    assert!(!diff.needs_restart());
    assert!(diff.neighbor_reactions().is_empty());
    assert_eq!(diff.to_string(), "no changes\n");
}

#[test]
fn comments_and_defaults_written_out_change_nothing() {
    let new = edited(
        "description = \"node-2\"",
        "description = \"node-2\"  # same\nhold_time = 90\nport = 179",
    );
    assert!(Config::diff(&parse(BASE), &new).is_empty());
}

#[test]
fn neighbors_added_removed_and_readdressed() {
    let new = edited("address = \"198.18.0.3\"", "address = \"198.18.0.4\"");
    let diff = Config::diff(&parse(BASE), &new);
    assert_eq!(diff.neighbors_added, [address("198.18.0.4")]);
    assert_eq!(diff.neighbors_removed, [address("198.18.0.3")]);
    assert!(diff.neighbors_changed.is_empty());
    // The new neighbor is started, not refreshed.
    assert!(diff.neighbor_reactions().is_empty());
}

#[test]
fn session_parameters_need_a_reset() {
    for (from, to, field) in [
        ("asn = 65001", "asn = 65002", NeighborField::Asn),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\nhold_time = 30",
            NeighborField::HoldTime,
        ),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\npassword = \"s\"",
            NeighborField::Password,
        ),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\nfamilies = [\"ipv4\"]",
            NeighborField::Families,
        ),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\nadd_path = { receive = true }",
            NeighborField::AddPath,
        ),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\nshutdown = true",
            NeighborField::Shutdown,
        ),
        (
            "description = \"node-2\"",
            "description = \"node-2\"\nroute_reflector_client = true",
            NeighborField::RouteReflectorClient,
        ),
    ] {
        let diff = Config::diff(&parse(BASE), &edited(from, to));
        assert_eq!(diff.neighbors_changed.len(), 1, "{field}");
        let change = &diff.neighbors_changed[0];
        assert_eq!(change.fields, [field]);
        assert_eq!(change.reaction, Reaction::RESET, "{field}");
    }
}

#[test]
fn policy_references_need_soft_reconfiguration_only() {
    let diff = Config::diff(
        &parse(BASE),
        &edited(
            "description = \"node-2\"\nimport = \"in\"",
            "description = \"node-2\"\nimport = \"all\"",
        ),
    );
    let change = &diff.neighbors_changed[0];
    assert_eq!(
        (change.address, change.fields.as_slice()),
        (address("198.18.0.2"), [NeighborField::Import].as_slice())
    );
    assert_eq!(change.reaction, Reaction::SOFT_IN);

    let diff = Config::diff(
        &parse(BASE),
        &edited(
            "asn = 64512\nexport = \"out\"",
            "asn = 64512\nexport = \"originated\"",
        ),
    );
    assert_eq!(diff.neighbors_changed[0].fields, [NeighborField::Export]);
    assert_eq!(diff.neighbors_changed[0].reaction, Reaction::SOFT_OUT);
}

#[test]
fn cosmetic_and_runtime_settings_need_nothing() {
    let new = edited(
        "description = \"node-2\"",
        "description = \"renamed\"\nmax_prefixes = { limit = 10 }\nconnect_retry = 5\npassive = true",
    );
    let diff = Config::diff(&parse(BASE), &new);
    let change = &diff.neighbors_changed[0];
    assert_eq!(
        change.fields,
        [
            NeighborField::Description,
            NeighborField::Passive,
            NeighborField::ConnectRetry,
            NeighborField::MaxPrefixes
        ]
    );
    assert!(change.reaction.is_none());
    assert!(diff.neighbor_reactions().is_empty());
}

#[test]
fn reactions_combine_across_fields() {
    let new = edited(
        "description = \"node-2\"\nimport = \"in\"",
        "description = \"x\"\nimport = \"all\"\nnext_hop = \"self\"",
    );
    let change = &Config::diff(&parse(BASE), &new).neighbors_changed[0];
    assert_eq!(
        change.fields,
        [
            NeighborField::Description,
            NeighborField::NextHop,
            NeighborField::Import
        ]
    );
    assert_eq!(
        change.reaction,
        Reaction {
            reset: false,
            soft_in: true,
            soft_out: true
        }
    );
}

#[test]
fn a_changed_policy_refreshes_its_users() {
    let new = edited("le = 24", "le = 26");
    let diff = Config::diff(&parse(BASE), &new);
    assert!(diff.neighbors_changed.is_empty());
    assert_eq!(diff.policies_changed.len(), 1);
    let policy = &diff.policies_changed[0];
    assert_eq!(policy.name, "out");
    assert_eq!(
        policy.export_neighbors,
        [address("198.18.0.3"), address("198.18.1.1")]
    );
    assert!(policy.import_neighbors.is_empty());
    let expected = BTreeMap::from([
        (address("198.18.0.3"), Reaction::SOFT_OUT),
        (address("198.18.1.1"), Reaction::SOFT_OUT),
    ]);
    assert_eq!(diff.neighbor_reactions(), expected);

    let new = edited("default = \"accept\"", "default = \"reject\"");
    let diff = Config::diff(&parse(BASE), &new);
    let policy = &diff.policies_changed[0];
    assert_eq!(
        policy.import_neighbors,
        [address("198.18.0.2"), address("198.18.1.1")]
    );
    assert_eq!(policy.import_ranges, ["198.18.8.0/24".parse().unwrap()]);
    assert_eq!(
        diff.neighbor_reactions()[&address("198.18.1.1")],
        Reaction::SOFT_IN
    );
}

#[test]
fn policy_and_field_changes_merge_per_neighbor() {
    // 198.18.1.1 imports "in" (changed) and gets a new hold time.
    let text = BASE
        .replacen("default = \"accept\"", "default = \"reject\"", 1)
        .replacen("asn = 65001", "asn = 65001\nhold_time = 9", 1);
    let diff = Config::diff(&parse(BASE), &parse(&text));
    let reaction = diff.neighbor_reactions()[&address("198.18.1.1")];
    assert_eq!(
        reaction,
        Reaction {
            reset: true,
            soft_in: true,
            soft_out: false
        }
    );
    assert_eq!(reaction.to_string(), "reset");
}

#[test]
fn policies_added_and_removed() {
    let new = edited(
        "[[policy]]\nname = \"in\"",
        "[[policy]]\nname = \"spare\"\n[[policy]]\nname = \"in\"",
    );
    let diff = Config::diff(&parse(BASE), &new);
    assert_eq!(diff.policies_added, ["spare"]);
    let diff = Config::diff(&new, &parse(BASE));
    assert_eq!(diff.policies_removed, ["spare"]);
}

#[test]
fn identity_changes_need_a_restart_and_others_do_not() {
    let diff = Config::diff(
        &parse(BASE),
        &edited("asn = 64512\nrouter_id", "asn = 64513\nrouter_id"),
    );
    assert!(diff.needs_restart());
    assert!(diff.settings.contains(&SettingChange {
        key: "router.asn".into(),
        effect: Effect::Restart
    }));
    // The AS change turns the former iBGP neighbors into eBGP ones, so the
    // policies they left unset fall back to RFC 8212's "none", and they keep
    // pre-policy routes as eBGP neighbors do by default.
    let changed: Vec<(String, Vec<NeighborField>)> = diff
        .neighbors_changed
        .iter()
        .map(|change| (change.address.to_string(), change.fields.clone()))
        .collect();
    assert_eq!(
        changed,
        [
            (
                "198.18.0.2".to_string(),
                vec![
                    NeighborField::Export,
                    NeighborField::SoftReconfigurationInbound
                ]
            ),
            (
                "198.18.0.3".to_string(),
                vec![
                    NeighborField::Import,
                    NeighborField::SoftReconfigurationInbound
                ]
            ),
        ]
    );

    let diff = Config::diff(
        &parse(BASE),
        &edited("router_id = \"198.18.0.1\"", "router_id = \"198.18.0.9\""),
    );
    assert_eq!(
        diff.settings,
        [SettingChange {
            key: "router.router_id".into(),
            effect: Effect::Restart
        }]
    );

    let diff = Config::diff(
        &parse(BASE),
        &edited(
            "router_id = \"198.18.0.1\"",
            "router_id = \"198.18.0.1\"\nlisten = [\"198.18.0.1:179\"]\nmax_paths = 4",
        ),
    );
    assert!(!diff.needs_restart());
    assert_eq!(
        diff.settings,
        [
            SettingChange {
                key: "router.listen".into(),
                effect: Effect::Live
            },
            SettingChange {
                key: "router.max_paths".into(),
                effect: Effect::Live
            },
        ]
    );
}

#[test]
fn graceful_restart_changes_apply_at_the_next_session() {
    let diff = Config::diff(
        &parse(BASE),
        &edited("enabled = true", "enabled = true\nrestart_time = 60"),
    );
    assert_eq!(
        diff.settings,
        [SettingChange {
            key: "graceful_restart.restart_time".into(),
            effect: Effect::NextSession
        }]
    );
    // Turning it off changes the default of fib.keep_on_shutdown too.
    let diff = Config::diff(&parse(BASE), &edited("enabled = true", "enabled = false"));
    let keys: Vec<&str> = diff
        .settings
        .iter()
        .map(|change| change.key.as_str())
        .collect();
    assert_eq!(keys, ["fib.keep_on_shutdown", "graceful_restart.enabled"]);
}

#[test]
fn originate_added_removed_and_changed() {
    let new = edited(
        "prefix = \"198.19.1.0/24\"\nblackhole = true",
        "prefix = \"198.19.1.0/24\"\nblackhole = false\n[[originate]]\nprefix = \"2001:db8:1::/64\"",
    );
    let diff = Config::diff(&parse(BASE), &new);
    assert_eq!(diff.originate_added, ["2001:db8:1::/64".parse().unwrap()]);
    assert_eq!(diff.originate_changed.len(), 1);
    assert!(!diff.originate_changed[0].blackhole);
    let diff = Config::diff(&new, &parse(BASE));
    assert_eq!(diff.originate_removed, ["2001:db8:1::/64".parse().unwrap()]);
}

#[test]
fn listen_range_changes() {
    let new = edited(
        "prefix = \"198.18.8.0/24\"\nasn = 64512\nimport = \"in\"",
        "prefix = \"198.18.8.0/24\"\nasns = [64512, 64513]\nimport = \"in\"\nmax_neighbors = 5",
    );
    let diff = Config::diff(&parse(BASE), &new);
    let change = &diff.listen_ranges_changed[0];
    // An external AS in the range makes the unset export default to "none" (RFC 8212).
    assert_eq!(change.fields, ["asns", "export", "max_neighbors"]);
    assert_eq!(
        change.reaction,
        Reaction {
            reset: true,
            soft_in: false,
            soft_out: true
        }
    );

    let new = edited("prefix = \"198.18.8.0/24\"", "prefix = \"198.18.9.0/24\"");
    let diff = Config::diff(&parse(BASE), &new);
    assert_eq!(diff.listen_ranges_added, ["198.18.9.0/24".parse().unwrap()]);
    assert_eq!(
        diff.listen_ranges_removed,
        ["198.18.8.0/24".parse().unwrap()]
    );
}

#[test]
fn diff_order_does_not_depend_on_file_order() {
    // Same neighbors written in reverse order, each with a changed hold time.
    let forward = "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\
        [[neighbor]]\naddress = \"198.18.0.9\"\nasn = 64512\nhold_time = 9\n\
        [[neighbor]]\naddress = \"2001:db8::1\"\nasn = 64512\nhold_time = 9\n\
        [[neighbor]]\naddress = \"198.18.0.2\"\nasn = 64512\nhold_time = 9\n";
    let reverse = "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n\
        [[neighbor]]\naddress = \"198.18.0.2\"\nasn = 64512\n\
        [[neighbor]]\naddress = \"2001:db8::1\"\nasn = 64512\n\
        [[neighbor]]\naddress = \"198.18.0.9\"\nasn = 64512\n";
    let diff = Config::diff(&parse(reverse), &parse(forward));
    let order: Vec<String> = diff
        .neighbors_changed
        .iter()
        .map(|change| change.address.to_string())
        .collect();
    assert_eq!(order, ["198.18.0.2", "198.18.0.9", "2001:db8::1"]);
}

#[test]
fn display_summarises_every_change() {
    let text = BASE
        .replacen(
            "router_id = \"198.18.0.1\"",
            "router_id = \"198.18.0.1\"\nmax_paths = 2",
            1,
        )
        .replacen("address = \"198.18.0.3\"", "address = \"198.18.0.4\"", 1)
        .replacen(
            "description = \"node-2\"",
            "description = \"node-2\"\nhold_time = 30",
            1,
        )
        .replacen("le = 24", "le = 25", 1);
    let diff = Config::diff(&parse(BASE), &parse(&text));
    assert_eq!(
        diff.to_string(),
        "setting router.max_paths changed (live)\n\
         neighbor 198.18.0.4 added\n\
         neighbor 198.18.0.3 removed\n\
         neighbor 198.18.0.2 changed: hold_time (reset)\n\
         policy out changed; used by: 198.18.0.4 (soft out), 198.18.1.1 (soft out)\n"
    );
    // The added neighbor is started with the new policy, not refreshed.
    let reactions = diff.neighbor_reactions();
    assert_eq!(
        reactions
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["198.18.0.2", "198.18.1.1"]
    );
}

#[test]
fn switching_nexthop_objects_needs_a_restart() {
    let off = format!("{BASE}\n[fib]\nnexthop_objects = false\n");
    let diff = Config::diff(&parse(BASE), &parse(&off));
    assert!(diff.needs_restart());
    assert_eq!(
        diff.settings,
        vec![SettingChange {
            key: "fib.nexthop_objects".into(),
            effect: Effect::Restart
        }]
    );
    assert!(parse(BASE).fib.nexthop_objects, "on by default");
    // Written out and read back, the setting survives.
    let config = parse(&off);
    assert!(!parse(&config.to_toml()).fib.nexthop_objects);
    let error = Config::from_str(
        &format!("{BASE}\n[fib]\nnexthop_objects = \"yes\"\n"),
        "t.toml",
    )
    .unwrap_err();
    let message = error.errors[0].to_string();
    assert!(
        message.starts_with("t.toml:") && message.contains("fib.nexthop_objects"),
        "{message}"
    );
}
