//! Speakers talking over loopback: real sockets, real tasks, the real codec.
//! Each speaker gets its own 127.0.0.x address so that neighbors are told
//! apart by address, as on a real network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::rib::RibSettings;
use bgp::session::{ExpectedPeerAs, SessionConfig};
use bgp::speaker::transport::TransportSettings;
use bgp::speaker::{
    self, ListenRangeSettings, NeighborRouting, NeighborSettings, NeighborStatus, SpeakerConfig,
    SpeakerHandle,
};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn neighbor(local: u8, remote: u8, port: u16, passive: bool) -> NeighborSettings {
    let mut session = SessionConfig::new(
        64512,
        Ipv4Addr::new(198, 18, 0, local),
        loopback(remote),
        ExpectedPeerAs::Exact(64512),
    );
    session.passive = passive;
    session.connect_retry = Duration::from_secs(1);
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

fn speaker(
    local: u8,
    neighbors: Vec<NeighborSettings>,
    listen_ranges: Vec<ListenRangeSettings>,
) -> SpeakerHandle {
    let config = SpeakerConfig {
        local_as: 64512,
        router_id: Ipv4Addr::new(198, 18, 0, local),
        listen: vec![SocketAddr::new(loopback(local), 0)],
        neighbors,
        listen_ranges,
        connection: Default::default(),
        rib: RibSettings::new(64512, Ipv4Addr::new(198, 18, 0, local)),
        originate: vec![],
        restarting: None,
        stale_time: Duration::from_secs(360),
        host_addresses: vec![],
    };
    speaker::spawn(config, Default::default()).unwrap().0
}

/// Polls until `condition` holds for the neighbor at `address`; the bound
/// only turns a hang into a failure with the last status in the message.
async fn wait_for(
    handle: &SpeakerHandle,
    address: IpAddr,
    what: &str,
    condition: impl Fn(&NeighborStatus) -> bool,
) {
    let mut last = None;
    for _ in 0..300 {
        let neighbors = handle.neighbors().await.unwrap();
        last = neighbors
            .into_iter()
            .find(|status| status.address == address);
        if last.as_ref().is_some_and(&condition) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("neighbor {address} never became {what}; last status: {last:#?}");
}

#[tokio::test]
async fn two_speakers_establish_and_a_shutdown_communication_reaches_the_other_side() {
    let first = speaker(1, vec![neighbor(1, 2, 179, true)], vec![]);
    let port = first.listening()[0].port();
    let second = speaker(2, vec![neighbor(2, 1, port, false)], vec![]);

    wait_for(&first, loopback(2), "Established", |status| {
        status.state == "Established"
    })
    .await;
    wait_for(&second, loopback(1), "Established", |status| {
        status.state == "Established"
    })
    .await;
    let status = second.neighbors().await.unwrap().remove(0);
    assert_eq!(status.router_id, Some(Ipv4Addr::new(198, 18, 0, 1)));
    assert_eq!(status.remote_asn, Some(64512));
    assert_eq!(status.families, vec!["ipv4-unicast", "ipv6-unicast"]);

    assert!(
        first
            .shutdown_neighbor(loopback(2), Some("maintenance window".into()))
            .await
            .unwrap()
    );
    wait_for(&second, loopback(1), "told of the shutdown", |status| {
        status.state != "Established"
            && status
                .last_error
                .as_deref()
                .is_some_and(|text| text.contains("maintenance window"))
    })
    .await;
    let status = first.neighbors().await.unwrap().remove(0);
    assert!(status.shutdown);
    assert_eq!(status.state, "Idle");

    assert!(first.enable_neighbor(loopback(2)).await.unwrap());
    wait_for(&first, loopback(2), "Established again", |status| {
        status.state == "Established"
    })
    .await;
}

#[tokio::test]
async fn unknown_addresses_are_refused_and_listen_ranges_accept_dynamic_neighbors() {
    let range = ListenRangeSettings {
        prefix: "127.0.0.16/30".parse().unwrap(),
        template: neighbor(10, 0, 179, true),
        max_neighbors: None,
    };
    let hub = speaker(10, vec![], vec![range]);
    let port = hub.listening()[0].port();

    // 127.0.0.12 is outside the range: the hub keeps no state for it.
    let _stranger = speaker(12, vec![neighbor(12, 10, port, false)], vec![]);
    // 127.0.0.17 is inside: it becomes a dynamic neighbor.
    let member = speaker(17, vec![neighbor(17, 10, port, false)], vec![]);

    wait_for(&hub, loopback(17), "Established", |status| {
        status.state == "Established" && status.dynamic
    })
    .await;
    wait_for(&member, loopback(10), "Established", |status| {
        status.state == "Established"
    })
    .await;
    let known: Vec<IpAddr> = hub
        .neighbors()
        .await
        .unwrap()
        .iter()
        .map(|status| status.address)
        .collect();
    assert_eq!(known, vec![loopback(17)], "the stranger left no trace");

    // When the member stops, the dynamic neighbor disappears from the hub.
    member.stop(Some("leaving".into())).await.unwrap();
    for _ in 0..100 {
        if hub.neighbors().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the dynamic neighbor stayed: {:#?}",
        hub.neighbors().await.unwrap()
    );
}
