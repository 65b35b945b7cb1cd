//! The synchronizer task through its handle, with `MemoryFib`.

use std::sync::Arc;
use std::time::Duration;

use fib::{Fib, FibChange, MemoryFib, Notification, Route, RouteEventKind};
use tokio::sync::mpsc;

use super::{event, kernel_route, network, settings, unicast, update};
use crate::kernel::settings::KernelSettings;
use crate::kernel::task::{Kernel, KernelHandle, spawn};

struct Running {
    handle: KernelHandle,
    updates: mpsc::UnboundedSender<Vec<bgp::rib::FibUpdate>>,
    events: mpsc::Sender<Notification>,
    fib: Arc<MemoryFib>,
}

fn start(settings: KernelSettings, fib: Arc<MemoryFib>) -> Running {
    let (updates, updates_receiver) = mpsc::unbounded_channel();
    let (events, events_receiver) = mpsc::channel(16);
    let kernel = Kernel {
        fib: Arc::clone(&fib) as Arc<dyn Fib>,
        routes: None,
        events: Some(events_receiver),
        events_exclude_ours: false,
    };
    let handle = spawn(kernel, settings, updates_receiver);
    Running {
        handle,
        updates,
        events,
        fib,
    }
}

fn operations(fib: &MemoryFib) -> usize {
    fib.take_journal()
        .iter()
        .filter(|entry| !matches!(entry.operation, fib::JournalOperation::List))
        .count()
}

#[tokio::test]
async fn one_batch_of_updates_to_one_prefix_is_one_operation() {
    let running = start(settings(&[]), Arc::new(MemoryFib::new()));
    let batch = (1..=100)
        .map(|last| update("198.19.1.0/24", &[&format!("198.18.0.{last}")]))
        .collect();
    running.updates.send(batch).unwrap();
    running.handle.settled().await.unwrap();
    assert_eq!(operations(&running.fib), 1);
    assert_eq!(
        running.fib.snapshot(),
        vec![unicast("198.19.1.0/24", &["198.18.0.100"])]
    );
    let status = running.handle.status().await.unwrap();
    assert_eq!(status.installed.len(), 1);
    assert_eq!(status.pending, 0);
}

#[tokio::test]
async fn the_applied_count_follows_the_batches_once_they_are_in_the_kernel() {
    let running = start(settings(&[]), Arc::new(MemoryFib::new()));
    let mut applied = running.handle.applied();
    running.handle.settled().await.unwrap();
    assert_eq!(*applied.borrow_and_update(), 0, "nothing received yet");
    running
        .updates
        .send(vec![update("198.19.1.0/24", &["198.18.0.1"])])
        .unwrap();
    running
        .updates
        .send(vec![update("198.19.2.0/24", &["198.18.0.2"])])
        .unwrap();
    let count = *applied.wait_for(|count| *count >= 2).await.unwrap();
    assert_eq!(count, 2);
    // Counted once carried out: both routes are in the kernel by then.
    assert_eq!(
        running.fib.snapshot(),
        vec![
            unicast("198.19.1.0/24", &["198.18.0.1"]),
            unicast("198.19.2.0/24", &["198.18.0.2"]),
        ]
    );
}

#[tokio::test]
async fn end_of_rib_through_the_handle_sweeps_stale_routes() {
    let fib = Arc::new(MemoryFib::new());
    fib.apply(vec![
        FibChange::Replace(unicast("198.19.1.0/24", &["198.18.0.2"])),
        FibChange::Replace(unicast("198.19.2.0/24", &["198.18.0.2"])),
    ])
    .await;
    let mut immediate = settings(&[]);
    immediate.sweep_delay = Duration::ZERO;
    let running = start(immediate, Arc::clone(&fib));
    running
        .updates
        .send(vec![update("198.19.1.0/24", &["198.18.0.2"])])
        .unwrap();
    running.handle.settled().await.unwrap();
    assert_eq!(fib.snapshot().len(), 2, "kept until End-of-RIB");
    running.handle.end_of_rib_all().await.unwrap();
    running.handle.settled().await.unwrap();
    assert_eq!(
        fib.snapshot(),
        vec![unicast("198.19.1.0/24", &["198.18.0.2"])]
    );
    let status = running.handle.status().await.unwrap();
    assert!(status.initial_sweep_done);
    assert_eq!(status.counters.removals, 1);
}

#[tokio::test]
async fn drift_event_through_the_channel_is_repaired() {
    let running = start(
        settings(&[("198.19.10.0/24", true)]),
        Arc::new(MemoryFib::new()),
    );
    running.handle.settled().await.unwrap();
    let blackhole = Route::blackhole(network("198.19.10.0/24"));
    assert_eq!(running.fib.snapshot(), vec![blackhole.clone()]);
    running.fib.delete_externally(blackhole.prefix());
    running
        .events
        .send(event(
            RouteEventKind::Deleted,
            kernel_route(&blackhole, 201),
        ))
        .await
        .unwrap();
    running.handle.settled().await.unwrap();
    assert_eq!(running.fib.snapshot(), vec![blackhole]);
    assert_eq!(
        running
            .handle
            .status()
            .await
            .unwrap()
            .counters
            .drift_repairs,
        1
    );
}

#[tokio::test]
async fn shutdown_keeps_routes_for_graceful_restart() {
    let running = start(
        settings(&[("198.19.10.0/24", true)]),
        Arc::new(MemoryFib::new()),
    );
    running
        .updates
        .send(vec![update("198.19.1.0/24", &["198.18.0.2"])])
        .unwrap();
    running.handle.settled().await.unwrap();
    let report = running.handle.shutdown(true).await.unwrap();
    assert_eq!((report.kept, report.removed), (2, 0));
    assert_eq!(running.fib.snapshot().len(), 2);
    assert!(running.handle.status().await.is_err(), "the task has ended");
}

#[tokio::test]
async fn shutdown_without_keep_removes_every_owned_route() {
    let fib = Arc::new(MemoryFib::new());
    // One adopted (stale) route as well as the ones installed in this run.
    fib.apply(vec![FibChange::Replace(unicast(
        "198.19.3.0/24",
        &["198.18.0.2"],
    ))])
    .await;
    fib.add_foreign(network("198.19.4.0/24"), 4);
    let running = start(settings(&[("198.19.10.0/24", true)]), Arc::clone(&fib));
    running
        .updates
        .send(vec![update("198.19.1.0/24", &["198.18.0.2"])])
        .unwrap();
    running.handle.settled().await.unwrap();
    assert_eq!(fib.snapshot().len(), 3);
    let report = running.handle.shutdown(false).await.unwrap();
    assert_eq!((report.kept, report.removed), (0, 3));
    assert!(report.failures.is_empty());
    assert!(fib.snapshot().is_empty());
    assert_eq!(fib.foreign_protocol(network("198.19.4.0/24")), Some(4));
}
