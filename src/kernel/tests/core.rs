//! The state machine against `MemoryFib`, with virtual time.

use std::sync::Arc;
use std::time::Duration;

use fib::{Fib, FibChange, FibErrorKind, MemoryFib, Route, RouteEventKind};

use super::{Harness, address, event, kernel_route, network, settings, unicast, update};
use crate::kernel::resolution::Resolver;

#[tokio::test]
async fn many_updates_to_one_prefix_cost_one_operation() {
    let mut harness = Harness::start(settings(&[]), Arc::new(MemoryFib::new())).await;
    let updates = (1..=100)
        .map(|last| update("198.19.1.0/24", &[&format!("198.18.0.{last}")]))
        .collect();
    harness.core.apply_updates(updates);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast(
            "198.19.1.0/24",
            &["198.18.0.100"]
        ))]
    );
    assert_eq!(harness.core.status(harness.now).counters.installs, 1);
}

#[tokio::test]
async fn ecmp_set_changes_and_withdrawal_removes() {
    let mut harness = Harness::start(settings(&[]), Arc::new(MemoryFib::new())).await;
    harness
        .core
        .apply_updates(vec![update("198.19.2.0/24", &["198.18.0.2", "198.18.0.3"])]);
    harness.run().await;
    harness
        .core
        .apply_updates(vec![update("198.19.2.0/24", &["198.18.0.3", "198.18.0.4"])]);
    harness.run().await;
    harness
        .core
        .apply_updates(vec![update("198.19.2.0/24", &[])]);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![
            FibChange::Replace(unicast("198.19.2.0/24", &["198.18.0.2", "198.18.0.3"])),
            FibChange::Replace(unicast("198.19.2.0/24", &["198.18.0.3", "198.18.0.4"])),
            FibChange::Remove(network("198.19.2.0/24")),
        ]
    );
    assert!(harness.fib.snapshot().is_empty());
    let counters = harness.core.status(harness.now).counters;
    assert_eq!((counters.installs, counters.removals), (2, 1));
}

#[tokio::test]
async fn originated_prefix_gets_its_blackhole_and_never_a_learned_route() {
    let originated = settings(&[("198.19.10.0/24", true), ("198.19.11.0/24", false)]);
    let mut harness = Harness::start(originated, Arc::new(MemoryFib::new())).await;
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(Route::blackhole(network(
            "198.19.10.0/24"
        )))]
    );
    // Peers announce our own blocks back to us; a more specific inside one
    // is another host's route and is installed.
    harness.core.apply_updates(vec![
        update("198.19.10.0/24", &["198.18.0.2"]),
        update("198.19.11.0/24", &["198.18.0.2"]),
        update("198.19.10.128/25", &["198.18.0.2"]),
    ]);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast(
            "198.19.10.128/25",
            &["198.18.0.2"]
        ))]
    );
    assert_eq!(
        harness.fib.snapshot(),
        vec![
            Route::blackhole(network("198.19.10.0/24")),
            unicast("198.19.10.128/25", &["198.18.0.2"]),
        ]
    );
}

