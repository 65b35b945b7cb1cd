//! Encoding path attributes (RFC 4271 §4.3, §5).
//!
//! Attributes are written in type-code order (RFC 4271 §5 "SHOULD"), with
//! unrecognized ones passed on in their place; the UPDATE encoder writes
//! MP_REACH_NLRI / MP_UNREACH_NLRI before all of them (RFC 7606 §5.1). Each
//! attribute is written with a 4-octet header and shrunk to the 3-octet one
//! when its value fits in 255 bytes, so the Extended Length bit is set
//! exactly when needed. On a 2-octet AS session, AS numbers that do not fit
//! become AS_TRANS and the real ones go in AS4_PATH / AS4_AGGREGATOR
//! (RFC 6793 §4.2.2).

use bytes::{BufMut, BytesMut};

use super::AS_TRANS;
use super::as4::{as4_path_for, needs_four_octets};
use super::attribute::{Aggregator, AsPath, AsPathSegmentKind, Origin, PathAttributes};
use super::attribute_decode::{expected_flags, flag, type_code as tc};
use super::context::CodecContext;
use super::error::WireError;

/// Starts an attribute: flags (with Extended Length), type, and a 2-octet
/// length placeholder. Returns where it starts, for [`finish_attribute`].
pub(crate) fn begin_attribute(out: &mut BytesMut, flags: u8, type_code: u8) -> usize {
    let start = out.len();
    out.put_u8(flags | flag::EXTENDED_LENGTH);
    out.put_u8(type_code);
    out.put_u16(0);
    start
}

/// Completes the attribute begun at `start`: writes its length, using the
/// short header when the value fits in one octet.
pub(crate) fn finish_attribute(out: &mut BytesMut, start: usize) -> Result<(), WireError> {
    let value_length = out.len().saturating_sub(start + 4);
    if let Ok(short) = u8::try_from(value_length) {
        if let Some(flags) = out.get_mut(start) {
            *flags &= !flag::EXTENDED_LENGTH;
        }
        if let Some(length) = out.get_mut(start + 2) {
            *length = short;
        }
        let end = out.len();
        out.copy_within(start + 4..end, start + 3);
        out.truncate(end - 1);
        return Ok(());
    }
    let long = u16::try_from(value_length).map_err(|_| {
        WireError::encode(
            "path attribute length",
            format!("value of {value_length} bytes"),
        )
    })?;
    if let Some(slot) = out.get_mut(start + 2..start + 4) {
        slot.copy_from_slice(&long.to_be_bytes());
    }
    Ok(())
}

/// Appends one attribute whose value is already encoded.
pub(crate) fn put_attribute(
    out: &mut BytesMut,
    flags: u8,
    type_code: u8,
    value: &[u8],
) -> Result<(), WireError> {
    let start = begin_attribute(out, flags, type_code);
    out.put_slice(value);
    finish_attribute(out, start)
}

/// Appends every attribute except MP_REACH_NLRI / MP_UNREACH_NLRI.
pub(crate) fn encode_path_attributes(
    attributes: &PathAttributes,
    context: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let mut unknown = attributes.unknown.iter().peekable();
    if let Some(clash) = attributes
        .unknown
        .iter()
        .find(|raw| expected_flags(raw.type_code).is_some())
    {
        return Err(WireError::encode(
            "unknown attribute",
            format!(
                "type {} is interpreted by the codec; use its field",
                clash.type_code
            ),
        ));
    }
    let known = [
        tc::ORIGIN,
        tc::AS_PATH,
        tc::NEXT_HOP,
        tc::MULTI_EXIT_DISC,
        tc::LOCAL_PREF,
        tc::ATOMIC_AGGREGATE,
        tc::AGGREGATOR,
        tc::COMMUNITIES,
        tc::ORIGINATOR_ID,
        tc::CLUSTER_LIST,
        tc::EXTENDED_COMMUNITIES,
        tc::AS4_PATH,
        tc::AS4_AGGREGATOR,
        tc::LARGE_COMMUNITY,
    ];
    for type_code in known.into_iter().map(Some).chain([None]) {
        while let Some(raw) =
            unknown.next_if(|raw| type_code.is_none_or(|code| raw.type_code < code))
        {
            let flags = raw.flags & (flag::OPTIONAL | flag::TRANSITIVE | flag::PARTIAL);
            put_attribute(out, flags, raw.type_code, &raw.value)?;
        }
        if let Some(type_code) = type_code {
            encode_known(attributes, type_code, context, out)?;
        }
    }
    Ok(())
}

