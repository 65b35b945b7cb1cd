//! Typed router-wide sections: `[router]`, `[fib]`, `[graceful_restart]`,
//! `[[originate]]`, `[[import_kernel]]`, `[logging]` and `[api]`.
//!
//! Data flow: filled in by `validate::router` with defaults applied; read by
//! the daemon at start and compared by [`crate::Config::diff`] on reload.

use super::policy::PrefixFilter;
use ipnetwork::IpNetwork;
use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// `[router]`: this speaker's identity and decision-process options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// Local AS number (RFC 6793 four-octet; never 0 or AS_TRANS 23456).
    pub asn: u32,
    /// BGP Identifier (RFC 4271 §4.2, RFC 6286): non-zero IPv4 address.
    pub router_id: Ipv4Addr,
    /// Addresses to accept BGP connections on; empty means outbound only.
    pub listen: Vec<SocketAddr>,
    /// Route-reflection cluster id (RFC 4456 §7); `None` means the router id.
    pub cluster_id: Option<Ipv4Addr>,
    /// Host name announced in the FQDN capability; `None` sends none.
    pub hostname: Option<String>,
    /// Most equal-cost paths installed per prefix (ECMP); 1 disables multipath.
    pub max_paths: u16,
    /// Multipath across paths whose AS_PATHs differ but have equal length.
    pub relax_as_path: bool,
    /// Compare MED between paths from different neighbor ASes (RFC 4271 §9.1.2.2 c, relaxed).
    pub always_compare_med: bool,
    /// How long outbound changes are coalesced before UPDATEs are built.
    pub update_delay: Duration,
}

/// `[fib]`: programming learned routes into the Linux kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fib {
    /// Install learned routes at all.
    pub enabled: bool,
    /// Kernel routing table (254 = main). Never 0 (unspec) or 255 (local).
    pub table: u32,
    /// `rtm_protocol` stamped on, and owning, our routes (never 0..=4, the kernel's own).
    pub protocol: u8,
    /// Leave installed routes in place when the daemon stops (defaults to
    /// graceful restart being enabled, so forwarding survives a restart).
    pub keep_on_shutdown: bool,
    /// Extra wait after End-of-RIB / restart timer before stale routes are swept.
    pub sweep_delay: Duration,
    /// Forward through kernel nexthop objects (Linux 5.3+): one object per
    /// gateway and one group per ECMP set, so a gateway's failure is one
    /// group replacement instead of one route replacement per prefix. The
    /// daemon falls back to plain routes when the kernel refuses objects.
    pub nexthop_objects: bool,
}

/// `[graceful_restart]`: RFC 4724, with RFC 8538 and RFC 9494 extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Advertise the Graceful Restart capability (RFC 4724 §3).
    pub enabled: bool,
    /// Restart Time announced to peers, 1..=4095 s (RFC 4724 §3, 12 bits).
    pub restart_time: Duration,
    /// How long a restarting peer's routes are kept stale before removal (RFC 4724 §4.2).
    pub stale_time: Duration,
    /// Longest wait for End-of-RIB before running best-path selection (RFC 4724 §4.1).
    pub selection_deferral_time: Duration,
    /// Set the N bit: graceful restart also on NOTIFICATION (RFC 8538 §2).
    pub notification: bool,
    /// Long-lived stale time (RFC 9494, 24 bits); `None` disables LLGR.
    pub long_lived_stale_time: Option<Duration>,
}

/// `[[originate]]`: a prefix this host announces (its pod CIDR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originate {
    /// The announced prefix (no host bits set).
    pub prefix: IpNetwork,
    /// Also install a local blackhole route so traffic to unused pod
    /// addresses is dropped here instead of looping back to the fabric.
    pub blackhole: bool,
}

/// A kernel route protocol number (`rtm_protocol`), shown by name where Linux names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelProtocol(pub u8);

/// Names from Linux `include/uapi/linux/rtnetlink.h` and `/etc/iproute2/rt_protos`.
const KERNEL_PROTOCOL_NAMES: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("mrouted", 17),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

impl KernelProtocol {
    /// Looks a protocol up by its iproute2 name (`"kernel"`, `"static"`, ...).
    pub fn from_name(name: &str) -> Option<KernelProtocol> {
        KERNEL_PROTOCOL_NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, number)| KernelProtocol(*number))
    }

    /// The iproute2 name of this protocol, if it has one.
    pub fn name(self) -> Option<&'static str> {
        KERNEL_PROTOCOL_NAMES
            .iter()
            .find(|(_, number)| *number == self.0)
            .map(|(name, _)| *name)
    }
}

impl fmt::Display for KernelProtocol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => formatter.write_str(name),
            None => write!(formatter, "{}", self.0),
        }
    }
}

/// `[[import_kernel]]`: redistribute matching kernel routes into BGP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportKernel {
    /// Which prefixes qualify; a route matching any entry is imported.
    pub prefixes: Vec<PrefixFilter>,
    /// Which `rtm_protocol` values qualify; empty means any protocol except
    /// podroute's own (`[fib] protocol`), which is never re-imported.
    pub protocols: BTreeSet<KernelProtocol>,
    /// Kernel table to read (default 254, main).
    pub table: u32,
}

/// `[logging] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    /// A tracing filter: a level (`error`, `warn`, `info`, `debug`, `trace`,
    /// `off`) or comma-separated `target=level` directives.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// `[api]`: the control socket and the metrics listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Unix socket path (absolute) the CLI talks to.
    pub socket: PathBuf,
    /// Permission bits of the socket, e.g. `0o660`.
    pub socket_mode: u32,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; `None` disables them.
    pub metrics: Option<SocketAddr>,
}
