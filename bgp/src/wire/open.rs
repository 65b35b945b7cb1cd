//! The OPEN message (RFC 4271 §4.2) and its capabilities parameter (RFC 5492 §4).
//!
//! Decoding reads the fixed fields, then every optional parameter: each must
//! be a Capabilities parameter (type 2), and each may hold any number of
//! capabilities, which are collected in order into one list. Only syntax is
//! checked here; the semantic checks of RFC 4271 §6.2 (version 4, peer AS,
//! hold time, identifier) belong to the session, which answers them with the
//! constructors on [`super::Notification`]. The extended optional parameters
//! length of RFC 9072 is accepted on decode, and used on encode only when the
//! capabilities do not fit in 255 bytes.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};
use serde::Serialize;

use super::capability::Capability;
use super::capability_codec::{decode_capabilities, encode_capability};
use super::cursor::Reader;
use super::error::WireError;
use super::notification::{code, subcode};

/// Optional parameter type of the Capabilities parameter (RFC 5492 §4).
const CAPABILITIES_PARAMETER: u8 = 2;
/// Marker type and length of the RFC 9072 extended parameters length.
const EXTENDED_PARAMETERS: u8 = 255;

/// An OPEN message.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// Optional parameter: Type (1) | Length (1, or 2 under RFC 9072) | Value
/// ```
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

impl Open {
    /// Decodes an OPEN body (after the header); `base` is its offset in the
    /// message. Errors are OPEN Message Errors: subcode 4 for a parameter
    /// other than Capabilities, 0 for inconsistent lengths or malformed
    /// capabilities (RFC 4271 §6.2).
    pub fn decode_body(body: &[u8], base: usize) -> Result<Open, WireError> {
        let mut reader = Reader::new(body, base, code::OPEN_MESSAGE_ERROR, subcode::UNSPECIFIC);
        let version = reader.u8("OPEN version")?;
        let my_as = reader.u16("OPEN my autonomous system")?;
        let hold_time = reader.u16("OPEN hold time")?;
        let bgp_identifier = Ipv4Addr::from(reader.u32("OPEN BGP identifier")?);
        let parameters_length = reader.u8("OPEN optional parameters length")?;
        let extended = parameters_length == EXTENDED_PARAMETERS
            && reader.rest().first() == Some(&EXTENDED_PARAMETERS);
        let parameters_length = if extended {
            let _marker = reader.u8("OPEN extended parameters type")?;
            usize::from(reader.u16("OPEN extended parameters length")?)
        } else {
            usize::from(parameters_length)
        };
        if parameters_length != reader.remaining() {
            return Err(WireError::new(
                code::OPEN_MESSAGE_ERROR,
                subcode::UNSPECIFIC,
                "OPEN optional parameters length",
                reader.offset(),
                format!(
                    "{parameters_length} announced, {} present",
                    reader.remaining()
                ),
            ));
        }
        let mut capabilities = Vec::new();
        while !reader.is_empty() {
            let parameter_offset = reader.offset();
            let parameter_type = reader.u8("optional parameter type")?;
            let length = if extended {
                usize::from(reader.u16("optional parameter length")?)
            } else {
                usize::from(reader.u8("optional parameter length")?)
            };
            let value = reader.sub(length, "optional parameter value")?;
            if parameter_type != CAPABILITIES_PARAMETER {
                return Err(WireError::new(
                    code::OPEN_MESSAGE_ERROR,
                    subcode::open::UNSUPPORTED_OPTIONAL_PARAMETER,
                    "optional parameter type",
                    parameter_offset,
                    format!(
                        "optional parameter type {parameter_type}; only 2 (capabilities) is known"
                    ),
                ));
            }
            decode_capabilities(value, &mut capabilities)?;
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_identifier,
            capabilities,
        })
    }

    /// Appends the OPEN body: every capability in one Capabilities parameter,
    /// in the extended format of RFC 9072 only if they exceed 253 bytes.
    pub fn encode_body(&self, out: &mut BytesMut) -> Result<(), WireError> {
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_u32(u32::from(self.bgp_identifier));
        let mut encoded = BytesMut::new();
        for capability in &self.capabilities {
            encode_capability(capability, &mut encoded)?;
        }
        if encoded.is_empty() {
            out.put_u8(0);
        } else if let Ok(length) = u8::try_from(encoded.len().saturating_add(2)) {
            out.put_u8(length);
            out.put_u8(CAPABILITIES_PARAMETER);
            out.put_u8(length.saturating_sub(2));
            out.put_slice(&encoded);
        } else {
            let value_length = u16::try_from(encoded.len())
                .ok()
                .filter(|length| *length <= u16::MAX - 3)
                .ok_or_else(|| {
                    WireError::encode("OPEN optional parameters", "capabilities too long")
                })?;
            out.put_u8(EXTENDED_PARAMETERS);
            out.put_u8(EXTENDED_PARAMETERS);
            out.put_u16(value_length + 3);
            out.put_u8(CAPABILITIES_PARAMETER);
            out.put_u16(value_length);
            out.put_slice(&encoded);
        }
        Ok(())
    }
}
