//! A whole BGP message (RFC 4271 §4.1): the header's type selects the body.
//!
//! [`Message::decode`] takes exactly one message as found by
//! [`super::framing::frame_length`], checks its header again (so it is safe
//! on any bytes), and hands the body to the decoder of its type.
//! [`Message::encode`] writes the header with a placeholder length, lets the
//! body encoder append, then patches the length and checks it against the
//! negotiated maximum.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use super::HEADER_LEN;
use super::context::CodecContext;
use super::error::WireError;
use super::framing::frame_length;
use super::notification::{Notification, code, subcode};
use super::open::Open;
use super::route_refresh::RouteRefresh;
use super::update::Update;

/// The message type octet of the header (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageType {
    /// 1
    Open,
    /// 2
    Update,
    /// 3
    Notification,
    /// 4
    Keepalive,
    /// 5
    RouteRefresh,
}

impl MessageType {
    /// The type for a header's type octet, if it is one podroute knows.
    pub fn from_octet(octet: u8) -> Option<MessageType> {
        match octet {
            1 => Some(MessageType::Open),
            2 => Some(MessageType::Update),
            3 => Some(MessageType::Notification),
            4 => Some(MessageType::Keepalive),
            5 => Some(MessageType::RouteRefresh),
            _ => None,
        }
    }

    /// The header's type octet.
    pub fn octet(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// Smallest whole-message length of this type, and whether it is also
    /// the only one allowed (RFC 4271 §6.1, RFC 2918 §3).
    pub fn length_bounds(self) -> (usize, bool) {
        match self {
            MessageType::Open => (29, false),
            MessageType::Update => (23, false),
            MessageType::Notification => (21, false),
            MessageType::Keepalive => (19, true),
            MessageType::RouteRefresh => (23, true),
        }
    }
}

/// Any BGP message.
///
/// UPDATE is by far the largest variant; it stays unboxed because this enum
/// is the contract the session, RIB and CLI build on, and a message is
/// moved a handful of times in its life.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918 §3).
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The header type of this message.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decodes one whole message, header included (RFC 4271 §4).
    ///
    /// UPDATE errors that RFC 7606 does not answer with a session reset are
    /// returned inside the [`Update`] (`treat_as_withdraw`, `discarded`).
    pub fn decode(message: &[u8], context: &CodecContext) -> Result<Message, WireError> {
        let length = match frame_length(message, context)? {
            Some(length) => length,
            None => return Err(truncated(message)),
        };
        if length != message.len() {
            return Err(truncated(message));
        }
        let message_type = message
            .get(18)
            .copied()
            .and_then(MessageType::from_octet)
            .ok_or_else(|| truncated(message))?;
        let body = message.get(HEADER_LEN..).unwrap_or(&[]);
        Ok(match message_type {
            MessageType::Open => Message::Open(Open::decode_body(body, HEADER_LEN)?),
            MessageType::Update => Message::Update(Update::decode_body(body, HEADER_LEN, context)?),
            MessageType::Notification => {
                Message::Notification(Notification::decode_body(body, HEADER_LEN)?)
            }
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => {
                Message::RouteRefresh(RouteRefresh::decode_body(body, HEADER_LEN)?)
            }
        })
    }

    /// Appends the whole message, header included, to `out`.
    ///
    /// Fails, leaving `out` as it was, when the message would be longer than
    /// `context.max_message_len()` (RFC 4271 §4.1, RFC 8654 §4) or holds a
    /// value the wire cannot carry.
    pub fn encode(&self, context: &CodecContext, out: &mut BytesMut) -> Result<(), WireError> {
        let start = out.len();
        out.put_bytes(0xff, 16);
        out.put_u16(0);
        out.put_u8(self.message_type().octet());
        let body = match self {
            Message::Open(open) => open.encode_body(out),
            Message::Update(update) => update.encode_body(context, out),
            Message::Notification(notification) => {
                notification.encode_body(out);
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(refresh) => {
                refresh.encode_body(out);
                Ok(())
            }
        };
        let result = body.and_then(|()| finish_message(out, start, context));
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The whole message as bytes.
    pub fn to_bytes(&self, context: &CodecContext) -> Result<Bytes, WireError> {
        let mut out = BytesMut::with_capacity(64);
        self.encode(context, &mut out)?;
        Ok(out.freeze())
    }
}

/// Writes the length of the message that starts at `start` into its header,
/// after checking it against the negotiated maximum.
pub(crate) fn finish_message(
    out: &mut BytesMut,
    start: usize,
    context: &CodecContext,
) -> Result<(), WireError> {
    let length = out.len().saturating_sub(start);
    let maximum = context.max_message_len();
    let field = u16::try_from(length)
        .ok()
        .filter(|_| length <= maximum)
        .ok_or_else(|| {
            WireError::encode(
                "message length",
                format!("{length} bytes exceed the maximum {maximum}"),
            )
        })?;
    let slot = out
        .get_mut(start + 16..start + 18)
        .ok_or_else(|| WireError::encode("message length", "header missing"))?;
    slot.copy_from_slice(&field.to_be_bytes());
    Ok(())
}

/// A buffer that does not hold exactly one message.
fn truncated(message: &[u8]) -> WireError {
    WireError::new(
        code::MESSAGE_HEADER_ERROR,
        subcode::header::BAD_MESSAGE_LENGTH,
        "message length",
        16,
        format!(
            "the buffer of {} bytes does not hold exactly one message",
            message.len()
        ),
    )
    .with_data(message.get(16..18).unwrap_or(&[]).to_vec())
}
