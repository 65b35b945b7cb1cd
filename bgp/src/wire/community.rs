//! How communities read: the text forms used in JSON, logs and `podroute decode`.
//!
//! Communities travel as plain integers (RFC 1997 §3), eight-octet extended
//! communities (RFC 4360 §2) and twelve-octet large communities (RFC 8092 §3);
//! people read them as `64512:100`, `rt:64512:100` and `64512:1:2`. This
//! module gives those forms through `Display` and `Serialize`.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Serialize, Serializer};

use super::attribute::{ExtendedCommunity, LargeCommunity};

/// Extended community types this module names (RFC 4360 §3, RFC 5668 §2).
const TWO_OCTET_AS: u8 = 0x00;
const IPV4_ADDRESS: u8 = 0x01;
const FOUR_OCTET_AS: u8 = 0x02;
/// Route Target and Route Origin subtypes (RFC 4360 §4, §5).
const ROUTE_TARGET: u8 = 0x02;
const ROUTE_ORIGIN: u8 = 0x03;

impl ExtendedCommunity {
    /// A transitive two-octet-AS Route Target (RFC 4360 §4): `rt:ASN:VALUE`.
    pub fn route_target(asn: u16, value: u32) -> Self {
        let [a, b] = asn.to_be_bytes();
        let [c, d, e, f] = value.to_be_bytes();
        ExtendedCommunity([TWO_OCTET_AS, ROUTE_TARGET, a, b, c, d, e, f])
    }

    /// The type octet (high-order, RFC 4360 §2).
    pub fn type_octet(&self) -> u8 {
        self.0[0]
    }

    /// The subtype octet of the extended types (RFC 4360 §2).
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }
}

impl fmt::Display for ExtendedCommunity {
    /// `rt:` / `soo:` forms for Route Target and Route Origin of the
    /// two-octet-AS, IPv4 and four-octet-AS types (transitive or not);
    /// `0xTT:0xSS:VALUE` (value in hex) for every other community.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [kind, subtype, a, b, c, d, e, f] = self.0;
        let label = match subtype {
            ROUTE_TARGET => "rt",
            ROUTE_ORIGIN => "soo",
            _ => "",
        };
        // The 0x40 bit only marks the community non-transitive (RFC 4360 §2).
        match (kind & !0x40, label.is_empty()) {
            (TWO_OCTET_AS, false) => write!(
                formatter,
                "{label}:{}:{}",
                u16::from_be_bytes([a, b]),
                u32::from_be_bytes([c, d, e, f])
            ),
            (IPV4_ADDRESS, false) => write!(
                formatter,
                "{label}:{}:{}",
                Ipv4Addr::new(a, b, c, d),
                u16::from_be_bytes([e, f])
            ),
            (FOUR_OCTET_AS, false) => write!(
                formatter,
                "{label}:{}:{}",
                u32::from_be_bytes([a, b, c, d]),
                u16::from_be_bytes([e, f])
            ),
            _ => write!(
                formatter,
                "0x{kind:02x}:0x{subtype:02x}:{}",
                super::hex_string(&[a, b, c, d, e, f])
            ),
        }
    }
}

impl Serialize for ExtendedCommunity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for LargeCommunity {
    /// `GLOBAL:LOCAL1:LOCAL2` (RFC 8092 §3).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}",
            self.global_admin, self.local_data_1, self.local_data_2
        )
    }
}

impl Serialize for LargeCommunity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A community as `ASN:VALUE` (RFC 1997 §3), e.g. `64512:100`.
pub fn community_text(community: u32) -> String {
    format!("{}:{}", community >> 16, community & 0xffff)
}

/// Serializes a list of communities in their `ASN:VALUE` form.
pub(crate) fn serialize_communities<S: Serializer>(
    communities: &[u32],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(
        communities
            .iter()
            .map(|community| community_text(*community)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_targets_read_as_people_write_them() {
        assert_eq!(
            ExtendedCommunity::route_target(64512, 100).to_string(),
            "rt:64512:100"
        );
        let ipv4 = ExtendedCommunity([0x01, 0x03, 198, 18, 0, 1, 0, 7]);
        assert_eq!(ipv4.to_string(), "soo:198.18.0.1:7");
        let four_octet = ExtendedCommunity([0x02, 0x02, 0xfa, 0x56, 0xea, 0x00, 0, 9]);
        assert_eq!(four_octet.to_string(), "rt:4200000000:9");
        let other = ExtendedCommunity([0x03, 0x0c, 0, 0, 0, 0, 0, 8]);
        assert_eq!(other.to_string(), "0x03:0x0c:000000000008");
    }

    #[test]
    fn communities_and_large_communities_read_with_colons() {
        assert_eq!(community_text(0xfc00_0064), "64512:100");
        let large = LargeCommunity {
            global_admin: 64512,
            local_data_1: 1,
            local_data_2: 2,
        };
        assert_eq!(serde_json::to_string(&large).unwrap(), "\"64512:1:2\"");
    }
}
