//! Decoding the path attribute section of an UPDATE (RFC 4271 §4.3, §5)
//! with the error handling of RFC 7606.
//!
//! The section is walked once. Each attribute's header is read, duplicates
//! are dropped (MP_REACH_NLRI / MP_UNREACH_NLRI duplicates reset the
//! session, RFC 7606 §3 g), flags are checked against the attribute's type,
//! and the value is decoded into [`PathAttributes`]. Every error is routed
//! by its [`ErrorAction`]: a session reset stops decoding; treat-as-withdraw
//! is kept (the first one) for the UPDATE; attribute discard drops just the
//! attribute and is logged. NEXT_HOP errors wait for the NLRI: without
//! classic NLRI the attribute is ignored anyway (RFC 4760 §3), so its error
//! only discards it.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| unused|  Type Code    |  Attribute Length: 1 octet, or 2 if E
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! O optional, T transitive, P partial, E extended length
//! ```

use std::net::Ipv4Addr;

use super::as4::reconcile;
use super::attribute::{
    Aggregator, AsPath, ExtendedCommunity, LargeCommunity, Origin, PathAttributes, RawAttribute,
};
use super::attribute_values::{decode_aggregator, decode_as_path, decode_list, read_u32};
use super::context::CodecContext;
use super::error::{ErrorAction, WireError};
use super::notification::{code, subcode};
use super::update::{MpReach, MpUnreach};
use super::update_decode::{decode_mp_reach, decode_mp_unreach};

/// Attribute flag bits (RFC 4271 §4.3).
pub(crate) mod flag {
    /// Optional.
    pub(crate) const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub(crate) const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub(crate) const PARTIAL: u8 = 0x20;
    /// Extended Length.
    pub(crate) const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub(crate) mod type_code {
    pub(crate) const ORIGIN: u8 = 1;
    pub(crate) const AS_PATH: u8 = 2;
    pub(crate) const NEXT_HOP: u8 = 3;
    pub(crate) const MULTI_EXIT_DISC: u8 = 4;
    pub(crate) const LOCAL_PREF: u8 = 5;
    pub(crate) const ATOMIC_AGGREGATE: u8 = 6;
    pub(crate) const AGGREGATOR: u8 = 7;
    pub(crate) const COMMUNITIES: u8 = 8;
    pub(crate) const ORIGINATOR_ID: u8 = 9;
    pub(crate) const CLUSTER_LIST: u8 = 10;
    pub(crate) const MP_REACH_NLRI: u8 = 14;
    pub(crate) const MP_UNREACH_NLRI: u8 = 15;
    pub(crate) const EXTENDED_COMMUNITIES: u8 = 16;
    pub(crate) const AS4_PATH: u8 = 17;
    pub(crate) const AS4_AGGREGATOR: u8 = 18;
    pub(crate) const LARGE_COMMUNITY: u8 = 32;
}

use type_code as tc;

/// The Optional and Transitive bits each known attribute must carry
/// (RFC 4271 §5, RFC 4760, RFC 4360, RFC 6793, RFC 8092, RFC 4456).
pub(crate) fn expected_flags(type_code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flag::TRANSITIVE;
    const OPTIONAL_TRANSITIVE: u8 = flag::OPTIONAL | flag::TRANSITIVE;
    match type_code {
        tc::ORIGIN | tc::AS_PATH | tc::NEXT_HOP | tc::LOCAL_PREF | tc::ATOMIC_AGGREGATE => {
            Some(WELL_KNOWN)
        }
        tc::MULTI_EXIT_DISC
        | tc::ORIGINATOR_ID
        | tc::CLUSTER_LIST
        | tc::MP_REACH_NLRI
        | tc::MP_UNREACH_NLRI => Some(flag::OPTIONAL),
        tc::AGGREGATOR
        | tc::COMMUNITIES
        | tc::EXTENDED_COMMUNITIES
        | tc::AS4_PATH
        | tc::AS4_AGGREGATOR
        | tc::LARGE_COMMUNITY => Some(OPTIONAL_TRANSITIVE),
        _ => None,
    }
}

/// One attribute as found in the section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttributeView<'a> {
    /// Flags octet.
    pub(crate) flags: u8,
    /// Type code.
    pub(crate) type_code: u8,
    /// The value.
    pub(crate) value: &'a [u8],
    /// Flags, type, length and value: the NOTIFICATION data of most errors.
    pub(crate) whole: &'a [u8],
    /// Offset of the flags octet in the message.
    pub(crate) offset: usize,
    /// Offset of the value in the message.
    pub(crate) value_offset: usize,
}

