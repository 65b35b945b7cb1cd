//! Hands back the pages of code that only runs while the daemon starts.
//!
//! Parsing the command line and the configuration, validating it, building
//! the runtime, the HTTP routers and the first netlink dumps run once, and
//! in the static build (`scripts/build-static`) that code is laid out in a
//! tier of its own, between two marker functions, by
//! `packaging/daemon.order` (see `scripts/symbol-order`). While the daemon
//! starts (once it has read its configuration, and again before its
//! speaker listens), once the tasks it started have had their first turn,
//! and a second later, [`release`] tells the kernel the
//! process no longer needs those pages (`madvise(MADV_DONTNEED)`): they
//! leave its resident set, as a
//! kernel frees its `__init` sections after boot. The pages are clean and
//! file-backed, so nothing is lost: should any of that code run again (a
//! reload parses the configuration again) the page faults back in from the
//! executable, and [`release`] runs again after a reload. The executable's
//! read-only data (its strings, tables and unwinding data) is released the
//! same way, in every build; with the tiers, so is the code past the
//! start-up tier, which no tier lists (what of it runs at all runs while
//! starting; see [`releasable_ranges`]).
//!
//! The markers and the code's release are compiled only with `--cfg
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

/// How long after the tasks spawned at the start the start-up code is first
/// released: time for their first turn (the speaker's owner and listeners,
/// the API's and metrics' routers), which takes them well under a
/// millisecond once a worker picks them up.
const FIRST_TURN: Duration = Duration::from_millis(1);

/// How long after the first release it is released again, and after a
/// reload: what ran some start-up code since (the kernel synchronizer's
/// first dumps of a large table, a reload's reply) has finished by then.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Environment variable that sets the delay in milliseconds instead, and
/// makes the start's release a single one.
/// `scripts/symbol-order` sets it so that, under valgrind, the release
/// comes after the moment it records as the end of the start: the code
/// that carries out the release (and runs again after every reload) then
/// counts as the idle daemon's, not as start-up code it would release and
/// at once fault back in.
pub const SETTLE_VARIABLE: &str = "PODROUTE_STARTUP_RELEASE_DELAY_MS";

/// The delay of the release after a reload: [`SETTLE_VARIABLE`] when it
/// holds a number of milliseconds, else [`SETTLE`].
pub fn settle() -> Duration {
    delay_from(std::env::var(SETTLE_VARIABLE).ok().as_deref()).unwrap_or(SETTLE)
}

/// The delays of the releases once the daemon is up: the first, and the
/// second after it. [`FIRST_TURN`] then [`SETTLE`], or the single delay
/// that [`SETTLE_VARIABLE`] holds in milliseconds.
pub fn settle_after_start() -> (Duration, Option<Duration>) {
    after_start(delay_from(std::env::var(SETTLE_VARIABLE).ok().as_deref()))
}

fn after_start(delay: Option<Duration>) -> (Duration, Option<Duration>) {
    delay.map_or((FIRST_TURN, Some(SETTLE)), |delay| (delay, None))
}

/// The delay in milliseconds that `value` holds, if it is a number.
fn delay_from(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

/// Called first by every [`release`] and otherwise empty:
/// `scripts/symbol-order` has callgrind dump what ran before each call
/// (`--dump-before`), which tells the start's phases apart.
#[cfg(podroute_code_tiers)]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn podroute_release_point() {
    std::hint::black_box(());
}

/// Bytes of one page, the unit `madvise` works in.
const PAGE: usize = 4096;

/// The whole pages inside `begin..end`: the first page boundary at or after
/// `begin` and the last at or before `end`; `None` when no whole page lies
/// between them (or the markers are out of order).
fn whole_pages(begin: usize, end: usize) -> Option<(usize, usize)> {
    let first = begin.checked_add(PAGE - 1)? / PAGE * PAGE;
    let last = end / PAGE * PAGE;
    let length = last.checked_sub(first).filter(|length| *length > 0)?;
    Some((first, length))
}

