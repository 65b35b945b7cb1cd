//! Wiring the synchronizer to the real kernel.
//!
//! [`spawn_netlink`] subscribes to route events *before* the synchronizer
//! lists our routes, so no change can fall between the listing and the
//! first event. A small task forwards the [`RouteMonitor`]'s notifications
//! into a bounded channel: if the synchronizer falls behind, the forwarder
//! waits, the netlink socket fills, and the kernel reports lost events,
//! which the synchronizer answers with a full resync.

use std::sync::Arc;

use bgp::rib::FibUpdate;
use fib::{FibError, FibFuture, KernelRoute, NetlinkFib, Notification, RouteMonitor};
use tokio::sync::mpsc;
use tracing::warn;

use super::settings::KernelSettings;
use super::task::{Kernel, KernelHandle, KernelRoutes, spawn};

/// Route events buffered between the monitor and the synchronizer.
pub const EVENT_QUEUE: usize = 65_536;

impl KernelRoutes for NetlinkFib {
    fn kernel_routes(&self) -> FibFuture<'_, Result<Vec<KernelRoute>, FibError>> {
        Box::pin(self.snapshot(None))
    }
}

/// Forwards `monitor`'s notifications into a channel of `capacity`; the
/// channel closes when the monitor ends.
pub fn forward_events(mut monitor: RouteMonitor, capacity: usize) -> mpsc::Receiver<Notification> {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    tokio::spawn(async move {
        while let Some(notification) = monitor.next().await {
            if sender.send(notification).await.is_err() {
                return;
            }
        }
        warn!("the kernel route monitor ended");
    });
    receiver
}

/// Starts the synchronizer on `fib` with recursive next-hop resolution and
/// drift repair. Ownership (table, protocol, metric) is taken from the FIB,
/// whatever `settings` says, so events are judged by the same rule the FIB
/// installs with. Must be called inside a tokio runtime.
pub fn spawn_netlink(
    fib: NetlinkFib,
    mut settings: KernelSettings,
    updates: mpsc::UnboundedReceiver<Vec<FibUpdate>>,
) -> std::io::Result<KernelHandle> {
    settings.ownership = fib.config();
    let events = forward_events(fib.watch()?, EVENT_QUEUE);
    let fib = Arc::new(fib);
    let kernel = Kernel {
        fib: Arc::clone(&fib) as Arc<dyn fib::Fib>,
        routes: Some(fib as Arc<dyn KernelRoutes>),
        events: Some(events),
    };
    Ok(spawn(kernel, settings, updates))
}
