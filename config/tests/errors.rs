//! Every class of configuration error, with its exact file:line:column,
//! key path and message. Inputs are written line by line so the expected
//! positions can be checked by eye.

// Test helpers may unwrap, index and panic: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use config::{Config, ConfigErrors};

/// The displayed errors for `text`, one string per error.
fn errors(text: &str) -> Vec<String> {
    match Config::from_str(text, "podroute.toml") {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Lines joined with newlines, so tests read like the file.
fn file(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

const ROUTER: [&str; 3] = ["[router]", "asn = 64512", "router_id = \"198.18.0.1\""];

/// The router section (lines 1-3) followed by `rest` (from line 4 on).
fn with_router(rest: &[&str]) -> String {
    let mut lines = ROUTER.to_vec();
    lines.extend_from_slice(rest);
    file(&lines)
}

#[test]
fn syntax_error_points_at_the_character() {
    let text = file(&["[router]", "asn = 64512", "router_id = \"198.18.0.1"]);
    let found = errors(&text);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("podroute.toml:3:24: "), "{found:?}");
    assert!(found[0].contains("invalid basic string"), "{found:?}");
}

#[test]
fn duplicate_table_is_a_syntax_error() {
    let found = errors(&file(&["[router]", "asn = 1", "[router]"]));
    assert_eq!(
        found,
        ["podroute.toml:3:1: invalid table header; duplicate key `router` in document root"]
    );
}

#[test]
fn unknown_key_names_the_key_and_its_place() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 64512",
        "hold_tme = 30",
    ]);
    let found = errors(&text);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("podroute.toml:7:1: neighbor[0].hold_tme: unknown field `hold_tme`, expected one of `address`"),
        "{found:?}"
    );
}

#[test]
fn unknown_key_inside_an_inline_table() {
    let text = with_router(&[
        "[[policy]]",
        "name = \"p\"",
        "[[policy.term]]",
        "action = \"accept\"",
        "[policy.term.match]",
        "prefixes = [{ prefix = \"198.19.0.0/16\", lee = 3 }]",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:9:41: policy[0].term[0].match.prefixes[0].lee: unknown field `lee`, expected one of `prefix`, `ge`, `le`"
        ]
    );
}

#[test]
fn unknown_section() {
    let found = errors(&file(&["[routr]"]));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("podroute.toml:1:2: routr: unknown field `routr`"),
        "{found:?}"
    );
}

#[test]
fn wrong_types_name_the_key() {
    assert_eq!(
        errors(&file(&["[router]", "asn = \"64512\""])),
        ["podroute.toml:2:7: router.asn: invalid type: string \"64512\", expected an integer"]
    );
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 1",
        "families = [\"ipv4\", 6]",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:21: neighbor[0].families[1]: invalid type: integer `6`, expected a string"
        ]
    );
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 1",
        "passive = \"yes\"",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:11: neighbor[0].passive: invalid type: string \"yes\", expected a boolean"
        ]
    );
}

#[test]
fn missing_router_section_and_keys() {
    assert_eq!(
        errors("# empty\n"),
        ["podroute.toml:1:1: router: missing required section [router] (asn and router_id)"]
    );
    assert_eq!(
        errors(&file(&[
            "[fib]",
            "enabled = false",
            "[router]",
            "max_paths = 2"
        ])),
        [
            "podroute.toml:3:1: router.asn: missing required key `asn`",
            "podroute.toml:3:1: router.router_id: missing required key `router_id`",
        ]
    );
}

#[test]
fn as_numbers_out_of_range_or_reserved() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 0",
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 4294967296",
        "[[neighbor]]",
        "address = \"198.18.0.4\"",
        "asn = 23456",
        "[[neighbor]]",
        "address = \"198.18.0.5\"",
        "asn = 4294967295",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:6:7: neighbor[0].asn: AS 0 is reserved and cannot be used (RFC 7607)",
            "podroute.toml:9:7: neighbor[1].asn: AS number must be between 1 and 4294967295 (got 4294967296)",
            "podroute.toml:12:7: neighbor[2].asn: AS 23456 is AS_TRANS, reserved for 2-octet compatibility (RFC 6793)",
        ]
    );
}

