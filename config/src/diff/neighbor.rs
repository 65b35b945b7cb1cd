//! Field-by-field comparison of neighbors and listen ranges.
//!
//! Data flow: `diff::ConfigDiff::compute` pairs old and new peers by key
//! (address or prefix); the functions here list the fields that differ and
//! the [`Reaction`] each needs. The table in [`NeighborField::reaction`] is
//! the single place that decides reset versus refresh.

use super::reaction::Reaction;
use crate::model::{ListenRange, Neighbor};
use std::fmt;

/// A `[[neighbor]]` key whose value changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NeighborField {
    /// `asn`
    Asn,
    /// `description`
    Description,
    /// `route_reflector_client`
    RouteReflectorClient,
    /// `passive`
    Passive,
    /// `next_hop`
    NextHop,
    /// `hold_time`
    HoldTime,
    /// `keepalive`
    Keepalive,
    /// `connect_retry`
    ConnectRetry,
    /// `delay_open`
    DelayOpen,
    /// `password`
    Password,
    /// `ttl_security`
    TtlSecurity,
    /// `multihop`
    Multihop,
    /// `source_address`
    SourceAddress,
    /// `next_hop_ipv4`
    NextHopIpv4,
    /// `next_hop_ipv6`
    NextHopIpv6,
    /// `port`
    Port,
    /// `families`
    Families,
    /// `import`
    Import,
    /// `export`
    Export,
    /// `add_path`
    AddPath,
    /// `max_prefixes`
    MaxPrefixes,
    /// `allowas_in`
    AllowasIn,
    /// `soft_reconfiguration_inbound`
    SoftReconfigurationInbound,
    /// `graceful_restart`
    GracefulRestart,
    /// `shutdown`
    Shutdown,
}

impl NeighborField {
    /// The configuration key.
    pub fn as_str(self) -> &'static str {
        match self {
            NeighborField::Asn => "asn",
            NeighborField::Description => "description",
            NeighborField::RouteReflectorClient => "route_reflector_client",
            NeighborField::Passive => "passive",
            NeighborField::NextHop => "next_hop",
            NeighborField::HoldTime => "hold_time",
            NeighborField::Keepalive => "keepalive",
            NeighborField::ConnectRetry => "connect_retry",
            NeighborField::DelayOpen => "delay_open",
            NeighborField::Password => "password",
            NeighborField::TtlSecurity => "ttl_security",
            NeighborField::Multihop => "multihop",
            NeighborField::SourceAddress => "source_address",
            NeighborField::NextHopIpv4 => "next_hop_ipv4",
            NeighborField::NextHopIpv6 => "next_hop_ipv6",
            NeighborField::Port => "port",
            NeighborField::Families => "families",
            NeighborField::Import => "import",
            NeighborField::Export => "export",
            NeighborField::AddPath => "add_path",
            NeighborField::MaxPrefixes => "max_prefixes",
            NeighborField::AllowasIn => "allowas_in",
            NeighborField::SoftReconfigurationInbound => "soft_reconfiguration_inbound",
            NeighborField::GracefulRestart => "graceful_restart",
            NeighborField::Shutdown => "shutdown",
        }
    }

    /// What changing this field requires of an established session.
    ///
    /// Reset: the value is carried in OPEN (AS, hold time, families and
    /// ADD-PATH capabilities, RFC 4271 §4.2, RFC 4760, RFC 7911), shapes the
    /// TCP connection (password, TTL, source, port), changes how the peer's
    /// routes are reflected (RFC 4456), or is the administrative state.
    /// Soft in / out: only policy-like processing of routes changes.
    /// None: the value is read when it is next needed (timers, limits,
    /// text, graceful restart which applies at the next OPEN).
    pub fn reaction(self) -> Reaction {
        match self {
            NeighborField::Asn
            | NeighborField::RouteReflectorClient
            | NeighborField::HoldTime
            | NeighborField::Keepalive
            | NeighborField::Password
            | NeighborField::TtlSecurity
            | NeighborField::Multihop
            | NeighborField::SourceAddress
            | NeighborField::Port
            | NeighborField::Families
            | NeighborField::AddPath
            | NeighborField::Shutdown => Reaction::RESET,
            NeighborField::Import
            | NeighborField::AllowasIn
            | NeighborField::SoftReconfigurationInbound => Reaction::SOFT_IN,
            NeighborField::Export
            | NeighborField::NextHop
            | NeighborField::NextHopIpv4
            | NeighborField::NextHopIpv6 => Reaction::SOFT_OUT,
            NeighborField::Description
            | NeighborField::Passive
            | NeighborField::ConnectRetry
            | NeighborField::DelayOpen
            | NeighborField::MaxPrefixes
            | NeighborField::GracefulRestart => Reaction::NONE,
        }
    }
}

