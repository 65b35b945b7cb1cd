//! Packing many prefixes into as few UPDATE messages as the size limit allows.
//!
//! The RIB's outbound side hands over prefixes that share one set of
//! attributes (an update group's worth); the attributes are encoded once,
//! the space left in a message is computed from their size, and prefixes are
//! cut into runs that fill each message. IPv4 unicast uses the classic
//! Withdrawn Routes / NLRI fields with a NEXT_HOP attribute, unless the next
//! hop is IPv6, when it uses MP_REACH_NLRI with AFI 1 (RFC 8950 §3); every
//! other family uses MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760). Prefixes go
//! out in the order given, so packing is deterministic.

use bytes::{BufMut, Bytes, BytesMut};

use super::HEADER_LEN;
use super::attribute::PathAttributes;
use super::attribute_encode::encode_path_attributes;
use super::context::CodecContext;
use super::error::WireError;
use super::family::Family;
use super::message::{MessageType, finish_message};
use super::prefix::Nlri;
use super::update::NextHop;
use super::update_encode::{
    encode_mp_reach, encode_mp_unreach, encode_prefixes, family_kind, next_hop_len, patch_length,
};

/// Header, withdrawn routes length and total path attribute length.
const UPDATE_FIXED_LEN: usize = HEADER_LEN + 4;
/// MP_REACH_NLRI before its next hop: extended attribute header, AFI, SAFI,
/// next hop length; and the reserved octet after it.
const MP_REACH_FIXED_LEN: usize = 4 + 3 + 1 + 1;
/// MP_UNREACH_NLRI before its prefixes: extended attribute header, AFI, SAFI.
const MP_UNREACH_FIXED_LEN: usize = 4 + 3;

/// UPDATE messages announcing `nlri` of `family` with `attributes`.
///
/// `next_hop` is required for every family but IPv4 unicast, where `None`
/// or an IPv4 next hop uses the classic fields (an IPv4 `next_hop` replaces
/// `attributes.next_hop`). Each message is whole, header included, and at
/// most `context.max_message_len()` long. Fails if a prefix is not of the
/// family, or the attributes leave no room for even one prefix.
pub fn pack_announcements(
    family: Family,
    attributes: &PathAttributes,
    next_hop: Option<NextHop>,
    nlri: &[Nlri],
    context: &CodecContext,
) -> Result<Vec<Bytes>, WireError> {
    if nlri.is_empty() {
        return Ok(Vec::new());
    }
    let kind = family_kind(family)?;
    let add_path = context.has_path_id(family);
    let classic = family == Family::IPV4_UNICAST && !matches!(next_hop, Some(NextHop::Ipv6 { .. }));
    let mut attributes = attributes.clone();
    if classic {
        if let Some(NextHop::Ipv4 { address }) = next_hop {
            attributes.next_hop = Some(address);
        }
    } else {
        // RFC 4760 §3: without classic NLRI, NEXT_HOP SHOULD NOT be sent.
        attributes.next_hop = None;
    }
    let mut encoded = BytesMut::new();
    encode_path_attributes(&attributes, context, &mut encoded)?;
    let mp_next_hop = match (classic, next_hop) {
        (true, _) => None,
        (false, Some(next_hop)) => Some(next_hop),
        (false, None) => {
            return Err(WireError::encode(
                "next hop",
                format!("{family} needs an MP_REACH_NLRI next hop"),
            ));
        }
    };
    let overhead = UPDATE_FIXED_LEN
        + encoded.len()
        + mp_next_hop
            .as_ref()
            .map_or(0, |hop| MP_REACH_FIXED_LEN + next_hop_len(hop));
    let room = room_for_prefixes(overhead, context)?;
    let mut messages = Vec::new();
    for (run, used) in runs(nlri, add_path, room) {
        let mut out = BytesMut::with_capacity(overhead + used);
        start_update(&mut out);
        out.put_u16(0);
        let attributes_start = out.len();
        out.put_u16(0);
        if let Some(hop) = &mp_next_hop {
            encode_mp_reach(family, hop, run, context, &mut out)?;
        }
        out.put_slice(&encoded);
        patch_length(&mut out, attributes_start, "total path attribute length")?;
        if mp_next_hop.is_none() {
            encode_prefixes(run, kind, add_path, "NLRI", &mut out)?;
        }
        finish_message(&mut out, 0, context)?;
        messages.push(out.freeze());
    }
    Ok(messages)
}

/// UPDATE messages withdrawing `nlri` of `family`: the classic Withdrawn
/// Routes field for IPv4 unicast, MP_UNREACH_NLRI for the others.
pub fn pack_withdrawals(
    family: Family,
    nlri: &[Nlri],
    context: &CodecContext,
) -> Result<Vec<Bytes>, WireError> {
    if nlri.is_empty() {
        return Ok(Vec::new());
    }
    let kind = family_kind(family)?;
    let add_path = context.has_path_id(family);
    let classic = family == Family::IPV4_UNICAST;
    let overhead = UPDATE_FIXED_LEN + if classic { 0 } else { MP_UNREACH_FIXED_LEN };
    let room = room_for_prefixes(overhead, context)?;
    let mut messages = Vec::new();
    for (run, used) in runs(nlri, add_path, room) {
        let mut out = BytesMut::with_capacity(overhead + used);
        start_update(&mut out);
        if classic {
            out.put_u16(0);
            encode_prefixes(run, kind, add_path, "withdrawn routes", &mut out)?;
            patch_length(&mut out, HEADER_LEN, "withdrawn routes length")?;
            out.put_u16(0);
        } else {
            out.put_u16(0);
            let attributes_start = out.len();
            out.put_u16(0);
            encode_mp_unreach(family, run, context, &mut out)?;
            patch_length(&mut out, attributes_start, "total path attribute length")?;
        }
        finish_message(&mut out, 0, context)?;
        messages.push(out.freeze());
    }
    Ok(messages)
}

/// Writes an UPDATE header whose length [`finish_message`] fills in.
fn start_update(out: &mut BytesMut) {
    out.put_bytes(0xff, 16);
    out.put_u16(0);
    out.put_u8(MessageType::Update.octet());
}

/// Bytes left for prefixes once `overhead` bytes are spent; at least room
/// for the largest possible prefix, so that every run holds one.
fn room_for_prefixes(overhead: usize, context: &CodecContext) -> Result<usize, WireError> {
    const LARGEST_PREFIX: usize = 4 + 1 + 16;
    context
        .max_message_len()
        .checked_sub(overhead)
        .filter(|room| *room >= LARGEST_PREFIX)
        .ok_or_else(|| {
            WireError::encode(
                "path attributes",
                format!("{overhead} bytes of attributes leave no room for a prefix"),
            )
        })
}

/// Splits prefixes into consecutive runs of at most `room` encoded bytes,
/// each with its encoded size: a message is allocated at the size it
/// needs, so a small UPDATE held in many peers' queues is not a
/// maximum-size buffer.
fn runs(nlri: &[Nlri], add_path: bool, room: usize) -> Vec<(&[Nlri], usize)> {
    let mut runs = Vec::new();
    let mut start = 0usize;
    let mut used = 0usize;
    for (index, prefix) in nlri.iter().enumerate() {
        let size = prefix.encoded_len(add_path);
        if used + size > room {
            runs.push((nlri.get(start..index).unwrap_or(&[]), used));
            start = index;
            used = 0;
        }
        used += size;
    }
    runs.push((nlri.get(start..).unwrap_or(&[]), used));
    runs
}