#[tokio::test]
async fn adopted_routes_stay_until_end_of_rib_and_the_sweep_delay() {
    let fib = Arc::new(MemoryFib::new());
    fib.apply(vec![
        FibChange::Replace(unicast("198.19.1.0/24", &["198.18.0.2"])),
        FibChange::Replace(unicast("198.19.2.0/24", &["198.18.0.2"])),
        FibChange::Replace(unicast("198.19.3.0/24", &["198.18.0.2"])),
    ])
    .await;
    let mut harness = Harness::start(settings(&[]), fib).await;
    harness.run().await;
    assert!(harness.operations().is_empty(), "adoption changes nothing");
    // Re-learned as it was: no operation. Re-learned differently: replaced.
    harness.core.apply_updates(vec![
        update("198.19.1.0/24", &["198.18.0.2"]),
        update("198.19.2.0/24", &["198.18.0.9"]),
    ]);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast(
            "198.19.2.0/24",
            &["198.18.0.9"]
        ))]
    );
    let status = harness.core.status(harness.now);
    assert!(!status.initial_sweep_done);
    assert_eq!(status.counters.adopted, 3);
    let stale: Vec<_> = status
        .installed
        .iter()
        .filter(|route| route.stale)
        .map(|route| route.prefix)
        .collect();
    assert_eq!(stale, vec![network("198.19.3.0/24")]);

    // End-of-RIB from everyone starts the 10 s sweep delay.
    harness.advance(Duration::from_secs(30)).await;
    harness.core.end_of_rib_all(harness.now);
    harness.advance(Duration::from_secs(9)).await;
    assert!(harness.operations().is_empty(), "kept during the delay");
    harness.advance(Duration::from_secs(1)).await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Remove(network("198.19.3.0/24"))]
    );
    let status = harness.core.status(harness.now);
    assert!(status.initial_sweep_done);
    assert_eq!(status.counters.sweeps, 1);
    assert_eq!(status.installed.len(), 2);
}

#[tokio::test]
async fn without_end_of_rib_the_sweep_waits_for_the_longest_wait() {
    let fib = Arc::new(MemoryFib::new());
    fib.apply(vec![FibChange::Replace(unicast(
        "198.19.3.0/24",
        &["198.18.0.2"],
    ))])
    .await;
    let mut harness = Harness::start(settings(&[]), fib).await;
    // 100 s of waiting for End-of-RIB, then the 10 s sweep delay.
    harness.advance(Duration::from_secs(109)).await;
    assert!(harness.operations().is_empty());
    assert!(!harness.core.swept());
    harness.advance(Duration::from_secs(1)).await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Remove(network("198.19.3.0/24"))]
    );
    assert!(harness.core.swept());
}

#[tokio::test]
async fn failed_installs_back_off_per_prefix_without_blocking_others() {
    let fib = Arc::new(MemoryFib::new());
    let broken = network("198.19.5.0/24");
    fib.fail_next(broken, 4, fib::error::kernel_kind(101));
    let mut harness = Harness::start(settings(&[]), fib).await;
    harness.core.apply_updates(vec![
        update("198.19.5.0/24", &["198.18.0.2"]),
        update("198.19.6.0/24", &["198.18.0.2"]),
    ]);
    harness.run().await;
    assert_eq!(
        harness.fib.snapshot(),
        vec![unicast("198.19.6.0/24", &["198.18.0.2"])]
    );
    let status = harness.core.status(harness.now);
    assert_eq!(status.failed.len(), 1);
    assert_eq!(status.failed[0].prefix, broken);
    assert_eq!(status.failed[0].attempts, 1);
    assert_eq!(status.failed[0].next_retry_seconds, Some(1));
    assert!(
        status.failed[0].error.contains("Network is unreachable"),
        "{}",
        status.failed[0].error
    );
    harness.operations();

    // Retries at +1 s, +2 s, +4 s (each failing), then +8 s succeeds.
    let mut attempts_at = Vec::new();
    for second in 1..=15 {
        harness.advance(Duration::from_secs(1)).await;
        if !harness.operations().is_empty() {
            attempts_at.push(second);
        }
    }
    assert_eq!(attempts_at, vec![1, 3, 7, 15]);
    let status = harness.core.status(harness.now);
    assert!(status.failed.is_empty());
    assert_eq!(status.counters.failures, 4);
    assert_eq!(harness.fib.snapshot().len(), 2);
}