#[test]
fn hold_time_one_or_two_is_refused() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 64512",
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 64512",
        "hold_time = 2",
    ]);
    assert_eq!(
        errors(&text),
        ["podroute.toml:10:13: neighbor[1].hold_time: hold time must be 0 or at least 3 (got 2)"]
    );
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 64512",
        "hold_time = 65536",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:13: neighbor[0].hold_time: hold time must be 0 or between 3 and 65535 (got 65536)"
        ]
    );
    // Zero (no keepalives) and three are the edges that are allowed.
    for hold in ["0", "3"] {
        let text = with_router(&[
            "[[neighbor]]",
            "address = \"198.18.0.3\"",
            "asn = 64512",
            &format!("hold_time = {hold}"),
        ]);
        assert!(Config::from_str(&text, "t").is_ok(), "hold_time {hold}");
    }
}

#[test]
fn keepalive_must_fit_the_hold_time() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 64512",
        "hold_time = 9",
        "keepalive = 9",
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 64512",
        "hold_time = 0",
        "keepalive = 3",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:8:13: neighbor[0].keepalive: keepalive (9) must be shorter than hold_time (9); a third of it is usual",
            "podroute.toml:13:13: neighbor[1].keepalive: no keepalives are sent when hold_time is 0 (RFC 4271 §4.4); remove keepalive",
        ]
    );
}

#[test]
fn bad_addresses_and_prefixes_with_hints() {
    let text = with_router(&[
        "[[originate]]",
        "prefix = \"198.19.1.1/24\"",
        "[[originate]]",
        "prefix = \"198.19.2.0\"",
        "[[neighbor]]",
        "address = \"198.18.0.0/24\"",
        "asn = 64512",
        "[[neighbor]]",
        "address = \"198.18.0.300\"",
        "asn = 64512",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:5:10: originate[0].prefix: `198.19.1.1/24` has host bits set; did you mean 198.19.1.0/24?",
            "podroute.toml:7:10: originate[1].prefix: `198.19.2.0` has no prefix length (for a single address write 198.19.2.0/32)",
            "podroute.toml:9:11: neighbor[0].address: `198.18.0.0/24` is a prefix; an address has no /length",
            "podroute.toml:12:11: neighbor[1].address: `198.18.0.300` is not an IPv4 or IPv6 address",
        ]
    );
}

#[test]
fn router_identity_checks() {
    let text = file(&[
        "[router]",
        "asn = 64512",
        "router_id = \"2001:db8::1\"",
        "cluster_id = \"0.0.0.0\"",
        "listen = [\"198.18.0.1\", \"[2001:db8::1]:179\", \"[2001:db8::1]:179\"]",
        "hostname = \"node 1\"",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:3:13: router.router_id: `2001:db8::1` is not an IPv4 address (a BGP identifier is 4 bytes, written as an IPv4 address even on IPv6-only hosts)",
            "podroute.toml:4:14: router.cluster_id: must not be 0.0.0.0 (RFC 6286 §2.1)",
            "podroute.toml:5:11: router.listen[0]: `198.18.0.1` is not a socket address (add a port, e.g. 198.18.0.1:179 or [2001:db8::1]:179)",
            "podroute.toml:5:46: router.listen[2]: [2001:db8::1]:179 is listed twice",
            "podroute.toml:6:12: router.hostname: a host name is 1 to 255 characters of letters, digits, '-' and '.'",
        ]
    );
}

#[test]
fn fib_and_graceful_restart_ranges() {
    let text = with_router(&[
        "[fib]",
        "table = 255",
        "protocol = 4",
        "[graceful_restart]",
        "restart_time = 4096",
        "stale_time = 0",
        "long_lived_stale_time = 16777216",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:5:9: fib.table: table 255 is the kernel's local table; use 254 (main) or a table of your own",
            "podroute.toml:6:12: fib.protocol: protocol 4 (static) belongs to the kernel; pick one of 5..=255 (podroute's default is 201)",
            "podroute.toml:8:16: graceful_restart.restart_time: restart_time must be between 1 and 4095 (got 4096)",
            "podroute.toml:9:14: graceful_restart.stale_time: stale_time must be between 1 and 4095 (got 0)",
            "podroute.toml:10:25: graceful_restart.long_lived_stale_time: long_lived_stale_time must be between 1 and 16777215 (got 16777216)",
        ]
    );
}

