//! Arbitrary bytes as one message, under several contexts: framing and
//! decoding must return a value or an error, never panic.
#![no_main]

use bgp::wire::framing::frame_length;
use bgp::wire::{Message, Update};
use libfuzzer_sys::fuzz_target;

#[path = "contexts.rs"]
mod contexts;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let context = contexts::context(selector);
    let _ = frame_length(message, &context);
    match Message::decode(message, &context) {
        Ok(Message::Notification(notification)) => {
            let _ = notification.shutdown_communication();
            let _ = notification.inner();
            let _ = (notification.code_name(), notification.subcode_name());
        }
        Ok(Message::Update(update)) => {
            let _ = Update::is_end_of_rib(&update);
            let _ = update.announced().count() + update.withdrawals().count();
        }
        Ok(Message::Open(open)) => {
            let _ = open.asn();
        }
        _ => {}
    }
});
