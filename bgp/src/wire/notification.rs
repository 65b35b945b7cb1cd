//! The NOTIFICATION message (RFC 4271 §4.5) and the error codes of §6,
//! with the shutdown communication of RFC 9003 and the Hard Reset of RFC 8538.
//!
//! A session builds a [`Notification`] with one of the constructors here (or
//! takes one from a [`super::WireError`]), and the codec turns it into bytes
//! with [`Notification::encode_body`]; a received one is decoded by
//! [`Notification::decode_body`] and explained by [`Notification::code_name`],
//! [`Notification::subcode_name`] and [`Notification::shutdown_communication`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, BytesMut};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::cursor::Reader;
use super::error::WireError;
use super::family::Family;

pub use super::notification_names::{code, subcode};

/// Longest shutdown communication, in bytes of UTF-8 (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION_LEN: usize = 255;

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code (RFC 4271 §4.5).
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// Hold Timer Expired (RFC 4271 §6.5).
    pub fn hold_timer_expired() -> Self {
        Notification::new(code::HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    /// Finite State Machine Error (RFC 4271 §6.6) with the RFC 6608 subcode
    /// for the state the unexpected message arrived in (0 when unspecific).
    pub fn fsm_error(subcode: u8) -> Self {
        Notification::new(code::FSM_ERROR, subcode, Vec::new())
    }

    /// Cease (RFC 4271 §6.7) with an RFC 4486 subcode and no data.
    pub fn cease(subcode: u8) -> Self {
        Notification::new(code::CEASE, subcode, Vec::new())
    }

    /// Cease / Maximum Number of Prefixes Reached (RFC 4486 §4): the data is
    /// the AFI, the SAFI and the configured upper bound.
    pub fn maximum_prefixes(family: Family, limit: u32) -> Self {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&family.afi.0.to_be_bytes());
        data.push(family.safi.0);
        data.extend_from_slice(&limit.to_be_bytes());
        Notification::new(code::CEASE, subcode::cease::MAXIMUM_PREFIXES, data)
    }

    /// Cease with a shutdown communication (RFC 9003 §2): `subcode` should be
    /// Administrative Shutdown (2) or Administrative Reset (4). The message is
    /// cut to 255 bytes at a character boundary, as the length octet demands.
    pub fn shutdown(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION_LEN);
        while !message.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        let text = message.get(..end).unwrap_or("").as_bytes();
        let mut data = Vec::with_capacity(text.len().saturating_add(1));
        if !text.is_empty() {
            data.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
            data.extend_from_slice(text);
        }
        Notification::new(code::CEASE, subcode, data)
    }

    /// The shutdown communication of a Cease / Administrative Shutdown or
    /// Administrative Reset (RFC 9003 §2), if one is present.
    ///
    /// Tolerant of bad data as RFC 9003 §3 asks: a length octet larger than
    /// the data is cut to the data present, and invalid UTF-8 is replaced
    /// (lossy) rather than refused.
    pub fn shutdown_communication(&self) -> Option<String> {
        let is_shutdown = self.code == code::CEASE
            && (self.subcode == subcode::cease::ADMINISTRATIVE_SHUTDOWN
                || self.subcode == subcode::cease::ADMINISTRATIVE_RESET);
        if !is_shutdown {
            return None;
        }
        let (&length, text) = self.data.split_first()?;
        if length == 0 {
            return None;
        }
        let text = text.get(..usize::from(length)).unwrap_or(text);
        Some(String::from_utf8_lossy(text).into_owned())
    }

    /// Cease / Hard Reset wrapping another NOTIFICATION (RFC 8538 §3): the
    /// data is the inner code, subcode and data.
    pub fn hard_reset(inner: &Notification) -> Self {
        let mut data = Vec::with_capacity(inner.data.len().saturating_add(2));
        data.push(inner.code);
        data.push(inner.subcode);
        data.extend_from_slice(&inner.data);
        Notification::new(code::CEASE, subcode::cease::HARD_RESET, data)
    }

    /// The NOTIFICATION wrapped by a Hard Reset (RFC 8538 §3), if this is one
    /// and its data holds at least a code and subcode.
    pub fn inner(&self) -> Option<Notification> {
        if self.code != code::CEASE || self.subcode != subcode::cease::HARD_RESET {
            return None;
        }
        match self.data.as_slice() {
            [inner_code, inner_subcode, rest @ ..] => Some(Notification::new(
                *inner_code,
                *inner_subcode,
                rest.to_vec(),
            )),
            _ => None,
        }
    }

    /// OPEN / Unsupported Version Number (RFC 4271 §6.2): the data is the
    /// largest locally supported version, as a 2-octet integer.
    pub fn unsupported_version(largest_supported: u8) -> Self {
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::UNSUPPORTED_VERSION,
            u16::from(largest_supported).to_be_bytes().to_vec(),
        )
    }

    /// OPEN / Bad Peer AS (RFC 4271 §6.2).
    pub fn bad_peer_as() -> Self {
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::BAD_PEER_AS,
            Vec::new(),
        )
    }

    /// OPEN / Bad BGP Identifier (RFC 4271 §6.2, RFC 6286 §2.2).
    pub fn bad_bgp_identifier() -> Self {
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::BAD_BGP_IDENTIFIER,
            Vec::new(),
        )
    }

    /// OPEN / Unacceptable Hold Time (RFC 4271 §6.2): hold time 1 or 2.
    pub fn unacceptable_hold_time() -> Self {
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
        )
    }

    /// OPEN / Unsupported Capability (RFC 5492 §5): the data lists the
    /// capabilities (code, length, value) that made the session impossible.
    pub fn unsupported_capability(capabilities: &[super::Capability]) -> Self {
        let mut data = BytesMut::new();
        for capability in capabilities {
            // A capability too long to encode is left out of the diagnostic.
            let _ = super::capability_codec::encode_capability(capability, &mut data);
        }
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::UNSUPPORTED_CAPABILITY,
            data.to_vec(),
        )
    }

    /// OPEN / Role Mismatch (RFC 9234 §4.2).
    pub fn role_mismatch() -> Self {
        Notification::new(
            code::OPEN_MESSAGE_ERROR,
            subcode::open::ROLE_MISMATCH,
            Vec::new(),
        )
    }

    /// The name of the error code, as IANA lists it.
    pub fn code_name(&self) -> &'static str {
        super::notification_names::code_name(self.code)
    }

    /// The name of the subcode under this code, as IANA lists it.
    pub fn subcode_name(&self) -> &'static str {
        super::notification_names::subcode_name(self.code, self.subcode)
    }

    /// Decodes a NOTIFICATION body (the bytes after the 19-byte header);
    /// `base` is the body's offset in the message.
    pub fn decode_body(body: &[u8], base: usize) -> Result<Notification, WireError> {
        let mut reader = Reader::new(
            body,
            base,
            code::MESSAGE_HEADER_ERROR,
            subcode::header::BAD_MESSAGE_LENGTH,
        );
        let error_code = reader.u8("NOTIFICATION error code")?;
        let error_subcode = reader.u8("NOTIFICATION error subcode")?;
        Ok(Notification::new(
            error_code,
            error_subcode,
            reader.rest().to_vec(),
        ))
    }

    /// Appends the NOTIFICATION body (code, subcode, data) to `out`.
    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }
}

/// Serialized with the names of code and subcode, the data in hex, and the
/// shutdown communication or Hard Reset inner NOTIFICATION when present.
impl Serialize for Notification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Notification", 7)?;
        state.serialize_field("code", &self.code)?;
        state.serialize_field("code_name", self.code_name())?;
        state.serialize_field("subcode", &self.subcode)?;
        state.serialize_field("subcode_name", self.subcode_name())?;
        state.serialize_field("data", &super::hex_string(&self.data))?;
        if let Some(text) = self.shutdown_communication() {
            state.serialize_field("shutdown_communication", &text)?;
        }
        if let Some(inner) = self.inner() {
            state.serialize_field("inner", &inner)?;
        }
        state.end()
    }
}
