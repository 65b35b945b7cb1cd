//! Fast failover against `MemoryFib::with_gateway_removal` (a FIB that
//! behaves as one with kernel nexthop objects): a gateway BGP stopped using
//! leaves every route in one operation, the per-prefix changes that follow
//! cost nothing, and the end state is exactly the RIB's.

use std::sync::Arc;

use fib::{Fib, FibChange, JournalOperation, MemoryFib, Route, RouteEventKind};

use super::{Harness, address, event, kernel_route, object_event, settings, unicast, update};

const A: &str = "198.18.0.2";
const B: &str = "198.18.0.3";

fn prefix_text(index: u32) -> String {
    format!("198.19.{}.{}/32", index / 256, index % 256)
}

/// `count` ECMP prefixes through A and B, installed.
async fn ecmp_through_a_and_b(fib: Arc<MemoryFib>, count: u32) -> Harness {
    let mut harness = Harness::start(settings(&[]), fib).await;
    harness.core.apply_updates(
        (0..count)
            .map(|index| update(&prefix_text(index), &[A, B]))
            .collect(),
    );
    harness.run().await;
    harness.fib.take_journal();
    harness
}

/// A's session went down: the RIB's batch moves every prefix to B.
fn a_goes_down(harness: &mut Harness, count: u32) {
    harness.core.apply_updates(
        (0..count)
            .map(|index| update(&prefix_text(index), &[B]))
            .collect(),
    );
}

fn only_b(count: u32) -> Vec<Route> {
    let mut routes: Vec<Route> = (0..count)
        .map(|index| unicast(&prefix_text(index), &[B]))
        .collect();
    routes.sort();
    routes
}

#[tokio::test]
async fn a_gone_gateway_leaves_every_route_in_one_operation() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = ecmp_through_a_and_b(Arc::clone(&fib), 300).await;
    a_goes_down(&mut harness, 300);
    harness.run().await;
    let journal = fib.take_journal();
    assert_eq!(
        journal
            .iter()
            .map(|entry| entry.operation.clone())
            .collect::<Vec<_>>(),
        vec![JournalOperation::FailGateway(address(A))],
        "one operation, and the 300 per-prefix changes found nothing to do"
    );
    assert_eq!(fib.snapshot(), only_b(300));
    let status = harness.core.status(harness.now);
    assert_eq!(status.counters.gateway_failovers, 1);
    assert_eq!(status.pending, 0);
    assert!(
        status
            .installed
            .iter()
            .all(|route| route.next_hops.len() == 1)
    );
}

#[tokio::test]
async fn without_objects_the_same_end_state_costs_one_change_per_route() {
    let fib = Arc::new(MemoryFib::new());
    let mut harness = ecmp_through_a_and_b(Arc::clone(&fib), 300).await;
    a_goes_down(&mut harness, 300);
    harness.run().await;
    assert_eq!(harness.operations().len(), 300);
    assert_eq!(fib.snapshot(), only_b(300));
    assert_eq!(
        harness.core.status(harness.now).counters.gateway_failovers,
        0
    );
}

#[tokio::test]
async fn a_next_hop_still_learned_elsewhere_is_not_failed() {
    // A reflected route keeps A in use for one prefix: A is not gone, so
    // nothing is failed over and each prefix changes on its own.
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = ecmp_through_a_and_b(Arc::clone(&fib), 10).await;
    harness
        .core
        .apply_updates(vec![update("198.19.200.0/24", &[A])]);
    harness.run().await;
    fib.take_journal();
    a_goes_down(&mut harness, 10);
    assert!(harness.core.take_failed_gateways().is_empty());
    harness.run().await;
    assert_eq!(harness.operations().len(), 10);
    let mut expected = only_b(10);
    expected.push(unicast("198.19.200.0/24", &[A]));
    expected.sort();
    assert_eq!(fib.snapshot(), expected);
}

#[tokio::test]
async fn a_next_hop_that_returns_in_the_same_batch_is_not_gone() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = ecmp_through_a_and_b(Arc::clone(&fib), 2).await;
    harness.core.apply_updates(vec![
        update(&prefix_text(0), &[B]),
        update(&prefix_text(1), &[B]),
        update(&prefix_text(0), &[A, B]),
    ]);
    assert!(harness.core.take_failed_gateways().is_empty());
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast(&prefix_text(1), &[B]))]
    );
}

#[tokio::test]
async fn routes_adopted_at_start_through_an_unlearned_gateway_are_left_to_the_sweep() {
    // Nobody has re-learned A yet after a restart: that is not a failure.
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    fib.replace(unicast("198.19.1.0/24", &[A, B]))
        .await
        .unwrap();
    let mut harness = Harness::start(settings(&[]), Arc::clone(&fib)).await;
    harness
        .core
        .apply_updates(vec![update("198.19.2.0/24", &[B])]);
    assert!(harness.core.take_failed_gateways().is_empty());
    harness.run().await;
    assert_eq!(
        harness.operations(),
        vec![FibChange::Replace(unicast("198.19.2.0/24", &[B]))]
    );
    assert!(fib.snapshot().contains(&unicast("198.19.1.0/24", &[A, B])));
}

