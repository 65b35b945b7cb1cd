//! `podroute neighbors [ADDR]`: a `show bgp summary`-style table, or one
//! neighbor in detail; `--json` prints the API's objects unchanged.

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

use serde_json::Value;

use super::table;

/// The summary table of every neighbor.
pub fn summary(neighbors: &[Value]) -> String {
    if neighbors.is_empty() {
        return "no neighbors\n".into();
    }
    let rows: Vec<Vec<String>> = neighbors
        .iter()
        .map(|neighbor| {
            let up = if neighbor["state"] == "Established" {
                table::duration(neighbor["uptime_seconds"].as_u64().unwrap_or(0))
            } else {
                "-".into()
            };
            vec![
                text(&neighbor["address"]),
                text(&neighbor["remote_asn"]),
                text(&neighbor["state"]),
                up,
                text(&neighbor["prefixes_received"]),
                text(&neighbor["prefixes_accepted"]),
                text(&neighbor["prefixes_advertised"]),
                text(&neighbor["messages_received"]),
                text(&neighbor["messages_sent"]),
                role(neighbor),
                text(&neighbor["last_error"]),
            ]
        })
        .collect();
    table::render(
        &[
            "Neighbor",
            "AS",
            "State",
            "Up",
            "Received",
            "Accepted",
            "Advertised",
            "MsgIn",
            "MsgOut",
            "Role",
            "Last error",
        ],
        &rows,
    )
}

/// One neighbor, one field a line.
pub fn detail(neighbor: &Value) -> String {
    let mut lines = vec![
        format!(
            "Neighbor {}, AS {}",
            text(&neighbor["address"]),
            text(&neighbor["remote_asn"])
        ),
        format!("  State:            {}", text(&neighbor["state"])),
    ];
    if neighbor["state"] == "Established" {
        lines.push(format!(
            "  Up for:           {}",
            table::duration(neighbor["uptime_seconds"].as_u64().unwrap_or(0))
        ));
    }
    let fields = [
        ("Router ID", "router_id"),
        ("Local AS", "local_asn"),
        ("Description", "description"),
        ("Hold time", "hold_time"),
        ("Keepalive", "keepalive"),
        ("Flaps", "flaps"),
        ("Import policy", "import_policy"),
        ("Export policy", "export_policy"),
        ("Treat-as-withdraw", "updates_treated_as_withdraw"),
        ("Received", "prefixes_received"),
        ("Accepted", "prefixes_accepted"),
        ("Advertised", "prefixes_advertised"),
        ("Last error", "last_error"),
    ];
    for (label, key) in fields {
        lines.push(format!(
            "  {:<17} {}",
            format!("{label}:"),
            text(&neighbor[key])
        ));
    }
    lines.push(format!("  {:<17} {}", "Role:", role(neighbor)));
    let families: Vec<String> = neighbor["families"]
        .as_array()
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default();
    lines.push(format!(
        "  {:<17} {}",
        "Families:",
        if families.is_empty() {
            "-".into()
        } else {
            families.join(", ")
        }
    ));
    for (label, key) in [
        ("Messages in", "messages_received_by_type"),
        ("Messages out", "messages_sent_by_type"),
    ] {
        let counts = &neighbor[key];
        lines.push(format!(
            "  {:<17} open {}, update {}, notification {}, keepalive {}, route-refresh {}",
            format!("{label}:"),
            text(&counts["open"]),
            text(&counts["update"]),
            text(&counts["notification"]),
            text(&counts["keepalive"]),
            text(&counts["route_refresh"]),
        ));
    }
    for note in neighbor["notes"].as_array().into_iter().flatten() {
        lines.push(format!("  Note: {}", text(note)));
    }
    lines.join("\n") + "\n"
}

fn role(neighbor: &Value) -> String {
    let mut parts = Vec::new();
    if neighbor["route_reflector_client"] == true {
        parts.push("rr-client");
    }
    if neighbor["dynamic"] == true {
        parts.push("dynamic");
    }
    if neighbor["shutdown"] == true {
        parts.push("shutdown");
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
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

    fn neighbor() -> Value {
        json!({
            "address": "198.18.0.2", "remote_asn": 64512, "local_asn": 64512, "state": "Established",
            "uptime_seconds": 3723, "router_id": "198.18.0.2", "route_reflector_client": true, "dynamic": false,
            "shutdown": false, "description": null, "prefixes_received": 4, "prefixes_accepted": 4,
            "prefixes_advertised": 2, "messages_received": 130, "messages_sent": 128, "flaps": 0,
            "hold_time": 90, "keepalive": 30, "families": ["ipv4-unicast", "ipv6-unicast"], "last_error": null,
            "messages_received_by_type": {"open": 1, "update": 9, "notification": 0, "keepalive": 120, "route_refresh": 0},
            "messages_sent_by_type": {"open": 1, "update": 7, "notification": 0, "keepalive": 120, "route_refresh": 0},
        })
    }

    #[test]
    fn the_summary_has_one_aligned_row_per_neighbor() {
        let text = summary(&[neighbor()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("Neighbor       AS  State"),
            "numbers and their titles align right: {}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("198.18.0.2  64512  Established  1h02m03s"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("rr-client"));
    }

    #[test]
    fn the_detail_names_every_field() {
        let text = detail(&neighbor());
        assert!(
            text.contains("Families:         ipv4-unicast, ipv6-unicast"),
            "{text}"
        );
        assert!(text.contains("Up for:           1h02m03s"));
        assert!(text.contains("keepalive 120"));
    }
}
