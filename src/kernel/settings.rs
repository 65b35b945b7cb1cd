//! What the kernel synchronizer is told at start: which prefixes this host
//! originates, when to sweep routes left by a previous run, how to retry,
//! and which kernel routes are ours.
//!
//! Data flows one way: the daemon builds [`KernelSettings`] from its
//! [`config::Config`] with [`KernelSettings::from_config`] (or a test builds
//! one by hand) and hands it to [`super::spawn`]; nothing here changes at
//! run time except the originated prefixes (`KernelHandle::set_originated`).

use std::time::Duration;

use fib::NetlinkFibConfig;
use ipnetwork::IpNetwork;

/// A prefix this host announces itself (`[[originate]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Originated {
    /// The host's block, e.g. its pod CIDR.
    pub prefix: IpNetwork,
    /// Install a local blackhole for the block, so traffic to unassigned
    /// addresses inside it is dropped here instead of following the default
    /// route back to the fabric.
    pub blackhole: bool,
}

/// Exponential backoff for failed kernel operations, per prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Wait before the first retry.
    pub initial: Duration,
    /// Longest wait between two retries.
    pub cap: Duration,
}

impl Backoff {
    /// The wait before retry number `attempts` (1 = after the first
    /// failure): `initial * 2^(attempts-1)`, never more than `cap`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << exponent)
            .map_or(self.cap, |delay| delay.min(self.cap))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

/// Settings of the kernel synchronizer (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSettings {
    /// `[[originate]]` prefixes. A learned route for exactly one of these
    /// prefixes is never installed (the host itself is the destination); a
    /// more specific learned prefix inside one is installed as usual, since
    /// it is another host's announcement (for example a pod that moved).
    pub originated: Vec<Originated>,
    /// Extra wait after End-of-RIB (or `sweep_max_wait`) before owned
    /// routes that nobody re-learned are removed (`[fib] sweep_delay`).
    pub sweep_delay: Duration,
    /// Longest wait for End-of-RIB from every peer before the sweep starts
    /// anyway (RFC 4724 §4.1 Selection_Deferral_Timer).
    pub sweep_max_wait: Duration,
    /// `[fib] keep_on_shutdown`: what the daemon passes to
    /// `KernelHandle::shutdown` on a normal stop.
    pub keep_on_shutdown: bool,
    /// Retry schedule for failed operations and conflicts.
    pub retry: Backoff,
    /// Most changes handed to one `Fib::apply` call.
    pub batch_size: usize,
    /// The table, protocol and metric that mark a kernel route as ours;
    /// route events are filtered with it.
    pub ownership: NetlinkFibConfig,
    /// `[fib] nexthop_objects`: build the netlink FIB with kernel nexthop
    /// objects ([`super::netlink::open_fib`]); off in hand-built settings.
    pub nexthop_objects: bool,
}

impl Default for KernelSettings {
    fn default() -> Self {
        KernelSettings {
            originated: Vec::new(),
            sweep_delay: Duration::ZERO,
            sweep_max_wait: Duration::from_secs(360),
            keep_on_shutdown: false,
            retry: Backoff::default(),
            batch_size: 4096,
            ownership: NetlinkFibConfig::default(),
            nexthop_objects: false,
        }
    }
}

impl KernelSettings {
    /// Settings from the daemon's configuration: `[fib]` for ownership,
    /// sweep delay and shutdown, `[[originate]]` for our own prefixes, and
    /// `[graceful_restart] selection_deferral_time` as the longest wait for
    /// End-of-RIB before sweeping.
    pub fn from_config(config: &config::Config) -> KernelSettings {
        let defaults = KernelSettings::default();
        KernelSettings {
            originated: config
                .originate
                .iter()
                .map(|originate| Originated {
                    prefix: originate.prefix,
                    blackhole: originate.blackhole,
                })
                .collect(),
            sweep_delay: config.fib.sweep_delay,
            sweep_max_wait: config.graceful_restart.selection_deferral_time,
            keep_on_shutdown: config.fib.keep_on_shutdown,
            ownership: NetlinkFibConfig {
                table: config.fib.table,
                protocol: config.fib.protocol,
                metric: defaults.ownership.metric,
            },
            nexthop_objects: config.fib.nexthop_objects,
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff {
            initial: Duration::from_millis(500),
            cap: Duration::from_secs(5),
        };
        let delays: Vec<Duration> = (1..=6).map(|attempt| backoff.delay(attempt)).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 5000, 5000].map(Duration::from_millis)
        );
        // Huge attempt counts neither overflow nor panic.
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(5));
        assert_eq!(backoff.delay(0), Duration::from_millis(500));
    }

    #[test]
    fn settings_come_from_fib_originate_and_graceful_restart() {
        let text = r#"
            [router]
            asn = 64512
            router_id = "198.18.0.1"

            [fib]
            table = 100
            protocol = 77
            sweep_delay = 5

            [graceful_restart]
            enabled = true
            selection_deferral_time = 90

            [[originate]]
            prefix = "198.19.1.0/24"
            blackhole = true

            [[originate]]
            prefix = "2001:db8:1::/48"
        "#;
        let config = config::Config::from_str(text, "test.toml").unwrap();
        let settings = KernelSettings::from_config(&config);
        assert_eq!(
            settings.originated,
            vec![
                Originated {
                    prefix: "198.19.1.0/24".parse().unwrap(),
                    blackhole: true
                },
                Originated {
                    prefix: "2001:db8:1::/48".parse().unwrap(),
                    blackhole: false
                },
            ]
        );
        assert_eq!(settings.ownership.table, 100);
        assert_eq!(settings.ownership.protocol, 77);
        assert_eq!(settings.sweep_delay, Duration::from_secs(5));
        assert_eq!(settings.sweep_max_wait, Duration::from_secs(90));
        // Graceful restart on: routes stay when the daemon stops.
        assert!(settings.keep_on_shutdown);
        // Nexthop objects unless the file says otherwise.
        assert!(settings.nexthop_objects);
        let plain = config::Config::from_str(
            &text.replace(
                "sweep_delay = 5",
                "sweep_delay = 5\nnexthop_objects = false",
            ),
            "test.toml",
        )
        .unwrap();
        assert!(!KernelSettings::from_config(&plain).nexthop_objects);
    }
}