#[test]
fn duplicate_neighbor_addresses() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"2001:db8::2\"",
        "asn = 64512",
        "[[neighbor]]",
        "address = \"2001:db8:0::2\"",
        "asn = 64512",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:8:11: neighbor[1].address: neighbor 2001:db8::2 is already configured by neighbor[0]"
        ]
    );
}

#[test]
fn duplicate_originate_prefixes() {
    let text = with_router(&[
        "[[originate]]",
        "prefix = \"198.19.2.0/24\"",
        "[[originate]]",
        "prefix = \"198.19.2.0/24\"",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:10: originate[1].prefix: 198.19.2.0/24 is already originated by originate[0]"
        ]
    );
}

#[test]
fn overlapping_listen_ranges_in_either_order() {
    let text = with_router(&[
        "[[listen_range]]",
        "prefix = \"198.18.4.0/24\"",
        "asn = 64512",
        "[[listen_range]]",
        "prefix = \"198.18.0.0/16\"",
        "asn = 64512",
        "[[listen_range]]",
        "prefix = \"198.18.4.128/25\"",
        "asn = 64512",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:8:10: listen_range[1].prefix: 198.18.0.0/16 overlaps listen_range[0] (198.18.4.0/24); a connecting peer must match one range only",
            "podroute.toml:11:10: listen_range[2].prefix: 198.18.4.128/25 overlaps listen_range[0] (198.18.4.0/24); a connecting peer must match one range only",
        ]
    );
}

#[test]
fn neighbor_inside_a_listen_range_is_allowed() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.4.7\"",
        "asn = 64512",
        "[[listen_range]]",
        "prefix = \"198.18.4.0/24\"",
        "asn = 64512",
    ]);
    let config = Config::from_str(&text, "t").unwrap();
    let address = "198.18.4.7".parse().unwrap();
    assert!(config.neighbor(address).is_some());
    assert!(config.listen_range_for(address).is_some());
}

#[test]
fn listen_range_as_choices() {
    let text = with_router(&[
        "[[listen_range]]",
        "prefix = \"198.18.0.0/24\"",
        "asn = 64512",
        "asns = [64512]",
        "[[listen_range]]",
        "prefix = \"198.18.1.0/24\"",
        "[[listen_range]]",
        "prefix = \"198.18.2.0/24\"",
        "asns = [65001, 65001]",
        "route_reflector_client = true",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:8: listen_range[0].asns: use either `asn` or `asns`, not both",
            "podroute.toml:8:1: listen_range[1].asn: missing required key `asn` (or `asns`)",
            "podroute.toml:12:16: listen_range[2].asns[1]: AS 65001 is listed twice",
            "podroute.toml:13:26: listen_range[2].route_reflector_client: route_reflector_client applies to iBGP peers only (RFC 4456 §6); every AS of the range must be the local AS",
        ]
    );
}

#[test]
fn undefined_and_duplicate_policy_names() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 64512",
        "import = \"from-peers\"",
        "export = \"originated\"",
        "[[listen_range]]",
        "prefix = \"198.18.8.0/24\"",
        "asn = 64512",
        "export = \"to-peers\"",
        "[[policy]]",
        "name = \"to-peers\"",
        "[[policy]]",
        "name = \"to-peers\"",
        "[[policy]]",
        "name = \"none\"",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:10: neighbor[0].import: policy `from-peers` is not defined (known: all, none, originated, to-peers)",
            "podroute.toml:16:8: policy[1].name: policy `to-peers` is already defined by policy[0]",
            "podroute.toml:18:8: policy[2].name: `none` is a built-in policy and cannot be redefined (built-ins: all, none, originated)",
        ]
    );
}

