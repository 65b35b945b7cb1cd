//! The kernel roles of scenario 2 (ingest into the kernel), run inside a
//! DUT's or a fresh container's network namespace:
//!
//! - `kernel-watch` opens a netlink route socket subscribed to the IPv4 and
//!   IPv6 route multicast groups before the stream starts, keeps the set of
//!   ingest-shaped routes (IPv4 /24, IPv6 /48, main table, unicast, not the
//!   kernel's own) from `RTM_NEWROUTE`/`RTM_DELROUTE` notifications, and
//!   timestamps the moment it holds all N; a full dump then confirms the
//!   count. If the kernel ever drops notifications (`ENOBUFS`), it falls back
//!   to dumping once a second and says so.
//! - `kernel-ceiling` installs the same N routes itself, by batched netlink
//!   (`fib::NetlinkFib::apply`, many requests per `sendmsg`) or by
//!   `ip -batch`, and times it: the most the kernel allows on this machine.
//!
//! Netlink framing (`nlmsghdr`, `rtmsg`, `rtattr`, rtnetlink(7)) is read
//! here directly: the watcher needs five fields of each message and must
//! keep up with the kernel inserting hundreds of thousands of routes a second.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result, io_context};
use crate::roles::{now_nanoseconds, role_event};
use crate::tables;

/// rtnetlink multicast groups (rtnetlink(7)): IPv4 and IPv6 routes.
pub const RTMGRP_IPV4_ROUTE: u32 = 0x40;
/// IPv6 routes group.
pub const RTMGRP_IPV6_ROUTE: u32 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const RTA_DST: u16 = 1;
const RTA_TABLE: u16 = 15;
/// Address families of `rtmsg`.
pub const AF_INET: u8 = 2;
/// IPv6.
pub const AF_INET6: u8 = 10;
const RT_TABLE_MAIN: u32 = 254;
const RTN_UNICAST: u8 = 1;
const RTPROT_KERNEL: u8 = 2;
const HEADER_LENGTH: usize = 16;
const RTMSG_LENGTH: usize = 12;
/// Receive buffer forced past `rmem_max` (needs CAP_NET_ADMIN): the kernel
/// may queue a whole table's notifications while the watcher waits for CPU.
pub const RECEIVE_BUFFER_BYTES: usize = 1 << 30;

/// One route the watcher counts: family, destination, prefix length.
pub type RouteKey = (u8, u128, u8);

/// A route notification or dump entry, reduced to what the watcher needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMessage {
    /// Added (or replaced) rather than deleted.
    pub added: bool,
    /// The route, if it is one of the ingest's shape.
    pub key: Option<RouteKey>,
}

/// Whether a netlink buffer ended a dump.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BufferEnd {
    /// `NLMSG_DONE` or `NLMSG_ERROR` was seen.
    pub done: bool,
}

/// Walks every netlink message in `buffer`, calling `each` for route
/// messages; stops at a malformed length rather than reading past it.
pub fn parse_buffer(buffer: &[u8], mut each: impl FnMut(RouteMessage)) -> BufferEnd {
    let mut end = BufferEnd::default();
    let mut rest = buffer;
    while rest.len() >= HEADER_LENGTH {
        let length = usize::try_from(read_u32(rest, 0)).unwrap_or(0);
        if length < HEADER_LENGTH || length > rest.len() {
            break;
        }
        let kind = read_u16(rest, 4);
        let payload = rest.get(HEADER_LENGTH..length).unwrap_or(&[]);
        match kind {
            NLMSG_DONE | NLMSG_ERROR => end.done = true,
            RTM_NEWROUTE | RTM_DELROUTE => each(RouteMessage {
                added: kind == RTM_NEWROUTE,
                key: route_key(payload),
            }),
            _ => {}
        }
        let aligned = (length + 3) & !3;
        rest = rest.get(aligned..).unwrap_or(&[]);
    }
    end
}

/// Whether a route has the ingest's shape: IPv4 /24 or IPv6 /48.
pub fn ingest_shape(key: &RouteKey) -> bool {
    matches!((key.0, key.2), (AF_INET, 24) | (AF_INET6, 48))
}

