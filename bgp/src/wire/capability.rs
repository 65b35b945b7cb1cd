//! BGP capabilities carried in OPEN (RFC 5492 §4).
//!
//! Each capability podroute understands is a typed variant; any other code is
//! kept as raw bytes so it can be shown and, where needed, compared.

use serde::Serialize;

use super::family::{Afi, Family};

/// One capability from an OPEN's Capabilities optional parameter (RFC 5492 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Capability {
    /// Code 1: multiprotocol extensions for one family (RFC 4760 §8).
    Multiprotocol {
        /// The family the speaker can carry.
        family: Family,
    },
    /// Code 2: route refresh (RFC 2918 §3).
    RouteRefresh,
    /// Code 70: enhanced route refresh (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Code 65: support for 4-octet AS numbers, with the speaker's AS (RFC 6793 §3).
    FourOctetAs {
        /// The speaker's real AS number.
        asn: u32,
    },
    /// Code 64: graceful restart (RFC 4724 §3, RFC 8538 §2 for the N bit).
    GracefulRestart(GracefulRestart),
    /// Code 71: long-lived graceful restart (RFC 9494 §2), kept raw per family.
    LongLivedGracefulRestart {
        /// The capability value as sent.
        value: Vec<u8>,
    },
    /// Code 69: ADD-PATH (RFC 7911 §4).
    AddPath {
        /// One entry per family.
        families: Vec<AddPathFamily>,
    },
    /// Code 5: extended next hop encoding (RFC 8950 §3).
    ExtendedNextHop {
        /// One entry per NLRI family / next-hop AFI pair.
        entries: Vec<ExtendedNextHopEntry>,
    },
    /// Code 6: extended messages up to 65535 bytes (RFC 8654 §3).
    ExtendedMessage,
    /// Code 73: hostname and domain name (draft-walton-bgp-hostname-capability).
    Hostname {
        /// The speaker's host name.
        hostname: String,
        /// The speaker's domain name, often empty.
        domain: String,
    },
    /// Any other capability, kept as sent.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// The graceful restart capability's value (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// N bit: the sender supports Notification messages in GR (RFC 8538 §2).
    pub notification: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// The families for which the sender preserves forwarding state.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family of a graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_state: bool,
}

/// Whether a speaker can send, receive or both, for ADD-PATH (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// Whether the mode includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the mode includes sending.
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One family of an ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AddPathFamily {
    /// The family.
    pub family: Family,
    /// Send, receive or both.
    pub mode: AddPathMode,
}

/// One tuple of the extended next hop capability (RFC 8950 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExtendedNextHopEntry {
    /// The NLRI family, e.g. IPv4 unicast.
    pub family: Family,
    /// The AFI of the next hop, e.g. IPv6.
    pub next_hop_afi: Afi,
}
