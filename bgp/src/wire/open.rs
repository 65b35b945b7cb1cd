//! The OPEN message (RFC 4271 §4.2) and its capabilities parameter (RFC 5492 §4).

use std::net::Ipv4Addr;

use serde::Serialize;

use super::capability::Capability;

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Open {
    /// BGP version; 4 is the only one spoken (RFC 4271 §4.2).
    pub version: u8,
    /// The 2-octet "My Autonomous System" field: the AS, or AS_TRANS (23456)
    /// when the real AS needs 4 octets (RFC 6793 §4.1).
    pub my_as: u16,
    /// Proposed hold time in seconds: 0, or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_identifier: Ipv4Addr,
    /// Capabilities, in the order they were sent.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's AS number: from the 4-octet AS capability if present,
    /// otherwise the 2-octet field (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|capability| match capability {
                Capability::FourOctetAs { asn } => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }
}