/// The key of a unicast route of the main table not installed by the
/// kernel itself (connected and local routes are the kernel's).
fn route_key(payload: &[u8]) -> Option<RouteKey> {
    let header = payload.get(..RTMSG_LENGTH)?;
    let (family, length) = (*header.first()?, *header.get(1)?);
    let (mut table, protocol, kind) =
        (u32::from(*header.get(4)?), *header.get(5)?, *header.get(7)?);
    if kind != RTN_UNICAST || protocol == RTPROT_KERNEL {
        return None;
    }
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let mut destination = None;
    let mut rest = payload.get(RTMSG_LENGTH..)?;
    while rest.len() >= 4 {
        let attribute_length = usize::from(read_u16(rest, 0));
        if attribute_length < 4 || attribute_length > rest.len() {
            break;
        }
        let data = rest.get(4..attribute_length)?;
        match read_u16(rest, 2) {
            RTA_DST => destination = Some(address_bits(data)?),
            RTA_TABLE if data.len() >= 4 => table = read_u32(data, 0),
            _ => {}
        }
        rest = rest.get(((attribute_length + 3) & !3).min(rest.len())..)?;
    }
    (table == RT_TABLE_MAIN).then_some((family, destination?, length))
}

fn address_bits(data: &[u8]) -> Option<u128> {
    match data.len() {
        4 => Some(u128::from(u32::from_be_bytes(data.try_into().ok()?))),
        16 => Some(u128::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|slice| slice.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

pub fn netlink_socket(groups: u32) -> Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(|errno| nix_error("opening a netlink socket", errno))?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))
        .map_err(|errno| nix_error("binding the netlink socket", errno))?;
    Ok(fd)
}

/// A socket that receives every IPv4 and IPv6 route notification, with
/// a forced large receive buffer (so a full table's notifications are not
/// lost while the watcher decodes) and reads that give up after `timeout`.
pub fn route_monitor(timeout: nix::sys::time::TimeVal) -> Result<OwnedFd> {
    let fd = netlink_socket(RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE)?;
    setsockopt(&fd, sockopt::RcvBufForce, &RECEIVE_BUFFER_BYTES)
        .map_err(|errno| nix_error("forcing the netlink receive buffer", errno))?;
    setsockopt(&fd, sockopt::ReceiveTimeout, &timeout)
        .map_err(|errno| nix_error("setting a receive timeout", errno))?;
    Ok(fd)
}

pub fn nix_error(context: &str, errno: Errno) -> BenchError {
    BenchError::Io {
        context: context.into(),
        source: std::io::Error::from(errno),
    }
}

/// Counts the main table's routes of a shape with one dump.
pub fn dump_count(shape: fn(&RouteKey) -> bool) -> Result<usize> {
    let fd = netlink_socket(0)?;
    let mut request = Vec::with_capacity(HEADER_LENGTH + RTMSG_LENGTH);
    request.extend_from_slice(
        &u32::try_from(HEADER_LENGTH + RTMSG_LENGTH)
            .unwrap_or(0)
            .to_ne_bytes(),
    );
    request.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&[0u8; RTMSG_LENGTH]);
    send(fd.as_raw_fd(), &request, MsgFlags::empty())
        .map_err(|errno| nix_error("sending a route dump request", errno))?;
    let mut routes = HashSet::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = recv(fd.as_raw_fd(), &mut buffer, MsgFlags::empty())
            .map_err(|errno| nix_error("reading the route dump", errno))?;
        let end = parse_buffer(buffer.get(..read).unwrap_or(&[]), |message| {
            if let Some(key) = message.key.filter(shape) {
                routes.insert(key);
            }
        });
        if end.done || read == 0 {
            return Ok(routes.len());
        }
    }
}

/// Options of the `kernel-watch` role.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchOptions {
    /// IPv4 /24 routes that complete the run.
    #[arg(long)]
    pub ipv4: usize,
    /// IPv6 /48 routes that complete the run.
    #[arg(long)]
    pub ipv6: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

/// What the watcher reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct WatchResult {
    /// Whether the kernel held every route before the timeout.
    pub reached: bool,
    /// When it did (or when the watcher gave up), realtime ns.
    pub complete_ns: u64,
    /// When the first counted route appeared.
    pub first_route_ns: u64,
    /// Routes held by the notifications' count at that moment.
    pub held: usize,
    /// Routes a dump found right after.
    pub dumped: usize,
    /// Whether notifications were lost and dumps had to be used instead.
    pub overrun: bool,
}

