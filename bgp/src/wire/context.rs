//! What a session negotiated that changes how bytes are read or written.
//!
//! The session layer derives one [`CodecContext`] for decoding (what the peer
//! may send us) and one for encoding (what we may send the peer) from the
//! exchanged OPENs. The codec reads nothing else.

use std::collections::BTreeSet;

use super::family::Family;
use super::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};

/// Per-direction codec settings negotiated by a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecContext {
    /// Both sides announced the 4-octet AS capability (RFC 6793 §3): AS_PATH
    /// and AGGREGATOR carry 4-octet AS numbers, and AS4_* are not used.
    pub four_octet_as: bool,
    /// Families whose NLRI carry a 4-byte path identifier in this direction
    /// (RFC 7911 §3).
    pub add_path: BTreeSet<Family>,
    /// Extended messages negotiated (RFC 8654): messages up to 65535 bytes.
    pub extended_message: bool,
}

impl CodecContext {
    /// The context of a modern session: 4-octet AS, no ADD-PATH, 4096-byte messages.
    pub fn new() -> Self {
        CodecContext { four_octet_as: true, add_path: BTreeSet::new(), extended_message: false }
    }

    /// The context used before OPENs are exchanged (RFC 4271): 2-octet AS.
    pub fn legacy() -> Self {
        CodecContext { four_octet_as: false, ..Self::new() }
    }

    /// Largest message allowed in this direction (RFC 4271 §4.1, RFC 8654 §4).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN }
    }

    /// Whether NLRI of `family` carry path identifiers (RFC 7911 §3).
    pub fn has_path_id(&self, family: Family) -> bool {
        self.add_path.contains(&family)
    }
}

impl Default for CodecContext {
    fn default() -> Self {
        Self::new()
    }
}