impl fmt::Display for NeighborField {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The fields that differ between two versions of one neighbor, in declaration order.
pub(crate) fn neighbor_fields(old: &Neighbor, new: &Neighbor) -> Vec<NeighborField> {
    let candidates = [
        (NeighborField::Asn, old.asn != new.asn),
        (
            NeighborField::Description,
            old.description != new.description,
        ),
        (
            NeighborField::RouteReflectorClient,
            old.route_reflector_client != new.route_reflector_client,
        ),
        (NeighborField::Passive, old.passive != new.passive),
        (NeighborField::NextHop, old.next_hop != new.next_hop),
        (NeighborField::HoldTime, old.hold_time != new.hold_time),
        (NeighborField::Keepalive, old.keepalive != new.keepalive),
        (
            NeighborField::ConnectRetry,
            old.connect_retry != new.connect_retry,
        ),
        (NeighborField::DelayOpen, old.delay_open != new.delay_open),
        (NeighborField::Password, old.password != new.password),
        (
            NeighborField::TtlSecurity,
            old.ttl_security != new.ttl_security,
        ),
        (NeighborField::Multihop, old.multihop != new.multihop),
        (
            NeighborField::SourceAddress,
            old.source_address != new.source_address,
        ),
        (
            NeighborField::NextHopIpv4,
            old.next_hop_ipv4 != new.next_hop_ipv4,
        ),
        (
            NeighborField::NextHopIpv6,
            old.next_hop_ipv6 != new.next_hop_ipv6,
        ),
        (NeighborField::Port, old.port != new.port),
        (NeighborField::Families, old.families != new.families),
        (NeighborField::Import, old.import != new.import),
        (NeighborField::Export, old.export != new.export),
        (NeighborField::AddPath, old.add_path != new.add_path),
        (
            NeighborField::MaxPrefixes,
            old.max_prefixes != new.max_prefixes,
        ),
        (NeighborField::AllowasIn, old.allowas_in != new.allowas_in),
        (
            NeighborField::SoftReconfigurationInbound,
            old.soft_reconfiguration_inbound != new.soft_reconfiguration_inbound,
        ),
        (
            NeighborField::GracefulRestart,
            old.graceful_restart != new.graceful_restart,
        ),
        (NeighborField::Shutdown, old.shutdown != new.shutdown),
    ];
    candidates
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(field, _)| field)
        .collect()
}

/// The keys that differ between two versions of one listen range, and what
/// sessions accepted from it need: a new AS set, RR role or password resets
/// them, policies refresh them, `max_neighbors` applies to new connections.
pub(crate) fn listen_range_fields(
    old: &ListenRange,
    new: &ListenRange,
) -> (Vec<&'static str>, Reaction) {
    let candidates = [
        ("asns", old.asns != new.asns, Reaction::RESET),
        (
            "route_reflector_client",
            old.route_reflector_client != new.route_reflector_client,
            Reaction::RESET,
        ),
        ("password", old.password != new.password, Reaction::RESET),
        ("import", old.import != new.import, Reaction::SOFT_IN),
        ("export", old.export != new.export, Reaction::SOFT_OUT),
        (
            "max_neighbors",
            old.max_neighbors != new.max_neighbors,
            Reaction::NONE,
        ),
    ];
    let mut reaction = Reaction::NONE;
    let mut fields = Vec::new();
    for (name, changed, needs) in candidates {
        if changed {
            fields.push(name);
            reaction = reaction.merge(needs);
        }
    }
    (fields, reaction)
}
