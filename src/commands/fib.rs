//! `podroute fib`: the routes podroute has in the kernel, with their
//! resolved next hops (and the kernel nexthop object each forwards through,
//! when `[fib] nexthop_objects` is on), and every failed install and
//! conflict with why.

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

use std::collections::BTreeMap;

use serde_json::Value;

use super::table;

/// The installed routes, then failures and conflicts when there are any.
pub fn render(status: &Value) -> String {
    render_with(status, &interface_names())
}

/// Interface names by index, as `ip route` shows them; the CLI runs on the
/// daemon's host, so its /sys is the daemon's.
fn interface_names() -> BTreeMap<u64, String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let index = std::fs::read_to_string(entry.path().join("ifindex"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            Some((index, entry.file_name().to_string_lossy().into_owned()))
        })
        .collect()
}

fn render_with(status: &Value, names: &BTreeMap<u64, String>) -> String {
    let installed = status["installed"].as_array().cloned().unwrap_or_default();
    // The column only appears when routes use objects, so the plain view
    // stays as it was.
    let with_objects = installed
        .iter()
        .any(|route| !route["nexthop_object"].is_null());
    let rows: Vec<Vec<String>> = installed
        .iter()
        .map(|route| {
            let hops: Vec<String> = route["next_hops"]
                .as_array()
                .map(|hops| hops.iter().map(|next_hop| hop(next_hop, names)).collect())
                .unwrap_or_default();
            let mut row = vec![
                text(&route["prefix"]),
                text(&route["kind"]),
                if hops.is_empty() {
                    "-".into()
                } else {
                    hops.join(", ")
                },
                if route["stale"] == true {
                    "stale".into()
                } else {
                    String::new()
                },
            ];
            if with_objects {
                row.insert(3, object(&route["nexthop_object"]));
            }
            row
        })
        .collect();
    let mut out = format!(
        "{} routes in the kernel{}\n",
        installed.len(),
        if status["initial_sweep_done"] == true {
            ""
        } else {
            " (routes from before the restart not swept yet)"
        }
    );
    if !rows.is_empty() {
        let headers: &[&str] = if with_objects {
            &["Prefix", "Kind", "Next hops", "Nexthop object", ""]
        } else {
            &["Prefix", "Kind", "Next hops", ""]
        };
        out.push_str(&table::render(headers, &rows));
    }
    let failed = status["failed"].as_array().cloned().unwrap_or_default();
    if !failed.is_empty() {
        let rows: Vec<Vec<String>> = failed
            .iter()
            .map(|route| {
                vec![
                    text(&route["prefix"]),
                    text(&route["attempts"]),
                    route["next_retry_seconds"]
                        .as_u64()
                        .map_or_else(|| "-".into(), |seconds| format!("{seconds}s")),
                    text(&route["error"]),
                ]
            })
            .collect();
        out.push_str(&format!("\n{} failed\n", failed.len()));
        out.push_str(&table::render(
            &["Prefix", "Attempts", "Retry in", "Error"],
            &rows,
        ));
    }
    let conflicts = status["conflicts"].as_array().cloned().unwrap_or_default();
    if !conflicts.is_empty() {
        let rows: Vec<Vec<String>> = conflicts
            .iter()
            .map(|route| vec![text(&route["prefix"]), text(&route["foreign_protocol"])])
            .collect();
        out.push_str(&format!(
            "\n{} conflicts (another protocol's route is in the way; left alone)\n",
            conflicts.len()
        ));
        out.push_str(&table::render(&["Prefix", "Foreign protocol"], &rows));
    }
    out
}

fn hop(next_hop: &Value, names: &BTreeMap<u64, String>) -> String {
    let gateway = text(&next_hop["gateway"]);
    let interface = match &next_hop["interface"] {
        Value::Null => return gateway,
        Value::Object(interface) => match interface.values().next() {
            Some(Value::Number(index)) => index
                .as_u64()
                .and_then(|index| names.get(&index).cloned())
                .unwrap_or_else(|| index.to_string()),
            Some(name) => text(name),
            None => return gateway,
        },
        other => text(other),
    };
    format!("{gateway} dev {interface}")
}

