//! Inputs the fuzz targets (`fuzz/`) once failed on, kept as regression
//! tests. Each is run as the failing target ran it: the first byte selects
//! the codec context, the rest is the message.

// Test helpers may unwrap and index: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp::wire::{CodecContext, Family, Message};

/// The same selector as `fuzz/fuzz_targets/contexts.rs`.
fn context(selector: u8) -> CodecContext {
    let mut context = CodecContext::new();
    context.four_octet_as = selector & 1 == 0;
    if selector & 2 != 0 {
        context.add_path.insert(Family::IPV4_UNICAST);
    }
    if selector & 4 != 0 {
        context.add_path.insert(Family::IPV6_UNICAST);
    }
    context.extended_message = selector & 8 != 0;
    if selector & 16 != 0 {
        context.families.remove(&Family::IPV6_UNICAST);
    }
    context
}

fn without_diagnostics(message: Message) -> Message {
    match message {
        Message::Update(mut update) => {
            update.treat_as_withdraw = None;
            update.discarded.clear();
            Message::Update(update)
        }
        other => other,
    }
}

/// The `roundtrip` target's property on one input.
fn round_trips(input: &str) {
    let bytes = hex::decode(input).unwrap();
    let context = context(bytes[0]);
    let first = without_diagnostics(Message::decode(&bytes[1..], &context).unwrap());
    let wire = first.to_bytes(&context).unwrap();
    let second = without_diagnostics(Message::decode(&wire, &context).unwrap());
    assert_eq!(second, first);
}

/// Unknown attributes with the unused low flag bits set (0xef, 0xee): the
/// decoder kept those bits, the encoder (rightly) dropped them, so the value
/// changed on the way round. RFC 4271 §4.3: the bits are ignored on receipt.
#[test]
fn unused_attribute_flag_bits_are_not_kept() {
    round_trips(
        "00ffffffffffffffffffffffffffffffff006a0200000053900e002c0002012020010db8009800000000000000000002\
         fe800000000000000042c6fffe1298020000000000000402fe800000ff0000000042c6fffe129802003020010d200c\
         fa56ea010000790600000001",
    );
}