#[test]
fn neighbor_option_checks() {
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 65001",
        "password = \"\"",
        "ttl_security = 1",
        "multihop = 2",
        "source_address = \"2001:db8::1\"",
        "next_hop = \"sometimes\"",
        "families = []",
        "max_prefixes = { action = \"warn\", restart_after = 5 }",
        "allowas_in = 11",
        "port = 0",
        "route_reflector_client = true",
        "[[neighbor]]",
        "address = \"198.18.0.3\"",
        "asn = 64512",
        "multihop = 3",
        "password = \"123456789012345678901234567890123456789012345678901234567890123456789012345678901\"",
        "next_hop_ipv6 = \"198.18.0.1\"",
        "next_hop_ipv4 = \"2001:db8::1\"",
        "delay_open = 300",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:7:12: neighbor[0].password: a TCP-MD5 password is 1 to 80 bytes (got 0)",
            "podroute.toml:9:12: neighbor[0].multihop: multihop and ttl_security exclude each other: GTSM always sends TTL 255 (RFC 5082 §3)",
            "podroute.toml:10:18: neighbor[0].source_address: source_address must be of the same family as address",
            "podroute.toml:11:12: neighbor[0].next_hop: `sometimes` is not one of `auto`, `self`, `keep`",
            "podroute.toml:12:12: neighbor[0].families: at least one family is needed (ipv4, ipv6)",
            "podroute.toml:13:16: neighbor[0].max_prefixes.limit: missing required key `limit`",
            "podroute.toml:13:51: neighbor[0].max_prefixes.restart_after: restart_after only applies with action = \"teardown\"",
            "podroute.toml:14:14: neighbor[0].allowas_in: allowas_in must be between 0 and 10 (got 11)",
            "podroute.toml:15:8: neighbor[0].port: port must be between 1 and 65535 (got 0)",
            "podroute.toml:16:26: neighbor[0].route_reflector_client: route_reflector_client applies to iBGP neighbors only (RFC 4456 §6)",
            "podroute.toml:20:12: neighbor[1].multihop: multihop applies to eBGP only; iBGP sessions already send TTL 255",
            "podroute.toml:21:12: neighbor[1].password: a TCP-MD5 password is 1 to 80 bytes (got 81)",
            "podroute.toml:22:17: neighbor[1].next_hop_ipv6: next_hop_ipv6 must be an IPv6 address",
            "podroute.toml:23:17: neighbor[1].next_hop_ipv4: next_hop_ipv4 must be an IPv4 address",
            "podroute.toml:24:14: neighbor[1].delay_open: delay_open must be between 1 and 240 (got 300)",
        ]
    );
}

#[test]
fn policy_term_checks() {
    let text = with_router(&[
        "[[policy]]",
        "name = \"p\"",
        "default = \"maybe\"",
        "[[policy.term]]",
        "action = \"drop\"",
        "set_med = -5",
        "add_community = [\"64512:70000\", \"no-export\"]",
        "add_large_community = \"1:2\"",
        "[policy.term.match]",
        "prefix = \"198.19.0.0/16\"",
        "ge = 24",
        "le = 20",
        "community = \"huh\"",
        "neighbor = [\"198.18.0.1/8\"]",
        "[[policy.term]]",
        "[policy.term.match]",
        "ge = 24",
        "as_path_length = { min = 5, max = 2 }",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:6:11: policy[0].default: `maybe` is not one of `accept`, `reject`",
            "podroute.toml:8:10: policy[0].term[0].action: `drop` is not one of `accept`, `reject`, `next`",
            "podroute.toml:9:11: policy[0].term[0].set_med: set_med must be between 0 and 4294967295 (got -5)",
            "podroute.toml:10:18: policy[0].term[0].add_community[0]: `64512:70000`: `70000` does not fit in 16-bit",
            "podroute.toml:11:23: policy[0].term[0].add_large_community: `1:2` is not a large community: write ASN:X:Y (e.g. 64512:1:100)",
            "podroute.toml:15:6: policy[0].term[0].match.le: le (20) is smaller than ge (24)",
            "podroute.toml:16:13: policy[0].term[0].match.community: `huh` is not a community: write ASN:VALUE (e.g. 64512:100) or one of no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown",
            "podroute.toml:17:13: policy[0].term[0].match.neighbor[0]: `198.18.0.1/8` has host bits set; did you mean 198.0.0.0/8?",
            "podroute.toml:18:1: policy[0].term[1].action: missing required key `action`",
            "podroute.toml:20:6: policy[0].term[1].match.ge: `ge` needs a `prefix` in the same match",
            "podroute.toml:21:35: policy[0].term[1].match.as_path_length.max: max (2) is smaller than min (5)",
        ]
    );
}

