//! Decoding and encoding errors, and what each one obliges the session to do.
//!
//! Every error names the field it was found in and the byte offset from the
//! start of the message, and carries the NOTIFICATION code, subcode and data
//! RFC 4271 §6 requires. For UPDATE attribute errors, [`ErrorAction`] gives the
//! RFC 7606 §3 action, which is usually gentler than a session reset.

use serde::Serialize;

use super::notification::Notification;

/// What the receiver of a malformed message must do (RFC 7606 §2, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorAction {
    /// Send the NOTIFICATION and close the session (RFC 4271 §6).
    SessionReset,
    /// Keep the session; treat every prefix the UPDATE announces as withdrawn
    /// (RFC 7606 §2).
    TreatAsWithdraw,
    /// Keep the session and the routes; ignore the malformed attribute
    /// (RFC 7606 §2).
    AttributeDiscard,
}

/// A malformed message or a value that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireError {
    /// NOTIFICATION error code (RFC 4271 §4.5).
    pub code: u8,
    /// NOTIFICATION error subcode.
    pub subcode: u8,
    /// NOTIFICATION data, as RFC 4271 §6 prescribes for this error.
    pub data: Vec<u8>,
    /// The field in which the error was found, e.g. `"AS_PATH segment length"`.
    pub field: &'static str,
    /// Byte offset of the field from the first byte of the message.
    pub offset: usize,
    /// What the session must do about it.
    pub action: ErrorAction,
    /// A human explanation: what was found and what was expected.
    pub detail: String,
}

impl WireError {
    /// The NOTIFICATION that reports this error to the peer.
    pub fn notification(&self) -> Notification {
        Notification {
            code: self.code,
            subcode: self.subcode,
            data: self.data.clone(),
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} at offset {}: {} (NOTIFICATION {}/{}, {:?})",
            self.field, self.offset, self.detail, self.code, self.subcode, self.action
        )
    }
}

impl std::error::Error for WireError {}

impl WireError {
    /// An error that calls for a session reset, with no NOTIFICATION data.
    pub fn new(
        code: u8,
        subcode: u8,
        field: &'static str,
        offset: usize,
        detail: impl Into<String>,
    ) -> Self {
        WireError {
            code,
            subcode,
            data: Vec::new(),
            field,
            offset,
            action: ErrorAction::SessionReset,
            detail: detail.into(),
        }
    }

    /// Sets the NOTIFICATION data (RFC 4271 §6 says which, per error).
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets the RFC 7606 §2 action.
    pub fn with_action(mut self, action: ErrorAction) -> Self {
        self.action = action;
        self
    }

    /// A value that cannot be put on the wire, e.g. a message longer than the
    /// negotiated maximum (RFC 4271 §4.1, RFC 8654 §4). Code and subcode are 0:
    /// such an error is ours, never reported to the peer.
    pub fn encode(field: &'static str, detail: impl Into<String>) -> Self {
        WireError::new(0, 0, field, 0, detail)
    }
}
