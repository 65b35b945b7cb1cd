//! Decode; if that succeeds, encode and decode again: the value must come
//! back. On 4-octet AS sessions the first decode is already stable. On
//! 2-octet sessions RFC 6793 §4.2.3 can lose information once (an AGGREGATOR
//! that is not AS_TRANS makes AS4_PATH stale), so the value must be stable
//! from the second decode on. Encoding may fail only for size: a decoded
//! message can grow (AS4_PATH generation, lossy hostname text).
#![no_main]

use bgp::wire::{CodecContext, Message};
use libfuzzer_sys::fuzz_target;

#[path = "contexts.rs"]
mod contexts;

/// The value without the diagnostics, whose offsets depend on the encoding.
fn comparable(message: Message) -> Message {
    match message {
        Message::Update(mut update) => {
            update.treat_as_withdraw = None;
            update.discarded.clear();
            Message::Update(update)
        }
        other => other,
    }
}

/// Encodes and decodes; None when the value is too large to encode.
fn again(message: &Message, context: &CodecContext) -> Option<Message> {
    let wire = match message.to_bytes(context) {
        Ok(wire) => wire,
        Err(error) if matches!(error.field, "message length" | "capability length") => return None,
        Err(error) => panic!("a decoded value failed to encode: {error}"),
    };
    match Message::decode(&wire, context) {
        Ok(decoded) => Some(comparable(decoded)),
        Err(error) => panic!("re-encoded bytes failed to decode: {error}\n{message:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let context = contexts::context(selector);
    let Ok(first) = Message::decode(bytes, &context) else {
        return;
    };
    let first = comparable(first);
    let Some(second) = again(&first, &context) else {
        return;
    };
    if context.four_octet_as {
        assert_eq!(second, first);
    }
    if let Some(third) = again(&second, &context) {
        assert_eq!(third, second);
    }
});
