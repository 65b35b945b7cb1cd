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

/// Hold Timer Expired, 4/0 (RFC 4271 §6.5).
pub fn hold_timer_expired() -> Notification {
    Notification::hold_timer_expired()
}

/// FSM Error with the RFC 6608 subcode for a message received in `state`,
/// or subcode 0 when the unexpected event was not a message.
pub fn finite_state_machine_error(subcode: u8) -> Notification {
    Notification::fsm_error(subcode)
}

/// Unsupported Version Number; the data is the largest version we support as
/// a 2-octet number (RFC 4271 §6.2).
pub fn unsupported_version() -> Notification {
    Notification::unsupported_version(BGP_VERSION)
}

/// An OPEN Message Error with no data (RFC 4271 §6.2).
pub fn open_error(subcode: u8) -> Notification {
    Notification::new(OPEN_MESSAGE_ERROR, subcode, Vec::new())
}

/// Cease with a subcode and data (RFC 4486 §4).
pub fn cease(subcode: u8, data: Vec<u8>) -> Notification {
    Notification::new(CEASE, subcode, data)
}

/// Cease / Maximum Number of Prefixes Reached; the data is AFI, SAFI and the
/// limit (RFC 4486 §4).
pub fn maximum_prefixes_reached(family: Family, limit: u32) -> Notification {
    Notification::maximum_prefixes(family, limit)
}

/// Cease / Administrative Shutdown or Reset, carrying a shutdown
/// communication when there is one (RFC 9003 §2).
pub fn shutdown(subcode: u8, communication: Option<&str>) -> Notification {
    match communication {
        Some(text) => Notification::shutdown(subcode, text),
        None => Notification::cease(subcode),
    }
}

/// The shutdown communication of a Cease / Administrative Shutdown or Reset
/// (RFC 9003 §2), looking inside a Hard Reset (RFC 8538 §3).
pub fn shutdown_communication(notification: &Notification) -> Option<String> {
    notification.shutdown_communication().or_else(|| {
        notification
            .inner()
            .filter(|inner| !(inner.code == CEASE && inner.subcode == HARD_RESET))
            .and_then(|inner| inner.shutdown_communication())
    })
}

/// A one-line human description: code and subcode names, and the shutdown
/// communication if there is one, e.g.
/// `Cease / Administrative Shutdown (6/2): "maintenance"`.
pub fn describe(notification: &Notification) -> String {
    let code = notification.code;
    let subcode = notification.subcode;
    let mut text = match notification.subcode_name() {
        "" | "Unspecific" => format!("{} ({code}/{subcode})", notification.code_name()),
        name => format!("{} / {name} ({code}/{subcode})", notification.code_name()),
    };
    if let Some(communication) = shutdown_communication(notification) {
        text.push_str(&format!(": {communication:?}"));
    }
    text
}
