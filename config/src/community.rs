//! BGP community values as written in the configuration.
//!
//! Data flow: policy validation parses the strings `"64512:100"`, the
//! well-known names (`"no-export"`, ...) and large communities
//! `"64512:1:2"` into these values; the RIB compares them with the
//! attributes it decoded from the wire. Display gives the canonical
//! spelling, so a parsed value prints back the way an operator writes it.

use std::fmt;

/// A standard community (RFC 1997): 16-bit AS, 16-bit value, kept as one u32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

/// Well-known communities and their configuration names.
const WELL_KNOWN: &[(&str, u32)] = &[
    // RFC 8326 §5.
    ("graceful-shutdown", 0xFFFF_0000),
    // RFC 7999 §5.
    ("blackhole", 0xFFFF_029A),
    // RFC 1997.
    ("no-export", 0xFFFF_FF01),
    ("no-advertise", 0xFFFF_FF02),
    ("no-export-subconfed", 0xFFFF_FF03),
];

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);

    /// Parses `"ASN:VALUE"` (each 0..=65535) or a well-known name.
    pub fn parse(text: &str) -> Result<Community, String> {
        if let Some((_, value)) = WELL_KNOWN.iter().find(|(name, _)| *name == text) {
            return Ok(Community(*value));
        }
        let mut parts = text.split(':');
        let (Some(high), Some(low), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "`{text}` is not a community: write ASN:VALUE (e.g. 64512:100) or one of \
                 no-export, no-advertise, no-export-subconfed, blackhole, graceful-shutdown"
            ));
        };
        let high = parse_part::<u16>(high, text, "16-bit")?;
        let low = parse_part::<u16>(low, text, "16-bit")?;
        Ok(Community((u32::from(high) << 16) | u32::from(low)))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match WELL_KNOWN.iter().find(|(_, value)| *value == self.0) {
            Some((name, _)) => formatter.write_str(name),
            None => write!(formatter, "{}:{}", self.0 >> 16, self.0 & 0xFFFF),
        }
    }
}

/// A large community (RFC 8092 §3): global administrator and two local data parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// Global Administrator: the AS that defines the meaning.
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl LargeCommunity {
    /// Parses `"ASN:X:Y"`, each part 0..=4294967295.
    pub fn parse(text: &str) -> Result<LargeCommunity, String> {
        let mut parts = text.split(':');
        let (Some(global), Some(local1), Some(local2), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "`{text}` is not a large community: write ASN:X:Y (e.g. 64512:1:100)"
            ));
        };
        Ok(LargeCommunity {
            global: parse_part::<u32>(global, text, "32-bit")?,
            local1: parse_part::<u32>(local1, text, "32-bit")?,
            local2: parse_part::<u32>(local2, text, "32-bit")?,
        })
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

fn parse_part<T: std::str::FromStr>(part: &str, whole: &str, width: &str) -> Result<T, String> {
    // `FromStr` for integers accepts a leading '+'; a community never has one.
    if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("`{whole}`: `{part}` is not a number"));
    }
    part.parse::<T>()
        .map_err(|_| format!("`{whole}`: `{part}` does not fit in {width}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_communities_parse_and_print_back() {
        assert_eq!(Community::parse("64512:100"), Ok(Community(0xFC00_0064)));
        assert_eq!(Community(0xFC00_0064).to_string(), "64512:100");
        assert_eq!(Community::parse("0:0"), Ok(Community(0)));
        assert_eq!(Community::parse("65535:65535").map(|c| c.0), Ok(u32::MAX));
    }

    #[test]
    fn well_known_names_map_to_their_rfc_values() {
        assert_eq!(Community::parse("no-export"), Ok(Community::NO_EXPORT));
        assert_eq!(
            Community::parse("no-advertise"),
            Ok(Community::NO_ADVERTISE)
        );
        assert_eq!(
            Community::parse("no-export-subconfed"),
            Ok(Community::NO_EXPORT_SUBCONFED)
        );
        assert_eq!(
            Community::parse("blackhole"),
            Ok(Community(65535 << 16 | 666))
        );
        assert_eq!(
            Community::parse("graceful-shutdown"),
            Ok(Community(65535 << 16))
        );
        // The numeric spelling of a well-known value prints as its name.
        assert_eq!(
            Community::parse("65535:666").map(|c| c.to_string()),
            Ok("blackhole".into())
        );
    }

    #[test]
    fn malformed_communities_are_refused() {
        for text in [
            "",
            "1",
            "1:2:3",
            "65536:1",
            "1:-1",
            "+1:2",
            "a:b",
            "no_export",
            "1:",
        ] {
            assert!(Community::parse(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn large_communities_parse_and_print_back() {
        let parsed = LargeCommunity::parse("4200000000:1:4294967295").unwrap();
        assert_eq!(
            parsed,
            LargeCommunity {
                global: 4_200_000_000,
                local1: 1,
                local2: u32::MAX
            }
        );
        assert_eq!(parsed.to_string(), "4200000000:1:4294967295");
        for text in ["1:2", "1:2:3:4", "4294967296:1:1", "x:1:1", "1::1"] {
            assert!(LargeCommunity::parse(text).is_err(), "{text} accepted");
        }
    }
}
