//! tshark's dissection of a capture, read into per-message facts.
//!
//! `tshark -T json --no-duplicate-keys -Y bgp` prints each packet's layers;
//! a packet holding several BGP messages has a list under `bgp`. Field
//! order matters (capabilities and NLRI are listed in the order sent), and
//! serde_json's default map sorts keys, so [`Tree`] deserialises the JSON
//! keeping document order. [`facts`] then walks one message's tree and
//! builds the `expect` object documented in the vectors' README. Nothing
//! here decodes BGP bytes: every fact comes from tshark's own decoder.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::command::run;
use crate::error::{Error, Result};

/// A JSON value that remembers the order of object keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// A string, number, boolean or null, as text.
    Leaf(String),
    /// An object, keys in document order.
    Object(Vec<(String, Tree)>),
    /// An array.
    Array(Vec<Tree>),
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_str<E>(self, value: &str) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value.to_string()))
    }
    fn visit_string<E>(self, value: String) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value))
    }
    fn visit_bool<E>(self, value: bool) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value.to_string()))
    }
    fn visit_u64<E>(self, value: u64) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value.to_string()))
    }
    fn visit_i64<E>(self, value: i64) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value.to_string()))
    }
    fn visit_f64<E>(self, value: f64) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(value.to_string()))
    }
    fn visit_unit<E>(self) -> std::result::Result<Tree, E> {
        Ok(Tree::Leaf(String::new()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> std::result::Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element::<Tree>()? {
            items.push(item);
        }
        Ok(Tree::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Tree>()? {
            entries.push((key, value));
        }
        Ok(Tree::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Tree, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

impl Tree {
    /// The child under `key` (first match) of an object.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The leaf text of this node.
    pub fn text(&self) -> Option<&str> {
        match self {
            Tree::Leaf(text) => Some(text),
            _ => None,
        }
    }

    /// This node as a list: an array's items, or the node itself.
    pub fn items(&self) -> Vec<&Tree> {
        match self {
            Tree::Array(items) => items.iter().collect(),
            other => vec![other],
        }
    }

    /// Every `(key, leaf text)` below this node in document order; array
    /// items inherit their parent's key.
    pub fn leaves(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.collect_leaves("", &mut out);
        out
    }

    fn collect_leaves(&self, key: &str, out: &mut Vec<(String, String)>) {
        match self {
            Tree::Leaf(text) => out.push((key.to_string(), text.clone())),
            Tree::Array(items) => items.iter().for_each(|item| item.collect_leaves(key, out)),
            Tree::Object(entries) => entries.iter().for_each(|(k, v)| v.collect_leaves(k, out)),
        }
    }

    /// The first node named `key` anywhere below (depth first, in order).
    pub fn find(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Leaf(_) => None,
            Tree::Array(items) => items.iter().find_map(|item| item.find(key)),
            Tree::Object(entries) => entries
                .iter()
                .find_map(|(k, v)| if k == key { Some(v) } else { v.find(key) }),
        }
    }
}

/// One BGP message as tshark saw it, with where it was going.
#[derive(Debug, Clone)]
pub struct DissectedMessage {
    /// tshark's TCP stream index.
    pub stream: u64,
    /// Source IP address of the packet that completed the message.
    pub source: String,
    /// The message subtree.
    pub tree: Tree,
}

fn leaf_at<'a>(tree: &'a Tree, path: &[&str]) -> Option<&'a str> {
    let mut node = tree;
    for key in path {
        node = node.get(key)?;
    }
    node.text()
}

/// Runs tshark on `pcap` and lists every BGP message in capture order.
pub fn dissect(pcap: &std::path::Path) -> Result<Vec<DissectedMessage>> {
    let path = pcap.to_string_lossy().to_string();
    let output = run(
        "tshark",
        &[
            "-r",
            &path,
            "-T",
            "json",
            "--no-duplicate-keys",
            "-Y",
            "bgp",
        ],
    )?;
    let packets: Tree = serde_json::from_str(&output).map_err(|source| Error::Json {
        what: "tshark json".into(),
        source,
    })?;
    let mut messages = Vec::new();
    for packet in packets.items() {
        let Some(layers) = packet.get("_source").and_then(|s| s.get("layers")) else {
            continue;
        };
        let stream = leaf_at(layers, &["tcp", "tcp.stream"]).and_then(|s| s.parse().ok());
        let source =
            leaf_at(layers, &["ip", "ip.src"]).or_else(|| leaf_at(layers, &["ipv6", "ipv6.src"]));
        let (Some(stream), Some(source), Some(bgp)) = (stream, source, layers.get("bgp")) else {
            continue;
        };
        for message in bgp.items() {
            // tshark shows a "BGP" layer for a segment that only continues
            // a message; those have no type and are skipped.
            if message.get("bgp.type").is_some() {
                messages.push(DissectedMessage {
                    stream,
                    source: source.to_string(),
                    tree: message.clone(),
                });
            }
        }
    }
    Ok(messages)
}

fn number(text: &str) -> Value {
    text.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(text))
}

/// `afi`/`safi` numbers as the vectors' family names.
pub fn family_name(afi: &str, safi: &str) -> String {
    match (afi, safi) {
        ("1", "1") => "ipv4-unicast".into(),
        ("2", "1") => "ipv6-unicast".into(),
        _ => format!("afi{afi}-safi{safi}"),
    }
}

/// Prefixes and path ids under an NLRI-list subtree: each child is an
/// object with `bgp.prefix_length`, a prefix field and maybe `bgp.nlri_path_id`.
fn prefixes(list: Option<&Tree>) -> (Vec<Value>, Vec<Value>) {
    let mut found = Vec::new();
    let mut path_ids = Vec::new();
    let Some(Tree::Object(entries)) = list else {
        return (found, path_ids);
    };
    for (_, entry) in entries {
        for item in entry.items() {
            let leaves = item.leaves();
            let length = leaves
                .iter()
                .find(|(k, _)| k == "bgp.prefix_length")
                .map(|(_, v)| v.clone());
            let prefix = leaves
                .iter()
                .find(|(k, _)| k.ends_with("_prefix") && k != "bgp.prefix_length")
                .map(|(_, v)| v.clone());
            if let (Some(prefix), Some(length)) = (prefix, length) {
                found.push(Value::from(format!("{prefix}/{length}")));
                if let Some((_, id)) = leaves.iter().find(|(k, _)| k == "bgp.nlri_path_id") {
                    path_ids.push(number(id));
                }
            }
        }
    }
    (found, path_ids)
}

fn open_facts(tree: &Tree, facts: &mut Map<String, Value>) {
    let leaves = tree.leaves();
    let first = |key: &str| {
        leaves
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let my_as = first("bgp.open.myas").unwrap_or_default();
    facts.insert(
        "version".into(),
        number(&first("bgp.open.version").unwrap_or_default()),
    );
    facts.insert("my_as".into(), number(&my_as));
    facts.insert("asn".into(), number(&first("bgp.cap.4as").unwrap_or(my_as)));
    facts.insert(
        "hold_time".into(),
        number(&first("bgp.open.holdtime").unwrap_or_default()),
    );
    facts.insert(
        "bgp_identifier".into(),
        Value::from(first("bgp.open.identifier").unwrap_or_default()),
    );
    let capabilities: Vec<Value> = leaves
        .iter()
        .filter(|(k, _)| k == "bgp.cap.type")
        .map(|(_, v)| number(v))
        .collect();
    facts.insert("capabilities".into(), Value::from(capabilities));
    let mut families = Vec::new();
    let mut add_path = Vec::new();
    if let Some(parameters) = tree.find("bgp.open.opt") {
        for capability in collect_named(parameters, "bgp.cap") {
            let leaves = capability.leaves();
            let all = |key: &str| -> Vec<String> {
                leaves
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .collect()
            };
            match all("bgp.cap.type").first().map(String::as_str) {
                Some("1") => {
                    if let (Some(afi), Some(safi)) = (
                        all("bgp.cap.mp.afi").first(),
                        all("bgp.cap.mp.safi").first(),
                    ) {
                        families.push(Value::from(family_name(afi, safi)));
                    }
                }
                Some("69") => {
                    let (afis, safis, modes) = (
                        all("bgp.cap.ap.afi"),
                        all("bgp.cap.ap.safi"),
                        all("bgp.cap.ap.sendreceive"),
                    );
                    for ((afi, safi), mode) in afis.iter().zip(&safis).zip(&modes) {
                        add_path.push(
                            json!({"family": family_name(afi, safi), "send_receive": number(mode)}),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    facts.insert("families".into(), Value::from(families));
    facts.insert("add_path".into(), Value::from(add_path));
}

/// Every subtree named `key` below `tree`, in order, arrays flattened.
fn collect_named<'a>(tree: &'a Tree, key: &str) -> Vec<&'a Tree> {
    let mut out = Vec::new();
    fn walk<'a>(tree: &'a Tree, key: &str, out: &mut Vec<&'a Tree>) {
        match tree {
            Tree::Leaf(_) => {}
            Tree::Array(items) => items.iter().for_each(|item| walk(item, key, out)),
            Tree::Object(entries) => {
                for (k, v) in entries {
                    if k == key {
                        out.extend(v.items());
                    } else {
                        walk(v, key, out);
                    }
                }
            }
        }
    }
    walk(tree, key, &mut out);
    out
}

fn update_facts(tree: &Tree, facts: &mut Map<String, Value>) {
    let (withdrawn, withdrawn_ids) = prefixes(tree.get("bgp.update.withdrawn_routes"));
    let (nlri, nlri_ids) = prefixes(tree.get("bgp.update.nlri"));
    let mut attribute_types = Vec::new();
    let mut origin = Value::Null;
    let mut as_path = Vec::new();
    let mut segments = Vec::new();
    let mut next_hop = Value::Null;
    let mut med = Value::Null;
    let mut local_pref = Value::Null;
    let mut communities = Vec::new();
    let mut large_communities = Vec::new();
    let mut originator_id = Value::Null;
    let mut cluster_list = Vec::new();
    let (mut reach_family, mut reach_hops, mut reach_nlri, mut reach_ids) =
        (Value::Null, Vec::new(), Vec::new(), Vec::new());
    let (mut unreach_family, mut unreach_nlri, mut unreach_ids) =
        (Value::Null, Vec::new(), Vec::new());
    let attributes = tree
        .get("bgp.update.path_attributes")
        .map(|a| collect_named(a, "bgp.update.path_attribute"))
        .unwrap_or_default();
    for attribute in &attributes {
        let code = attribute
            .get("bgp.update.path_attribute.type_code")
            .and_then(Tree::text)
            .unwrap_or_default()
            .to_string();
        attribute_types.push(number(&code));
        let leaves = attribute.leaves();
        let first = |key: &str| {
            leaves
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let all = |key: &str| -> Vec<String> {
            leaves
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        };
        match code.as_str() {
            "1" => {
                origin = first("bgp.update.path_attribute.origin")
                    .map(|v| number(&v))
                    .unwrap_or(Value::Null)
            }
            "2" => {
                for segment in collect_named(attribute, "bgp.update.path_attribute.as_path_segment")
                {
                    let segment_leaves = segment.leaves();
                    let kind = segment_leaves
                        .iter()
                        .find(|(k, _)| k == "bgp.update.path_attribute.as_path_segment.type")
                        .map(|(_, v)| number(v))
                        .unwrap_or(Value::Null);
                    let asns: Vec<Value> = segment_leaves
                        .iter()
                        .filter(|(k, _)| {
                            k.ends_with(".as_path_segment.as4")
                                || k.ends_with(".as_path_segment.as2")
                        })
                        .map(|(_, v)| number(v))
                        .collect();
                    as_path.extend(asns.iter().cloned());
                    segments.push(json!({"type": kind, "asns": asns}));
                }
            }
            "3" => {
                next_hop = first("bgp.update.path_attribute.next_hop")
                    .map(Value::from)
                    .unwrap_or(Value::Null)
            }
            "4" => {
                med = first("bgp.update.path_attribute.multi_exit_disc")
                    .map(|v| number(&v))
                    .unwrap_or(Value::Null)
            }
            "5" => {
                local_pref = first("bgp.update.path_attribute.local_pref")
                    .map(|v| number(&v))
                    .unwrap_or(Value::Null)
            }
            "8" => {
                let (asns, values) = (
                    all("bgp.update.path_attribute.community_as"),
                    all("bgp.update.path_attribute.community_value"),
                );
                communities = asns
                    .iter()
                    .zip(&values)
                    .map(|(a, v)| Value::from(format!("{a}:{v}")))
                    .collect();
            }
            "9" => {
                originator_id = first("bgp.update.path_attribute.originator_id")
                    .map(Value::from)
                    .unwrap_or(Value::Null)
            }
            "10" => {
                cluster_list = all("bgp.update.path_attribute.cluster_list")
                    .into_iter()
                    .map(Value::from)
                    .collect()
            }
            "14" => {
                let afi = first("bgp.update.path_attribute.mp_reach_nlri.afi").unwrap_or_default();
                let safi =
                    first("bgp.update.path_attribute.mp_reach_nlri.safi").unwrap_or_default();
                reach_family = Value::from(family_name(&afi, &safi));
                reach_hops = leaves
                    .iter()
                    .filter(|(k, _)| {
                        k.starts_with("bgp.update.path_attribute.mp_reach_nlri.next_hop.")
                    })
                    .map(|(_, v)| Value::from(v.clone()))
                    .collect();
                let (found, ids) =
                    prefixes(attribute.get("bgp.update.path_attribute.mp_reach_nlri"));
                reach_nlri = found;
                reach_ids = ids;
            }
            "15" => {
                let afi =
                    first("bgp.update.path_attribute.mp_unreach_nlri.afi").unwrap_or_default();
                let safi =
                    first("bgp.update.path_attribute.mp_unreach_nlri.safi").unwrap_or_default();
                unreach_family = Value::from(family_name(&afi, &safi));
                let (found, ids) =
                    prefixes(attribute.get("bgp.update.path_attribute.mp_unreach_nlri"));
                unreach_nlri = found;
                unreach_ids = ids;
            }
            "32" => {
                let (global, first_part, second) = (
                    all("bgp.large_communities.ga"),
                    all("bgp.large_communities.ldp1"),
                    all("bgp.large_communities.ldp2"),
                );
                large_communities = global
                    .iter()
                    .zip(&first_part)
                    .zip(&second)
                    .map(|((g, a), b)| Value::from(format!("{g}:{a}:{b}")))
                    .collect();
            }
            _ => {}
        }
    }
    // RFC 4724 §2: End-of-RIB is an empty UPDATE (IPv4 unicast) or an
    // UPDATE whose only attribute is an empty MP_UNREACH_NLRI.
    let end_of_rib = if attributes.is_empty() && withdrawn.is_empty() && nlri.is_empty() {
        Value::from("ipv4-unicast")
    } else if attributes.len() == 1
        && !unreach_family.is_null()
        && unreach_nlri.is_empty()
        && withdrawn.is_empty()
        && nlri.is_empty()
    {
        unreach_family.clone()
    } else {
        Value::Null
    };
    facts.insert("withdrawn".into(), Value::from(withdrawn));
    facts.insert("nlri".into(), Value::from(nlri));
    facts.insert("attribute_types".into(), Value::from(attribute_types));
    facts.insert("origin".into(), origin);
    facts.insert("as_path".into(), Value::from(as_path));
    facts.insert("as_path_segments".into(), Value::from(segments));
    facts.insert("next_hop".into(), next_hop);
    facts.insert("med".into(), med);
    facts.insert("local_pref".into(), local_pref);
    facts.insert("communities".into(), Value::from(communities));
    facts.insert("large_communities".into(), Value::from(large_communities));
    facts.insert("originator_id".into(), originator_id);
    facts.insert("cluster_list".into(), Value::from(cluster_list));
    facts.insert("mp_reach_family".into(), reach_family);
    facts.insert("mp_next_hops".into(), Value::from(reach_hops));
    facts.insert("mp_nlri".into(), Value::from(reach_nlri));
    facts.insert("mp_unreach_family".into(), unreach_family);
    facts.insert("mp_withdrawn".into(), Value::from(unreach_nlri));
    facts.insert("end_of_rib".into(), end_of_rib);
    let has_ids = !(withdrawn_ids.is_empty()
        && nlri_ids.is_empty()
        && reach_ids.is_empty()
        && unreach_ids.is_empty());
    if has_ids {
        facts.insert("path_ids".into(), json!({
            "withdrawn": withdrawn_ids, "nlri": nlri_ids, "mp_nlri": reach_ids, "mp_withdrawn": unreach_ids,
        }));
    }
}

fn notification_facts(tree: &Tree, facts: &mut Map<String, Value>) {
    let leaves = tree.leaves();
    let first = |predicate: &dyn Fn(&str) -> bool| {
        leaves
            .iter()
            .find(|(k, _)| predicate(k))
            .map(|(_, v)| v.clone())
    };
    facts.insert(
        "code".into(),
        number(&first(&|k| k == "bgp.notify.major_error").unwrap_or_default()),
    );
    facts.insert(
        "subcode".into(),
        number(&first(&|k| k.starts_with("bgp.notify.minor_error")).unwrap_or_default()),
    );
    facts.insert(
        "shutdown_communication".into(),
        first(&|k| k == "bgp.notify.communication")
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
}

/// The `expect` object of one message: facts from tshark's dissection only.
pub fn facts(tree: &Tree) -> Value {
    let mut facts = Map::new();
    let kind = tree
        .get("bgp.type")
        .and_then(Tree::text)
        .unwrap_or_default()
        .to_string();
    let name = match kind.as_str() {
        "1" => "open",
        "2" => "update",
        "3" => "notification",
        "4" => "keepalive",
        "5" => "route_refresh",
        _ => "unknown",
    };
    facts.insert("type".into(), Value::from(name));
    facts.insert(
        "length".into(),
        number(
            tree.get("bgp.length")
                .and_then(Tree::text)
                .unwrap_or_default(),
        ),
    );
    match name {
        "open" => open_facts(tree, &mut facts),
        "update" => update_facts(tree, &mut facts),
        "notification" => notification_facts(tree, &mut facts),
        "route_refresh" => {
            let leaves = tree.leaves();
            let first = |key: &str| {
                leaves
                    .iter()
                    .find(|(k, _)| k.ends_with(key))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            facts.insert(
                "family".into(),
                Value::from(family_name(&first(".afi"), &first(".safi"))),
            );
        }
        _ => {}
    }
    Value::Object(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_keeps_key_order() {
        let tree: Tree = serde_json::from_str(r#"{"b":"1","a":["2",{"c":"3"}]}"#).unwrap();
        assert_eq!(
            tree.leaves(),
            vec![
                ("b".into(), "1".into()),
                ("a".into(), "2".into()),
                ("c".into(), "3".into())
            ]
        );
    }

    #[test]
    fn notification_facts_are_read() {
        let tree: Tree = serde_json::from_str(
            r#"{"bgp.length":"38","bgp.type":"3","bgp.notify.major_error":"6","bgp.notify.minor_error_cease":"2",
                "bgp.notify.communication_length":"16","bgp.notify.communication":"bird maintenance"}"#,
        )
        .unwrap();
        assert_eq!(
            facts(&tree),
            json!({"type":"notification","length":38,"code":6,"subcode":2,"shutdown_communication":"bird maintenance"})
        );
    }

    #[test]
    fn end_of_rib_is_recognised() {
        let tree: Tree = serde_json::from_str(
            r#"{"bgp.length":"23","bgp.type":"2","bgp.update.withdrawn_routes.length":"0","bgp.update.path_attributes.length":"0"}"#,
        )
        .unwrap();
        assert_eq!(facts(&tree)["end_of_rib"], json!("ipv4-unicast"));
    }
}
