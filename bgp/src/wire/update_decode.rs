//! Decoding an UPDATE body (RFC 4271 §4.3) and its MP_REACH_NLRI /
//! MP_UNREACH_NLRI attributes (RFC 4760 §3, §4).
//!
//! The body is split by its two length fields into withdrawn routes,
//! attributes and NLRI; lengths that do not fit the message reset the
//! session (RFC 4271 §6.3 Malformed Attribute List), as does any prefix
//! field that cannot be parsed (RFC 7606 §5.3: Invalid Network Field for the
//! classic fields, Optional Attribute Error for MP NLRI). Attribute errors
//! come back from [`super::attribute_decode`] already sorted by action; this
//! module adds the checks that need the NLRI: a NEXT_HOP error and missing
//! well-known attributes matter only when prefixes are announced (RFC 7606
//! §3 d, §7.3), so a withdraw-only or End-of-RIB UPDATE never errs for them.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::attribute_decode::{AttributeView, decode_attributes, type_code};
use super::context::CodecContext;
use super::cursor::Reader;
use super::error::{ErrorAction, WireError};
use super::family::{Afi, Family, Safi};
use super::notification::{code, subcode};
use super::prefix::{AddressKind, decode_prefixes};
use super::update::{MpReach, MpUnreach, NextHop, Update};

impl Update {
    /// Decodes an UPDATE body (after the header); `base` is its offset in
    /// the message. Errors that RFC 7606 answers more gently than a session
    /// reset are returned in `treat_as_withdraw` and `discarded`.
    pub fn decode_body(
        body: &[u8],
        base: usize,
        context: &CodecContext,
    ) -> Result<Update, WireError> {
        let mut reader = Reader::new(
            body,
            base,
            code::UPDATE_MESSAGE_ERROR,
            subcode::update::MALFORMED_ATTRIBUTE_LIST,
        );
        let withdrawn_length = reader.u16("withdrawn routes length")?;
        let withdrawn_offset = reader.offset();
        let withdrawn_bytes =
            reader.bytes(usize::from(withdrawn_length), "withdrawn routes length")?;
        let attributes_length = reader.u16("total path attribute length")?;
        let attributes_offset = reader.offset();
        let attribute_bytes = reader.bytes(
            usize::from(attributes_length),
            "total path attribute length",
        )?;
        let nlri_offset = reader.offset();
        let nlri_bytes = reader.rest();

        let classic_add_path = context.has_path_id(Family::IPV4_UNICAST);
        let mut withdrawn = Vec::new();
        decode_prefixes(
            withdrawn_bytes,
            withdrawn_offset,
            AddressKind::V4,
            classic_add_path,
            &mut withdrawn,
            &|offset, detail| {
                WireError::new(
                    code::UPDATE_MESSAGE_ERROR,
                    subcode::update::INVALID_NETWORK_FIELD,
                    "withdrawn routes",
                    offset,
                    detail,
                )
            },
        )?;
        let mut decoded = decode_attributes(attribute_bytes, attributes_offset, context)?;
        let mut nlri = Vec::new();
        decode_prefixes(
            nlri_bytes,
            nlri_offset,
            AddressKind::V4,
            classic_add_path,
            &mut nlri,
            &|offset, detail| {
                WireError::new(
                    code::UPDATE_MESSAGE_ERROR,
                    subcode::update::INVALID_NETWORK_FIELD,
                    "NLRI",
                    offset,
                    detail,
                )
            },
        )?;

        if let Some(mut error) = decoded.next_hop_error.take() {
            // Without classic NLRI the NEXT_HOP is not used (RFC 4760 §3).
            if nlri.is_empty() {
                error.action = ErrorAction::AttributeDiscard;
            }
            decoded.record(error)?;
        }
        let announces = !nlri.is_empty()
            || decoded
                .mp_reach
                .as_ref()
                .is_some_and(|reach| !reach.nlri.is_empty());
        if announces && decoded.treat_as_withdraw.is_none() {
            let attributes = &decoded.attributes;
            let missing = [
                (attributes.origin.is_none(), type_code::ORIGIN, "ORIGIN"),
                (attributes.as_path.is_none(), type_code::AS_PATH, "AS_PATH"),
                (
                    !nlri.is_empty() && attributes.next_hop.is_none(),
                    type_code::NEXT_HOP,
                    "NEXT_HOP",
                ),
            ];
            if let Some((_, missing_code, name)) =
                missing.into_iter().find(|(absent, _, _)| *absent)
            {
                decoded.treat_as_withdraw = Some(
                    WireError::new(
                        code::UPDATE_MESSAGE_ERROR,
                        subcode::update::MISSING_WELL_KNOWN_ATTRIBUTE,
                        "path attributes",
                        attributes_offset,
                        format!("{name} is missing, and the UPDATE announces prefixes"),
                    )
                    .with_data(vec![missing_code])
                    .with_action(ErrorAction::TreatAsWithdraw),
                );
            }
        }
        Ok(Update {
            withdrawn,
            attributes: decoded.attributes,
            mp_reach: decoded.mp_reach,
            mp_unreach: decoded.mp_unreach,
            nlri,
            treat_as_withdraw: decoded.treat_as_withdraw,
            discarded: decoded.discarded,
        })
    }
}

/// The address kind of a family's NLRI, for the families the codec reads.
fn address_kind(family: Family) -> Option<AddressKind> {
    match family.afi {
        Afi::IPV4 => Some(AddressKind::V4),
        Afi::IPV6 => Some(AddressKind::V6),
        _ => None,
    }
}

