//! Encoding an UPDATE body (RFC 4271 §4.3) and its MP attributes (RFC 4760).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Length fields are written as placeholders and patched once the part they
//! measure is written. MP_REACH_NLRI and MP_UNREACH_NLRI come first among
//! the attributes (RFC 7606 §5.1). The encoder writes what the value says;
//! choosing classic fields or MP attributes for a set of prefixes is
//! [`super::packing`]'s job.

use bytes::{BufMut, BytesMut};

use super::attribute_decode::{flag, type_code};
use super::attribute_encode::{begin_attribute, encode_path_attributes, finish_attribute};
use super::context::CodecContext;
use super::error::WireError;
use super::family::{Afi, Family};
use super::prefix::{AddressKind, Nlri, encode_prefix, matches_kind};
use super::update::{NextHop, Update};

impl Update {
    /// Appends the UPDATE body (after the header). Fails if a prefix does
    /// not belong to the field or family it is in, or a length overflows.
    pub fn encode_body(&self, context: &CodecContext, out: &mut BytesMut) -> Result<(), WireError> {
        let classic_add_path = context.has_path_id(Family::IPV4_UNICAST);
        let withdrawn_start = out.len();
        out.put_u16(0);
        encode_prefixes(
            &self.withdrawn,
            AddressKind::V4,
            classic_add_path,
            "withdrawn routes",
            out,
        )?;
        patch_length(out, withdrawn_start, "withdrawn routes length")?;
        let attributes_start = out.len();
        out.put_u16(0);
        if let Some(reach) = &self.mp_reach {
            encode_mp_reach(reach.family, &reach.next_hop, &reach.nlri, context, out)?;
        }
        if let Some(unreach) = &self.mp_unreach {
            encode_mp_unreach(unreach.family, &unreach.withdrawn, context, out)?;
        }
        encode_path_attributes(&self.attributes, context, out)?;
        patch_length(out, attributes_start, "total path attribute length")?;
        encode_prefixes(&self.nlri, AddressKind::V4, classic_add_path, "NLRI", out)
    }
}

/// Writes into the 2 octets at `start` the number of bytes after them.
pub(crate) fn patch_length(
    out: &mut BytesMut,
    start: usize,
    field: &'static str,
) -> Result<(), WireError> {
    let length = out.len().saturating_sub(start + 2);
    let value =
        u16::try_from(length).map_err(|_| WireError::encode(field, format!("{length} bytes")))?;
    if let Some(slot) = out.get_mut(start..start + 2) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

/// Appends prefixes, refusing any of the wrong address family.
pub(crate) fn encode_prefixes(
    prefixes: &[Nlri],
    kind: AddressKind,
    add_path: bool,
    field: &'static str,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    for nlri in prefixes {
        if !matches_kind(nlri, kind) {
            return Err(WireError::encode(
                field,
                format!("{} is of the wrong address family", nlri.prefix),
            ));
        }
        encode_prefix(nlri, add_path, out);
    }
    Ok(())
}

/// The address kind of a family's NLRI, if the codec can encode them.
pub(crate) fn family_kind(family: Family) -> Result<AddressKind, WireError> {
    match family.afi {
        Afi::IPV4 => Ok(AddressKind::V4),
        Afi::IPV6 => Ok(AddressKind::V6),
        _ => Err(WireError::encode(
            "MP family",
            format!("cannot encode NLRI of {family}"),
        )),
    }
}

/// Bytes the next hop takes in MP_REACH_NLRI.
pub(crate) fn next_hop_len(next_hop: &NextHop) -> usize {
    match next_hop {
        NextHop::Ipv4 { .. } => 4,
        NextHop::Ipv6 {
            link_local: None, ..
        } => 16,
        NextHop::Ipv6 {
            link_local: Some(_),
            ..
        } => 32,
    }
}

/// Appends MP_REACH_NLRI (RFC 4760 §3) for `nlri` of `family`.
pub(crate) fn encode_mp_reach(
    family: Family,
    next_hop: &NextHop,
    nlri: &[Nlri],
    context: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let kind = family_kind(family)?;
    let start = begin_attribute(out, flag::OPTIONAL, type_code::MP_REACH_NLRI);
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
    out.put_u8(u8::try_from(next_hop_len(next_hop)).unwrap_or(0));
    match next_hop {
        NextHop::Ipv4 { address } => out.put_slice(&address.octets()),
        NextHop::Ipv6 { global, link_local } => {
            out.put_slice(&global.octets());
            if let Some(link_local) = link_local {
                out.put_slice(&link_local.octets());
            }
        }
    }
    out.put_u8(0);
    encode_prefixes(
        nlri,
        kind,
        context.has_path_id(family),
        "MP_REACH_NLRI",
        out,
    )?;
    finish_attribute(out, start)
}

/// Appends MP_UNREACH_NLRI (RFC 4760 §4) withdrawing `withdrawn` of `family`.
pub(crate) fn encode_mp_unreach(
    family: Family,
    withdrawn: &[Nlri],
    context: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let kind = family_kind(family)?;
    let start = begin_attribute(out, flag::OPTIONAL, type_code::MP_UNREACH_NLRI);
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
    encode_prefixes(
        withdrawn,
        kind,
        context.has_path_id(family),
        "MP_UNREACH_NLRI",
        out,
    )?;
    finish_attribute(out, start)
}