/// Watches the namespace's routes until all are there (see the module docs).
pub fn watch(options: &WatchOptions) -> Result<()> {
    let want = options.ipv4 + options.ipv6;
    let fd = route_monitor(nix::sys::time::TimeVal::new(1, 0))?;
    exit_when_stdin_closes();
    role_event("ready");
    let deadline = Instant::now() + Duration::from_secs(options.timeout);
    let mut routes: HashSet<RouteKey> = HashSet::with_capacity(want);
    let mut first_route_ns = 0;
    let mut overrun = false;
    let mut buffer = vec![0u8; 1 << 20];
    let reached = loop {
        if routes.len() >= want {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        if overrun {
            std::thread::sleep(Duration::from_secs(1));
            let count = dump_count(ingest_shape)?;
            if count >= want {
                break true;
            }
            continue;
        }
        match recv(fd.as_raw_fd(), &mut buffer, MsgFlags::empty()) {
            Ok(read) => {
                parse_buffer(buffer.get(..read).unwrap_or(&[]), |message| {
                    let Some(key) = message.key.filter(ingest_shape) else {
                        return;
                    };
                    if first_route_ns == 0 {
                        first_route_ns = now_nanoseconds();
                    }
                    if message.added {
                        routes.insert(key);
                    } else {
                        routes.remove(&key);
                    }
                });
            }
            Err(Errno::ENOBUFS) => overrun = true,
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(errno) => return Err(nix_error("reading route notifications", errno)),
        }
    };
    let complete_ns = now_nanoseconds();
    let result = WatchResult {
        reached,
        complete_ns,
        first_route_ns,
        held: routes.len(),
        dumped: dump_count(ingest_shape)?,
        overrun,
    };
    print_json(&result)?;
    loop {
        std::thread::park();
    }
}

pub fn print_json(result: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(result)
        .map_err(|error| BenchError::Other(format!("serializing a result: {error}")))?;
    role_event(&text);
    Ok(())
}

/// End of stdin ends the process: how the harness stops a role.
fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
}

/// How the ceiling installs routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum CeilingMethod {
    /// `fib::NetlinkFib::apply`: batched requests, acknowledgements per chunk.
    Netlink,
    /// `ip -batch` of a file with one `route add` per line.
    IpBatch,
}

/// Options of the `kernel-ceiling` role.
#[derive(Debug, Clone, clap::Args)]
pub struct CeilingOptions {
    /// IPv4 /24 routes to install.
    #[arg(long)]
    pub ipv4: u32,
    /// IPv6 /48 routes to install.
    #[arg(long)]
    pub ipv6: u32,
    /// On-link IPv4 gateway.
    #[arg(long)]
    pub gateway4: Ipv4Addr,
    /// On-link IPv6 gateway.
    #[arg(long)]
    pub gateway6: Ipv6Addr,
    /// How to install them.
    #[arg(long, value_enum)]
    pub method: CeilingMethod,
}

/// What the ceiling reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct CeilingResult {
    /// How.
    pub method: CeilingMethod,
    /// Routes asked for.
    pub routes: usize,
    /// Routes the kernel refused.
    pub errors: usize,
    /// Wall time of the installation.
    pub seconds: f64,
    /// Routes a dump found afterwards.
    pub dumped: usize,
}

/// Installs the ingest's routes and times it (see the module docs).
pub fn ceiling(options: &CeilingOptions) -> Result<()> {
    let ipv4 = tables::ingest_ipv4(options.ipv4)?;
    let ipv6 = tables::ingest_ipv6(options.ipv6)?;
    let prefixes: Vec<(ipnetwork::IpNetwork, IpAddr)> = ipv4
        .iter()
        .map(|nlri| (nlri.prefix, IpAddr::V4(options.gateway4)))
        .chain(
            ipv6.iter()
                .map(|nlri| (nlri.prefix, IpAddr::V6(options.gateway6))),
        )
        .collect();
    drop((ipv4, ipv6));
    let (seconds, errors) = match options.method {
        CeilingMethod::Netlink => install_netlink(&prefixes)?,
        CeilingMethod::IpBatch => install_ip_batch(&prefixes)?,
    };
    print_json(&CeilingResult {
        method: options.method,
        routes: prefixes.len(),
        errors,
        seconds,
        dumped: dump_count(ingest_shape)?,
    })
}

