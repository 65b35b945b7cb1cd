//! The NOTIFICATIONs the session sends, and how received ones are described.
//!
//! Errors found by the FSM itself (timers, unexpected messages, OPEN checks,
//! collisions, operator stops) are built here; errors found by the codec
//! arrive ready-made in a [`crate::wire::WireError`]. Both sides of every
//! NOTIFICATION end up in [`describe`], which renders the code, subcode and,
//! for Cease, the RFC 9003 shutdown communication, for `podroute neighbors`.

use crate::wire::{Family, Notification};

/// Error code 1, Message Header Error (RFC 4271 §4.5).
pub const MESSAGE_HEADER_ERROR: u8 = 1;
/// Error code 2, OPEN Message Error (RFC 4271 §4.5).
pub const OPEN_MESSAGE_ERROR: u8 = 2;
/// Error code 3, UPDATE Message Error (RFC 4271 §4.5).
pub const UPDATE_MESSAGE_ERROR: u8 = 3;
/// Error code 4, Hold Timer Expired (RFC 4271 §4.5).
pub const HOLD_TIMER_EXPIRED: u8 = 4;
/// Error code 5, Finite State Machine Error (RFC 4271 §4.5, RFC 6608 §3).
pub const FINITE_STATE_MACHINE_ERROR: u8 = 5;
/// Error code 6, Cease (RFC 4271 §4.5, RFC 4486 §4).
pub const CEASE: u8 = 6;
/// Error code 7, ROUTE-REFRESH Message Error (RFC 7313 §5).
pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;

/// OPEN subcode 1: Unsupported Version Number (RFC 4271 §6.2).
pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
/// OPEN subcode 2: Bad Peer AS (RFC 4271 §6.2).
pub const BAD_PEER_AS: u8 = 2;
/// OPEN subcode 3: Bad BGP Identifier (RFC 4271 §6.2, RFC 6286 §2.2).
pub const BAD_BGP_IDENTIFIER: u8 = 3;
/// OPEN subcode 6: Unacceptable Hold Time (RFC 4271 §6.2).
pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
/// OPEN subcode 7: Unsupported Capability (RFC 5492 §5).
pub const UNSUPPORTED_CAPABILITY: u8 = 7;

/// FSM subcode 1: unexpected message in OpenSent (RFC 6608 §4).
pub const UNEXPECTED_MESSAGE_IN_OPEN_SENT: u8 = 1;
/// FSM subcode 2: unexpected message in OpenConfirm (RFC 6608 §4).
pub const UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM: u8 = 2;
/// FSM subcode 3: unexpected message in Established (RFC 6608 §4).
pub const UNEXPECTED_MESSAGE_IN_ESTABLISHED: u8 = 3;

/// Cease subcode 1: Maximum Number of Prefixes Reached (RFC 4486 §4).
pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
/// Cease subcode 2: Administrative Shutdown (RFC 4486 §4, RFC 9003).
pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
/// Cease subcode 4: Administrative Reset (RFC 4486 §4, RFC 9003).
pub const ADMINISTRATIVE_RESET: u8 = 4;
/// Cease subcode 7: Connection Collision Resolution (RFC 4486 §4).
pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
/// Cease subcode 9: Hard Reset (RFC 8538 §3).
pub const HARD_RESET: u8 = 9;

/// The only BGP version spoken (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;

/// Longest shutdown communication in bytes (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION_LEN: usize = 255;

fn notification(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
    Notification {
        code,
        subcode,
        data,
    }
}

/// Hold Timer Expired, 4/0 (RFC 4271 §6.5).
pub fn hold_timer_expired() -> Notification {
    notification(HOLD_TIMER_EXPIRED, 0, Vec::new())
}

/// FSM Error with the RFC 6608 subcode for a message received in `state`,
/// or subcode 0 when the unexpected event was not a message.
pub fn finite_state_machine_error(subcode: u8) -> Notification {
    notification(FINITE_STATE_MACHINE_ERROR, subcode, Vec::new())
}

/// Unsupported Version Number; the data is the largest version we support as
/// a 2-octet number (RFC 4271 §6.2).
pub fn unsupported_version() -> Notification {
    notification(
        OPEN_MESSAGE_ERROR,
        UNSUPPORTED_VERSION_NUMBER,
        vec![0, BGP_VERSION],
    )
}

/// An OPEN Message Error with no data (RFC 4271 §6.2).
pub fn open_error(subcode: u8) -> Notification {
    notification(OPEN_MESSAGE_ERROR, subcode, Vec::new())
}

/// Cease with a subcode and data (RFC 4486 §4).
pub fn cease(subcode: u8, data: Vec<u8>) -> Notification {
    notification(CEASE, subcode, data)
}

/// Cease / Maximum Number of Prefixes Reached; the data is AFI, SAFI and the
/// limit (RFC 4486 §4).
pub fn maximum_prefixes_reached(family: Family, limit: u32) -> Notification {
    let mut data = Vec::with_capacity(7);
    data.extend_from_slice(&family.afi.0.to_be_bytes());
    data.push(family.safi.0);
    data.extend_from_slice(&limit.to_be_bytes());
    cease(MAXIMUM_PREFIXES_REACHED, data)
}

