//! What one peering is configured to be: the input a [`super::Session`] is
//! built from.
//!
//! The daemon turns its TOML neighbor (or listen range) into a
//! [`SessionConfig`]; the session reads it to build its OPEN
//! ([`SessionConfig::open_message`]), to check the peer's OPEN, and to time
//! its connection attempts. Nothing here changes while a session runs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::wire::{
    AS_TRANS, AddPathFamily, AddPathMode, Capability, ExtendedNextHopEntry, Family,
    GracefulRestart, Open,
};

use super::backoff::Backoff;
use super::notification::BGP_VERSION;

/// Default hold time in seconds (RFC 4271 §10 suggests 90).
pub const DEFAULT_HOLD_TIME: u16 = 90;

/// Which AS numbers the peer may claim in its OPEN (RFC 4271 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedPeerAs {
    /// Exactly this AS: a configured neighbor.
    Exact(u32),
    /// Any of these: a listen range naming several ASes.
    OneOf(BTreeSet<u32>),
    /// Any AS except 0 (RFC 7607): a listen range accepting all.
    Any,
}

impl ExpectedPeerAs {
    /// Whether `asn` is acceptable. AS 0 never is (RFC 7607 §2).
    pub fn accepts(&self, asn: u32) -> bool {
        asn != 0
            && match self {
                ExpectedPeerAs::Exact(expected) => *expected == asn,
                ExpectedPeerAs::OneOf(set) => set.contains(&asn),
                ExpectedPeerAs::Any => true,
            }
    }
}

/// The capabilities we announce in our OPEN (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Multiprotocol families (RFC 4760 §8). Empty means "send no
    /// multiprotocol capability", which implies IPv4 unicast only.
    pub families: BTreeSet<Family>,
    /// Route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Graceful restart (RFC 4724), with the N bit of RFC 8538.
    pub graceful_restart: Option<GracefulRestart>,
    /// ADD-PATH mode per family (RFC 7911).
    pub add_path: BTreeMap<Family, AddPathMode>,
    /// Extended next hop entries (RFC 8950).
    pub extended_next_hop: Vec<ExtendedNextHopEntry>,
    /// Extended messages (RFC 8654).
    pub extended_message: bool,
    /// Host and domain name (draft-walton-bgp-hostname-capability).
    pub hostname: Option<(String, String)>,
}

impl Default for LocalCapabilities {
    /// IPv4 and IPv6 unicast, route refresh, enhanced route refresh, 4-octet AS
    /// and extended messages; no graceful restart, ADD-PATH, extended next hop
    /// or hostname.
    fn default() -> Self {
        LocalCapabilities {
            families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .collect(),
            route_refresh: true,
            enhanced_route_refresh: true,
            four_octet_as: true,
            graceful_restart: None,
            add_path: BTreeMap::new(),
            extended_next_hop: Vec::new(),
            extended_message: true,
            hostname: None,
        }
    }
}

/// A capability the peer must announce or the session is refused with
/// NOTIFICATION 2/7 (RFC 5492 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequiredCapability {
    /// Multiprotocol for this family.
    Family(Family),
    /// Route refresh.
    RouteRefresh,
    /// Enhanced route refresh.
    EnhancedRouteRefresh,
    /// 4-octet AS.
    FourOctetAs,
    /// Graceful restart.
    GracefulRestart,
    /// ADD-PATH for this family, in a mode complementing ours.
    AddPath(Family),
    /// Extended next hop for this NLRI family.
    ExtendedNextHop(Family),
    /// Extended messages.
    ExtendedMessage,
}

/// The configuration errors [`SessionConfig::validate`] finds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionConfigError {
    /// Hold time 1 or 2 (RFC 4271 §4.2 allows 0 or at least 3).
    #[error("hold time {0} s is not allowed: use 0 or at least 3 (RFC 4271 section 4.2)")]
    HoldTime(u16),
    /// Keepalive 0 or longer than a third of the hold time.
    #[error("keepalive {keepalive} s must be between 1 and a third of the hold time {hold_time} s")]
    Keepalive {
        /// The configured keepalive.
        keepalive: u16,
        /// The configured hold time.
        hold_time: u16,
    },
    /// Local AS 0 (RFC 7607) or a 4-octet AS without the 4-octet capability.
    #[error("local AS {0} cannot be used (AS 0 is reserved; an AS above 65535 needs 4-octet AS)")]
    LocalAs(u32),
    /// Router id 0.0.0.0 (RFC 6286 §2.1 wants a non-zero identifier).
    #[error("router id 0.0.0.0 is not allowed (RFC 6286 section 2.1)")]
    RouterId,
    /// The connect retry cap is below its initial value.
    #[error("connect retry cap {cap:?} is below the initial interval {initial:?}")]
    ConnectRetry {
        /// Initial interval.
        initial: Duration,
        /// Cap.
        cap: Duration,
    },
}