/// Appends the attribute of `type_code` if `attributes` has it.
fn encode_known(
    attributes: &PathAttributes,
    type_code: u8,
    context: &CodecContext,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let flags = expected_flags(type_code).unwrap_or(flag::OPTIONAL);
    let legacy = !context.four_octet_as;
    match type_code {
        tc::ORIGIN => {
            if let Some(origin) = attributes.origin {
                let value = match origin {
                    Origin::Igp => 0,
                    Origin::Egp => 1,
                    Origin::Incomplete => 2,
                };
                put_attribute(out, flags, type_code, &[value])?;
            }
        }
        tc::AS_PATH => {
            if let Some(path) = &attributes.as_path {
                let start = begin_attribute(out, flags, type_code);
                encode_as_path(path, context.four_octet_as, out);
                finish_attribute(out, start)?;
            }
        }
        tc::NEXT_HOP => {
            if let Some(next_hop) = attributes.next_hop {
                put_attribute(out, flags, type_code, &next_hop.octets())?;
            }
        }
        tc::MULTI_EXIT_DISC => {
            if let Some(med) = attributes.med {
                put_attribute(out, flags, type_code, &med.to_be_bytes())?;
            }
        }
        tc::LOCAL_PREF => {
            if let Some(preference) = attributes.local_pref {
                put_attribute(out, flags, type_code, &preference.to_be_bytes())?;
            }
        }
        tc::ATOMIC_AGGREGATE if attributes.atomic_aggregate => {
            put_attribute(out, flags, type_code, &[])?;
        }
        tc::AGGREGATOR => {
            if let Some(aggregator) = attributes.aggregator {
                let start = begin_attribute(out, flags, type_code);
                if legacy {
                    out.put_u16(two_octet(aggregator.asn));
                } else {
                    out.put_u32(aggregator.asn);
                }
                out.put_u32(u32::from(aggregator.address));
                finish_attribute(out, start)?;
            }
        }
        tc::COMMUNITIES => put_list(
            out,
            flags,
            type_code,
            &attributes.communities,
            |out, community| {
                out.put_u32(*community);
            },
        )?,
        tc::ORIGINATOR_ID => {
            if let Some(originator) = attributes.originator_id {
                put_attribute(out, flags, type_code, &originator.octets())?;
            }
        }
        tc::CLUSTER_LIST => put_list(
            out,
            flags,
            type_code,
            &attributes.cluster_list,
            |out, cluster| {
                out.put_slice(&cluster.octets());
            },
        )?,
        tc::EXTENDED_COMMUNITIES => {
            put_list(
                out,
                flags,
                type_code,
                &attributes.extended_communities,
                |out, community| {
                    out.put_slice(&community.0);
                },
            )?;
        }
        tc::AS4_PATH => {
            if let Some(path) = attributes
                .as_path
                .as_ref()
                .filter(|path| legacy && needs_four_octets(path))
            {
                let start = begin_attribute(out, flags, type_code);
                encode_as_path(&as4_path_for(path), true, out);
                finish_attribute(out, start)?;
            }
        }
        tc::AS4_AGGREGATOR => {
            if let Some(Aggregator { asn, address }) = attributes
                .aggregator
                .filter(|aggregator| legacy && aggregator.asn > u32::from(u16::MAX))
            {
                let start = begin_attribute(out, flags, type_code);
                out.put_u32(asn);
                out.put_u32(u32::from(address));
                finish_attribute(out, start)?;
            }
        }
        tc::LARGE_COMMUNITY => put_list(
            out,
            flags,
            type_code,
            &attributes.large_communities,
            |out, community| {
                out.put_u32(community.global_admin);
                out.put_u32(community.local_data_1);
                out.put_u32(community.local_data_2);
            },
        )?,
        _ => {}
    }
    Ok(())
}

/// Appends a list attribute, unless the list is empty.
fn put_list<T>(
    out: &mut BytesMut,
    flags: u8,
    type_code: u8,
    items: &[T],
    write: impl Fn(&mut BytesMut, &T),
) -> Result<(), WireError> {
    if items.is_empty() {
        return Ok(());
    }
    let start = begin_attribute(out, flags, type_code);
    for item in items {
        write(out, item);
    }
    finish_attribute(out, start)
}

/// The 2-octet form of an AS number: AS_TRANS if it does not fit (RFC 6793 §9).
fn two_octet(asn: u32) -> u16 {
    u16::try_from(asn).unwrap_or(AS_TRANS)
}

/// Appends AS_PATH segments. Empty segments are left out (a zero-length
/// segment is malformed, RFC 7606 §7.2) and segments of more than 255 ASes
/// are split, as the one-octet segment length demands.
fn encode_as_path(path: &AsPath, four_octet: bool, out: &mut BytesMut) {
    for segment in &path.segments {
        let kind: u8 = match segment.kind {
            AsPathSegmentKind::Set => 1,
            AsPathSegmentKind::Sequence => 2,
            AsPathSegmentKind::ConfedSequence => 3,
            AsPathSegmentKind::ConfedSet => 4,
        };
        for chunk in segment.asns.chunks(usize::from(u8::MAX)) {
            out.put_u8(kind);
            out.put_u8(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
            for asn in chunk {
                if four_octet {
                    out.put_u32(*asn);
                } else {
                    out.put_u16(two_octet(*asn));
                }
            }
        }
    }
}