/// An Optional Attribute Error about an MP attribute (RFC 4760 §7).
fn mp_error(
    view: &AttributeView<'_>,
    action: ErrorAction,
    field: &'static str,
    detail: String,
) -> WireError {
    view.error(
        subcode::update::OPTIONAL_ATTRIBUTE_ERROR,
        action,
        field,
        detail,
    )
}

/// Reads AFI and SAFI; a family not negotiated is discarded (see
/// [`CodecContext::families`] for why that is not a reset).
fn read_family(
    view: &AttributeView<'_>,
    reader: &mut Reader<'_>,
    context: &CodecContext,
    name: &'static str,
) -> Result<(Family, AddressKind), WireError> {
    let afi = reader.u16(name).map_err(|_| {
        mp_error(
            view,
            ErrorAction::SessionReset,
            name,
            "too short for AFI and SAFI".into(),
        )
    })?;
    let safi = reader.u8(name).map_err(|_| {
        mp_error(
            view,
            ErrorAction::SessionReset,
            name,
            "too short for AFI and SAFI".into(),
        )
    })?;
    let family = Family {
        afi: Afi(afi),
        safi: Safi(safi),
    };
    match address_kind(family) {
        Some(kind) if context.accepts_family(family) => Ok((family, kind)),
        _ => Err(mp_error(
            view,
            ErrorAction::AttributeDiscard,
            name,
            format!("family {family} was not negotiated"),
        )),
    }
}

/// Decodes MP_REACH_NLRI (RFC 4760 §3). A malformed one resets the session
/// (RFC 7606 §7.11; podroute does not implement "AFI/SAFI disable").
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// | Subsequent Address Family Identifier (1 octet)          |
/// | Length of Next Hop Network Address (1 octet)            |
/// | Network Address of Next Hop (variable)                  |
/// | Reserved (1 octet)                                      |
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
///
/// Next hops: 4 octets IPv4; 16 octets IPv6 global; 32 octets global then
/// link-local (RFC 2545 §3); IPv6 for IPv4 NLRI (RFC 8950 §3).
pub(crate) fn decode_mp_reach(
    view: &AttributeView<'_>,
    context: &CodecContext,
) -> Result<MpReach, WireError> {
    const NAME: &str = "MP_REACH_NLRI";
    let mut reader = Reader::new(
        view.value,
        view.value_offset,
        code::UPDATE_MESSAGE_ERROR,
        subcode::update::OPTIONAL_ATTRIBUTE_ERROR,
    );
    let (family, kind) = read_family(view, &mut reader, context, NAME)?;
    let reset = |detail: String| mp_error(view, ErrorAction::SessionReset, NAME, detail);
    let next_hop_length = reader
        .u8(NAME)
        .map_err(|_| reset("next hop length missing".into()))?;
    let next_hop_bytes = reader
        .bytes(usize::from(next_hop_length), NAME)
        .map_err(|_| {
            reset(format!(
                "next hop of {next_hop_length} octets overruns the attribute"
            ))
        })?;
    let next_hop = match (kind, next_hop_bytes.len()) {
        (AddressKind::V4, 4) => {
            <[u8; 4]>::try_from(next_hop_bytes)
                .ok()
                .map(|octets| NextHop::Ipv4 {
                    address: Ipv4Addr::from(octets),
                })
        }
        (_, 16) => <[u8; 16]>::try_from(next_hop_bytes)
            .ok()
            .map(|octets| NextHop::Ipv6 {
                global: Ipv6Addr::from(octets),
                link_local: None,
            }),
        (_, 32) => {
            let global = next_hop_bytes
                .get(..16)
                .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
            let link_local = next_hop_bytes
                .get(16..)
                .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
            global
                .zip(link_local)
                .map(|(global, link_local)| NextHop::Ipv6 {
                    global: Ipv6Addr::from(global),
                    link_local: Some(Ipv6Addr::from(link_local)),
                })
        }
        _ => None,
    }
    .ok_or_else(|| {
        reset(format!(
            "next hop length {next_hop_length} is not valid for {family}"
        ))
    })?;
    let _reserved = reader
        .u8(NAME)
        .map_err(|_| reset("reserved octet missing".into()))?;
    let nlri_offset = reader.offset();
    let mut nlri = Vec::new();
    decode_prefixes(
        reader.rest(),
        nlri_offset,
        kind,
        context.has_path_id(family),
        &mut nlri,
        &|offset, detail| {
            let mut error = reset(detail);
            error.offset = offset;
            error
        },
    )?;
    Ok(MpReach {
        family,
        next_hop,
        nlri,
    })
}

/// Decodes MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), withdrawn
/// routes (variable). Malformed: session reset (RFC 7606 §7.11).
pub(crate) fn decode_mp_unreach(
    view: &AttributeView<'_>,
    context: &CodecContext,
) -> Result<MpUnreach, WireError> {
    const NAME: &str = "MP_UNREACH_NLRI";
    let mut reader = Reader::new(
        view.value,
        view.value_offset,
        code::UPDATE_MESSAGE_ERROR,
        subcode::update::OPTIONAL_ATTRIBUTE_ERROR,
    );
    let (family, kind) = read_family(view, &mut reader, context, NAME)?;
    let mut withdrawn = Vec::new();
    decode_prefixes(
        reader.rest(),
        reader.offset(),
        kind,
        context.has_path_id(family),
        &mut withdrawn,
        &|offset, detail| {
            let mut error = mp_error(view, ErrorAction::SessionReset, NAME, detail);
            error.offset = offset;
            error
        },
    )?;
    Ok(MpUnreach { family, withdrawn })
}
