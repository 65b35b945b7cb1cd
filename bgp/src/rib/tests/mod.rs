//! Tests of the RIB: each file covers one concern; `simulation.rs` wires
//! several RIBs together through the wire codec.
//!
//! Helpers here build peers, attributes and UPDATEs, and decode what a RIB
//! sends, so each test reads as the scenario it checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod consistency;
mod decision;
mod export;
mod graceful;
mod inbound;
mod memory;
mod outbound;
mod policy;
mod properties;
mod reflection;
mod shared;
mod simulation;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use ipnetwork::IpNetwork;

use super::types::{Outbound, PeerId, PeerInfo, RibSettings};
use super::{Rib, RouteFilter};
use crate::wire::{
    AsPath, AsPathSegment, AsPathSegmentKind, CodecContext, Message, MpReach, NextHop, Nlri,
    Origin, PathAttributes, Update,
};

pub const LOCAL_ASN: u32 = 64512;

pub fn v4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

pub fn net(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

pub fn router_id() -> Ipv4Addr {
    v4("198.18.0.1")
}

pub fn settings() -> RibSettings {
    RibSettings::new(LOCAL_ASN, router_id())
}

/// Peer number `n`: address and router id 198.18.1.n; we are 198.18.0.1 / 2001:db8::1.
pub fn peer(n: u8, kind: Kind) -> PeerInfo {
    let address = Ipv4Addr::new(198, 18, 1, n);
    let (asn, internal, client) = match kind {
        Kind::Client => (LOCAL_ASN, true, true),
        Kind::NonClient => (LOCAL_ASN, true, false),
        Kind::External => (64600 + u32::from(n), false, false),
    };
    let mut info = PeerInfo::internal(IpAddr::V4(address), asn, address);
    info.internal = internal;
    info.route_reflector_client = client;
    info.local_ipv4 = Some(router_id());
    info.local_ipv6 = Some("2001:db8::1".parse().unwrap());
    info
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    NonClient,
    External,
}

pub fn sequence(asns: &[u32]) -> AsPath {
    AsPath {
        segments: if asns.is_empty() {
            Vec::new()
        } else {
            vec![AsPathSegment {
                kind: AsPathSegmentKind::Sequence,
                asns: asns.to_vec(),
            }]
        },
    }
}

/// ORIGIN IGP with the given AS_PATH.
pub fn attributes(asns: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(sequence(asns)),
        ..PathAttributes::default()
    }
}

/// An IPv4 UPDATE announcing `prefixes` via `next_hop`.
pub fn announce(prefixes: &[&str], mut path: PathAttributes, next_hop: &str) -> Update {
    path.next_hop = Some(v4(next_hop));
    Update {
        attributes: path,
        nlri: prefixes.iter().map(|text| Nlri::new(net(text))).collect(),
        ..Update::default()
    }
}

/// An IPv6 UPDATE announcing `prefixes` via `next_hop`.
pub fn announce_v6(prefixes: &[&str], path: PathAttributes, next_hop: &str) -> Update {
    Update {
        attributes: path,
        mp_reach: Some(MpReach {
            family: crate::wire::Family::IPV6_UNICAST,
            next_hop: NextHop::Ipv6 {
                global: next_hop.parse::<Ipv6Addr>().unwrap(),
                link_local: None,
            },
            nlri: prefixes.iter().map(|text| Nlri::new(net(text))).collect(),
        }),
        ..Update::default()
    }
}

/// An IPv4 UPDATE withdrawing `prefixes`.
pub fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes.iter().map(|text| Nlri::new(net(text))).collect(),
        ..Update::default()
    }
}

/// Decodes every message of every Outbound that `peer` receives.
pub fn received_by(outbound: &[Outbound], peer: PeerId, context: &CodecContext) -> Vec<Message> {
    outbound
        .iter()
        .filter(|batch| batch.peers.contains(&peer))
        .flat_map(|batch| batch.messages.iter())
        .map(|bytes| Message::decode(bytes, context).unwrap())
        .collect()
}

/// The UPDATEs `peer` receives.
pub fn updates_for(outbound: &[Outbound], peer: PeerId, context: &CodecContext) -> Vec<Update> {
    received_by(outbound, peer, context)
        .into_iter()
        .filter_map(|message| match message {
            Message::Update(update) => Some(update),
            _ => None,
        })
        .collect()
}

/// Prefixes announced to `peer` in `outbound`, sorted, End-of-RIB ignored.
pub fn announced_to(outbound: &[Outbound], peer: PeerId) -> Vec<IpNetwork> {
    let mut prefixes: Vec<IpNetwork> = updates_for(outbound, peer, &CodecContext::new())
        .iter()
        .flat_map(|update| {
            update
                .announced()
                .map(|(_, nlri)| nlri.prefix)
                .collect::<Vec<_>>()
        })
        .collect();
    prefixes.sort();
    prefixes
}

/// The prefixes in `peer`'s Adj-RIB-Out.
pub fn advertised(rib: &Rib, peer: PeerId) -> Vec<IpNetwork> {
    rib.adj_rib_out(peer)
        .iter()
        .map(|route| route.prefix)
        .collect()
}

/// The best path's source address (None: local) and next hop of `prefix`.
pub fn best_of(rib: &Rib, prefix: &str) -> Option<(Option<IpAddr>, Option<NextHop>)> {
    let views = rib.routes(RouteFilter {
        prefix: Some(net(prefix)),
        ..RouteFilter::default()
    });
    views
        .first()?
        .paths
        .iter()
        .find(|path| path.best)
        .map(|path| (path.peer_address, path.next_hop))
}

pub fn now() -> Instant {
    Instant::now()
}