impl AttributeView<'_> {
    /// An UPDATE Message Error about this attribute.
    pub(crate) fn error(
        &self,
        error_subcode: u8,
        action: ErrorAction,
        field: &'static str,
        detail: String,
    ) -> WireError {
        let data = match error_subcode {
            subcode::update::MALFORMED_AS_PATH | subcode::update::MALFORMED_ATTRIBUTE_LIST => {
                Vec::new()
            }
            _ => self.whole.to_vec(),
        };
        WireError::new(
            code::UPDATE_MESSAGE_ERROR,
            error_subcode,
            field,
            self.offset,
            detail,
        )
        .with_data(data)
        .with_action(action)
    }

    fn length_error(&self, action: ErrorAction, field: &'static str, expected: &str) -> WireError {
        self.error(
            subcode::update::ATTRIBUTE_LENGTH_ERROR,
            action,
            field,
            format!("length {}, expected {expected}", self.value.len()),
        )
    }
}

/// What decoding the attribute section produced.
#[derive(Debug, Default)]
pub(crate) struct DecodedAttributes {
    pub(crate) attributes: PathAttributes,
    pub(crate) mp_reach: Option<MpReach>,
    pub(crate) mp_unreach: Option<MpUnreach>,
    pub(crate) treat_as_withdraw: Option<WireError>,
    pub(crate) discarded: Vec<WireError>,
    /// A NEXT_HOP error, whose action depends on the classic NLRI.
    pub(crate) next_hop_error: Option<WireError>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
}

impl DecodedAttributes {
    /// Routes an error by its action: a reset is returned, the others kept.
    pub(crate) fn record(&mut self, error: WireError) -> Result<(), WireError> {
        match error.action {
            ErrorAction::SessionReset => return Err(error),
            ErrorAction::TreatAsWithdraw => {
                if self.treat_as_withdraw.is_none() {
                    self.treat_as_withdraw = Some(error);
                }
            }
            ErrorAction::AttributeDiscard => self.discarded.push(error),
        }
        Ok(())
    }
}

/// Decodes the path attribute section, which starts at `base` in the message.
pub(crate) fn decode_attributes(
    section: &[u8],
    base: usize,
    context: &CodecContext,
) -> Result<DecodedAttributes, WireError> {
    let mut decoded = DecodedAttributes::default();
    let mut seen = [false; 256];
    let mut position = 0usize;
    while position < section.len() {
        let offset = base + position;
        let rest = section.get(position..).unwrap_or(&[]);
        let flags = rest.first().copied().unwrap_or(0);
        let type_code = rest.get(1).copied();
        let header_len = if flags & flag::EXTENDED_LENGTH != 0 {
            4
        } else {
            3
        };
        let length = match (rest.get(2), rest.get(3)) {
            (Some(&high), Some(&low)) if header_len == 4 => {
                Some(usize::from(u16::from_be_bytes([high, low])))
            }
            (Some(&only), _) if header_len == 3 => Some(usize::from(only)),
            _ => None,
        };
        let whole = length.and_then(|length| rest.get(..header_len + length));
        let (Some(type_code), Some(whole)) = (type_code, whole) else {
            // RFC 7606 §4: an attribute overrunning the section. It is the last
            // one by construction; if it is MP_REACH/MP_UNREACH its NLRI are
            // lost, so treat-as-withdraw cannot be applied (RFC 7606 §2).
            let hides_nlri = matches!(type_code, Some(tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI));
            let action = if hides_nlri {
                ErrorAction::SessionReset
            } else {
                ErrorAction::TreatAsWithdraw
            };
            decoded.record(
                WireError::new(
                    code::UPDATE_MESSAGE_ERROR,
                    subcode::update::MALFORMED_ATTRIBUTE_LIST,
                    "path attribute length",
                    offset,
                    format!(
                        "attribute overruns the attribute section ({} bytes left)",
                        rest.len()
                    ),
                )
                .with_action(action),
            )?;
            break;
        };
        position += whole.len();
        let view = AttributeView {
            flags,
            type_code,
            value: whole.get(header_len..).unwrap_or(&[]),
            whole,
            offset,
            value_offset: offset + header_len,
        };
        let seen_before = seen
            .get_mut(usize::from(type_code))
            .map(|slot| std::mem::replace(slot, true));
        if seen_before == Some(true) {
            let action = match type_code {
                tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI => ErrorAction::SessionReset,
                _ => ErrorAction::AttributeDiscard,
            };
            decoded.record(view.error(
                subcode::update::MALFORMED_ATTRIBUTE_LIST,
                action,
                "duplicate path attribute",
                format!("attribute type {type_code} appears more than once"),
            ))?;
            continue;
        }
        decode_one(&view, context, &mut decoded)?;
    }
    if !context.four_octet_as {
        let as4_path = decoded.as4_path.take();
        let as4_aggregator = decoded.as4_aggregator.take();
        let attributes = &mut decoded.attributes;
        reconcile(
            &mut attributes.as_path,
            &mut attributes.aggregator,
            as4_path,
            as4_aggregator,
        );
    }
    decoded
        .attributes
        .unknown
        .sort_by_key(|attribute| attribute.type_code);
    Ok(decoded)
}

