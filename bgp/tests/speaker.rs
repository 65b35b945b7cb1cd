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

mod loopback;

use std::net::{IpAddr, Ipv4Addr};

use bgp::speaker::{ListenRangeSettings, NeighborSettings, SpeakerHandle};
use loopback::{config, loopback, neighbor, spawn, wait, wait_for};

fn speaker(
    local: u8,
    neighbors: Vec<NeighborSettings>,
    listen_ranges: Vec<ListenRangeSettings>,
) -> SpeakerHandle {
    let mut settings = config(local, 0, neighbors);
    settings.listen_ranges = listen_ranges;
    spawn(settings)
}

#[tokio::test]
async fn two_speakers_establish_and_a_shutdown_communication_reaches_the_other_side() {
    let first = speaker(1, vec![neighbor(1, 2, 179, true)], vec![]);
    let port = first.listening()[0].port();
    let second = speaker(2, vec![neighbor(2, 1, port, false)], vec![]);

    wait_for(&first, 2, "Established", |status| {
        status.state == "Established"
    })
    .await;
    wait_for(&second, 1, "Established", |status| {
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
    wait_for(&second, 1, "told of the shutdown", |status| {
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
    wait_for(&first, 2, "Established again", |status| {
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

    wait_for(&hub, 17, "Established", |status| {
        status.state == "Established" && status.dynamic
    })
    .await;
    wait_for(&member, 10, "Established", |status| {
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
    wait("the dynamic neighbor gone from the hub", async || {
        hub.neighbors().await.unwrap().is_empty()
    })
    .await;
}
