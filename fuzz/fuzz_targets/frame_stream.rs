//! Arbitrary bytes as a TCP stream arriving in chunks: splitting frames off
//! a growing buffer and decoding each must never panic, and every frame
//! split off must be exactly as long as its header says.
#![no_main]

use bgp::wire::Message;
use bgp::wire::framing::split_message;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

#[path = "contexts.rs"]
mod contexts;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let context = contexts::context(selector);
    let chunk = usize::from(selector >> 5) * 7 + 1;
    let mut buffer = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buffer.extend_from_slice(piece);
        loop {
            match split_message(&mut buffer, &context) {
                Ok(Some(frame)) => {
                    let declared = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
                    assert_eq!(declared, frame.len());
                    let _ = Message::decode(&frame, &context);
                }
                Ok(None) => break,
                // A framing error ends the session; nothing more is read.
                Err(_) => return,
            }
        }
    }
});