/// `nhid 7`, or `group 9 (7 8)` as `ip nexthop` lists the members
/// (`7,3` for a weight other than 1); `-` for a route without an object.
fn object(value: &Value) -> String {
    let Some(id) = value["id"].as_u64() else {
        return "-".into();
    };
    let members: Vec<String> = value["group"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|member| match member["weight"].as_u64() {
            Some(weight) if weight != 1 => format!("{},{weight}", text(&member["id"])),
            _ => text(&member["id"]),
        })
        .collect();
    if members.is_empty() {
        format!("nhid {id}")
    } else {
        format!("group {id} ({})", members.join(" "))
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn interface_indexes_are_shown_by_name() {
        let status = json!({"installed": [{"prefix": "198.19.2.0/24", "kind": "unicast",
            "next_hops": [{"gateway": "198.18.0.2", "interface": {"index": 7}, "weight": 1}]}]});
        let names = BTreeMap::from([(7, "eth0".to_owned())]);
        assert!(render_with(&status, &names).contains("198.18.0.2 dev eth0"));
        assert!(
            render_with(&status, &BTreeMap::new()).contains("198.18.0.2 dev 7"),
            "unknown: the number"
        );
    }

    #[test]
    fn installed_failed_and_conflicting_routes_are_listed() {
        let status = json!({
            "initial_sweep_done": true,
            "installed": [{"prefix": "198.19.2.0/24", "kind": "unicast", "stale": false,
                           "next_hops": [{"gateway": "198.18.0.2", "interface": {"name": "eth0"}, "weight": 1}]}],
            "failed": [{"prefix": "198.19.9.0/24", "error": "next hop 198.18.9.9 unresolvable", "attempts": 3, "next_retry_seconds": 7}],
            "conflicts": [{"prefix": "198.19.8.0/24", "foreign_protocol": 4, "attempts": 1}],
        });
        let text = render_with(&status, &BTreeMap::new());
        assert!(text.starts_with("1 routes in the kernel\n"), "{text}");
        assert!(
            text.contains("198.19.2.0/24  unicast  198.18.0.2 dev eth0"),
            "{text}"
        );
        assert!(
            text.contains("198.19.9.0/24         3  7s        next hop 198.18.9.9 unresolvable"),
            "{text}"
        );
        assert!(text.contains("198.19.8.0/24                 4"), "{text}");
        assert!(!text.contains("Nexthop object"), "{text}");
    }

    #[test]
    fn nexthop_objects_are_shown_when_routes_use_them() {
        let status = json!({
            "initial_sweep_done": true,
            "installed": [
                {"prefix": "198.19.1.0/24", "kind": "blackhole", "stale": false,
                 "next_hops": [], "nexthop_object": null},
                {"prefix": "198.19.2.0/24", "kind": "unicast", "stale": false,
                 "next_hops": [{"gateway": "198.18.0.2", "interface": null, "weight": 1}],
                 "nexthop_object": {"id": 7, "group": []}},
                {"prefix": "198.19.3.0/24", "kind": "unicast", "stale": false,
                 "next_hops": [{"gateway": "198.18.0.2", "interface": null, "weight": 1},
                               {"gateway": "198.18.0.3", "interface": null, "weight": 3}],
                 "nexthop_object": {"id": 9, "group": [{"id": 7, "weight": 1}, {"id": 8, "weight": 3}]}},
            ],
            "failed": [], "conflicts": [],
        });
        let text = render_with(&status, &BTreeMap::new());
        assert!(text.contains("Nexthop object"), "{text}");
        assert!(text.contains("nhid 7"), "{text}");
        assert!(text.contains("group 9 (7 8,3)"), "{text}");
        assert!(text.contains("blackhole  -"), "{text}");
    }
}
