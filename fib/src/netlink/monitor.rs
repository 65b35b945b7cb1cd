//! Route events from the kernel, without polling.
//!
//! A [`RouteMonitor`] joins the rtnetlink multicast groups for IPv4 and IPv6
//! routes (`RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV6_ROUTE`) on its own rtnetlink
//! connection. Every route change anyone makes in the namespace arrives as a
//! `RTM_NEWROUTE` / `RTM_DELROUTE` notification, is decoded into a
//! [`KernelRoute`] and handed out as a [`RouteEvent`]; if the kernel had to
//! drop notifications, [`Notification::EventsLost`] says so. The daemon uses them
//! to put back our routes that someone else deleted or changed (drift) and
//! to import kernel routes that match `[[import_kernel]]` filters.

use std::io;
use std::os::fd::AsRawFd;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use netlink_packet_core::{NLM_F_REPLACE, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteAttribute;
use netlink_sys::{AsyncSocket, SocketAddr};
use rtnetlink::constants::{RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::kernel_route::KernelRoute;
use crate::netlink::decode::kernel_route;
use crate::netlink::echo_filter;

/// What happened to a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteEventKind {
    /// A new route (`RTM_NEWROUTE`).
    Added,
    /// A route replaced in place (`RTM_NEWROUTE` with `NLM_F_REPLACE`).
    Changed,
    /// A route removed (`RTM_DELROUTE`).
    Deleted,
}

/// What a [`RouteMonitor`] yields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notification {
    /// A route changed.
    Route(RouteEvent),
    /// The kernel dropped notifications because the socket's receive buffer
    /// was full (`ENOBUFS`). Events were missed: resynchronise with a full
    /// listing ([`crate::Fib::list_owned`], [`crate::NetlinkFib::snapshot`]).
    EventsLost,
}

/// One route notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEvent {
    /// Added, changed or deleted.
    pub kind: RouteEventKind,
    /// The route as the kernel describes it (protocol and table included).
    pub route: KernelRoute,
    /// `RTA_NH_ID`: the nexthop object the route forwards through, if any.
    /// With `net.ipv4.nexthop_compat_mode = 1` (the default) the kernel
    /// also expands the object into `route.next_hops`; with 0 it does not,
    /// and `route.next_hops` is empty for an object route.
    pub nexthop_id: Option<u32>,
}

/// Receive buffer asked for by [`RouteMonitor::open`].
pub const RECEIVE_BUFFER_BYTES: usize = 4 << 20;

type Notifications = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// A subscription to route events (see the module documentation).
#[derive(Debug)]
pub struct RouteMonitor {
    notifications: Notifications,
    connection: JoinHandle<()>,
}

impl RouteMonitor {
    /// Subscribes in the calling thread's network namespace. Must run inside
    /// a tokio runtime: the rtnetlink connection is spawned as a task.
    pub fn open() -> io::Result<RouteMonitor> {
        Self::open_with_receive_buffer(RECEIVE_BUFFER_BYTES)
    }

    /// As [`RouteMonitor::open`], asking for a receive buffer of `bytes`
    /// (capped by `net.core.rmem_max`). A bigger buffer rides out bursts,
    /// such as a peer withdrawing a full table, without losing events.
    pub fn open_with_receive_buffer(bytes: usize) -> io::Result<RouteMonitor> {
        Self::open_filtered(bytes, None)
    }

    /// As [`RouteMonitor::open`], except that the kernel never queues the
    /// notifications caused by requests from the netlink socket whose port
    /// id is `port` ([`super::echo_filter`]): a FIB's own changes stay off
    /// its monitor, and every event received is someone else's. Fails if
    /// the kernel refuses the filter.
    pub fn open_excluding(port: u32) -> io::Result<RouteMonitor> {
        Self::open_filtered(RECEIVE_BUFFER_BYTES, Some(port))
    }

    fn open_filtered(bytes: usize, exclude: Option<u32>) -> io::Result<RouteMonitor> {
        let (mut connection, _handle, notifications) = rtnetlink::new_connection()?;
        let socket = connection.socket_mut().socket_mut();
        socket.set_rx_buf_sz(bytes)?;
        if let Some(port) = exclude {
            // Attached before joining the groups, so no echo slips in.
            echo_filter::drop_echoes_of(socket.as_raw_fd(), port)?;
        }
        socket.bind(&SocketAddr::new(0, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE))?;
        let connection = tokio::spawn(connection);
        Ok(RouteMonitor {
            notifications,
            connection,
        })
    }

    /// The next notification; `None` once the connection has ended (the
    /// caller should then re-open and resynchronise with a full listing,
    /// since events may have been missed).
    pub async fn next(&mut self) -> Option<Notification> {
        while let Some((message, _)) = self.notifications.next().await {
            let replaced = message.header.flags & NLM_F_REPLACE != 0;
            let (kind, body) = match message.payload {
                NetlinkPayload::Overrun(_) => return Some(Notification::EventsLost),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(body)) => (
                    if replaced {
                        RouteEventKind::Changed
                    } else {
                        RouteEventKind::Added
                    },
                    body,
                ),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(body)) => {
                    (RouteEventKind::Deleted, body)
                }
                _ => continue,
            };
            let nexthop_id = body
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    RouteAttribute::NhId(id) => Some(*id),
                    _ => None,
                });
            if let Some(route) = kernel_route(&body) {
                return Some(Notification::Route(RouteEvent {
                    kind,
                    route,
                    nexthop_id,
                }));
            }
        }
        None
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        self.connection.abort();
    }
}
