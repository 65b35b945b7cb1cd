//! A cluster of speakers over loopback sockets: two route reflectors that
//! share a cluster ID and four clients peered with both, each client
//! originating its own pod block. Every client must converge to every other
//! client's block — once per reflector, with the reflectors' ORIGINATOR_ID
//! and CLUSTER_LIST — with no loops, and follow a client leaving and
//! coming back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

mod loopback;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::rib::{PrefixView, RouteFilter};
use bgp::speaker::{NeighborSettings, SpeakerHandle};
use ipnetwork::IpNetwork;
use loopback::{block, config, loopback, reflection_neighbor, router_id, spawn};

const REFLECTORS: [u8; 2] = [101, 102];
const CLIENTS: [u8; 4] = [111, 112, 113, 114];
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(198, 18, 255, 1);

fn start(
    local: u8,
    port: u16,
    neighbors: Vec<NeighborSettings>,
    originate: Vec<IpNetwork>,
    cluster: bool,
) -> SpeakerHandle {
    let mut settings = config(local, port, neighbors);
    if cluster {
        settings.rib.cluster_id = Some(CLUSTER_ID);
    }
    settings.originate = originate;
    spawn(settings)
}

fn reflector(local: u8, port: u16) -> SpeakerHandle {
    let clients = CLIENTS
        .iter()
        .map(|client| reflection_neighbor(local, *client, port, true, true))
        .collect();
    start(local, port, clients, vec![], true)
}

fn client(local: u8, port: u16) -> SpeakerHandle {
    let reflectors = REFLECTORS
        .iter()
        .map(|reflector| reflection_neighbor(local, *reflector, port, false, false))
        .collect();
    start(local, port, reflectors, vec![block(local)], false)
}

async fn routes(handle: &SpeakerHandle) -> Vec<PrefixView> {
    handle.routes(RouteFilter::default()).await.unwrap()
}

/// Waits until `handle` holds exactly the blocks of `clients` (besides its
/// own), each learned from both reflectors.
async fn wait_for_blocks(handle: &SpeakerHandle, own: u8, clients: &[u8]) {
    let expected: BTreeSet<IpNetwork> = clients
        .iter()
        .filter(|client| **client != own)
        .map(|client| block(*client))
        .collect();
    let mut last = Vec::new();
    for _ in 0..300 {
        last = routes(handle).await;
        let learned: BTreeSet<IpNetwork> = last
            .iter()
            .filter(|prefix| prefix.prefix != block(own))
            .filter(|prefix| prefix.paths.len() == REFLECTORS.len())
            .map(|prefix| prefix.prefix)
            .collect();
        let extra = last
            .iter()
            .any(|prefix| prefix.prefix != block(own) && !expected.contains(&prefix.prefix));
        if learned == expected && !extra {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("client {own} never held {expected:?} from both reflectors; it has {last:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reflectors_sharing_a_cluster_id_serve_every_client_without_loops() {
    let port = 1800;
    let reflectors: Vec<SpeakerHandle> = REFLECTORS
        .iter()
        .map(|local| reflector(*local, port))
        .collect();
    let mut clients: Vec<(u8, SpeakerHandle)> = CLIENTS
        .iter()
        .map(|local| (*local, client(*local, port)))
        .collect();
    for (local, handle) in &clients {
        wait_for_blocks(handle, *local, &CLIENTS).await;
    }

    // Reflected paths carry the originator and our cluster ID, once.
    let (first, handle) = &clients[0];
    let learned = routes(handle).await;
    let other = learned
        .iter()
        .find(|prefix| prefix.prefix == block(CLIENTS[1]))
        .unwrap();
    for path in &other.paths {
        assert_eq!(
            path.attributes.originator_id,
            Some(router_id(CLIENTS[1])),
            "seen at {first}"
        );
        assert_eq!(path.attributes.cluster_list, vec![CLUSTER_ID]);
        assert_eq!(
            path.next_hop
                .map(|hop| bgp::rib::types::next_hop_address(&hop)),
            Some(loopback(CLIENTS[1]))
        );
    }
    // Each reflector holds every client's block once: the copy the other
    // reflector would reflect back carries our cluster ID and is dropped.
    for reflector in &reflectors {
        let held = routes(reflector).await;
        assert_eq!(held.len(), CLIENTS.len());
        assert!(
            held.iter().all(|prefix| prefix.paths.len() == 1),
            "{held:#?}"
        );
    }

    // The reflectors timed how long each UPDATE took to be passed on.
    for reflector in &reflectors {
        let propagation = reflector.propagation().await.unwrap();
        assert!(
            propagation.count > 0,
            "reflecting was timed: {propagation:?}"
        );
    }

    // A client leaves: its block disappears everywhere.
    let (gone, leaving) = clients.remove(3);
    leaving.stop(Some("leaving".into())).await.unwrap();
    let remaining: Vec<u8> = clients.iter().map(|(local, _)| *local).collect();
    for (local, handle) in &clients {
        wait_for_blocks(handle, *local, &remaining).await;
    }

    // It comes back, and everyone has everything again.
    clients.push((gone, client(gone, port)));
    for (local, handle) in &clients {
        wait_for_blocks(handle, *local, &CLIENTS).await;
    }
}
