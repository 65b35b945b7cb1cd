//! Hands back the pages of code that only runs while the daemon starts.
//!
//! Parsing the command line and the configuration, validating it, building
//! the runtime, the HTTP routers and the first netlink dumps run once, and
//! in the static build (`scripts/build-static`) that code is laid out in a
//! tier of its own, between two marker functions, by
//! `packaging/daemon.order` (see `scripts/symbol-order`). Once the daemon
//! is up, [`release`] tells the kernel the process no longer needs those
//! pages (`madvise(MADV_DONTNEED)`): they leave its resident set, as a
//! kernel frees its `__init` sections after boot. The pages are clean and
//! file-backed, so nothing is lost: should any of that code run again (a
//! reload parses the configuration again) the page faults back in from the
//! executable, and [`release`] runs again after a reload.
//!
//! The markers and the release are compiled only with `--cfg
//! podroute_code_tiers`, which `scripts/build-static` passes together with
//! the ordering file; elsewhere the markers would lie wherever the linker
//! put them and the range between them would mean nothing.

use std::time::Duration;

/// First function of the start-up tier (named in `packaging/daemon.order`;
/// never called, only its address is taken).
#[cfg(podroute_code_tiers)]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn podroute_startup_code_begin() -> u32 {
    std::hint::black_box(0x5354_4152)
}

/// Last function of the start-up tier (its body differs from the first's so
/// that no optimisation folds the two into one address).
#[cfg(podroute_code_tiers)]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn podroute_startup_code_end() -> u32 {
    std::hint::black_box(0x454e_4421)
}

/// How long after the start the start-up code is released by default: its
/// last users, tasks spawned at the start (the speaker's listeners, the
/// API's and metrics' routers), finish within milliseconds.
const SETTLE: Duration = Duration::from_secs(1);

/// Environment variable that sets the delay in milliseconds instead.
/// `scripts/symbol-order` sets it so that, under valgrind, the release
/// comes after the moment it records as the end of the start: the code
/// that carries out the release (and runs again after every reload) then
/// counts as the idle daemon's, not as start-up code it would release and
/// at once fault back in.
pub const SETTLE_VARIABLE: &str = "PODROUTE_STARTUP_RELEASE_DELAY_MS";

/// The delay before [`release`] at start: [`SETTLE_VARIABLE`] when it holds
/// a number of milliseconds, else one second.
pub fn settle() -> Duration {
    settle_from(std::env::var(SETTLE_VARIABLE).ok().as_deref())
}

fn settle_from(value: Option<&str>) -> Duration {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map_or(SETTLE, Duration::from_millis)
}

/// Bytes of one page, the unit `madvise` works in.
#[cfg_attr(not(podroute_code_tiers), allow(dead_code))]
const PAGE: usize = 4096;

/// The whole pages inside `begin..end`: the first page boundary at or after
/// `begin` and the last at or before `end`; `None` when no whole page lies
/// between them (or the markers are out of order).
#[cfg_attr(not(podroute_code_tiers), allow(dead_code))]
pub fn whole_pages(begin: usize, end: usize) -> Option<(usize, usize)> {
    let first = begin.checked_add(PAGE - 1)? / PAGE * PAGE;
    let last = end / PAGE * PAGE;
    let length = last.checked_sub(first).filter(|length| *length > 0)?;
    Some((first, length))
}

/// Releases the start-up tier's pages from the process's resident set;
/// returns how many bytes it asked the kernel to drop (0 in a build without
/// the tier, or when the kernel refused).
pub fn release() -> usize {
    #[cfg(podroute_code_tiers)]
    {
        let begin = podroute_startup_code_begin as *const () as usize;
        let end = podroute_startup_code_end as *const () as usize;
        let Some((start, length)) = whole_pages(begin, end) else {
            return 0;
        };
        // SAFETY: the range is whole pages of this executable's own text
        // mapping (between two of its functions), private and file-backed,
        // never written: MADV_DONTNEED only drops the page-table entries,
        // and the next execution of any of it faults the same bytes back
        // in from the file. No Rust object lives there.
        #[allow(unsafe_code)]
        let outcome =
            unsafe { libc::madvise(start as *mut libc::c_void, length, libc::MADV_DONTNEED) };
        if outcome == 0 { length } else { 0 }
    }
    #[cfg(not(podroute_code_tiers))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_waits_a_second_unless_told_otherwise() {
        assert_eq!(settle_from(None), Duration::from_secs(1));
        assert_eq!(settle_from(Some("8000")), Duration::from_secs(8));
        assert_eq!(settle_from(Some(" 250 ")), Duration::from_millis(250));
        assert_eq!(settle_from(Some("soon")), Duration::from_secs(1));
    }

    #[test]
    fn only_whole_pages_between_the_markers_are_released() {
        assert_eq!(whole_pages(0x1000, 0x5000), Some((0x1000, 0x4000)));
        assert_eq!(whole_pages(0x1001, 0x5fff), Some((0x2000, 0x3000)));
        assert_eq!(whole_pages(0x1001, 0x2fff), None);
        assert_eq!(whole_pages(0x5000, 0x1000), None);
        assert_eq!(whole_pages(usize::MAX - 10, usize::MAX), None);
    }

    #[test]
    fn a_build_without_the_tier_releases_nothing_and_one_with_it_keeps_running() {
        let released = release();
        if cfg!(podroute_code_tiers) {
            // The code of this very test may have been in the range: it
            // must fault back in and go on.
            assert_eq!(released % PAGE, 0);
        } else {
            assert_eq!(released, 0);
        }
        assert_eq!(whole_pages(0, PAGE), Some((0, PAGE)));
    }
}