#[tokio::test]
async fn backoff_is_capped() {
    let fib = Arc::new(MemoryFib::new());
    let broken = network("198.19.5.0/24");
    fib.fail_next(broken, 100, FibErrorKind::Transport("socket closed".into()));
    let mut harness = Harness::start(settings(&[]), fib).await;
    harness
        .core
        .apply_updates(vec![update("198.19.5.0/24", &["198.18.0.2"])]);
    harness.run().await;
    for _ in 0..6 {
        let due = harness.core.next_deadline().unwrap();
        harness.advance(due - harness.now).await;
    }
    let status = harness.core.status(harness.now);
    assert_eq!(status.failed[0].attempts, 7);
    assert_eq!(status.failed[0].next_retry_seconds, Some(8));
}

#[tokio::test]
async fn a_conflict_is_reported_never_replaced_and_rechecked_when_it_goes() {
    let fib = Arc::new(MemoryFib::new());
    let prefix = network("198.19.7.0/24");
    fib.add_foreign(prefix, 4);
    let mut harness = Harness::start(settings(&[]), Arc::clone(&fib)).await;
    harness
        .core
        .apply_updates(vec![update("198.19.7.0/24", &["198.18.0.2"])]);
    harness.run().await;
    let status = harness.core.status(harness.now);
    assert_eq!(status.conflicts.len(), 1);
    assert_eq!(status.conflicts[0].foreign_protocol, 4);
    assert!(status.installed.is_empty());
    assert!(status.failed.is_empty());
    assert_eq!(fib.foreign_protocol(prefix), Some(4), "left untouched");

    // Re-checked on the retry schedule, still refused.
    harness.advance(Duration::from_secs(1)).await;
    assert_eq!(harness.core.status(harness.now).conflicts[0].attempts, 2);
    // The foreign route goes away: its event triggers an immediate re-check.
    assert!(fib.remove_foreign(prefix));
    let mut foreign = kernel_route(&unicast("198.19.7.0/24", &["198.18.0.9"]), 4);
    foreign.protocol = 4;
    harness
        .core
        .on_notification(event(RouteEventKind::Deleted, foreign));
    harness.run().await;
    assert_eq!(
        fib.snapshot(),
        vec![unicast("198.19.7.0/24", &["198.18.0.2"])]
    );
    let status = harness.core.status(harness.now);
    assert!(status.conflicts.is_empty());
    assert_eq!(status.counters.conflicts, 2);
}

#[tokio::test]
async fn drift_is_repaired_and_echoes_of_our_own_changes_are_not_drift() {
    let mut harness = Harness::start(settings(&[]), Arc::new(MemoryFib::new())).await;
    let first = unicast("198.19.8.0/24", &["198.18.0.2"]);
    let second = unicast("198.19.8.0/24", &["198.18.0.3"]);
    harness
        .core
        .apply_updates(vec![update("198.19.8.0/24", &["198.18.0.2"])]);
    harness.run().await;
    harness
        .core
        .apply_updates(vec![update("198.19.8.0/24", &["198.18.0.3"])]);
    harness.run().await;
    harness.operations();
    // Late events about our own two installs: not drift.
    harness
        .core
        .on_notification(event(RouteEventKind::Added, kernel_route(&first, 201)));
    harness
        .core
        .on_notification(event(RouteEventKind::Changed, kernel_route(&second, 201)));
    harness.run().await;
    assert!(harness.operations().is_empty());

    // Someone deletes our route.
    assert_eq!(
        harness.fib.delete_externally(second.prefix()),
        Some(second.clone())
    );
    harness
        .core
        .on_notification(event(RouteEventKind::Deleted, kernel_route(&second, 201)));
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(second.clone())]
    );
    assert_eq!(harness.fib.snapshot(), vec![second.clone()]);

    // Someone changes it (with our protocol): put back as well.
    harness.fib.delete_externally(second.prefix());
    harness
        .fib
        .apply(vec![FibChange::Replace(first.clone())])
        .await;
    harness.operations();
    harness
        .core
        .on_notification(event(RouteEventKind::Changed, kernel_route(&first, 201)));
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(second.clone())]
    );
    assert_eq!(harness.core.status(harness.now).counters.drift_repairs, 2);

    // A route of ours nobody wants (after the sweep) is taken away again.
    harness.core.end_of_rib_all(harness.now);
    harness.advance(Duration::from_secs(10)).await;
    let stray = unicast("198.19.9.0/24", &["198.18.0.2"]);
    harness
        .fib
        .apply(vec![FibChange::Replace(stray.clone())])
        .await;
    harness.operations();
    harness
        .core
        .on_notification(event(RouteEventKind::Added, kernel_route(&stray, 201)));
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Remove(stray.prefix())]
    );
    assert_eq!(harness.core.status(harness.now).counters.drift_repairs, 3);
}

