//! NLRI prefixes (RFC 4271 §4.3) with optional ADD-PATH identifiers (RFC 7911 §3).

use ipnetwork::IpNetwork;
use serde::Serialize;

/// One reachable or withdrawn prefix as carried in an UPDATE.
///
/// The prefix is always normalized: host bits beyond the prefix length are
/// zero, whatever the peer sent in the trailing octet (RFC 4271 §4.3 says
/// those bits are irrelevant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Nlri {
    /// Path identifier, present only where ADD-PATH was negotiated for the family.
    pub path_id: Option<u32>,
    /// The prefix.
    pub prefix: IpNetwork,
}