/// Everything a session needs to know about one peering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub local_router_id: Ipv4Addr,
    /// The peer's address (for status and logs; the driver connects).
    pub peer_address: IpAddr,
    /// Which AS the peer may claim. iBGP or eBGP follows from the AS it does claim.
    pub peer_as: ExpectedPeerAs,
    /// Proposed hold time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// Keepalive interval in seconds; `None` means a third of the negotiated
    /// hold time. Never more than a third of the negotiated hold time.
    pub keepalive: Option<u16>,
    /// First connect retry interval (RFC 4271 §10 suggests 120 s; we start
    /// lower and back off).
    pub connect_retry: Duration,
    /// Longest connect retry / idle hold interval after repeated failures.
    pub connect_retry_cap: Duration,
    /// Seed of the ±25 % jitter on retry intervals, so that tests are exact
    /// and peers restarted together do not retry in lockstep.
    pub jitter_seed: u64,
    /// How long a session must stay Established for the backoff to reset.
    pub stable_after: Duration,
    /// Only listen; never connect (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// Wait this long for the peer's OPEN before sending ours
    /// (RFC 4271 §8.1.1 DelayOpen).
    pub delay_open: Option<Duration>,
    /// After a failure, start again on our own once the backoff interval has
    /// passed (RFC 4271 §8.1.1 AllowAutomaticStart, DampPeerOscillations).
    pub automatic_restart: bool,
    /// The capabilities we announce.
    pub capabilities: LocalCapabilities,
    /// The capabilities the peer must announce.
    pub required_capabilities: BTreeSet<RequiredCapability>,
}

impl SessionConfig {
    /// A configuration with the defaults: hold 90 s, keepalive a third of the
    /// hold time, connect retry from 5 s doubling up to 120 s, active,
    /// automatic restart, default capabilities, nothing required.
    pub fn new(
        local_as: u32,
        local_router_id: Ipv4Addr,
        peer_address: IpAddr,
        peer_as: ExpectedPeerAs,
    ) -> Self {
        SessionConfig {
            local_as,
            local_router_id,
            peer_address,
            peer_as,
            hold_time: DEFAULT_HOLD_TIME,
            keepalive: None,
            connect_retry: Duration::from_secs(5),
            connect_retry_cap: Duration::from_secs(120),
            jitter_seed: 0,
            stable_after: Duration::from_secs(u64::from(DEFAULT_HOLD_TIME)),
            passive: false,
            delay_open: None,
            automatic_restart: true,
            capabilities: LocalCapabilities::default(),
            required_capabilities: BTreeSet::new(),
        }
    }

    /// Checks the rules RFC 4271 §4.2, RFC 6286 and RFC 7607 put on our own values.
    pub fn validate(&self) -> Result<(), SessionConfigError> {
        if matches!(self.hold_time, 1 | 2) {
            return Err(SessionConfigError::HoldTime(self.hold_time));
        }
        if let Some(keepalive) = self.keepalive {
            if keepalive == 0 || (self.hold_time != 0 && keepalive > self.hold_time / 3) {
                return Err(SessionConfigError::Keepalive {
                    keepalive,
                    hold_time: self.hold_time,
                });
            }
        }
        if self.local_as == 0 || (self.local_as > 65535 && !self.capabilities.four_octet_as) {
            return Err(SessionConfigError::LocalAs(self.local_as));
        }
        if self.local_router_id.is_unspecified() {
            return Err(SessionConfigError::RouterId);
        }
        if self.connect_retry_cap < self.connect_retry {
            return Err(SessionConfigError::ConnectRetry {
                initial: self.connect_retry,
                cap: self.connect_retry_cap,
            });
        }
        Ok(())
    }

    /// The retry schedule this configuration describes.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.connect_retry, self.connect_retry_cap, self.jitter_seed)
    }

    /// The capabilities of our OPEN, in a fixed order (RFC 5492 §4).
    pub fn local_capabilities(&self) -> Vec<Capability> {
        let capabilities = &self.capabilities;
        let mut list = Vec::new();
        for family in &capabilities.families {
            list.push(Capability::Multiprotocol { family: *family });
        }
        if capabilities.route_refresh {
            list.push(Capability::RouteRefresh);
        }
        if capabilities.enhanced_route_refresh {
            list.push(Capability::EnhancedRouteRefresh);
        }
        if capabilities.four_octet_as {
            list.push(Capability::FourOctetAs { asn: self.local_as });
        }
        if let Some(graceful_restart) = &capabilities.graceful_restart {
            list.push(Capability::GracefulRestart(graceful_restart.clone()));
        }
        if !capabilities.add_path.is_empty() {
            let families = capabilities
                .add_path
                .iter()
                .map(|(family, mode)| AddPathFamily {
                    family: *family,
                    mode: *mode,
                })
                .collect();
            list.push(Capability::AddPath { families });
        }
        if !capabilities.extended_next_hop.is_empty() {
            list.push(Capability::ExtendedNextHop {
                entries: capabilities.extended_next_hop.clone(),
            });
        }
        if capabilities.extended_message {
            list.push(Capability::ExtendedMessage);
        }
        if let Some((hostname, domain)) = &capabilities.hostname {
            list.push(Capability::Hostname {
                hostname: hostname.clone(),
                domain: domain.clone(),
            });
        }
        list
    }

    /// Our OPEN (RFC 4271 §4.2): an AS above 65535 goes in the 4-octet AS
    /// capability with AS_TRANS in the 2-octet field (RFC 6793 §4.1).
    pub fn open_message(&self) -> Open {
        let my_as = u16::try_from(self.local_as).unwrap_or(AS_TRANS);
        Open {
            version: BGP_VERSION,
            my_as,
            hold_time: self.hold_time,
            bgp_identifier: self.local_router_id,
            capabilities: self.local_capabilities(),
        }
    }
}
