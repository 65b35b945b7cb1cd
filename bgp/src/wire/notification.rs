//! The NOTIFICATION message (RFC 4271 §4.5) and the error codes of §6,
//! with the shutdown communication of RFC 9003 and the Hard Reset of RFC 8538.

use serde::Serialize;

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Error code (RFC 4271 §4.5).
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Vec<u8>,
}