fn install_netlink(prefixes: &[(ipnetwork::IpNetwork, IpAddr)]) -> Result<(f64, usize)> {
    let changes = prefixes
        .iter()
        .map(|(prefix, gateway)| {
            fib::Route::unicast(*prefix, vec![fib::NextHop::via(*gateway)])
                .map(fib::FibChange::Replace)
                .map_err(|error| BenchError::Other(format!("route {prefix}: {error}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_context("starting the tokio runtime"))?;
    runtime.block_on(async {
        use fib::Fib as _;
        let table = fib::NetlinkFib::new(fib::NetlinkFibConfig::default())
            .map_err(io_context("opening the netlink FIB"))?;
        let start = Instant::now();
        let results = table.apply(changes).await;
        let seconds = start.elapsed().as_secs_f64();
        Ok((
            seconds,
            results.iter().filter(|result| result.is_err()).count(),
        ))
    })
}

fn install_ip_batch(prefixes: &[(ipnetwork::IpNetwork, IpAddr)]) -> Result<(f64, usize)> {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(prefixes.len() * 48);
    for (prefix, gateway) in prefixes {
        let _ = writeln!(text, "route add {prefix} via {gateway} proto 201 metric 20");
    }
    let path = "/tmp/kernel-ceiling.batch";
    std::fs::write(path, text).map_err(io_context(format!("writing {path}")))?;
    let start = Instant::now();
    let status = std::process::Command::new("ip")
        .args(["-batch", path, "-force"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(io_context("running ip -batch"))?;
    let seconds = start.elapsed().as_secs_f64();
    Ok((seconds, usize::from(!status.success())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One netlink message: header, `rtmsg`, attributes.
    fn message(
        kind: u16,
        family: u8,
        length: u8,
        protocol: u8,
        attributes: &[(u16, &[u8])],
    ) -> Vec<u8> {
        let mut body = vec![
            family,
            length,
            0,
            0,
            254,
            protocol,
            0,
            RTN_UNICAST,
            0,
            0,
            0,
            0,
        ];
        for (attribute, data) in attributes {
            let total = u16::try_from(4 + data.len()).unwrap();
            body.extend_from_slice(&total.to_ne_bytes());
            body.extend_from_slice(&attribute.to_ne_bytes());
            body.extend_from_slice(data);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&u32::try_from(16 + body.len()).unwrap().to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&0u16.to_ne_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn ingest_routes_are_counted_and_others_ignored() {
        let mut buffer = message(RTM_NEWROUTE, AF_INET, 24, 201, &[(RTA_DST, &[32, 0, 1, 0])]);
        // The kernel's own connected route is not the daemon's.
        buffer.extend(message(
            RTM_NEWROUTE,
            AF_INET,
            24,
            RTPROT_KERNEL,
            &[(RTA_DST, &[198, 18, 7, 0])],
        ));
        // A /32 is not of the ingest's shape.
        buffer.extend(message(
            RTM_NEWROUTE,
            AF_INET,
            32,
            201,
            &[(RTA_DST, &[32, 0, 1, 1])],
        ));
        let mut v6 = [0u8; 16];
        v6[0] = 0x24;
        buffer.extend(message(
            RTM_DELROUTE,
            AF_INET6,
            48,
            12,
            &[(RTA_DST, &v6), (RTA_TABLE, &254u32.to_ne_bytes())],
        ));
        // Another table does not count.
        buffer.extend(message(
            RTM_NEWROUTE,
            AF_INET,
            24,
            201,
            &[
                (RTA_DST, &[32, 0, 2, 0]),
                (RTA_TABLE, &100u32.to_ne_bytes()),
            ],
        ));
        let mut seen = Vec::new();
        let end = parse_buffer(&buffer, |route| seen.push(route));
        assert!(!end.done);
        let keys: Vec<_> = seen
            .iter()
            .filter_map(|route| route.key.filter(ingest_shape).map(|key| (route.added, key)))
            .collect();
        assert_eq!(
            keys,
            vec![
                (true, (AF_INET, 0x2000_0100, 24)),
                (false, (AF_INET6, 0x24_u128 << 120, 48)),
            ]
        );
        let mut done = Vec::new();
        done.extend_from_slice(&16u32.to_ne_bytes());
        done.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        done.extend_from_slice(&[0; 10]);
        assert!(parse_buffer(&done, |_| {}).done);
        // A truncated length stops the walk instead of reading past the end.
        assert!(!parse_buffer(&buffer[..20], |_| {}).done);
    }
}
