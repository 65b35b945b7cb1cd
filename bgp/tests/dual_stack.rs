//! Dual stack on one session, as Calico runs it: IPv6 routes carried over
//! an IPv4 session need an IPv6 next hop, which comes from the session's
//! interface (or `next_hop_ipv6`), never from thin air.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

mod loopback;

use std::time::Duration;

use bgp::rib::RouteFilter;
use bgp::speaker::{HostAddress, NeighborSettings, SpeakerHandle};
use bgp::wire::NextHop;
use ipnetwork::IpNetwork;
use loopback::{config, loopback, neighbor, spawn};

fn start(
    local: u8,
    port: u16,
    neighbor: NeighborSettings,
    originate: &[&str],
    host_addresses: Vec<HostAddress>,
) -> SpeakerHandle {
    let mut settings = config(local, port, vec![neighbor]);
    settings.originate = originate
        .iter()
        .map(|prefix| prefix.parse().unwrap())
        .collect();
    settings.host_addresses = host_addresses;
    spawn(settings)
}

async fn learned(handle: &SpeakerHandle, prefix: &str) -> Option<NextHop> {
    let filter = RouteFilter {
        prefix: Some(prefix.parse::<IpNetwork>().unwrap()),
        ..RouteFilter::default()
    };
    handle
        .routes(filter)
        .await
        .unwrap()
        .first()
        .and_then(|view| view.paths.first())
        .and_then(|path| path.next_hop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_routes_over_an_ipv4_session_take_the_interfaces_ipv6_address_as_next_hop() {
    let port = 1820;
    let interface_of_81 = vec![
        HostAddress {
            interface: 1,
            address: loopback(81),
            global: true,
        },
        HostAddress {
            interface: 1,
            address: "2001:db8::81".parse().unwrap(),
            global: true,
        },
    ];
    let receiver = start(82, port, neighbor(82, 81, port, true), &[], vec![]);
    let _sender = start(
        81,
        port,
        neighbor(81, 82, port, false),
        &["2001:db8:81::/48", "198.19.81.0/24"],
        interface_of_81,
    );
    for _ in 0..200 {
        if let Some(next_hop) = learned(&receiver, "2001:db8:81::/48").await {
            let NextHop::Ipv6 { global, .. } = next_hop else {
                panic!("an IPv6 next hop, got {next_hop:?}")
            };
            assert_eq!(
                global,
                "2001:db8::81".parse::<std::net::Ipv6Addr>().unwrap()
            );
            assert!(
                learned(&receiver, "198.19.81.0/24").await.is_some(),
                "IPv4 alongside"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the IPv6 prefix never arrived over the IPv4 session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ipv6_address_ipv6_routes_are_not_sent_rather_than_sent_wrong() {
    let port = 1821;
    let receiver = start(84, port, neighbor(84, 83, port, true), &[], vec![]);
    let _sender = start(
        83,
        port,
        neighbor(83, 84, port, false),
        &["2001:db8:83::/48", "198.19.83.0/24"],
        vec![],
    );
    for _ in 0..200 {
        if learned(&receiver, "198.19.83.0/24").await.is_some() {
            assert!(
                learned(&receiver, "2001:db8:83::/48").await.is_none(),
                "no IPv6 next hop, no IPv6 route"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the IPv4 prefix never arrived");
}