#[tokio::test]
async fn events_about_other_protocols_routes_are_not_drift() {
    let mut harness = Harness::start(settings(&[]), Arc::new(MemoryFib::new())).await;
    harness
        .core
        .apply_updates(vec![update("198.19.8.0/24", &["198.18.0.2"])]);
    harness.run().await;
    harness.operations();
    let other = unicast("198.19.8.0/24", &["198.18.0.7"]);
    let mut elsewhere = kernel_route(&other, 4);
    elsewhere.metric = 100;
    harness
        .core
        .on_notification(event(RouteEventKind::Deleted, elsewhere));
    harness.run().await;
    assert!(harness.operations().is_empty());
}

#[tokio::test]
async fn lost_events_lead_to_a_full_resync() {
    let mut harness = Harness::start(settings(&[]), Arc::new(MemoryFib::new())).await;
    harness
        .core
        .apply_updates(vec![update("198.19.8.0/24", &["198.18.0.2"])]);
    harness.run().await;
    harness.fib.delete_externally(network("198.19.8.0/24"));
    harness.core.on_notification(fib::Notification::EventsLost);
    assert!(harness.core.resync_needed());
    let listed = fib::Fib::list_owned(harness.fib.as_ref()).await.unwrap();
    harness.core.adopt(listed, false);
    harness.run().await;
    assert_eq!(
        harness.fib.snapshot(),
        vec![unicast("198.19.8.0/24", &["198.18.0.2"])]
    );
    assert_eq!(harness.core.status(harness.now).counters.resyncs, 1);
}

#[tokio::test]
async fn unresolvable_next_hops_wait_for_the_kernel_to_change() {
    use fib::{KernelNextHop, KernelRoute, KernelRouteType};
    let connected = |prefix: &str| KernelRoute {
        prefix: network(prefix),
        table: 254,
        protocol: 2,
        metric: 0,
        scope: 253,
        route_type: KernelRouteType::Unicast,
        next_hops: vec![KernelNextHop {
            gateway: None,
            interface: Some(3),
            weight: 1,
        }],
    };
    let mut routes = vec![connected("198.18.0.0/24")];
    let resolver = Resolver::recursive(routes.clone(), fib::NetlinkFibConfig::default());
    let mut harness =
        Harness::start_with(settings(&[]), Arc::new(MemoryFib::new()), resolver).await;
    harness.core.apply_updates(vec![
        update("198.19.1.0/24", &["198.18.0.7"]),
        update("198.19.2.0/24", &["198.18.9.9"]),
    ]);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast(
            "198.19.1.0/24",
            &["198.18.0.7"]
        ))]
    );
    let status = harness.core.status(harness.now);
    assert_eq!(status.failed.len(), 1);
    assert_eq!(status.failed[0].error, "next hop 198.18.9.9 unresolvable");
    assert_eq!(status.failed[0].next_retry_seconds, None);

    // A static route to the gateway's subnet appears: the prefix is
    // installed through the immediate gateway.
    let mut to_nine = connected("198.18.9.0/24");
    to_nine.protocol = 4;
    to_nine.scope = 0;
    to_nine.next_hops[0].gateway = Some(address("198.18.0.5"));
    routes.push(to_nine.clone());
    harness
        .core
        .on_notification(event(RouteEventKind::Added, to_nine));
    assert!(harness.core.needs_snapshot());
    harness.core.refresh_snapshot(routes);
    harness.run().await;
    let expected = Route::unicast(
        network("198.19.2.0/24"),
        vec![fib::NextHop::via(address("198.18.0.5")).with_interface(fib::Interface::Index(3))],
    )
    .unwrap();
    assert_eq!(harness.operations(), vec![FibChange::Replace(expected)]);
    assert!(harness.core.status(harness.now).failed.is_empty());

    // It goes away again: the route is removed, the failure listed again.
    harness
        .core
        .refresh_snapshot(vec![connected("198.18.0.0/24")]);
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Remove(network("198.19.2.0/24"))]
    );
    assert_eq!(harness.core.status(harness.now).failed.len(), 1);
}

