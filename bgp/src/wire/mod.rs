//! The BGP wire codec (RFC 4271 §4, with the extensions podroute speaks).
//!
//! Bytes come in through [`framing`], which finds whole messages in a byte
//! stream; [`Message::decode`] turns one whole message into a typed value using
//! the [`CodecContext`] the session negotiated; [`Message::encode`] turns a
//! value back into bytes. Nothing here does I/O or reads a clock, and no input
//! can make it panic: every length is checked before it is used, and every
//! failure is a [`WireError`] naming the field and byte offset together with
//! the NOTIFICATION (RFC 4271 §6) or the RFC 7606 action it calls for.
//!
//! The typed values are plain data with public fields so that the session and
//! RIB layers, tests and `podroute decode` can build and inspect them freely.

mod as4;
pub mod attribute;
mod attribute_decode;
mod attribute_encode;
mod attribute_values;
pub mod capability;
mod capability_codec;
pub mod community;
pub mod context;
mod cursor;
pub mod error;
pub mod family;
pub mod framing;
pub mod message;
pub mod notification;
mod notification_names;
pub mod open;
pub mod packing;
pub mod prefix;
pub mod route_refresh;
pub mod update;
mod update_decode;
mod update_encode;

pub use attribute::{
    Aggregator, AsPath, AsPathSegment, AsPathSegmentKind, ExtendedCommunity, LargeCommunity,
    Origin, PathAttributes, RawAttribute,
};
pub use capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHopEntry, GracefulRestart,
    GracefulRestartFamily,
};
pub use context::CodecContext;
pub use error::{ErrorAction, WireError};
pub use family::{Afi, Family, Safi};
pub use message::{Message, MessageType};
pub use notification::{Notification, code, subcode};
pub use open::Open;
pub use packing::{pack_announcements, pack_withdrawals};
pub use prefix::Nlri;
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};
pub use update::{MpReach, MpUnreach, NextHop, Update};

/// Length of the BGP header: 16-byte marker, 2-byte length, 1-byte type (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// Largest message without the extended message capability (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once extended messages are negotiated (RFC 8654 §4).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// AS number placed in 2-octet fields when the real AS does not fit (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// Lower-case hex of `bytes`, for JSON and log output.
pub(crate) fn hex_string(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len().saturating_mul(2));
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            text.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    text
}
