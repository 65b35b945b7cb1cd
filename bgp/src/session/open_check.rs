//! Checking the peer's OPEN (RFC 4271 §6.2 with RFC 5492, 6286, 6793, 7607).
//!
//! The FSM calls [`check_open`] when an OPEN arrives in OpenSent (or in
//! Connect/Active while DelayOpen runs). A clean OPEN yields nothing and the
//! FSM goes on to negotiation; a bad one yields the exact NOTIFICATION to
//! send before closing. The checks run in the order RFC 4271 §6.2 lists them,
//! so a peer that is wrong in several ways hears about the first.

use crate::wire::{AS_TRANS, Capability, Open};

use super::config::{RequiredCapability, SessionConfig};
use super::notification::{
    BAD_BGP_IDENTIFIER, BAD_PEER_AS, BGP_VERSION, OPEN_MESSAGE_ERROR, UNACCEPTABLE_HOLD_TIME,
    UNSUPPORTED_CAPABILITY, open_error, unsupported_version,
};
use crate::wire::Notification;

/// Capability codes (IANA "Capability Codes").
const CODE_MULTIPROTOCOL: u8 = 1;
const CODE_ROUTE_REFRESH: u8 = 2;
const CODE_EXTENDED_NEXT_HOP: u8 = 5;
const CODE_EXTENDED_MESSAGE: u8 = 6;
const CODE_GRACEFUL_RESTART: u8 = 64;
const CODE_FOUR_OCTET_AS: u8 = 65;
const CODE_ADD_PATH: u8 = 69;
const CODE_ENHANCED_ROUTE_REFRESH: u8 = 70;
/// The pre-standard route refresh code some old speakers still send.
pub(crate) const CODE_ROUTE_REFRESH_OLD: u8 = 128;

/// Validates `open` against `config`. `Err` holds the NOTIFICATION to send.
///
/// - version other than 4: 2/1 with data = 4 as a 2-octet number (§6.2);
/// - AS 0 (RFC 7607), AS_TRANS as the real AS, a 2-octet field that is
///   neither AS_TRANS nor the 4-octet AS (RFC 6793 §4.1), or an AS the
///   configuration does not expect: 2/2;
/// - hold time 1 or 2: 2/6;
/// - identifier 0, or equal to ours on an iBGP session (RFC 6286 §2.2): 2/3;
/// - a required capability missing: 2/7 with our own capability tuples as
///   data (RFC 5492 §5).
pub fn check_open(config: &SessionConfig, open: &Open) -> Result<(), Notification> {
    if open.version != BGP_VERSION {
        return Err(unsupported_version());
    }
    let peer_as = open.asn();
    let four_octet = open
        .capabilities
        .iter()
        .find_map(|capability| match capability {
            Capability::FourOctetAs { asn } => Some(*asn),
            _ => None,
        });
    let field_consistent = match four_octet {
        Some(asn) => open.my_as == AS_TRANS || u32::from(open.my_as) == asn,
        None => true,
    };
    if !field_consistent || peer_as == u32::from(AS_TRANS) || !config.peer_as.accepts(peer_as) {
        return Err(open_error(BAD_PEER_AS));
    }
    if matches!(open.hold_time, 1 | 2) {
        return Err(open_error(UNACCEPTABLE_HOLD_TIME));
    }
    let internal = peer_as == config.local_as;
    if open.bgp_identifier.is_unspecified()
        || (internal && open.bgp_identifier == config.local_router_id)
    {
        return Err(open_error(BAD_BGP_IDENTIFIER));
    }
    let mut data = Vec::new();
    for required in &config.required_capabilities {
        if !peer_announces(config, open, *required) {
            data.extend_from_slice(&capability_tuple(config, *required));
        }
    }
    if !data.is_empty() {
        return Err(Notification {
            code: OPEN_MESSAGE_ERROR,
            subcode: UNSUPPORTED_CAPABILITY,
            data,
        });
    }
    Ok(())
}

