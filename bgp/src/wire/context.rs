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
    /// Families negotiated with the Multiprotocol capability (RFC 4760 §8).
    /// An MP_REACH_NLRI or MP_UNREACH_NLRI for any other family is discarded
    /// (RFC 4760 §7 lets the receiver ignore the family; it is not a
    /// malformed attribute in the sense of RFC 7606 §7.11, so no reset).
    /// Classic IPv4 NLRI fields are always accepted.
    pub families: BTreeSet<Family>,
}

impl CodecContext {
    /// The context of a modern session: 4-octet AS, no ADD-PATH, 4096-byte
    /// messages, IPv4 and IPv6 unicast.
    pub fn new() -> Self {
        CodecContext {
            four_octet_as: true,
            add_path: BTreeSet::new(),
            extended_message: false,
            families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .collect(),
        }
    }

    /// The context used before OPENs are exchanged (RFC 4271): 2-octet AS.
    pub fn legacy() -> Self {
        CodecContext {
            four_octet_as: false,
            ..Self::new()
        }
    }

    /// Largest message allowed in this direction (RFC 4271 §4.1, RFC 8654 §4).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Whether NLRI of `family` carry path identifiers (RFC 7911 §3).
    pub fn has_path_id(&self, family: Family) -> bool {
        self.add_path.contains(&family)
    }

    /// Whether MP_REACH_NLRI / MP_UNREACH_NLRI of `family` are decoded: the
    /// family was negotiated and the codec knows its NLRI (IPv4 and IPv6
    /// unicast, RFC 4760 §5).
    pub fn accepts_family(&self, family: Family) -> bool {
        self.families.contains(&family)
            && (family == Family::IPV4_UNICAST || family == Family::IPV6_UNICAST)
    }
}

impl Default for CodecContext {
    fn default() -> Self {
        Self::new()
    }
}