#[test]
fn prefix_list_bounds_follow_the_prefix_length() {
    let text = with_router(&[
        "[[import_kernel]]",
        "prefixes = [\"198.19.0.0/16\", { prefix = \"198.19.0.0/16\", ge = 8 }, { prefix = \"2001:db8::/32\", le = 129 }]",
        "protocols = [\"static\", 201, \"nope\"]",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:5:63: import_kernel[0].prefixes[1].ge: must be between the prefix length 16 and 32 (got 8)",
            "podroute.toml:5:101: import_kernel[0].prefixes[2].le: must be between the prefix length 32 and 128 (got 129)",
            "podroute.toml:6:24: import_kernel[0].protocols[1]: protocol 201 is podroute's own ([fib] protocol); importing it would loop routes back into BGP",
            "podroute.toml:6:29: import_kernel[0].protocols[2]: a protocol is a number 0..=255 or an iproute2 name such as kernel, boot, static, dhcp",
        ]
    );
}

#[test]
fn logging_and_api_values() {
    let text = with_router(&[
        "[logging]",
        "level = \"loud\"",
        "format = \"xml\"",
        "[api]",
        "socket = \"podroute.sock\"",
        "socket_mode = \"0999\"",
        "metrics = \"198.18.0.1\"",
    ]);
    assert_eq!(
        errors(&text),
        [
            "podroute.toml:5:9: logging.level: `loud` is not a log filter: write a level (off, error, warn, info, debug, trace) or target=level pairs separated by commas",
            "podroute.toml:6:10: logging.format: `xml` is not one of `human`, `json`",
            "podroute.toml:8:10: api.socket: the socket path must be absolute",
            "podroute.toml:9:15: api.socket_mode: `0999` is not an octal permission mode such as \"0660\"",
            "podroute.toml:10:11: api.metrics: `198.18.0.1` is not a socket address (add a port, e.g. 198.18.0.1:179 or [2001:db8::1]:179)",
        ]
    );
}

#[test]
fn all_validation_errors_are_reported_together_in_file_order() {
    // Errors from sections validated in a different order than they appear
    // (policies are checked first) still come out sorted by position.
    let text = with_router(&[
        "[[neighbor]]",
        "address = \"198.18.0.2\"",
        "asn = 64512",
        "hold_time = 1",
        "[[policy]]",
        "name = \"all\"",
        "[api]",
        "socket_mode = \"x\"",
    ]);
    let found = errors(&text);
    let lines: Vec<&str> = found
        .iter()
        .map(|error| error.split(':').nth(1).unwrap())
        .collect();
    assert_eq!(lines, ["7", "9", "11"]);
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = with_router(&[
        "[[neighbor]]",
        "description = \"nœud\"  ;",
        "address = \"198.18.0.2\"",
    ]);
    // The syntax error sits after 'nœud"' and two spaces: column 23 in characters (24 in bytes).
    let found = errors(&text);
    assert!(found[0].starts_with("podroute.toml:5:23: "), "{found:?}");
}

#[test]
fn errors_type_exposes_fields() {
    let result = Config::from_str(&with_router(&["[fib]", "protocol = 2"]), "x.toml");
    let errors: ConfigErrors = result.unwrap_err();
    let error = &errors.errors[0];
    assert_eq!(
        (
            error.file.as_str(),
            error.line,
            error.column,
            error.key.as_str()
        ),
        ("x.toml", 5, 12, "fib.protocol")
    );
}

#[test]
fn load_reports_an_unreadable_file() {
    let errors = config::load("/nonexistent/podroute.toml").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors
            .to_string()
            .starts_with("/nonexistent/podroute.toml:1:1: cannot read the configuration file")
    );
}