/// Releases the start-up tier's pages and the code past it
/// ([`releasable_ranges`]), the executable's read-only data and, on the
/// main thread, its stack below the caller from the process's resident
/// set; returns how many bytes it asked the kernel to drop.
pub fn release() -> usize {
    #[cfg(podroute_code_tiers)]
    podroute_release_point();
    let mut released = 0;
    for (begin, end) in releasable_ranges() {
        let Some((start, length)) = whole_pages(begin, end) else {
            continue;
        };
        // SAFETY: the range is whole pages of one of this executable's own
        // mappings that are private, file-backed and never written (code
        // between two of its functions, or a segment mapped read-only):
        // MADV_DONTNEED only drops the page-table entries, and the next
        // access to any of it faults the same bytes back in from the file.
        #[allow(unsafe_code)]
        let outcome =
            unsafe { libc::madvise(start as *mut libc::c_void, length, libc::MADV_DONTNEED) };
        if outcome == 0 {
            released += length;
        }
    }
    released + release_main_stack_below_caller()
}

/// Drops the main thread's stack pages below the caller's frame, when it is
/// the main thread calling: reading the configuration (the parser and the
/// deserialisers recurse) takes the stack some 50 KiB deep once, and the
/// pages stay resident after it returns, though nothing lives there any
/// more. Returns how many bytes it asked the kernel to drop.
#[inline(never)]
fn release_main_stack_below_caller() -> usize {
    // The releases once the daemon is up and after reloads run on the
    // runtime's workers, whose stacks are not `[stack]`: they need not read
    // the maps at all.
    // SAFETY: getpid and gettid take nothing and only return ids.
    #[allow(unsafe_code)]
    let on_main_thread = unsafe { libc::gettid() == libc::getpid() };
    if !on_main_thread {
        return 0;
    }
    let frame = std::hint::black_box(0u8);
    let frame = std::ptr::from_ref(&frame) as usize;
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    let Some((start, end)) = maps.lines().find_map(stack_mapping) else {
        return 0;
    };
    let Some((first, length)) = stack_below(start, end, frame) else {
        return 0;
    };
    // SAFETY: the range is whole pages of the main thread's own stack
    // mapping, at least a page below the frame of the function running
    // now, which is the main thread's deepest live frame: the stack grows
    // down, so nothing below it is in use (the x86-64 red zone is 128
    // bytes). Dropped anonymous pages read back as zeroes when the stack
    // next grows into them.
    #[allow(unsafe_code)]
    let outcome = unsafe { libc::madvise(first as *mut libc::c_void, length, libc::MADV_DONTNEED) };
    if outcome == 0 { length } else { 0 }
}

/// The `[stack]` line of /proc/self/maps as `(start, end)`.
fn stack_mapping(line: &str) -> Option<(usize, usize)> {
    if !line.ends_with("[stack]") {
        return None;
    }
    let (range, _) = line.split_once(' ')?;
    let (start, end) = range.split_once('-')?;
    Some((
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    ))
}

/// The whole pages of the stack mapping `start..end` more than a page
/// below `frame`, as `(first, length)`; `None` when `frame` is not on that
/// stack (another thread called) or nothing lies that far below it.
fn stack_below(start: usize, end: usize, frame: usize) -> Option<(usize, usize)> {
    if !(start..end).contains(&frame) {
        return None;
    }
    let top = (frame / PAGE).checked_sub(1)? * PAGE;
    let length = top.checked_sub(start).filter(|length| *length > 0)?;
    Some((start, length))
}

