//! One malloc arena for the whole daemon (glibc only).
//!
//! glibc gives threads their own arenas (up to eight per core). The RIB
//! lives in one task that tokio moves between its worker threads, so a full
//! table's nodes end up spread over several arenas, and what one arena
//! frees can't serve another's allocations: the measured effect was a peak
//! resident size that, from run to run, was normal or about one whole table
//! larger (scenario 1 of `bench/`: 148 MiB or up to 174 MiB for the same
//! 1.2M routes; with one arena 147-150 MiB every time, at the same CPU
//! time). glibc's per-thread caches still serve small allocations without
//! taking the arena's lock. Other C libraries ignore this.

/// Limits glibc to one malloc arena; call before any thread starts.
/// Returns whether glibc accepted (the caller logs it once logging runs).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas() -> bool {
    // SAFETY: mallopt only changes an allocator parameter; it is called from
    // `main`'s thread before the runtime starts any other thread, and
    // M_ARENA_MAX is a parameter glibc documents for exactly this.
    #[allow(unsafe_code)]
    let accepted = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    accepted == 1
}

/// Nothing to do outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() -> bool {
    true
}

/// Hands the free pages inside the heap back to the kernel (glibc's
/// `malloc_trim`, which since 2.8 releases whole free pages anywhere in the
/// arena, not only at its top). Starting parses and validates the
/// configuration, builds routers and reads netlink dumps: hundreds of KiB
/// allocated and freed, whose pages would otherwise stay resident between
/// the allocations that live on. Returns whether anything was released.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim() -> bool {
    // SAFETY: malloc_trim only walks the arenas under their locks and
    // releases pages no allocation uses; any thread may call it.
    #[allow(unsafe_code)]
    let released = unsafe { libc::malloc_trim(0) };
    released == 1
}

/// Nothing to do outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}
