//! `podroute fib`: the routes podroute has in the kernel, with their
//! resolved next hops, and every failed install and conflict with why.

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

use serde_json::Value;

use super::table;

/// The installed routes, then failures and conflicts when there are any.
pub fn render(status: &Value) -> String {
    let installed = status["installed"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = installed
        .iter()
        .map(|route| {
            let hops: Vec<String> = route["next_hops"]
                .as_array()
                .map(|hops| hops.iter().map(hop).collect())
                .unwrap_or_default();
            vec![
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
            ]
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
        out.push_str(&table::render(&["Prefix", "Kind", "Next hops", ""], &rows));
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

fn hop(next_hop: &Value) -> String {
    let gateway = text(&next_hop["gateway"]);
    match &next_hop["interface"] {
        Value::Null => gateway,
        Value::Object(interface) => match interface.values().next() {
            Some(name) => format!("{gateway} dev {}", text(name)),
            None => gateway,
        },
        other => format!("{gateway} dev {}", text(other)),
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
    fn installed_failed_and_conflicting_routes_are_listed() {
        let status = json!({
            "initial_sweep_done": true,
            "installed": [{"prefix": "198.19.2.0/24", "kind": "unicast", "stale": false,
                           "next_hops": [{"gateway": "198.18.0.2", "interface": {"name": "eth0"}, "weight": 1}]}],
            "failed": [{"prefix": "198.19.9.0/24", "error": "next hop 198.18.9.9 unresolvable", "attempts": 3, "next_retry_seconds": 7}],
            "conflicts": [{"prefix": "198.19.8.0/24", "foreign_protocol": 4, "attempts": 1}],
        });
        let text = render(&status);
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
    }
}
