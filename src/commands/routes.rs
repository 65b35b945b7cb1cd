//! `podroute routes [PREFIX]`: every path of every prefix in the Loc-RIB,
//! best first, like `show ip bgp`; `--explain` adds the decision step at
//! which each other path lost (RFC 4271 §9.1.2.2).

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value[key] yields Null for a missing key; it cannot panic"
)]

use serde_json::Value;

use super::table;

/// The table of paths.
pub fn render(prefixes: &[Value], explain: bool) -> String {
    if prefixes.is_empty() {
        return "no routes\n".into();
    }
    let mut rows = Vec::new();
    for prefix in prefixes {
        let paths = prefix["paths"].as_array().cloned().unwrap_or_default();
        for (index, path) in paths.iter().enumerate() {
            let name = if index == 0 {
                text(&prefix["prefix"])
            } else {
                String::new()
            };
            let mut row = vec![
                status(path),
                name,
                next_hop(&path["next_hop"]),
                path["peer_address"].as_str().unwrap_or("local").to_owned(),
                as_path(&path["attributes"]),
                text(&path["attributes"]["local_pref"]),
                text(&path["attributes"]["med"]),
                origin(&path["attributes"]["origin"]),
            ];
            if explain {
                row.push(
                    path["lost_at"]
                        .as_str()
                        .map_or_else(|| "-".into(), str::to_owned),
                );
            }
            rows.push(row);
        }
    }
    let mut header = vec![
        "", "Prefix", "Next hop", "From", "AS path", "LocPref", "MED", "Origin",
    ];
    if explain {
        header.push("Lost at");
    }
    let legend = "Status: * valid, > best, = multipath, ! next hop unreachable\n";
    format!("{legend}{}", table::render(&header, &rows))
}

/// A neighbor's received or advertised routes, one line each.
pub fn render_adj(routes: &Value) -> String {
    let routes = routes.as_array().cloned().unwrap_or_default();
    if routes.is_empty() {
        return "no routes\n".into();
    }
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|route| {
            vec![
                text(&route["prefix"]),
                text(&route["path_id"]),
                next_hop(&route["next_hop"]),
                as_path(&route["attributes"]),
                text(&route["attributes"]["local_pref"]),
                text(&route["attributes"]["med"]),
                origin(&route["attributes"]["origin"]),
            ]
        })
        .collect();
    format!(
        "{} routes\n{}",
        routes.len(),
        table::render(
            &[
                "Prefix", "Path ID", "Next hop", "AS path", "LocPref", "MED", "Origin"
            ],
            &rows
        )
    )
}

fn status(path: &Value) -> String {
    let mut status = String::new();
    status.push(if path["reachable"] == false { '!' } else { '*' });
    if path["best"] == true {
        status.push('>');
    } else if path["multipath"] == true {
        status.push('=');
    }
    status
}

fn next_hop(value: &Value) -> String {
    match value {
        Value::Null => "self".into(),
        next_hop => match (
            &next_hop["address"],
            &next_hop["global"],
            &next_hop["link_local"],
        ) {
            (Value::String(address), _, _) => address.clone(),
            (_, Value::String(global), Value::String(link_local)) => {
                format!("{global} ({link_local})")
            }
            (_, Value::String(global), _) => global.clone(),
            _ => next_hop.to_string(),
        },
    }
}

fn as_path(attributes: &Value) -> String {
    let segments = attributes["as_path"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut words = Vec::new();
    for segment in &segments {
        let numbers: Vec<String> = segment["asns"]
            .as_array()
            .map(|asns| asns.iter().map(|asn| asn.to_string()).collect())
            .unwrap_or_default();
        match segment["kind"].as_str() {
            Some("set") => words.push(format!("{{{}}}", numbers.join(","))),
            Some("confed-sequence") => words.push(format!("({})", numbers.join(" "))),
            Some("confed-set") => words.push(format!("[{}]", numbers.join(","))),
            _ => words.extend(numbers),
        }
    }
    if words.is_empty() {
        "-".into()
    } else {
        words.join(" ")
    }
}

fn origin(value: &Value) -> String {
    match value.as_str() {
        Some("igp") => "i".into(),
        Some("egp") => "e".into(),
        Some("incomplete") => "?".into(),
        _ => "-".into(),
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
    fn best_and_losing_paths_render_with_why_they_lost() {
        let prefixes = vec![json!({
            "prefix": "198.19.2.0/24",
            "paths": [
                {"peer_address": "198.18.0.2", "next_hop": {"kind": "ipv4", "address": "198.18.0.2"},
                 "attributes": {"as_path": [{"kind": "sequence", "asns": [65002]}], "local_pref": 200, "origin": "igp"},
                 "best": true, "multipath": false, "reachable": true},
                {"peer_address": "198.18.0.3", "next_hop": {"kind": "ipv4", "address": "198.18.0.3"},
                 "attributes": {"as_path": [{"kind": "sequence", "asns": [65003, 65004]}], "local_pref": 100, "origin": "incomplete"},
                 "best": false, "multipath": false, "reachable": true, "lost_at": "highest-local-pref"},
            ]
        })];
        let text = render(&prefixes, true);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].starts_with("*>  198.19.2.0/24  198.18.0.2  198.18.0.2  65002"),
            "{text}"
        );
        assert!(
            lines[3].contains("65003 65004") && lines[3].ends_with("highest-local-pref"),
            "{text}"
        );
    }
}
