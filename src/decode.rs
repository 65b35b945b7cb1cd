//! `podroute decode`: BGP messages in, one JSON object per message out.
//!
//! Input is either hex text, one message per line (blank lines and `#`
//! comments skipped; spaces and colons inside a line ignored), or with
//! `--raw` a byte stream of concatenated messages as captured from one
//! direction of a TCP session. Each message is framed and decoded with the
//! codec context the flags describe, and printed as a JSON object on its own
//! line. A malformed message prints the error and the NOTIFICATION it would
//! cause; decoding goes on with the next line (in a raw stream a framing
//! error ends the stream, since message boundaries are lost). The exit status
//! is 1 when any message failed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::ExitCode;

use bgp::wire::{CodecContext, Family, Message, Nlri, Notification, Update, WireError, framing};
use serde_json::{Value, json};

use crate::cli::{DecodeOptions, FamilyName};

/// Runs `podroute decode` and returns the process exit status.
pub fn run(options: &DecodeOptions) -> ExitCode {
    let input = match read_input(options) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("podroute decode: {error}");
            return ExitCode::from(2);
        }
    };
    let context = context_from(options);
    let records = if options.raw {
        decode_stream(&input, &context)
    } else {
        decode_hex_lines(&String::from_utf8_lossy(&input), &context)
    };
    let mut failed = false;
    let mut stdout = std::io::stdout().lock();
    for record in &records {
        failed |= record.get("error").is_some();
        if writeln!(stdout, "{record}").is_err() {
            // The reader went away (e.g. `| head`): nothing more to say.
            return ExitCode::from(if failed { 1 } else { 0 });
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_input(options: &DecodeOptions) -> std::io::Result<Vec<u8>> {
    let mut input = Vec::new();
    match &options.file {
        Some(path) => {
            input = std::fs::read(path).map_err(|error| {
                std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
            })?;
        }
        None => {
            std::io::stdin().lock().read_to_end(&mut input)?;
        }
    }
    Ok(input)
}

/// The decoding context the flags describe: RFC 6793 unless `--as2`,
/// ADD-PATH for the named families, RFC 8654 lengths with `--extended-message`.
pub fn context_from(options: &DecodeOptions) -> CodecContext {
    let mut context = CodecContext::new();
    context.four_octet_as = !options.as2;
    context.extended_message = options.extended_message;
    for family in &options.add_path {
        context.add_path.insert(match family {
            FamilyName::Ipv4 => Family::IPV4_UNICAST,
            FamilyName::Ipv6 => Family::IPV6_UNICAST,
        });
    }
    context
}

/// Decodes hex text, one message per line.
pub fn decode_hex_lines(text: &str, context: &CodecContext) -> Vec<Value> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let content = line.split('#').next().unwrap_or_default();
        let digits: String = content
            .chars()
            .filter(|character| !character.is_whitespace() && *character != ':')
            .collect();
        if digits.is_empty() {
            continue;
        }
        let mut record = match hex::decode(&digits) {
            Err(error) => json!({ "error": { "detail": format!("not hex: {error}") } }),
            Ok(bytes) => decode_one(&bytes, context),
        };
        insert(&mut record, "line", json!(line_number));
        records.push(record);
    }
    records
}

/// Decodes a byte stream of concatenated messages.
pub fn decode_stream(stream: &[u8], context: &CodecContext) -> Vec<Value> {
    let mut records = Vec::new();
    let mut offset = 0;
    while let Some(rest) = stream.get(offset..).filter(|rest| !rest.is_empty()) {
        let length = match framing::frame_length(rest, context) {
            Ok(Some(length)) => length,
            Ok(None) => {
                records.push(json!({
                    "offset": offset,
                    "error": { "detail": format!("stream ends inside a message: {} bytes left over", rest.len()) },
                }));
                break;
            }
            Err(error) => {
                records.push(json!({ "offset": offset, "error": error_view(&error) }));
                break;
            }
        };
        let message = rest.get(..length).unwrap_or(rest);
        let mut record = decode_one(message, context);
        insert(&mut record, "offset", json!(offset));
        records.push(record);
        offset += length.max(1);
    }
    records
}

