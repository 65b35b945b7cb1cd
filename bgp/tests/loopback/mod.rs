//! Helpers shared by the tests that run speakers over loopback sockets:
//! each speaker gets its own 127.0.0.x address (its neighbors tell it apart
//! by address, as on a real network) and the router id 198.18.0.x.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test, and not every test file uses every helper"
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::rib::RibSettings;
use bgp::session::{ExpectedPeerAs, SessionConfig};
use bgp::speaker::transport::TransportSettings;
use bgp::speaker::{
    self, NeighborRouting, NeighborSettings, NeighborStatus, SpeakerConfig, SpeakerHandle,
};
use ipnetwork::IpNetwork;

/// Every test speaker's AS: the sessions are iBGP.
pub const ASN: u32 = 64512;

/// 127.0.0.`last`.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// 198.18.0.`last`.
pub fn router_id(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

/// An iBGP neighbor at 127.0.0.`remote` on `port`, connected from
/// 127.0.0.`local`, retrying quickly so tests do not wait on backoff.
pub fn neighbor(local: u8, remote: u8, port: u16, passive: bool) -> NeighborSettings {
    let mut session = SessionConfig::new(
        ASN,
        router_id(local),
        loopback(remote),
        ExpectedPeerAs::Exact(ASN),
    );
    session.passive = passive;
    session.connect_retry = Duration::from_millis(300);
    session.connect_retry_cap = Duration::from_secs(1);
    session.hold_time = 9;
    NeighborSettings {
        session,
        port,
        transport: TransportSettings {
            source_address: Some(loopback(local)),
            ..Default::default()
        },
        route_reflector_client: false,
        routing: NeighborRouting::open(),
        description: None,
        shutdown: false,
    }
}

/// [`neighbor`], and a route reflector's client (RFC 4456) when `client`.
pub fn reflection_neighbor(
    local: u8,
    remote: u8,
    port: u16,
    passive: bool,
    client: bool,
) -> NeighborSettings {
    let mut settings = neighbor(local, remote, port, passive);
    settings.route_reflector_client = client;
    settings
}

/// The pod block 198.19.`client`.0/24 that the test speaker at
/// 127.0.0.`client` originates.
pub fn block(client: u8) -> IpNetwork {
    IpNetwork::V4(ipnetwork::Ipv4Network::new(Ipv4Addr::new(198, 19, client, 0), 24).unwrap())
}

/// A speaker at 127.0.0.`local` listening on `port` (0: any), with these
/// neighbors and the defaults of everything else; tests change fields.
pub fn config(local: u8, port: u16, neighbors: Vec<NeighborSettings>) -> SpeakerConfig {
    SpeakerConfig {
        local_as: ASN,
        router_id: router_id(local),
        listen: vec![SocketAddr::new(loopback(local), port)],
        neighbors,
        listen_ranges: vec![],
        connection: Default::default(),
        rib: RibSettings::new(ASN, router_id(local)),
        originate: vec![],
        restarting: None,
        stale_time: Duration::from_secs(360),
        host_addresses: vec![],
    }
}

/// Starts a speaker.
pub fn spawn(config: SpeakerConfig) -> SpeakerHandle {
    speaker::spawn(config, Default::default()).unwrap().0
}

/// The status of the neighbor at 127.0.0.`address`, if the speaker has one.
pub async fn status(handle: &SpeakerHandle, address: u8) -> Option<NeighborStatus> {
    handle
        .neighbors()
        .await
        .unwrap()
        .into_iter()
        .find(|status| status.address == loopback(address))
}

/// Polls until `condition` holds; the ten-second bound only turns a hang
/// into a failure naming `what`.
pub async fn wait<F: AsyncFn() -> bool>(what: &str, condition: F) {
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

/// Polls until the neighbor at 127.0.0.`address` satisfies `condition`,
/// failing with its last status.
pub async fn wait_for(
    handle: &SpeakerHandle,
    address: u8,
    what: &str,
    condition: impl Fn(&NeighborStatus) -> bool,
) {
    let mut last = None;
    for _ in 0..300 {
        last = status(handle, address).await;
        if last.as_ref().is_some_and(&condition) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("neighbor {address} never became {what}; last status: {last:#?}");
}