#[tokio::test]
async fn status_is_sorted_and_serialises() {
    let mut harness = Harness::start(
        settings(&[("2001:db8:1::/48", true)]),
        Arc::new(MemoryFib::new()),
    )
    .await;
    harness.core.apply_updates(vec![
        update("198.19.9.0/24", &["198.18.0.2"]),
        update("198.19.1.0/24", &["198.18.0.2"]),
    ]);
    harness.run().await;
    let status = harness.core.status(harness.now);
    let prefixes: Vec<_> = status.installed.iter().map(|route| route.prefix).collect();
    assert_eq!(
        prefixes,
        vec![
            network("198.19.1.0/24"),
            network("198.19.9.0/24"),
            network("2001:db8:1::/48")
        ]
    );
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["installed"][2]["kind"], "blackhole");
    assert_eq!(
        json["installed"][0]["next_hops"][0]["gateway"],
        "198.18.0.2"
    );
    assert_eq!(json["counters"]["installs"], 3);
    assert_eq!(
        json["initial_sweep_done"], true,
        "a cold start has nothing of ours to sweep"
    );
}

#[tokio::test]
async fn reload_moves_the_blackhole_and_frees_the_old_block_for_learned_routes() {
    let mut harness = Harness::start(
        settings(&[("198.19.10.0/24", true)]),
        Arc::new(MemoryFib::new()),
    )
    .await;
    harness
        .core
        .apply_updates(vec![update("198.19.10.0/24", &["198.18.0.2"])]);
    harness.run().await;
    harness.operations();
    harness
        .core
        .set_originated(&[crate::kernel::settings::Originated {
            prefix: network("198.19.20.0/24"),
            blackhole: true,
        }]);
    harness.run().await;
    // The old block is now another host's: the learned route replaces the
    // blackhole; the new block gets one.
    assert_eq!(
        harness.operations(),
        vec![
            FibChange::Replace(unicast("198.19.10.0/24", &["198.18.0.2"])),
            FibChange::Replace(Route::blackhole(network("198.19.20.0/24"))),
        ]
    );
}

#[tokio::test]
async fn a_foreign_route_replacing_ours_becomes_a_conflict() {
    let fib = Arc::new(MemoryFib::new());
    let mut harness = Harness::start(settings(&[]), Arc::clone(&fib)).await;
    harness
        .core
        .apply_updates(vec![update("198.19.7.0/24", &["198.18.0.2"])]);
    harness.run().await;
    // `ip route replace ... proto static` at our metric takes our slot.
    fib.delete_externally(network("198.19.7.0/24"));
    fib.add_foreign(network("198.19.7.0/24"), 4);
    harness.core.on_notification(event(
        RouteEventKind::Changed,
        kernel_route(&unicast("198.19.7.0/24", &["198.18.0.9"]), 4),
    ));
    harness.run().await;
    let status = harness.core.status(harness.now);
    assert!(status.installed.is_empty());
    assert_eq!(status.conflicts.len(), 1);
    assert_eq!(status.conflicts[0].foreign_protocol, 4);
}