/// Frames and decodes one whole message, checking that the header's length
/// matches the bytes given.
fn decode_one(bytes: &[u8], context: &CodecContext) -> Value {
    match framing::frame_length(bytes, context) {
        Err(error) => json!({ "error": error_view(&error) }),
        Ok(None) => json!({ "error": {
            "detail": format!("incomplete message: {} bytes, fewer than the header announces", bytes.len()),
        }}),
        Ok(Some(length)) if length != bytes.len() => json!({ "error": {
            "detail": format!("header says {length} bytes but the line holds {}", bytes.len()),
        }}),
        Ok(Some(_)) => match Message::decode(bytes, context) {
            Ok(message) => message_view(&message, context),
            Err(error) => json!({ "error": error_view(&error) }),
        },
    }
}

fn insert(record: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = record {
        map.insert(key.to_owned(), value);
    }
}

/// The JSON of one decoded message. UPDATEs are regrouped by family so that
/// classic IPv4 fields and MP_REACH/MP_UNREACH read the same way.
fn message_view(message: &Message, context: &CodecContext) -> Value {
    match message {
        Message::Update(update) => update_view(update, context),
        Message::Notification(notification) => {
            let mut view = notification_view(notification);
            insert(&mut view, "type", json!("notification"));
            view
        }
        Message::Open(open) => {
            let mut view = serde_json::to_value(message).unwrap_or(Value::Null);
            insert(&mut view, "asn", json!(open.asn()));
            view
        }
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}

fn update_view(update: &Update, context: &CodecContext) -> Value {
    let mut withdrawn: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut announced: BTreeMap<String, Value> = BTreeMap::new();
    let ipv4 = Family::IPV4_UNICAST;
    if !update.withdrawn.is_empty() {
        withdrawn.insert(
            ipv4.to_string(),
            prefixes_view(&update.withdrawn, ipv4, context),
        );
    }
    if !update.nlri.is_empty() {
        announced.insert(
            ipv4.to_string(),
            json!({
                "next_hop": update.attributes.next_hop,
                "prefixes": prefixes_view(&update.nlri, ipv4, context),
            }),
        );
    }
    if let Some(unreach) = &update.mp_unreach {
        withdrawn
            .entry(unreach.family.to_string())
            .or_default()
            .extend(prefixes_view(&unreach.withdrawn, unreach.family, context));
    }
    if let Some(reach) = &update.mp_reach {
        announced.insert(
            reach.family.to_string(),
            json!({
                "next_hop": reach.next_hop,
                "prefixes": prefixes_view(&reach.nlri, reach.family, context),
            }),
        );
    }
    let mut view = json!({
        "type": "update",
        "withdrawn": withdrawn,
        "attributes": attributes_view(update),
        "nlri": announced,
    });
    if let Some(family) = update.is_end_of_rib() {
        insert(&mut view, "end_of_rib", json!(family.to_string()));
    }
    if let Some(error) = &update.treat_as_withdraw {
        insert(&mut view, "treat_as_withdraw", error_view(error));
    }
    if !update.discarded.is_empty() {
        insert(
            &mut view,
            "discarded",
            Value::Array(update.discarded.iter().map(error_view).collect()),
        );
    }
    view
}

/// The attributes that are present; absent and empty ones are left out,
/// except AS_PATH, whose presence matters even when empty (iBGP, RFC 4271 §5.1.2).
fn attributes_view(update: &Update) -> Value {
    let mut view = serde_json::to_value(&update.attributes).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut view {
        map.retain(|key, value| match value {
            Value::Null | Value::Bool(false) => false,
            Value::Array(items) => !items.is_empty() || key == "as_path",
            _ => true,
        });
    }
    view
}

fn prefixes_view(prefixes: &[Nlri], family: Family, context: &CodecContext) -> Vec<Value> {
    let with_path_ids = context.has_path_id(family);
    prefixes
        .iter()
        .map(|nlri| {
            if with_path_ids {
                json!({ "prefix": nlri.prefix.to_string(), "path_id": nlri.path_id })
            } else {
                json!(nlri.prefix.to_string())
            }
        })
        .collect()
}

fn notification_view(notification: &Notification) -> Value {
    let mut view = json!({
        "code": notification.code,
        "subcode": notification.subcode,
        "name": format!("{} / {}", notification.code_name(), notification.subcode_name()),
        "data": hex::encode(&notification.data),
    });
    if let Some(text) = notification.shutdown_communication() {
        insert(&mut view, "shutdown_communication", json!(text));
    }
    view
}

/// An error with its location and the NOTIFICATION it causes.
fn error_view(error: &WireError) -> Value {
    json!({
        "field": error.field,
        "offset": error.offset,
        "detail": error.detail,
        "action": error.action,
        "notification": notification_view(&error.notification()),
    })
}