/// Whether the peer's OPEN satisfies one required capability.
fn peer_announces(config: &SessionConfig, open: &Open, required: RequiredCapability) -> bool {
    open.capabilities
        .iter()
        .any(|capability| match (required, capability) {
            (RequiredCapability::Family(wanted), Capability::Multiprotocol { family }) => {
                *family == wanted
            }
            (RequiredCapability::RouteRefresh, Capability::RouteRefresh) => true,
            (RequiredCapability::RouteRefresh, Capability::Unknown { code, .. }) => {
                *code == CODE_ROUTE_REFRESH_OLD
            }
            (RequiredCapability::EnhancedRouteRefresh, Capability::EnhancedRouteRefresh) => true,
            (RequiredCapability::FourOctetAs, Capability::FourOctetAs { .. }) => true,
            (RequiredCapability::GracefulRestart, Capability::GracefulRestart(_)) => true,
            (RequiredCapability::AddPath(wanted), Capability::AddPath { families }) => {
                let ours = config.capabilities.add_path.get(&wanted);
                families.iter().any(|entry| {
                    entry.family == wanted
                        && match ours {
                            None => true,
                            Some(mode) => {
                                (mode.receives() && entry.mode.sends())
                                    || (mode.sends() && entry.mode.receives())
                            }
                        }
                })
            }
            (
                RequiredCapability::ExtendedNextHop(wanted),
                Capability::ExtendedNextHop { entries },
            ) => entries.iter().any(|entry| entry.family == wanted),
            (RequiredCapability::ExtendedMessage, Capability::ExtendedMessage) => true,
            _ => false,
        })
}

fn tuple(code: u8, value: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(value.len().saturating_add(2));
    bytes.push(code);
    bytes.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
    bytes.extend_from_slice(value);
    bytes
}

/// Our capability tuple (code, length, value; RFC 5492 §4) for a required
/// capability: what a 2/7 NOTIFICATION carries as data (RFC 5492 §5).
pub fn capability_tuple(config: &SessionConfig, required: RequiredCapability) -> Vec<u8> {
    match required {
        RequiredCapability::Family(family) => {
            let [afi_high, afi_low] = family.afi.0.to_be_bytes();
            tuple(CODE_MULTIPROTOCOL, &[afi_high, afi_low, 0, family.safi.0])
        }
        RequiredCapability::RouteRefresh => tuple(CODE_ROUTE_REFRESH, &[]),
        RequiredCapability::EnhancedRouteRefresh => tuple(CODE_ENHANCED_ROUTE_REFRESH, &[]),
        RequiredCapability::FourOctetAs => {
            tuple(CODE_FOUR_OCTET_AS, &config.local_as.to_be_bytes())
        }
        RequiredCapability::GracefulRestart => {
            let mut value = Vec::new();
            if let Some(graceful_restart) = &config.capabilities.graceful_restart {
                let mut flags_and_time = graceful_restart.restart_time & 0x0fff;
                if graceful_restart.restart_state {
                    flags_and_time |= 0x8000;
                }
                if graceful_restart.notification {
                    flags_and_time |= 0x4000;
                }
                value.extend_from_slice(&flags_and_time.to_be_bytes());
                for entry in &graceful_restart.families {
                    value.extend_from_slice(&entry.family.afi.0.to_be_bytes());
                    value.push(entry.family.safi.0);
                    value.push(if entry.forwarding_state { 0x80 } else { 0 });
                }
            }
            tuple(CODE_GRACEFUL_RESTART, &value)
        }
        RequiredCapability::AddPath(family) => {
            let mode = match config.capabilities.add_path.get(&family) {
                Some(crate::wire::AddPathMode::Receive) => 1,
                Some(crate::wire::AddPathMode::Send) => 2,
                Some(crate::wire::AddPathMode::Both) | None => 3,
            };
            let [afi_high, afi_low] = family.afi.0.to_be_bytes();
            tuple(CODE_ADD_PATH, &[afi_high, afi_low, family.safi.0, mode])
        }
        RequiredCapability::ExtendedNextHop(family) => {
            let mut value = Vec::new();
            for entry in config
                .capabilities
                .extended_next_hop
                .iter()
                .filter(|e| e.family == family)
            {
                value.extend_from_slice(&entry.family.afi.0.to_be_bytes());
                value.extend_from_slice(&u16::from(entry.family.safi.0).to_be_bytes());
                value.extend_from_slice(&entry.next_hop_afi.0.to_be_bytes());
            }
            tuple(CODE_EXTENDED_NEXT_HOP, &value)
        }
        RequiredCapability::ExtendedMessage => tuple(CODE_EXTENDED_MESSAGE, &[]),
    }
}
