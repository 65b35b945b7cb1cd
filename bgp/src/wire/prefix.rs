//! NLRI prefixes (RFC 4271 §4.3) with optional ADD-PATH identifiers (RFC 7911 §3).
//!
//! The same encoding serves the classic Withdrawn Routes and NLRI fields and
//! the NLRI inside MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §5). Decoding
//! walks a field once, pushing into one `Vec` and allocating nothing per
//! prefix; each prefix is normalized (host bits cleared) on the way in, and
//! encoding writes the minimal number of octets.
//!
//! ```text
//! +---------------------------+
//! |   Path Identifier (4)     |   only where ADD-PATH applies (RFC 7911 §3)
//! +---------------------------+
//! |   Length (1 octet, bits)  |
//! +---------------------------+
//! |   Prefix (ceil(Length/8)) |
//! +---------------------------+
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use serde::Serialize;

use super::error::WireError;

/// One reachable or withdrawn prefix as carried in an UPDATE.
///
/// The prefix is always normalized: host bits beyond the prefix length are
/// zero, whatever the peer sent in the trailing octet (RFC 4271 §4.3 says
/// those bits are irrelevant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Nlri {
    /// Path identifier, present only where ADD-PATH was negotiated for the family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// The prefix, shown as e.g. `"198.19.1.0/24"`.
    pub prefix: IpNetwork,
}

impl Nlri {
    /// A prefix without path identifier, with its host bits cleared.
    pub fn new(prefix: IpNetwork) -> Self {
        Nlri {
            path_id: None,
            prefix: normalize(prefix),
        }
    }

    /// A prefix with an ADD-PATH path identifier (RFC 7911 §3), host bits cleared.
    pub fn with_path_id(prefix: IpNetwork, path_id: u32) -> Self {
        Nlri {
            path_id: Some(path_id),
            prefix: normalize(prefix),
        }
    }

    /// Bytes this prefix takes on the wire.
    pub fn encoded_len(&self, add_path: bool) -> usize {
        let identifier = if add_path { 4 } else { 0 };
        identifier + 1 + usize::from(self.prefix.prefix()).div_ceil(8)
    }
}

/// The prefix with every bit past its length cleared.
pub fn normalize(prefix: IpNetwork) -> IpNetwork {
    match prefix {
        IpNetwork::V4(network) => {
            let masked = Ipv4Addr::from(u32::from(network.ip()) & v4_mask(network.prefix()));
            Ipv4Network::new(masked, network.prefix())
                .map(IpNetwork::V4)
                .unwrap_or(prefix)
        }
        IpNetwork::V6(network) => {
            let masked = Ipv6Addr::from(u128::from(network.ip()) & v6_mask(network.prefix()));
            Ipv6Network::new(masked, network.prefix())
                .map(IpNetwork::V6)
                .unwrap_or(prefix)
        }
    }
}

fn v4_mask(length: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(length)))
        .unwrap_or(0)
}

fn v6_mask(length: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(length)))
        .unwrap_or(0)
}

/// Which address family a prefix field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressKind {
    /// 32-bit prefixes.
    V4,
    /// 128-bit prefixes.
    V6,
}

/// Decodes a whole prefix field into `out`. `base` is the field's offset in
/// the message; `error` builds the error for a prefix that is too long or
/// overruns the field (both session resets, RFC 7606 §5.3), given the offset
/// and a description.
pub(crate) fn decode_prefixes(
    field: &[u8],
    base: usize,
    kind: AddressKind,
    add_path: bool,
    out: &mut Vec<Nlri>,
    error: &dyn Fn(usize, String) -> WireError,
) -> Result<(), WireError> {
    let maximum: u8 = match kind {
        AddressKind::V4 => 32,
        AddressKind::V6 => 128,
    };
    out.reserve(field.len() / if add_path { 8 } else { 4 });
    let mut position = 0usize;
    while position < field.len() {
        let start = position;
        let path_id = if add_path {
            let bytes: [u8; 4] = field
                .get(position..position + 4)
                .and_then(|slice| slice.try_into().ok())
                .ok_or_else(|| {
                    error(
                        base + start,
                        "path identifier runs past the end of the field".into(),
                    )
                })?;
            position += 4;
            Some(u32::from_be_bytes(bytes))
        } else {
            None
        };
        let length = *field
            .get(position)
            .ok_or_else(|| error(base + start, "prefix length missing".into()))?;
        if length > maximum {
            return Err(error(
                base + position,
                format!("prefix length {length} > {maximum}"),
            ));
        }
        position += 1;
        let octets = usize::from(length).div_ceil(8);
        let bytes = field.get(position..position + octets).ok_or_else(|| {
            error(
                base + start,
                format!("a /{length} needs {octets} octets; the field ends first"),
            )
        })?;
        position += octets;
        let prefix = match kind {
            AddressKind::V4 => {
                let mut address = [0u8; 4];
                address
                    .get_mut(..octets)
                    .unwrap_or(&mut [])
                    .copy_from_slice(bytes);
                let masked = Ipv4Addr::from(u32::from_be_bytes(address) & v4_mask(length));
                IpNetwork::V4(
                    Ipv4Network::new(masked, length)
                        .map_err(|problem| error(base + start, problem.to_string()))?,
                )
            }
            AddressKind::V6 => {
                let mut address = [0u8; 16];
                address
                    .get_mut(..octets)
                    .unwrap_or(&mut [])
                    .copy_from_slice(bytes);
                let masked = Ipv6Addr::from(u128::from_be_bytes(address) & v6_mask(length));
                IpNetwork::V6(
                    Ipv6Network::new(masked, length)
                        .map_err(|problem| error(base + start, problem.to_string()))?,
                )
            }
        };
        out.push(Nlri { path_id, prefix });
    }
    Ok(())
}

/// Appends one prefix in its minimal encoding. A missing path identifier
/// where ADD-PATH applies is sent as 0; one present where it does not is
/// left out, since the receiver could not parse it.
pub(crate) fn encode_prefix(nlri: &Nlri, add_path: bool, out: &mut BytesMut) {
    if add_path {
        out.put_u32(nlri.path_id.unwrap_or(0));
    }
    let length = nlri.prefix.prefix();
    let octets = usize::from(length).div_ceil(8);
    out.put_u8(length);
    match nlri.prefix {
        IpNetwork::V4(network) => {
            let bits = u32::from(network.ip()) & v4_mask(length);
            out.put_slice(bits.to_be_bytes().get(..octets).unwrap_or(&[]));
        }
        IpNetwork::V6(network) => {
            let bits = u128::from(network.ip()) & v6_mask(length);
            out.put_slice(bits.to_be_bytes().get(..octets).unwrap_or(&[]));
        }
    }
}

/// Whether `nlri` belongs in a field of `kind`.
pub(crate) fn matches_kind(nlri: &Nlri, kind: AddressKind) -> bool {
    matches!(
        (nlri.prefix, kind),
        (IpNetwork::V4(_), AddressKind::V4) | (IpNetwork::V6(_), AddressKind::V6)
    )
}