#[tokio::test]
async fn a_lone_gateway_takes_its_routes_with_it_and_the_rest_follow() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = Harness::start(settings(&[]), Arc::clone(&fib)).await;
    harness.core.apply_updates(vec![
        update("198.19.1.0/24", &[A]),
        update("198.19.2.0/24", &[A, B]),
    ]);
    harness.run().await;
    fib.take_journal();
    harness.core.apply_updates(vec![
        update("198.19.1.0/24", &[]),
        update("198.19.2.0/24", &[B]),
    ]);
    harness.run().await;
    assert_eq!(harness.operations(), Vec::new());
    assert_eq!(fib.snapshot(), vec![unicast("198.19.2.0/24", &[B])]);
    assert_eq!(harness.core.installed_prefixes().len(), 1);
}

#[tokio::test]
async fn the_kernels_reports_of_the_replaced_group_are_not_drift() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = ecmp_through_a_and_b(Arc::clone(&fib), 20).await;
    a_goes_down(&mut harness, 20);
    harness.run().await;
    fib.take_journal();
    // With nexthop_compat_mode = 1 the kernel reports each route using the
    // replaced group with its new next hops.
    for route in only_b(20) {
        harness
            .core
            .on_notification(event(RouteEventKind::Changed, kernel_route(&route, 201)));
    }
    harness.run().await;
    assert_eq!(harness.operations(), Vec::new());
    let counters = harness.core.status(harness.now).counters;
    assert_eq!((counters.drift_repairs, counters.resyncs), (0, 0));
    assert!(!harness.core.resync_needed());
}

#[tokio::test]
async fn events_naming_only_an_object_are_echoes_or_a_resync_never_a_repair() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    let mut harness = Harness::start(settings(&[]), Arc::clone(&fib)).await;
    harness
        .core
        .apply_updates(vec![update("198.19.1.0/24", &[A, B])]);
    harness.run().await;
    fib.take_journal();
    let route = unicast("198.19.1.0/24", &[A, B]);
    // Our own replace, reported with nexthop_compat_mode = 0: an echo.
    harness
        .core
        .on_notification(object_event(RouteEventKind::Added, &route, 7));
    harness.run().await;
    assert!(!harness.core.resync_needed());
    assert_eq!(harness.operations(), Vec::new());
    // The same again, with no replace of ours to explain it: the next hops
    // are unknown here, so the kernel is re-read instead of guessed at.
    harness
        .core
        .on_notification(object_event(RouteEventKind::Changed, &route, 8));
    assert!(harness.core.resync_needed());
    harness.run().await;
    assert_eq!(harness.operations(), Vec::new());
    assert_eq!(harness.core.status(harness.now).counters.drift_repairs, 0);
    // A deletion is a deletion: put back.
    fib.delete_externally(route.prefix());
    harness
        .core
        .on_notification(object_event(RouteEventKind::Deleted, &route, 7));
    harness.run().await;
    assert_eq!(harness.operations(), vec![FibChange::Replace(route)]);
}

/// Every key of `value`, nested objects and lists included.
fn keys(value: &serde_json::Value, into: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                into.insert(key.clone());
                keys(inner, into);
            }
        }
        serde_json::Value::Array(list) => list.iter().for_each(|inner| keys(inner, into)),
        _ => {}
    }
}

#[tokio::test]
async fn every_key_of_get_fib_is_documented_in_docs_api_md() {
    let fib = Arc::new(MemoryFib::with_gateway_removal());
    fib.add_foreign(super::network("198.19.8.0/24"), 4);
    let mut harness = Harness::start(settings(&[("198.19.1.0/24", true)]), fib).await;
    harness.core.apply_updates(vec![
        update("198.19.2.0/24", &[A, B]),
        update("198.19.8.0/24", &[A]),
        update("198.19.9.0/24", &[]),
    ]);
    harness.run().await;
    harness.fib.fail_next(
        super::network("198.19.3.0/24"),
        1,
        fib::FibErrorKind::Transport("x".into()),
    );
    harness
        .core
        .apply_updates(vec![update("198.19.3.0/24", &[A])]);
    harness.run().await;
    let objects = std::collections::BTreeMap::from([(
        super::network("198.19.2.0/24"),
        fib::RouteObject {
            id: 9,
            group: vec![
                fib::netlink::nexthop_message::GroupMember { id: 7, weight: 1 },
                fib::netlink::nexthop_message::GroupMember { id: 8, weight: 1 },
            ],
        },
    )]);
    let status = harness.core.status(harness.now).with_objects(&objects);
    assert!(!status.failed.is_empty() && !status.conflicts.is_empty());
    let mut found = std::collections::BTreeSet::new();
    keys(&serde_json::to_value(&status).unwrap(), &mut found);
    let documentation =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    for key in found {
        assert!(
            documentation.contains(&format!("`{key}`")),
            "docs/api.md does not document `{key}` of GET /fib"
        );
    }
}
