//! Pairs the bytes of each TCP direction with tshark's dissection of the
//! same messages and writes one vector file per direction of each session:
//! `<sender>-to-<receiver>-<scenario>.json` (format in the directory's
//! README). The pairing is checked, not assumed: each direction must have
//! as many messages in the byte stream as tshark dissected, with equal
//! lengths, and every shutdown communication tshark read must be the text
//! the scenario configured.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::capture::dissect::{DissectedMessage, dissect, facts};
use crate::capture::scenario::{Plan, session_key};
use crate::capture::stream::{FollowedStream, parse_follow, split_messages};
use crate::command::run;
use crate::error::{Error, Result};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn address_of(endpoint: &str) -> String {
    let host = endpoint
        .rsplit_once(':')
        .map(|(host, _)| host)
        .unwrap_or(endpoint);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

fn follow(pcap: &Path, stream: u64) -> Result<FollowedStream> {
    let path = pcap.to_string_lossy().to_string();
    parse_follow(&run(
        "tshark",
        &["-r", &path, "-q", "-z", &format!("follow,tcp,raw,{stream}")],
    )?)
}

/// One direction of a session, ready to be written.
#[derive(Debug, Clone)]
pub struct Direction {
    /// Sender address.
    pub sender: String,
    /// Receiver address.
    pub receiver: String,
    /// Raw messages in order.
    pub messages: Vec<Vec<u8>>,
    /// tshark facts, one per message.
    pub expect: Vec<Value>,
}

fn pair(
    sender: &str,
    receiver: &str,
    bytes: &[u8],
    dissected: &[&DissectedMessage],
) -> Result<Direction> {
    let messages = split_messages(bytes)?;
    let expect: Vec<Value> = dissected
        .iter()
        .map(|message| facts(&message.tree))
        .collect();
    if messages.len() != expect.len() {
        return Err(Error::Parse {
            what: format!("{sender} -> {receiver}"),
            detail: format!(
                "{} messages in the stream, {} dissected by tshark",
                messages.len(),
                expect.len()
            ),
        });
    }
    for (index, (message, facts)) in messages.iter().zip(&expect).enumerate() {
        if facts.get("length").and_then(Value::as_u64) != Some(message.len() as u64) {
            return Err(Error::Parse {
                what: format!("{sender} -> {receiver} message {index}"),
                detail: format!(
                    "length {} but tshark says {:?}",
                    message.len(),
                    facts.get("length")
                ),
            });
        }
    }
    Ok(Direction {
        sender: sender.to_string(),
        receiver: receiver.to_string(),
        messages,
        expect,
    })
}

fn open_of(direction: &Direction) -> Option<&Value> {
    direction
        .expect
        .iter()
        .find(|facts| facts["type"] == "open")
}

fn capability_set(open: Option<&Value>) -> BTreeSet<u64> {
    open.and_then(|o| o["capabilities"].as_array())
        .map(|list| list.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn add_path_modes(open: Option<&Value>) -> BTreeMap<String, u64> {
    open.and_then(|o| o["add_path"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(|entry| {
                    Some((
                        entry["family"].as_str()?.to_string(),
                        entry["send_receive"].as_u64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a decoder of `direction` must know from the session (RFC 6793 §4,
/// RFC 7911 §4, RFC 8654 §3): negotiated from the two OPENs tshark read.
pub fn context(direction: &Direction, reverse: &Direction) -> Value {
    let (mine, theirs) = (open_of(direction), open_of(reverse));
    let (my_capabilities, their_capabilities) = (capability_set(mine), capability_set(theirs));
    let both = |code: u64| my_capabilities.contains(&code) && their_capabilities.contains(&code);
    let (my_modes, their_modes) = (add_path_modes(mine), add_path_modes(theirs));
    // The sender puts path ids on a family when it offered to send (bit 2)
    // and the receiver offered to receive (bit 1).
    let add_path: Vec<&String> = my_modes
        .iter()
        .filter(|(family, mode)| {
            *mode & 2 != 0
                && their_modes
                    .get(*family)
                    .is_some_and(|theirs| theirs & 1 != 0)
        })
        .map(|(family, _)| family)
        .collect();
    json!({
        "four_octet_as": both(65),
        "add_path": add_path,
        "extended_message": both(6),
    })
}

fn check_shutdown(direction: &Direction, plan: &Plan) -> Result<()> {
    for facts in &direction.expect {
        if let Some(text) = facts.get("shutdown_communication").and_then(Value::as_str) {
            let configured = plan.shutdown_messages.get(&direction.sender);
            if configured.map(String::as_str) != Some(text) {
                return Err(Error::Parse {
                    what: format!("shutdown communication from {}", direction.sender),
                    detail: format!("tshark read {text:?}, the scenario sent {configured:?}"),
                });
            }
        }
    }
    Ok(())
}

/// Converts `pcap` into vector files under `out`; returns the paths written.
pub fn write_all(pcap: &Path, plan: &Plan, out: &Path) -> Result<Vec<PathBuf>> {
    let dissected = dissect(pcap)?;
    let streams: BTreeSet<u64> = dissected.iter().map(|m| m.stream).collect();
    let mut sessions_done = BTreeSet::new();
    let mut written = Vec::new();
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for stream in streams {
        let followed = follow(pcap, stream)?;
        let (client, server) = (address_of(&followed.client), address_of(&followed.server));
        let key = session_key(&client, &server);
        let Some(scenario) = plan.sessions.get(&key) else {
            continue;
        };
        // Later connections of a session (reconnect attempts after a
        // shutdown) are not vectors; the first one holds the whole story.
        if !sessions_done.insert(key.clone()) {
            continue;
        }
        let from = |address: &str| -> Vec<&DissectedMessage> {
            dissected
                .iter()
                .filter(|m| m.stream == stream && m.source == address)
                .collect()
        };
        let forward = pair(&client, &server, &followed.client_bytes, &from(&client))?;
        let backward = pair(&server, &client, &followed.server_bytes, &from(&server))?;
        for (direction, reverse) in [(&forward, &backward), (&backward, &forward)] {
            check_shutdown(direction, plan)?;
            let label = |address: &str| {
                plan.speakers
                    .get(address)
                    .cloned()
                    .unwrap_or_else(|| address.to_string())
            };
            let short = |address: &str| {
                plan.short_names
                    .get(address)
                    .cloned()
                    .unwrap_or_else(|| address.to_string())
            };
            let messages: Vec<Value> = direction
                .messages
                .iter()
                .zip(&direction.expect)
                .map(|(bytes, expect)| json!({"hex": hex(bytes), "expect": expect}))
                .collect();
            let document = json!({
                "sender": label(&direction.sender),
                "receiver": label(&direction.receiver),
                "sender_address": direction.sender,
                "receiver_address": direction.receiver,
                "scenario": scenario,
                "context": context(direction, reverse),
                "messages": messages,
            });
            let name = format!(
                "{}-to-{}-{scenario}.json",
                short(&direction.sender),
                short(&direction.receiver)
            );
            let path = out.join(name);
            let mut text =
                serde_json::to_string_pretty(&document).map_err(|source| Error::Json {
                    what: "vector".into(),
                    source,
                })?;
            text.push('\n');
            std::fs::write(&path, text).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
    }
    let expected = plan.sessions.len() * 2;
    if written.len() != expected {
        return Err(Error::Parse {
            what: "capture".into(),
            detail: format!(
                "wrote {} vector files, expected {expected} (a session is missing from the capture)",
                written.len()
            ),
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_lose_port_and_brackets() {
        assert_eq!(address_of("[2001:db8:56::3]:37306"), "2001:db8:56::3");
        assert_eq!(address_of("198.18.86.3:54408"), "198.18.86.3");
    }

    #[test]
    fn context_requires_both_sides() {
        let open = |caps: Value, add_path: Value| Direction {
            sender: String::new(),
            receiver: String::new(),
            messages: vec![],
            expect: vec![json!({"type": "open", "capabilities": caps, "add_path": add_path})],
        };
        let sender = open(
            json!([1, 65, 69, 6]),
            json!([{"family": "ipv4-unicast", "send_receive": 3}, {"family": "ipv6-unicast", "send_receive": 1}]),
        );
        let receiver = open(
            json!([1, 65, 69]),
            json!([{"family": "ipv4-unicast", "send_receive": 1}, {"family": "ipv6-unicast", "send_receive": 3}]),
        );
        assert_eq!(
            context(&sender, &receiver),
            json!({"four_octet_as": true, "add_path": ["ipv4-unicast"], "extended_message": false})
        );
    }
}
