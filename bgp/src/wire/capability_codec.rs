//! Capabilities on the wire (RFC 5492 §4): decoding a Capabilities optional
//! parameter into [`Capability`] values and encoding them back.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```
//!
//! A capability podroute knows but whose value is malformed is an OPEN
//! Message Error with subcode 0 (RFC 4271 §6.2: a recognized optional
//! parameter that is malformed). Unknown codes are kept raw.

use bytes::{BufMut, BytesMut};

use super::capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHopEntry, GracefulRestart,
    GracefulRestartFamily,
};
use super::cursor::Reader;
use super::error::WireError;
use super::family::{Afi, Family, Safi};
use super::notification::{code, subcode};

/// Capability codes (IANA "Capability Codes").
pub(crate) mod capability_code {
    pub(crate) const MULTIPROTOCOL: u8 = 1;
    pub(crate) const ROUTE_REFRESH: u8 = 2;
    pub(crate) const EXTENDED_NEXT_HOP: u8 = 5;
    pub(crate) const EXTENDED_MESSAGE: u8 = 6;
    pub(crate) const GRACEFUL_RESTART: u8 = 64;
    pub(crate) const FOUR_OCTET_AS: u8 = 65;
    pub(crate) const ADD_PATH: u8 = 69;
    pub(crate) const ENHANCED_ROUTE_REFRESH: u8 = 70;
    pub(crate) const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    pub(crate) const HOSTNAME: u8 = 73;
}

use capability_code as cc;

/// Graceful restart R bit (RFC 4724 §3) in the first flags octet.
const RESTART_STATE_BIT: u8 = 0x80;
/// Graceful restart N bit (RFC 8538 §2).
const NOTIFICATION_BIT: u8 = 0x40;
/// Graceful restart per-family F bit (RFC 4724 §3).
const FORWARDING_STATE_BIT: u8 = 0x80;

/// Decodes every capability of one Capabilities optional parameter.
pub(crate) fn decode_capabilities(
    mut reader: Reader<'_>,
    out: &mut Vec<Capability>,
) -> Result<(), WireError> {
    while !reader.is_empty() {
        let capability_code = reader.u8("capability code")?;
        let length = reader.u8("capability length")?;
        let value = reader.sub(usize::from(length), "capability value")?;
        out.push(decode_capability(capability_code, value)?);
    }
    Ok(())
}

fn malformed(reader: &Reader<'_>, field: &'static str, detail: String) -> WireError {
    WireError::new(
        code::OPEN_MESSAGE_ERROR,
        subcode::UNSPECIFIC,
        field,
        reader.offset(),
        detail,
    )
}

fn expect_length(reader: &Reader<'_>, field: &'static str, valid: bool) -> Result<(), WireError> {
    if valid {
        Ok(())
    } else {
        Err(malformed(
            reader,
            field,
            format!("unexpected capability length {}", reader.remaining()),
        ))
    }
}

fn decode_family(reader: &mut Reader<'_>, field: &'static str) -> Result<Family, WireError> {
    let afi = reader.u16(field)?;
    let safi = reader.u8(field)?;
    Ok(Family {
        afi: Afi(afi),
        safi: Safi(safi),
    })
}