/// What [`release`] hands back, as `(begin, end)` addresses: the
/// executable's read-only segments and (with `--cfg podroute_code_tiers`)
/// its code from the start-up tier to the end of the executable segment.
/// Read-only data has no tiers (most of it is nameless constants the linker
/// cannot order): strings, tables and unwinding data that the start read
/// in, among them the command line's help and the configuration's error
/// messages. Dropped whole, only what the running daemon reads comes back.
fn releasable_ranges() -> Vec<(usize, usize)> {
    let segments = loadable_segments();
    let ranges = read_only_segments(&segments);
    #[cfg(podroute_code_tiers)]
    let ranges = {
        let mut ranges = ranges;
        let begin = podroute_startup_code_begin as *const () as usize;
        let end = podroute_startup_code_end as *const () as usize;
        ranges.push((begin, end_of_code(&segments, begin, end)));
        ranges
    };
    ranges
}

/// Where the code to release ends: the end of the executable segment that
/// holds the start-up tier (`begin..end`), else `end`.
///
/// Past the tier lies the code no tier lists, which none of the runs
/// `scripts/symbol-order` recorded executed. What of it a daemon does run,
/// it runs while starting: the C library's own start (reading
/// `/proc/self/maps` for the main thread's stack, the resolver's set-up,
/// the loader's), and the variants of its string functions that this CPU
/// selects where valgrind's selected others. Kept, those few pages held
/// five 64 KiB windows of fault-around resident (0.27 MiB) for the
/// daemon's life; should any of it run again, it faults back in.
#[cfg_attr(not(podroute_code_tiers), allow(dead_code))]
fn end_of_code(segments: &[(u32, usize, usize)], begin: usize, end: usize) -> usize {
    segments
        .iter()
        .find(|(flags, first, last)| flags & PF_X != 0 && (*first..*last).contains(&begin))
        .map_or(end, |(_, _, last)| (*last).max(end))
}

/// The executable's loadable segments that are neither writable nor
/// executable.
fn read_only_segments(segments: &[(u32, usize, usize)]) -> Vec<(usize, usize)> {
    segments
        .iter()
        .filter(|(flags, _, _)| flags & (PF_W | PF_X) == 0)
        .map(|(_, begin, end)| (*begin, *end))
        .collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
const PF_W: u32 = libc::PF_W;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const PF_X: u32 = libc::PF_X;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const PF_W: u32 = 2;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const PF_X: u32 = 1;

/// The executable's loadable segments as `(flags, begin, end)`, from its
/// program headers (`dl_iterate_phdr`, whose first object is the
/// executable itself).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn loadable_segments() -> Vec<(u32, usize, usize)> {
    /// Called by `dl_iterate_phdr` for the executable; returns 1 to stop
    /// before the shared objects (their pages are not ours alone).
    #[allow(unsafe_code)]
    unsafe extern "C" fn executable(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: glibc passes a valid dl_phdr_info for the duration of the
        // call, and `data` is the Vec that loadable_segments lent it.
        let (info, segments) = unsafe { (&*info, &mut *data.cast::<Vec<(u32, usize, usize)>>()) };
        if info.dlpi_phdr.is_null() {
            return 1;
        }
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let base = usize::try_from(info.dlpi_addr).unwrap_or(0);
        for header in headers {
            if header.p_type != libc::PT_LOAD {
                continue;
            }
            let (Ok(address), Ok(size)) = (
                usize::try_from(header.p_vaddr),
                usize::try_from(header.p_memsz),
            ) else {
                continue;
            };
            let begin = base.saturating_add(address);
            segments.push((header.p_flags, begin, begin.saturating_add(size)));
        }
        1
    }
    let mut segments: Vec<(u32, usize, usize)> = Vec::new();
    // SAFETY: the callback only reads what glibc hands it and writes to
    // `segments`, which outlives the call.
    #[allow(unsafe_code)]
    unsafe {
        libc::dl_iterate_phdr(
            Some(executable),
            std::ptr::from_mut(&mut segments).cast::<libc::c_void>(),
        );
    }
    segments
}

