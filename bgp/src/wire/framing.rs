//! Finding whole messages in a byte stream (RFC 4271 §4.1).
//!
//! A peer's TCP stream is a sequence of messages, each starting with this
//! header; [`frame_length`] looks at the front of a receive buffer and says
//! whether a whole message is there and how long it is, after checking every
//! header rule of RFC 4271 §6.1. The reader task then splits that many bytes
//! off ([`split_message`] does both) and hands them to
//! [`super::Message::decode`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                           Marker (16 x 0xff)                  +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{Bytes, BytesMut};

use super::HEADER_LEN;
use super::context::CodecContext;
use super::error::WireError;
use super::message::MessageType;
use super::notification::{code, subcode};

/// Offset of the length field in the header.
const LENGTH_OFFSET: usize = 16;
/// Offset of the type octet in the header.
const TYPE_OFFSET: usize = 18;
/// Offset of the ROUTE-REFRESH subtype octet (RFC 7313 §3.2).
const ROUTE_REFRESH_SUBTYPE_OFFSET: usize = 21;

/// Length of the whole message at the front of `buffer`, once all of it has
/// arrived: `Ok(None)` means more bytes are needed.
///
/// Checks, in this order (RFC 4271 §6.1): the marker (Connection Not
/// Synchronized), the length against 19 and the negotiated maximum (Bad
/// Message Length, data = the length field), the type (Bad Message Type,
/// data = the type octet), and the length against the type's own bounds:
/// OPEN >= 29, UPDATE >= 23, KEEPALIVE == 19, NOTIFICATION >= 21,
/// ROUTE-REFRESH == 23. A ROUTE-REFRESH of another length whose subtype is
/// BoRR or EoRR is answered with ROUTE-REFRESH Message Error / Invalid Message
/// Length and the whole message as data (RFC 7313 §5), so for that case the
/// function waits for the whole message before reporting.
pub fn frame_length(buffer: &[u8], context: &CodecContext) -> Result<Option<usize>, WireError> {
    let marker_seen = buffer.get(..LENGTH_OFFSET.min(buffer.len())).unwrap_or(&[]);
    if let Some(position) = marker_seen.iter().position(|&byte| byte != 0xff) {
        return Err(WireError::new(
            code::MESSAGE_HEADER_ERROR,
            subcode::header::CONNECTION_NOT_SYNCHRONIZED,
            "marker",
            position,
            "the marker must be 16 bytes of 0xff",
        ));
    }
    let Some(header) = buffer.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let length_field = [
        header.get(LENGTH_OFFSET).copied().unwrap_or(0),
        header.get(LENGTH_OFFSET + 1).copied().unwrap_or(0),
    ];
    let length = usize::from(u16::from_be_bytes(length_field));
    let bad_length = |detail: String| {
        WireError::new(
            code::MESSAGE_HEADER_ERROR,
            subcode::header::BAD_MESSAGE_LENGTH,
            "message length",
            LENGTH_OFFSET,
            detail,
        )
        .with_data(length_field.to_vec())
    };
    let maximum = context.max_message_len();
    if length < HEADER_LEN || length > maximum {
        return Err(bad_length(format!(
            "length {length} outside {HEADER_LEN}..={maximum}"
        )));
    }
    let type_octet = header.get(TYPE_OFFSET).copied().unwrap_or(0);
    let Some(message_type) = MessageType::from_octet(type_octet) else {
        return Err(WireError::new(
            code::MESSAGE_HEADER_ERROR,
            subcode::header::BAD_MESSAGE_TYPE,
            "message type",
            TYPE_OFFSET,
            format!("unknown message type {type_octet}"),
        )
        .with_data(vec![type_octet]));
    };
    let (minimum, exact) = message_type.length_bounds();
    let fits = length >= minimum && (!exact || length == minimum);
    if !fits {
        if message_type == MessageType::RouteRefresh && length > ROUTE_REFRESH_SUBTYPE_OFFSET {
            let Some(message) = buffer.get(..length) else {
                return Ok(None);
            };
            let subtype = message
                .get(ROUTE_REFRESH_SUBTYPE_OFFSET)
                .copied()
                .unwrap_or(0);
            if subtype == 1 || subtype == 2 {
                return Err(WireError::new(
                    code::ROUTE_REFRESH_MESSAGE_ERROR,
                    subcode::route_refresh::INVALID_MESSAGE_LENGTH,
                    "message length",
                    LENGTH_OFFSET,
                    format!("ROUTE-REFRESH subtype {subtype} with length {length}, not 23"),
                )
                .with_data(message.to_vec()));
            }
        }
        let bound = if exact { "exactly" } else { "at least" };
        return Err(bad_length(format!(
            "{message_type:?} of length {length}; it must be {bound} {minimum}"
        )));
    }
    if buffer.len() < length {
        Ok(None)
    } else {
        Ok(Some(length))
    }
}

/// Splits the first whole message off `buffer`, if it has arrived.
pub fn split_message(
    buffer: &mut BytesMut,
    context: &CodecContext,
) -> Result<Option<Bytes>, WireError> {
    match frame_length(buffer, context)? {
        Some(length) => Ok(Some(buffer.split_to(length).freeze())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u16, message_type: u8) -> Vec<u8> {
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.push(message_type);
        bytes
    }

    #[test]
    fn keepalive_is_one_whole_frame() {
        let context = CodecContext::new();
        assert_eq!(frame_length(&header(19, 4), &context), Ok(Some(19)));
        assert_eq!(frame_length(&header(19, 4)[..10], &context), Ok(None));
    }

    #[test]
    fn partial_bad_marker_is_reported_early() {
        let error = frame_length(&[0xff, 0xff, 0x00], &CodecContext::new()).unwrap_err();
        assert_eq!((error.code, error.subcode, error.offset), (1, 1, 2));
    }

    #[test]
    fn update_waits_for_its_body() {
        let context = CodecContext::new();
        let mut bytes = header(23, 2);
        assert_eq!(frame_length(&bytes, &context), Ok(None));
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(frame_length(&bytes, &context), Ok(Some(23)));
    }

    #[test]
    fn extended_messages_raise_the_limit() {
        let mut context = CodecContext::new();
        let error = frame_length(&header(5000, 2), &context).unwrap_err();
        assert_eq!(
            (error.code, error.subcode, error.data.clone()),
            (1, 2, vec![0x13, 0x88])
        );
        context.extended_message = true;
        assert_eq!(frame_length(&header(5000, 2), &context), Ok(None));
    }

    #[test]
    fn split_message_consumes_exactly_one_message() {
        let context = CodecContext::new();
        let mut buffer = BytesMut::from(&header(19, 4)[..]);
        buffer.extend_from_slice(&header(19, 4)[..5]);
        let first = split_message(&mut buffer, &context).unwrap().unwrap();
        assert_eq!(first.len(), 19);
        assert_eq!(buffer.len(), 5);
        assert_eq!(split_message(&mut buffer, &context), Ok(None));
    }
}