/// Decodes one capability value.
fn decode_capability(capability_code: u8, mut value: Reader<'_>) -> Result<Capability, WireError> {
    let length = value.remaining();
    let capability = match capability_code {
        cc::MULTIPROTOCOL => {
            expect_length(&value, "multiprotocol capability", length == 4)?;
            let afi = value.u16("multiprotocol AFI")?;
            let _reserved = value.u8("multiprotocol reserved")?;
            let safi = value.u8("multiprotocol SAFI")?;
            Capability::Multiprotocol {
                family: Family {
                    afi: Afi(afi),
                    safi: Safi(safi),
                },
            }
        }
        cc::ROUTE_REFRESH => {
            expect_length(&value, "route refresh capability", length == 0)?;
            Capability::RouteRefresh
        }
        cc::ENHANCED_ROUTE_REFRESH => {
            expect_length(&value, "enhanced route refresh capability", length == 0)?;
            Capability::EnhancedRouteRefresh
        }
        cc::EXTENDED_MESSAGE => {
            expect_length(&value, "extended message capability", length == 0)?;
            Capability::ExtendedMessage
        }
        cc::FOUR_OCTET_AS => {
            expect_length(&value, "4-octet AS capability", length == 4)?;
            Capability::FourOctetAs {
                asn: value.u32("4-octet AS number")?,
            }
        }
        cc::GRACEFUL_RESTART => {
            expect_length(
                &value,
                "graceful restart capability",
                length >= 2 && length % 4 == 2,
            )?;
            let header = value.u16("graceful restart flags")?;
            let [flags, _] = header.to_be_bytes();
            let mut families = Vec::with_capacity(length / 4);
            while !value.is_empty() {
                let family = decode_family(&mut value, "graceful restart family")?;
                let family_flags = value.u8("graceful restart family flags")?;
                families.push(GracefulRestartFamily {
                    family,
                    forwarding_state: family_flags & FORWARDING_STATE_BIT != 0,
                });
            }
            Capability::GracefulRestart(GracefulRestart {
                restart_state: flags & RESTART_STATE_BIT != 0,
                notification: flags & NOTIFICATION_BIT != 0,
                restart_time: header & 0x0fff,
                families,
            })
        }
        cc::LONG_LIVED_GRACEFUL_RESTART => Capability::LongLivedGracefulRestart {
            value: value.rest().to_vec(),
        },
        cc::ADD_PATH => {
            expect_length(&value, "ADD-PATH capability", length % 4 == 0)?;
            let mut families = Vec::with_capacity(length / 4);
            while !value.is_empty() {
                let family = decode_family(&mut value, "ADD-PATH family")?;
                let mode = match value.u8("ADD-PATH send/receive")? {
                    1 => AddPathMode::Receive,
                    2 => AddPathMode::Send,
                    3 => AddPathMode::Both,
                    other => {
                        return Err(malformed(
                            &value,
                            "ADD-PATH send/receive",
                            format!("send/receive value {other} is not 1, 2 or 3"),
                        ));
                    }
                };
                families.push(AddPathFamily { family, mode });
            }
            Capability::AddPath { families }
        }
        cc::EXTENDED_NEXT_HOP => {
            expect_length(&value, "extended next hop capability", length % 6 == 0)?;
            let mut entries = Vec::with_capacity(length / 6);
            while !value.is_empty() {
                let afi = value.u16("extended next hop NLRI AFI")?;
                let wide_safi = value.u16("extended next hop NLRI SAFI")?;
                let next_hop_afi = value.u16("extended next hop AFI")?;
                let safi = u8::try_from(wide_safi).map_err(|_| {
                    malformed(
                        &value,
                        "extended next hop NLRI SAFI",
                        format!("SAFI {wide_safi} > 255"),
                    )
                })?;
                entries.push(ExtendedNextHopEntry {
                    family: Family {
                        afi: Afi(afi),
                        safi: Safi(safi),
                    },
                    next_hop_afi: Afi(next_hop_afi),
                });
            }
            Capability::ExtendedNextHop { entries }
        }
        cc::HOSTNAME => {
            let hostname = decode_short_string(&mut value, "hostname")?;
            // Some speakers omit the domain entirely; that reads as empty.
            let domain = if value.is_empty() {
                String::new()
            } else {
                decode_short_string(&mut value, "domain name")?
            };
            Capability::Hostname { hostname, domain }
        }
        other => Capability::Unknown {
            code: other,
            value: value.rest().to_vec(),
        },
    };
    Ok(capability)
}

