//! The ROUTE-REFRESH message (RFC 2918 §3) with the subtypes of RFC 7313 §3.2.

use bytes::{BufMut, BytesMut};
use serde::Serialize;

use super::cursor::Reader;
use super::error::WireError;
use super::family::{Afi, Family, Safi};
use super::notification::{code, subcode};

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Plain request, or the beginning or end of a re-advertisement.
    pub subtype: RouteRefreshSubtype,
}

/// The message subtype carried in the octet that RFC 2918 reserved (RFC 7313 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteRefreshSubtype {
    /// 0: a request to re-advertise the Adj-RIB-Out.
    Request,
    /// 1: Beginning of Route Refresh (BoRR).
    BeginningOfRefresh,
    /// 2: End of Route Refresh (EoRR).
    EndOfRefresh,
    /// Any other value; RFC 7313 §5 says to ignore the message.
    Unknown(u8),
}

impl RouteRefreshSubtype {
    /// The subtype for the octet RFC 7313 §3.2 gives it.
    pub fn from_octet(octet: u8) -> Self {
        match octet {
            0 => RouteRefreshSubtype::Request,
            1 => RouteRefreshSubtype::BeginningOfRefresh,
            2 => RouteRefreshSubtype::EndOfRefresh,
            other => RouteRefreshSubtype::Unknown(other),
        }
    }

    /// The octet on the wire.
    pub fn octet(self) -> u8 {
        match self {
            RouteRefreshSubtype::Request => 0,
            RouteRefreshSubtype::BeginningOfRefresh => 1,
            RouteRefreshSubtype::EndOfRefresh => 2,
            RouteRefreshSubtype::Unknown(other) => other,
        }
    }
}

/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |              AFI              |    Subtype    |     SAFI      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
impl RouteRefresh {
    /// Decodes the 4-byte body (RFC 2918 §3, RFC 7313 §3.2); `base` is its
    /// offset in the message. Framing has already checked the length.
    pub fn decode_body(body: &[u8], base: usize) -> Result<RouteRefresh, WireError> {
        let mut reader = Reader::new(
            body,
            base,
            code::MESSAGE_HEADER_ERROR,
            subcode::header::BAD_MESSAGE_LENGTH,
        );
        let afi = reader.u16("ROUTE-REFRESH AFI")?;
        let subtype = RouteRefreshSubtype::from_octet(reader.u8("ROUTE-REFRESH subtype")?);
        let safi = reader.u8("ROUTE-REFRESH SAFI")?;
        if !reader.is_empty() {
            return Err(reader.short("ROUTE-REFRESH length", 0));
        }
        Ok(RouteRefresh {
            family: Family {
                afi: Afi(afi),
                safi: Safi(safi),
            },
            subtype,
        })
    }

    /// Appends the 4-byte body.
    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.subtype.octet());
        out.put_u8(self.family.safi.0);
    }
}
