//! Address families (RFC 4760 §3): AFI and SAFI as seen on the wire.
//!
//! AFI and SAFI values are kept raw so that a peer advertising a family
//! podroute does not route (EVPN, flowspec, ...) is still represented
//! faithfully in capabilities and in `podroute decode`.

use serde::Serialize;

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Afi(pub u16);

/// Subsequent Address Family Identifier (RFC 4760 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Safi(pub u8);

impl Afi {
    /// IPv4 (AFI 1).
    pub const IPV4: Afi = Afi(1);
    /// IPv6 (AFI 2).
    pub const IPV6: Afi = Afi(2);
}

impl Safi {
    /// Unicast forwarding (SAFI 1).
    pub const UNICAST: Safi = Safi(1);
}

/// An AFI/SAFI pair, the unit of MP-BGP negotiation (RFC 4760).
///
/// Serialized as its name (`"ipv4-unicast"`, or `"afi25-safi70"` for a
/// family podroute does not route), as operators read it in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Family = Family {
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
    };
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Family = Family {
        afi: Afi::IPV6,
        safi: Safi::UNICAST,
    };
}

impl std::fmt::Display for Family {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Family::IPV4_UNICAST => formatter.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => formatter.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(formatter, "afi{}-safi{}", afi.0, safi.0),
        }
    }
}

impl Serialize for Family {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
