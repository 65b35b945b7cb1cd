//! Room for every socket the daemon will hold, made before any thread
//! starts.
//!
//! Linux grows a process's descriptor table when a new descriptor does not
//! fit (64, 128, 256, … entries), and when the table is shared by several
//! threads the growth waits for an RCU grace period (`expand_fdtable` calls
//! `synchronize_rcu`), 10 to 25 ms on the machines here, inside whatever
//! call needed the descriptor. For podroute that call is an `accept` on a
//! runtime worker: fifty clients that flap at once are accepted back while
//! their old sockets are still open, the table outgrows 128 entries, and
//! the worker, with the owner task queued behind it, stood still for 20 ms
//! before the first withdrawal left (scenario 4 of `bench/`, traced with
//! `perf record -e sched:sched_switch -g`). Single-threaded daemons such as
//! BIRD never pay it. Grown once here, while the process has one thread,
//! the table costs no wait and, at 8 bytes an entry, 8 to 32 KiB of kernel
//! memory; the kernel never shrinks it.
//!
//! The soft limit on open files is raised to the hard limit as well, as
//! the Go runtime and systemd services with `LimitNOFILE` do: a soft limit
//! of 1024 would refuse the thousand-and-first session.

use config::Config;

/// Descriptors kept whatever the neighbors: listeners, netlink sockets, the
/// runtime's epoll and event descriptors, API and metrics connections.
const BASE: u64 = 64;
/// The table is never grown to fewer entries than this.
const AT_LEAST: u64 = 1024;
/// Sessions counted for a listen range without `max_neighbors`.
const UNBOUNDED_RANGE: u64 = 1024;

/// What [`reserve`] did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// Entries the descriptor table now has room for (0: it could not be grown).
    pub table: u64,
    /// The soft limit on open files now in force.
    pub limit: u64,
}

/// Descriptor table entries for `config`: two sockets per possible session
/// (a neighbor's new connection is accepted before its old one is closed),
/// plus [`BASE`], rounded up to a power of two, the size the kernel would
/// grow to anyway.
pub fn wanted(config: &Config) -> u64 {
    let configured = config.neighbors.len() as u64;
    let dynamic: u64 = config
        .listen_ranges
        .iter()
        .map(|range| range.max_neighbors.map_or(UNBOUNDED_RANGE, u64::from))
        .sum();
    configured
        .saturating_add(dynamic)
        .saturating_mul(2)
        .saturating_add(BASE)
        .max(AT_LEAST)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
}

/// Raises the soft limit on open files to the hard one and grows the
/// descriptor table to [`wanted`] entries (or the limit, if lower). Call
/// before any thread starts.
#[cfg(target_os = "linux")]
pub fn reserve(config: &Config) -> Reserved {
    use std::os::fd::AsRawFd;

    let limit = raise_soft_limit();
    let entries = wanted(config).min(limit);
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return Reserved { table: 0, limit };
    };
    let Ok(highest) = libc::c_int::try_from(entries.saturating_sub(1)) else {
        return Reserved { table: 0, limit };
    };
    // SAFETY: F_DUPFD only creates a new descriptor (the lowest free one
    // at or above `highest`) for an open file this function owns; it is
    // closed again at once, and no other thread exists to see it.
    #[allow(unsafe_code)]
    let duplicate = unsafe { libc::fcntl(null.as_raw_fd(), libc::F_DUPFD, highest) };
    if duplicate < 0 {
        return Reserved { table: 0, limit };
    }
    // SAFETY: `duplicate` was just created above and nothing else holds it.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(duplicate);
    }
    Reserved {
        table: entries,
        limit,
    }
}

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft
/// limit in force afterwards.
#[cfg(target_os = "linux")]
fn raise_soft_limit() -> u64 {
    let mut limits = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    #[allow(unsafe_code)]
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limits) } != 0 {
        return AT_LEAST;
    }
    if limits.rlim_cur < limits.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limits.rlim_max,
            rlim_max: limits.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct; raising the soft limit
        // up to the hard one needs no privilege.
        #[allow(unsafe_code)]
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    limits.rlim_cur
}

/// Nothing to do outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn reserve(_config: &Config) -> Reserved {
    Reserved { table: 0, limit: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        match Config::from_str(text, "test.toml") {
            Ok(config) => config,
            Err(errors) => panic!("{errors:?}"),
        }
    }

    #[test]
    fn a_small_configuration_gets_the_floor() {
        let small = config("[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n");
        assert_eq!(wanted(&small), 1024);
    }

    #[test]
    fn every_session_counts_twice_and_the_size_is_a_power_of_two() {
        let mut text = String::from("[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n");
        for index in 0..600 {
            text.push_str(&format!(
                "\n[[neighbor]]\naddress = \"198.18.{}.{}\"\nasn = 64512\n",
                1 + index / 200,
                1 + index % 200
            ));
        }
        text.push_str(
            "\n[[listen_range]]\nprefix = \"198.19.0.0/24\"\nasn = 64512\nmax_neighbors = 100\n",
        );
        // (600 + 100) × 2 + 64 = 1464, rounded up.
        assert_eq!(wanted(&config(&text)), 2048);
        text.push_str("\n[[listen_range]]\nprefix = \"198.19.1.0/24\"\nasn = 64512\n");
        // (600 + 100 + 1024) × 2 + 64 = 3512, rounded up.
        assert_eq!(wanted(&config(&text)), 4096);
    }

    #[test]
    fn the_table_is_grown_within_the_limit() {
        let small = config("[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n");
        let reserved = reserve(&small);
        assert!(reserved.limit > 0);
        assert_eq!(reserved.table, 1024.min(reserved.limit));
        // The kernel reports the table's size, which it never shrinks.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let size: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("FDSize:"))
            .and_then(|size| size.trim().parse().ok())
            .unwrap_or(0);
        assert!(
            size >= reserved.table,
            "FDSize {size}, reserved {reserved:?}"
        );
        let mut limits = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        #[allow(unsafe_code)]
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limits) };
        assert_eq!(read, 0);
        assert_eq!(limits.rlim_cur, limits.rlim_max, "the soft limit is raised");
    }
}
