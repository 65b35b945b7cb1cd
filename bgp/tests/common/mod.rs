//! Helpers shared by the codec's integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp::wire::{CodecContext, Message};

/// Bytes from hex written with spaces and line breaks for readability.
pub fn bytes(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).expect("test vectors are valid hex")
}

/// A whole message: marker, length, type, then `body` (hex).
pub fn message(message_type: u8, body: &str) -> Vec<u8> {
    let body = bytes(body);
    let mut out = vec![0xff; 16];
    out.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    out.push(message_type);
    out.extend_from_slice(&body);
    out
}

/// Asserts that `wire` decodes to `value` and `value` encodes to `wire`.
pub fn both_ways(wire: &[u8], value: &Message, context: &CodecContext) {
    let decoded = Message::decode(wire, context).expect("golden vector decodes");
    assert_eq!(&decoded, value, "decode");
    let encoded = value.to_bytes(context).expect("golden value encodes");
    assert_eq!(hex::encode(&encoded), hex::encode(wire), "encode");
}

/// A context with 2-octet AS numbers (no RFC 6793 capability).
pub fn legacy() -> CodecContext {
    CodecContext::legacy()
}
