//! Graceful restart between speakers over loopback (RFC 4724, RFC 8538):
//! the helper keeps a restarting neighbor's routes, stale, until it comes
//! back and re-advertises, or until its restart time is over; the
//! restarting speaker announces the Restart State bit and advertises only
//! after End-of-RIB from the neighbors that are up.

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
use bgp::speaker::{NeighborSettings, NeighborStatus, SpeakerHandle};
use bgp::wire::{Family, GracefulRestart, GracefulRestartFamily};
use ipnetwork::IpNetwork;
use loopback::{config, spawn, wait};

fn block(last: u8) -> IpNetwork {
    format!("198.19.{last}.0/24").parse().unwrap()
}

/// A neighbor with graceful restart (RFC 4724): `restart_time` announced,
/// and with `restarting` the R and F bits set.
fn neighbor(
    local: u8,
    remote: u8,
    port: u16,
    passive: bool,
    restart_time: u16,
    restarting: bool,
) -> NeighborSettings {
    let mut settings = loopback::neighbor(local, remote, port, passive);
    settings.session.connect_retry = Duration::from_millis(200);
    settings.session.connect_retry_cap = Duration::from_millis(500);
    settings.session.capabilities.graceful_restart = Some(GracefulRestart {
        restart_state: restarting,
        notification: true,
        restart_time,
        families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
            .into_iter()
            .map(|family| GracefulRestartFamily {
                family,
                forwarding_state: restarting,
            })
            .collect(),
    });
    settings
}

/// A speaker originating its own block; `restarting` defers its
/// advertisement for at most 30 s.
fn start(local: u8, port: u16, neighbor: NeighborSettings, restarting: bool) -> SpeakerHandle {
    let mut settings = config(local, port, vec![neighbor]);
    settings.originate = vec![block(local)];
    settings.restarting = restarting.then_some(Duration::from_secs(30));
    spawn(settings)
}

async fn status(handle: &SpeakerHandle) -> NeighborStatus {
    handle.neighbors().await.unwrap().remove(0)
}

async fn holds(handle: &SpeakerHandle, prefix: IpNetwork) -> bool {
    handle
        .routes(RouteFilter {
            prefix: Some(prefix),
            ..RouteFilter::default()
        })
        .await
        .unwrap()
        .len()
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_keeps_routes_across_a_restart_and_the_restarter_sets_the_restart_bit() {
    let (helper_address, restarter_address, port) = (71, 72, 1810);
    let helper = start(
        helper_address,
        port,
        neighbor(helper_address, restarter_address, port, true, 120, false),
        false,
    );
    let first = start(
        restarter_address,
        port,
        neighbor(restarter_address, helper_address, port, false, 2, false),
        false,
    );
    wait("the restarter's block at the helper", async || {
        holds(&helper, block(restarter_address)).await
    })
    .await;
    let view = status(&helper).await;
    let peer = view.graceful_restart.unwrap().peer.unwrap();
    assert_eq!(peer.restart_time, 2);
    assert!(!peer.restart_state, "a cold start does not set the R bit");

    // A stop for restart closes TCP without a NOTIFICATION: the helper keeps
    // the route, stale, and keeps forwarding with it.
    first.stop_for_restart().await.unwrap();
    wait("the route kept stale", async || {
        status(&helper).await.stale_routes == 1
    })
    .await;
    assert!(holds(&helper, block(restarter_address)).await);
    let error = status(&helper).await.last_error.unwrap_or_default();
    assert!(
        !error.contains("NOTIFICATION"),
        "no NOTIFICATION was exchanged: {error}"
    );

    // The restarted speaker sets the R bit and the F bits, re-advertises,
    // and the stale mark goes.
    let second = start(
        restarter_address,
        port,
        neighbor(restarter_address, helper_address, port, false, 2, true),
        true,
    );
    wait("the session back", async || {
        status(&helper).await.state == "Established"
    })
    .await;
    let peer = status(&helper)
        .await
        .graceful_restart
        .unwrap()
        .peer
        .unwrap();
    assert!(
        peer.restart_state,
        "the restarted speaker announces the R bit"
    );
    assert!(peer.families.iter().all(|family| family.forwarding_state));
    wait("the stale mark cleared", async || {
        status(&helper).await.stale_routes == 0
    })
    .await;
    assert!(holds(&helper, block(restarter_address)).await);
    wait(
        "the restarter's deferral over and the helper's block learned",
        async || holds(&second, block(helper_address)).await,
    )
    .await;

    // This time it does not come back: after its restart time (2 s) the
    // stale route goes.
    second.stop_for_restart().await.unwrap();
    wait("the route kept stale again", async || {
        status(&helper).await.stale_routes == 1
    })
    .await;
    wait("the route removed after the restart time", async || {
        !holds(&helper, block(restarter_address)).await
    })
    .await;
    assert_eq!(status(&helper).await.stale_routes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrative_stop_withdraws_at_once() {
    let (helper_address, other_address, port) = (73, 74, 1811);
    let helper = start(
        helper_address,
        port,
        neighbor(helper_address, other_address, port, true, 120, false),
        false,
    );
    let other = start(
        other_address,
        port,
        neighbor(other_address, helper_address, port, false, 120, false),
        false,
    );
    wait("the block at the helper", async || {
        holds(&helper, block(other_address)).await
    })
    .await;
    // Cease / Administrative Shutdown goes out as a Hard Reset (RFC 8538 §5):
    // no stale routes, the block disappears now, not after 120 s.
    other.stop(Some("decommissioned".into())).await.unwrap();
    wait("the block withdrawn", async || {
        !holds(&helper, block(other_address)).await
    })
    .await;
    let view = status(&helper).await;
    assert_eq!(view.stale_routes, 0);
    assert!(
        view.last_error.unwrap().contains("Hard Reset"),
        "RFC 8538 Hard Reset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speakers_restarting_together_do_not_wait_for_each_other() {
    // Both restart with a 30 s selection deferral and the R bit set. Each
    // must not wait for End-of-RIB from the other, which is waiting too
    // (RFC 4724 §4.1): routes flow at once, long before the timer.
    let (first_address, second_address, port) = (75, 76, 1812);
    let first = start(
        first_address,
        port,
        neighbor(first_address, second_address, port, true, 120, true),
        true,
    );
    let second = start(
        second_address,
        port,
        neighbor(second_address, first_address, port, false, 120, true),
        true,
    );
    wait(
        "each side's block at the other, well before the deferral time",
        async || {
            holds(&first, block(second_address)).await && holds(&second, block(first_address)).await
        },
    )
    .await;
}
