//! Wiring the synchronizer to the real kernel.
//!
//! [`open_fib`] opens the netlink FIB in the form `[fib] nexthop_objects`
//! asks for, after asking the kernel with one probe object whether it
//! takes nexthop objects at all (plain routes and one warning if not).
//!
//! [`spawn_netlink`] subscribes to route events *before* the synchronizer
//! lists our routes, so no change can fall between the listing and the
//! first event. The kernel keeps our own changes off that subscription
//! (`NetlinkFib::watch_others`): without it, installing a full table
//! would bring back one notification per route, to be decoded, queued and
//! matched only to learn it was ours. A small task forwards the
//! [`RouteMonitor`]'s notifications into a bounded channel: if the
//! synchronizer falls behind, the forwarder waits, the netlink socket
//! fills, and the kernel reports lost events, which the synchronizer
//! answers with a full resync.

use std::sync::Arc;

use bgp::rib::FibUpdate;
use fib::{
    FibError, FibFuture, KernelRoute, NetlinkFib, NetlinkFibConfig, NexthopObjects, Notification,
    RouteMonitor,
};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::settings::KernelSettings;
use super::task::{Kernel, KernelHandle, KernelRoutes, spawn};

/// Route events buffered between the monitor and the synchronizer.
pub const EVENT_QUEUE: usize = 65_536;

impl KernelRoutes for NetlinkFib {
    fn kernel_routes(&self) -> FibFuture<'_, Result<Vec<KernelRoute>, FibError>> {
        Box::pin(self.snapshot(None))
    }
}

/// Opens the netlink FIB `settings` ask for: with kernel nexthop objects
/// when `nexthop_objects` is on and the kernel accepts them (one probe
/// object created and deleted), otherwise plain routes. A kernel that
/// refuses objects (before Linux 5.3: `EOPNOTSUPP`) costs one warning, never
/// the daemon.
pub async fn open_fib(settings: &KernelSettings) -> std::io::Result<NetlinkFib> {
    let config = NetlinkFibConfig {
        table: settings.ownership.table,
        protocol: settings.ownership.protocol,
        metric: settings.ownership.metric,
    };
    if !settings.nexthop_objects {
        return NetlinkFib::new(config);
    }
    let fib = NetlinkFib::with_nexthop_objects(config, NexthopObjects::default())?;
    match fib.probe_nexthop_objects().await {
        Ok(()) => {
            info!("routes forward through kernel nexthop objects");
            Ok(fib)
        }
        Err(errno) => {
            warn!(
                error = %std::io::Error::from_raw_os_error(errno),
                "the kernel refuses nexthop objects; installing plain routes ([fib] nexthop_objects)"
            );
            NetlinkFib::new(config)
        }
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
    let (monitor, events_exclude_ours) = match fib.watch_others() {
        Ok(monitor) => (monitor, true),
        Err(error) => {
            warn!(%error, "cannot keep our own route changes off the route monitor; matching their echoes instead");
            (fib.watch()?, false)
        }
    };
    let events = forward_events(monitor, EVENT_QUEUE);
    let fib = Arc::new(fib);
    let kernel = Kernel {
        fib: Arc::clone(&fib) as Arc<dyn fib::Fib>,
        routes: Some(fib as Arc<dyn KernelRoutes>),
        events: Some(events),
        events_exclude_ours,
    };
    Ok(spawn(kernel, settings, updates))
}