/// A length-prefixed string, read lossily: bad UTF-8 is replaced, not refused.
fn decode_short_string(reader: &mut Reader<'_>, field: &'static str) -> Result<String, WireError> {
    let length = reader
        .u8(field)
        .map_err(|_| malformed(reader, field, "length missing".into()))?;
    let bytes = reader
        .bytes(usize::from(length), field)
        .map_err(|_| malformed(reader, field, format!("{length} bytes announced")))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Appends one capability (code, length, value); fails if the value is
/// longer than the length octet can say.
pub(crate) fn encode_capability(
    capability: &Capability,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let start = out.len();
    out.put_u8(capability_code_of(capability));
    out.put_u8(0);
    match capability {
        Capability::Multiprotocol { family } => {
            out.put_u16(family.afi.0);
            out.put_u8(0);
            out.put_u8(family.safi.0);
        }
        Capability::RouteRefresh
        | Capability::EnhancedRouteRefresh
        | Capability::ExtendedMessage => {}
        Capability::FourOctetAs { asn } => out.put_u32(*asn),
        Capability::GracefulRestart(restart) => {
            let mut flags = 0u8;
            if restart.restart_state {
                flags |= RESTART_STATE_BIT;
            }
            if restart.notification {
                flags |= NOTIFICATION_BIT;
            }
            out.put_u16((u16::from(flags) << 8) | (restart.restart_time & 0x0fff));
            for family in &restart.families {
                out.put_u16(family.family.afi.0);
                out.put_u8(family.family.safi.0);
                out.put_u8(if family.forwarding_state {
                    FORWARDING_STATE_BIT
                } else {
                    0
                });
            }
        }
        Capability::LongLivedGracefulRestart { value } | Capability::Unknown { value, .. } => {
            out.put_slice(value);
        }
        Capability::AddPath { families } => {
            for family in families {
                out.put_u16(family.family.afi.0);
                out.put_u8(family.family.safi.0);
                out.put_u8(match family.mode {
                    AddPathMode::Receive => 1,
                    AddPathMode::Send => 2,
                    AddPathMode::Both => 3,
                });
            }
        }
        Capability::ExtendedNextHop { entries } => {
            for entry in entries {
                out.put_u16(entry.family.afi.0);
                out.put_u16(u16::from(entry.family.safi.0));
                out.put_u16(entry.next_hop_afi.0);
            }
        }
        Capability::Hostname { hostname, domain } => {
            for text in [hostname, domain] {
                let bytes = truncate_to_char_boundary(text, 255).as_bytes();
                out.put_u8(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
                out.put_slice(bytes);
            }
        }
    }
    let value_length = out.len().saturating_sub(start + 2);
    match (u8::try_from(value_length), out.get_mut(start + 1)) {
        (Ok(length), Some(slot)) => {
            *slot = length;
            Ok(())
        }
        _ => {
            out.truncate(start);
            Err(WireError::encode(
                "capability length",
                format!("value of {value_length} bytes"),
            ))
        }
    }
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a character.
pub(crate) fn truncate_to_char_boundary(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or("")
}

/// The capability code a value is sent with.
pub(crate) fn capability_code_of(capability: &Capability) -> u8 {
    match capability {
        Capability::Multiprotocol { .. } => cc::MULTIPROTOCOL,
        Capability::RouteRefresh => cc::ROUTE_REFRESH,
        Capability::EnhancedRouteRefresh => cc::ENHANCED_ROUTE_REFRESH,
        Capability::FourOctetAs { .. } => cc::FOUR_OCTET_AS,
        Capability::GracefulRestart(_) => cc::GRACEFUL_RESTART,
        Capability::LongLivedGracefulRestart { .. } => cc::LONG_LIVED_GRACEFUL_RESTART,
        Capability::AddPath { .. } => cc::ADD_PATH,
        Capability::ExtendedNextHop { .. } => cc::EXTENDED_NEXT_HOP,
        Capability::ExtendedMessage => cc::EXTENDED_MESSAGE,
        Capability::Hostname { .. } => cc::HOSTNAME,
        Capability::Unknown { code, .. } => *code,
    }
}
