//! Counting what a receiving peer has been told.
//!
//! Every decoded UPDATE goes through [`PrefixCounter::record`]: announced
//! prefixes (classic NLRI and MP_REACH_NLRI, RFC 4760 §3) enter a per-family
//! set, withdrawn ones (classic field and MP_UNREACH_NLRI, RFC 4760 §4) leave
//! it, and End-of-RIB markers (RFC 4724 §2) are noted. A prefix announced
//! twice counts once, so a daemon that repeats itself cannot finish early.
//! The sets are only ever asked for their size, never iterated, so they
//! hash with the RIB's small multiplicative hasher instead of SipHash and
//! can be sized up front ([`PrefixCounter::reserve`]): counting a full
//! table must cost the sink far less than it costs the daemon under test,
//! or the calibration run measures the sink.

use std::collections::BTreeSet;

use bgp::rib::fast_hash::FastSet;
use bgp::wire::{Family, Update};
use ipnetwork::IpNetwork;

/// The routes one session currently holds, by family.
#[derive(Debug, Default)]
pub struct PrefixCounter {
    ipv4: FastSet<IpNetwork>,
    ipv6: FastSet<IpNetwork>,
    /// Prefixes this session announced itself; never counted when reflected back.
    ignored: FastSet<IpNetwork>,
    /// Announcements seen, repeats included.
    pub announcements: u64,
    /// Withdrawals seen.
    pub withdrawals: u64,
    /// Families (4 or 6) whose End-of-RIB arrived.
    pub end_of_rib: BTreeSet<u8>,
}

impl PrefixCounter {
    /// A counter that disregards `ignored` (a client's own routes).
    pub fn ignoring(ignored: impl IntoIterator<Item = IpNetwork>) -> PrefixCounter {
        PrefixCounter {
            ignored: ignored.into_iter().collect(),
            ..PrefixCounter::default()
        }
    }

    /// Makes room for the prefixes expected, so that a full table is not
    /// rehashed a dozen times while it is counted.
    pub fn reserve(&mut self, ipv4: usize, ipv6: usize) {
        self.ipv4.reserve(ipv4);
        self.ipv6.reserve(ipv6);
    }

    /// Applies one UPDATE.
    pub fn record(&mut self, update: &Update) {
        if let Some(family) = update.is_end_of_rib() {
            self.end_of_rib.insert(family_number(family));
            return;
        }
        for (_, nlri) in update.withdrawals() {
            self.withdrawals += 1;
            match nlri.prefix {
                IpNetwork::V4(_) => self.ipv4.remove(&nlri.prefix),
                IpNetwork::V6(_) => self.ipv6.remove(&nlri.prefix),
            };
        }
        // RFC 7606 §2: an UPDATE to be treated as withdraw announces nothing.
        let withdrawn = update.treat_as_withdraw.is_some();
        for (_, nlri) in update.announced() {
            if withdrawn {
                self.withdrawals += 1;
                match nlri.prefix {
                    IpNetwork::V4(_) => self.ipv4.remove(&nlri.prefix),
                    IpNetwork::V6(_) => self.ipv6.remove(&nlri.prefix),
                };
                continue;
            }
            self.announcements += 1;
            if self.ignored.contains(&nlri.prefix) {
                continue;
            }
            match nlri.prefix {
                IpNetwork::V4(_) => self.ipv4.insert(nlri.prefix),
                IpNetwork::V6(_) => self.ipv6.insert(nlri.prefix),
            };
        }
    }

    /// Distinct IPv4 prefixes held.
    pub fn ipv4_announced(&self) -> usize {
        self.ipv4.len()
    }

    /// Distinct IPv6 prefixes held.
    pub fn ipv6_announced(&self) -> usize {
        self.ipv6.len()
    }

    /// Whether `prefix` is held now.
    pub fn holds(&self, prefix: &IpNetwork) -> bool {
        match prefix {
            IpNetwork::V4(_) => self.ipv4.contains(prefix),
            IpNetwork::V6(_) => self.ipv6.contains(prefix),
        }
    }

    /// Whether at least the expected number of prefixes of each family is held.
    pub fn reached(&self, ipv4_expected: usize, ipv6_expected: usize) -> bool {
        self.ipv4.len() >= ipv4_expected && self.ipv6.len() >= ipv6_expected
    }
}

fn family_number(family: Family) -> u8 {
    if family == Family::IPV6_UNICAST { 6 } else { 4 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::{MpUnreach, Nlri};

    fn nlri(text: &str) -> Nlri {
        Nlri::new(text.parse().unwrap())
    }

    #[test]
    fn repeats_count_once_and_withdrawals_remove() {
        let mut counter = PrefixCounter::ignoring([nlri("100.64.0.0/26").prefix]);
        let update = Update {
            nlri: vec![
                nlri("32.0.0.0/24"),
                nlri("32.0.0.0/24"),
                nlri("100.64.0.0/26"),
            ],
            ..Update::default()
        };
        counter.record(&update);
        assert_eq!(counter.ipv4_announced(), 1);
        assert_eq!(counter.announcements, 3);
        counter.record(&Update {
            withdrawn: vec![nlri("32.0.0.0/24")],
            ..Update::default()
        });
        assert_eq!(counter.ipv4_announced(), 0);
        assert!(!counter.reached(1, 0));
        counter.record(&Update {
            mp_unreach: Some(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: Vec::new(),
            }),
            ..Update::default()
        });
        assert_eq!(counter.end_of_rib, BTreeSet::from([6]));
    }
}