/// Checks flags and decodes one attribute that is not a duplicate.
fn decode_one(
    view: &AttributeView<'_>,
    context: &CodecContext,
    decoded: &mut DecodedAttributes,
) -> Result<(), WireError> {
    let Some(expected) = expected_flags(view.type_code) else {
        return decode_unknown(view, decoded);
    };
    let flags_ok = view.flags & (flag::OPTIONAL | flag::TRANSITIVE) == expected;
    if !flags_ok {
        // RFC 7606 §3 c: treat-as-withdraw; RFC 6793 §6: AS4_* are discarded.
        let action = match view.type_code {
            tc::AS4_PATH | tc::AS4_AGGREGATOR => ErrorAction::AttributeDiscard,
            _ => ErrorAction::TreatAsWithdraw,
        };
        decoded.record(view.error(
            subcode::update::ATTRIBUTE_FLAGS_ERROR,
            action,
            "path attribute flags",
            format!(
                "flags 0x{:02x} for type {}, expected 0x{expected:02x}",
                view.flags, view.type_code
            ),
        ))?;
        // MP attributes are still read, so that their prefixes can be withdrawn.
        if !matches!(view.type_code, tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI) {
            return Ok(());
        }
    }
    let value = view.value;
    let length = value.len();
    let attributes = &mut decoded.attributes;
    let withdraw = ErrorAction::TreatAsWithdraw;
    let discard = ErrorAction::AttributeDiscard;
    let outcome: Result<(), WireError> = match view.type_code {
        tc::ORIGIN => match value {
            [0] => Ok(Origin::Igp),
            [1] => Ok(Origin::Egp),
            [2] => Ok(Origin::Incomplete),
            [other] => Err(view.error(
                subcode::update::INVALID_ORIGIN,
                withdraw,
                "ORIGIN",
                format!("undefined ORIGIN value {other}"),
            )),
            _ => Err(view.length_error(withdraw, "ORIGIN length", "1")),
        }
        .map(|origin| attributes.origin = Some(origin)),
        tc::AS_PATH => {
            let width = if context.four_octet_as { 4 } else { 2 };
            decode_as_path(value, width, view.value_offset)
                .map(|path| attributes.as_path = Some(path))
                .map_err(|(offset, detail)| {
                    let mut error = view.error(
                        subcode::update::MALFORMED_AS_PATH,
                        withdraw,
                        "AS_PATH segment",
                        detail,
                    );
                    error.offset = offset;
                    error
                })
        }
        tc::NEXT_HOP => {
            match <[u8; 4]>::try_from(value) {
                Ok(octets) => {
                    let address = Ipv4Addr::from(octets);
                    if address.is_unspecified()
                        || address.is_multicast()
                        || address.octets()[0] >= 240
                    {
                        decoded.next_hop_error = Some(view.error(
                            subcode::update::INVALID_NEXT_HOP,
                            withdraw,
                            "NEXT_HOP",
                            format!("{address} is not a unicast host address"),
                        ));
                    } else {
                        attributes.next_hop = Some(address);
                    }
                }
                Err(_) => {
                    decoded.next_hop_error =
                        Some(view.length_error(withdraw, "NEXT_HOP length", "4"))
                }
            }
            Ok(())
        }
        tc::MULTI_EXIT_DISC => read_u32(value)
            .map(|med| attributes.med = Some(med))
            .ok_or_else(|| view.length_error(withdraw, "MULTI_EXIT_DISC length", "4")),
        tc::LOCAL_PREF => read_u32(value)
            .map(|preference| attributes.local_pref = Some(preference))
            .ok_or_else(|| view.length_error(withdraw, "LOCAL_PREF length", "4")),
        tc::ATOMIC_AGGREGATE if length == 0 => {
            attributes.atomic_aggregate = true;
            Ok(())
        }
        tc::ATOMIC_AGGREGATE => Err(view.length_error(discard, "ATOMIC_AGGREGATE length", "0")),
        tc::AGGREGATOR => {
            let width = if context.four_octet_as { 4 } else { 2 };
            decode_aggregator(value, width)
                .map(|aggregator| attributes.aggregator = Some(aggregator))
                .ok_or_else(|| {
                    view.length_error(
                        discard,
                        "AGGREGATOR length",
                        if width == 4 { "8" } else { "6" },
                    )
                })
        }
        tc::COMMUNITIES => decode_list(value, 4, read_u32)
            .map(|list| attributes.communities = list)
            .ok_or_else(|| {
                view.length_error(withdraw, "COMMUNITIES length", "a non-zero multiple of 4")
            }),
        tc::ORIGINATOR_ID => read_u32(value)
            .map(|id| attributes.originator_id = Some(Ipv4Addr::from(id)))
            .ok_or_else(|| view.length_error(withdraw, "ORIGINATOR_ID length", "4")),
        tc::CLUSTER_LIST => decode_list(value, 4, |chunk| read_u32(chunk).map(Ipv4Addr::from))
            .map(|list| attributes.cluster_list = list)
            .ok_or_else(|| {
                view.length_error(withdraw, "CLUSTER_LIST length", "a non-zero multiple of 4")
            }),
        tc::EXTENDED_COMMUNITIES => decode_list(value, 8, |chunk| {
            <[u8; 8]>::try_from(chunk).ok().map(ExtendedCommunity)
        })
        .map(|list| attributes.extended_communities = list)
        .ok_or_else(|| {
            view.length_error(
                withdraw,
                "EXTENDED_COMMUNITIES length",
                "a non-zero multiple of 8",
            )
        }),
        tc::LARGE_COMMUNITY => decode_list(value, 12, |chunk| {
            Some(LargeCommunity {
                global_admin: read_u32(chunk.get(0..4)?)?,
                local_data_1: read_u32(chunk.get(4..8)?)?,
                local_data_2: read_u32(chunk.get(8..12)?)?,
            })
        })
        .map(|list| attributes.large_communities = list)
        .ok_or_else(|| {
            view.length_error(
                withdraw,
                "LARGE_COMMUNITY length",
                "a non-zero multiple of 12",
            )
        }),
        // RFC 6793 §4.1: a NEW speaker ignores AS4_* from another NEW speaker.
        tc::AS4_PATH | tc::AS4_AGGREGATOR if context.four_octet_as => Ok(()),
        tc::AS4_PATH => match decode_as_path(value, 4, view.value_offset) {
            Ok(path) => {
                decoded.as4_path = Some(super::as4::as4_path_for(&path));
                Ok(())
            }
            Err((offset, detail)) => {
                let mut error = view.error(
                    subcode::update::OPTIONAL_ATTRIBUTE_ERROR,
                    discard,
                    "AS4_PATH",
                    detail,
                );
                error.offset = offset;
                Err(error)
            }
        },
        tc::AS4_AGGREGATOR => decode_aggregator(value, 4)
            .map(|aggregator| decoded.as4_aggregator = Some(aggregator))
            .ok_or_else(|| view.length_error(discard, "AS4_AGGREGATOR length", "8")),
        tc::MP_REACH_NLRI => {
            decode_mp_reach(view, context).map(|reach| decoded.mp_reach = Some(reach))
        }
        tc::MP_UNREACH_NLRI => {
            decode_mp_unreach(view, context).map(|unreach| decoded.mp_unreach = Some(unreach))
        }
        _ => decode_unknown(view, decoded),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => decoded.record(error),
    }
}

/// An attribute podroute does not interpret (RFC 4271 §5, §6.3).
fn decode_unknown(
    view: &AttributeView<'_>,
    decoded: &mut DecodedAttributes,
) -> Result<(), WireError> {
    if view.flags & flag::OPTIONAL == 0 {
        return decoded.record(view.error(
            subcode::update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            ErrorAction::SessionReset,
            "path attribute type",
            format!(
                "well-known attribute type {} is not recognized",
                view.type_code
            ),
        ));
    }
    if view.flags & flag::TRANSITIVE != 0 {
        decoded.attributes.unknown.push(RawAttribute {
            // The low four bits are unused and ignored on receipt (RFC 4271
            // §4.3); Extended Length is the encoder's choice.
            flags: (view.flags | flag::PARTIAL)
                & (flag::OPTIONAL | flag::TRANSITIVE | flag::PARTIAL),
            type_code: view.type_code,
            value: view.value.to_vec(),
        });
    }
    Ok(())
}
