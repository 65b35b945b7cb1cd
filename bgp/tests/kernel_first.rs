//! A lost session's forwarding changes reach the kernel before its
//! withdrawals reach the other neighbors: a reflector with a FIB output
//! (the channel the daemon's kernel task reads) and two clients over
//! loopback; one client's session is cut (closed without a NOTIFICATION,
//! as a crashed host's would be) and the other is watched.
//!
//! The order is checked by causality, not by timing: once the watching
//! client has lost the route, the reflector must already have handed the
//! kernel its removal, because it sends the kernel's changes before it
//! writes any withdrawal. A kernel task that never reports its batches
//! carried out must not hold the withdrawals back for good either.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

mod loopback;

use std::time::Duration;

use bgp::rib::{FibUpdate, RouteFilter};
use bgp::speaker::{self, SpeakerHandle, SpeakerOutputs};
use ipnetwork::IpNetwork;
use loopback::{block, config, reflection_neighbor, spawn};
use tokio::sync::mpsc::UnboundedReceiver;

const REFLECTOR: u8 = 121;
const CUT: u8 = 122;
const WATCHER: u8 = 123;

async fn holds(handle: &SpeakerHandle, prefix: IpNetwork) -> bool {
    handle
        .routes(RouteFilter::default())
        .await
        .unwrap()
        .iter()
        .any(|view| view.prefix == prefix)
}

async fn wait_until(what: &str, handle: &SpeakerHandle, prefix: IpNetwork, held: bool) {
    for _ in 0..300 {
        if holds(handle, prefix).await == held {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

/// Every FIB change the reflector has sent so far, in order.
fn sent(fib: &mut UnboundedReceiver<Vec<FibUpdate>>) -> Vec<FibUpdate> {
    let mut changes = Vec::new();
    while let Ok(batch) = fib.try_recv() {
        changes.extend(batch);
    }
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_session_reaches_the_kernel_before_the_other_clients() {
    let (fib_sender, mut fib) = tokio::sync::mpsc::unbounded_channel();
    // The test plays a kernel task that never reports a batch carried out:
    // the reflector may wait for it only for a bounded time.
    let (_applied_sender, applied) = tokio::sync::watch::channel(0u64);
    let mut settings = config(
        REFLECTOR,
        0,
        vec![
            reflection_neighbor(REFLECTOR, CUT, 179, true, true),
            reflection_neighbor(REFLECTOR, WATCHER, 179, true, true),
        ],
    );
    settings.rib.cluster_id = Some(loopback::router_id(REFLECTOR));
    let (reflector, _task) = speaker::spawn(
        settings,
        SpeakerOutputs {
            fib: Some(fib_sender),
            fib_applied: Some(applied),
            converged: None,
        },
    )
    .unwrap();
    let port = reflector.listening()[0].port();

    let mut cut_settings = config(
        CUT,
        0,
        vec![reflection_neighbor(CUT, REFLECTOR, port, false, false)],
    );
    cut_settings.originate = vec![block(CUT)];
    let cut = spawn(cut_settings);
    let watcher = spawn(config(
        WATCHER,
        0,
        vec![reflection_neighbor(WATCHER, REFLECTOR, port, false, false)],
    ));

    wait_until("the watcher learning the block", &watcher, block(CUT), true).await;
    let installed = sent(&mut fib);
    assert!(
        installed
            .iter()
            .any(|change| change.prefix == block(CUT) && !change.next_hops.is_empty()),
        "the reflector installs the block before the watcher has it: {installed:?}"
    );

    // Closed without a NOTIFICATION: the reflector sees the socket go.
    cut.stop_for_restart().await.unwrap();
    wait_until("the watcher losing the block", &watcher, block(CUT), false).await;
    let removed = sent(&mut fib);
    assert!(
        removed
            .iter()
            .any(|change| change.prefix == block(CUT) && change.next_hops.is_empty()),
        "the kernel is told to remove the block before the watcher loses it: {removed:?}"
    );
}