/// Cease / Administrative Shutdown or Reset carrying a shutdown communication:
/// a length octet and UTF-8 text (RFC 9003 §2). Text longer than 255 bytes is
/// cut at the last whole character that fits.
pub fn shutdown(subcode: u8, communication: Option<&str>) -> Notification {
    let data = match communication {
        None => Vec::new(),
        Some(text) => {
            let mut end = text.len().min(MAX_SHUTDOWN_COMMUNICATION_LEN);
            while !text.is_char_boundary(end) {
                end = end.saturating_sub(1);
            }
            let bytes = text.as_bytes().get(..end).unwrap_or_default();
            let mut data = Vec::with_capacity(bytes.len().saturating_add(1));
            data.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
            data.extend_from_slice(bytes);
            data
        }
    };
    cease(subcode, data)
}

/// The shutdown communication carried by a Cease / Administrative Shutdown or
/// Reset, if it is present and valid UTF-8 (RFC 9003 §2: invalid text must
/// not be interpreted). A Hard Reset (RFC 8538 §3) is looked into.
pub fn shutdown_communication(notification: &Notification) -> Option<String> {
    if notification.code != CEASE {
        return None;
    }
    match notification.subcode {
        ADMINISTRATIVE_SHUTDOWN | ADMINISTRATIVE_RESET => {
            let (&length, rest) = notification.data.split_first()?;
            let text = rest.get(..usize::from(length))?;
            String::from_utf8(text.to_vec()).ok()
        }
        HARD_RESET => {
            let (&code, rest) = notification.data.split_first()?;
            let (&subcode, data) = rest.split_first()?;
            let inner = Notification {
                code,
                subcode,
                data: data.to_vec(),
            };
            if inner.subcode == HARD_RESET {
                None
            } else {
                shutdown_communication(&inner)
            }
        }
        _ => None,
    }
}

fn code_name(code: u8) -> &'static str {
    match code {
        MESSAGE_HEADER_ERROR => "Message Header Error",
        OPEN_MESSAGE_ERROR => "OPEN Message Error",
        UPDATE_MESSAGE_ERROR => "UPDATE Message Error",
        HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        FINITE_STATE_MACHINE_ERROR => "Finite State Machine Error",
        CEASE => "Cease",
        ROUTE_REFRESH_MESSAGE_ERROR => "ROUTE-REFRESH Message Error",
        _ => "Unknown Error",
    }
}

fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    let name = match (code, subcode) {
        (MESSAGE_HEADER_ERROR, 1) => "Connection Not Synchronized",
        (MESSAGE_HEADER_ERROR, 2) => "Bad Message Length",
        (MESSAGE_HEADER_ERROR, 3) => "Bad Message Type",
        (OPEN_MESSAGE_ERROR, 1) => "Unsupported Version Number",
        (OPEN_MESSAGE_ERROR, 2) => "Bad Peer AS",
        (OPEN_MESSAGE_ERROR, 3) => "Bad BGP Identifier",
        (OPEN_MESSAGE_ERROR, 4) => "Unsupported Optional Parameter",
        (OPEN_MESSAGE_ERROR, 6) => "Unacceptable Hold Time",
        (OPEN_MESSAGE_ERROR, 7) => "Unsupported Capability",
        (OPEN_MESSAGE_ERROR, 11) => "Role Mismatch",
        (UPDATE_MESSAGE_ERROR, 1) => "Malformed Attribute List",
        (UPDATE_MESSAGE_ERROR, 2) => "Unrecognized Well-known Attribute",
        (UPDATE_MESSAGE_ERROR, 3) => "Missing Well-known Attribute",
        (UPDATE_MESSAGE_ERROR, 4) => "Attribute Flags Error",
        (UPDATE_MESSAGE_ERROR, 5) => "Attribute Length Error",
        (UPDATE_MESSAGE_ERROR, 6) => "Invalid ORIGIN Attribute",
        (UPDATE_MESSAGE_ERROR, 8) => "Invalid NEXT_HOP Attribute",
        (UPDATE_MESSAGE_ERROR, 9) => "Optional Attribute Error",
        (UPDATE_MESSAGE_ERROR, 10) => "Invalid Network Field",
        (UPDATE_MESSAGE_ERROR, 11) => "Malformed AS_PATH",
        (FINITE_STATE_MACHINE_ERROR, 1) => "Receive Unexpected Message in OpenSent State",
        (FINITE_STATE_MACHINE_ERROR, 2) => "Receive Unexpected Message in OpenConfirm State",
        (FINITE_STATE_MACHINE_ERROR, 3) => "Receive Unexpected Message in Established State",
        (CEASE, 1) => "Maximum Number of Prefixes Reached",
        (CEASE, 2) => "Administrative Shutdown",
        (CEASE, 3) => "Peer De-configured",
        (CEASE, 4) => "Administrative Reset",
        (CEASE, 5) => "Connection Rejected",
        (CEASE, 6) => "Other Configuration Change",
        (CEASE, 7) => "Connection Collision Resolution",
        (CEASE, 8) => "Out of Resources",
        (CEASE, 9) => "Hard Reset",
        (CEASE, 10) => "BFD Down",
        (ROUTE_REFRESH_MESSAGE_ERROR, 1) => "Invalid Message Length",
        _ => return None,
    };
    Some(name)
}

/// A one-line human description: code and subcode names, and the shutdown
/// communication if there is one, e.g.
/// `Cease / Administrative Shutdown (6/2): "maintenance"`.
pub fn describe(notification: &Notification) -> String {
    let code = notification.code;
    let subcode = notification.subcode;
    let mut text = match subcode_name(code, subcode) {
        Some(subcode_name) => {
            format!("{} / {} ({code}/{subcode})", code_name(code), subcode_name)
        }
        None => format!("{} ({code}/{subcode})", code_name(code)),
    };
    if let Some(communication) = shutdown_communication(notification) {
        text.push_str(&format!(": {communication:?}"));
    }
    text
}