/// Nothing outside glibc on Linux.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn loadable_segments() -> Vec<(u32, usize, usize)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_is_released_at_once_and_a_second_later_unless_told_otherwise() {
        let default = (Duration::from_millis(1), Some(Duration::from_secs(1)));
        assert_eq!(after_start(delay_from(None)), default);
        assert_eq!(after_start(delay_from(Some("soon"))), default);
        assert_eq!(
            after_start(delay_from(Some("8000"))),
            (Duration::from_secs(8), None)
        );
        assert_eq!(delay_from(Some(" 250 ")), Some(Duration::from_millis(250)));
        assert_eq!(delay_from(Some("soon")), None);
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
    fn only_the_main_stack_below_the_caller_is_released() {
        let line =
            "7ffc7a5e4000-7ffc7a605000 rw-p 00000000 00:00 0                          [stack]";
        assert_eq!(
            stack_mapping(line),
            Some((0x7ffc_7a5e_4000, 0x7ffc_7a60_5000))
        );
        assert_eq!(
            stack_mapping("7ffc7a5e4000-7ffc7a605000 rw-p 00000000 00:00 0"),
            None
        );
        assert_eq!(
            stack_mapping("zz-7ffc7a605000 rw-p 0 00:00 0 [stack]"),
            None
        );
        // The frame's page and the one below it stay.
        assert_eq!(
            stack_below(0x10000, 0x40000, 0x30123),
            Some((0x10000, 0x1f000))
        );
        assert_eq!(stack_below(0x10000, 0x40000, 0x11123), None);
        // Another thread's frame: not this stack.
        assert_eq!(stack_below(0x10000, 0x40000, 0x50000), None);
        assert_eq!(stack_below(0x10000, 0x40000, 0x40000), None);
    }

    #[test]
    fn the_read_only_data_is_released_and_still_reads_the_same() {
        static TABLE: [u8; 3 * PAGE] = [0x5a; 3 * PAGE];
        let segments = read_only_segments(&loadable_segments());
        let address = TABLE.as_ptr() as usize;
        assert!(
            segments
                .iter()
                .any(|(begin, end)| (*begin..*end).contains(&address)),
            "a constant table lies in a read-only segment: {segments:x?}"
        );
        let before: u64 = TABLE.iter().map(|byte| u64::from(*byte)).sum();
        assert!(release() >= PAGE);
        let after: u64 = std::hint::black_box(&TABLE)
            .iter()
            .map(|byte| u64::from(*byte))
            .sum();
        assert_eq!(before, after);
    }

    #[test]
    fn the_code_released_reaches_the_end_of_its_executable_segment() {
        // Read-only data, code, writable data, as a linker lays them out.
        let segments = [
            (4, 0x0, 0x1000),
            (4 | PF_X, 0x1000, 0x9000),
            (4 | PF_W, 0x9000, 0xa000),
        ];
        assert_eq!(end_of_code(&segments, 0x2000, 0x3000), 0x9000);
        // Markers outside every executable segment: only the tier.
        assert_eq!(end_of_code(&segments, 0x9100, 0x9800), 0x9800);
        assert_eq!(end_of_code(&[], 0x2000, 0x3000), 0x3000);
    }

    #[inline(never)]
    fn code_to_drop(value: u64) -> u64 {
        std::hint::black_box(value).rotate_left(7) ^ 0x5a5a
    }

    #[test]
    fn dropped_code_faults_back_in_and_runs() {
        let expected = code_to_drop(41);
        let function = code_to_drop as *const () as usize;
        let segments = loadable_segments();
        let end = end_of_code(&segments, function, function);
        assert!(
            end > function,
            "a function lies in an executable segment: {segments:x?}"
        );
        let Some((start, length)) = whole_pages(function / PAGE * PAGE, end) else {
            panic!("no whole page from {function:#x} to {end:#x}");
        };
        // SAFETY: whole pages of this test executable's own code, clean and
        // file-backed: dropped, they fault back in from the file.
        #[allow(unsafe_code)]
        let outcome =
            unsafe { libc::madvise(start as *mut libc::c_void, length, libc::MADV_DONTNEED) };
        assert_eq!(outcome, 0);
        assert_eq!(code_to_drop(41), expected);
    }
}
