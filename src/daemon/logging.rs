//! Logs through `tracing`: readable lines by default, one JSON object per
//! line with `[logging] format = "json"`. `RUST_LOG` overrides the level.
//!
//! Filters are `tracing_subscriber`'s `Targets` (a level, or `target=level`
//! pairs separated by commas, as `[logging] level` documents) rather than
//! `EnvFilter`: the span and field matching `EnvFilter` adds needs a regex
//! engine, about 0.4 MB of the executable that a daemon maps in at start.
//!
//! Lines are formatted where they are logged but written by a thread of
//! their own (`tracing_appender::non_blocking`): a write to stderr can take
//! long (a container's log file on fuse-overlayfs costs a round trip to a
//! user-space process per line, about 45 µs in `bench/`'s containers; a log
//! pipe whose reader stalls blocks outright), and the task that owns the
//! sessions must not wait for it: fifty sessions lost and re-established
//! log a few hundred lines, which written in place held the owner for
//! milliseconds while withdrawals waited. The queue is bounded; when it is
//! full lines are dropped, counted, and the count served as
//! `podroute_log_lines_dropped_total`.

use config::{LogFormat, Logging};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Lines queued for the writer thread before new ones are dropped: a burst
/// of a thousand sessions changing state fits, and the queue's slots are
/// allocated up front, so it is kept small (about 40 KB).
const QUEUED_LINES: usize = 1024;

/// Installs the global subscriber; the guard, when dropped, writes out what
/// is queued.
pub fn init(settings: &Logging) -> Result<WorkerGuard, String> {
    let configured = settings
        .level
        .parse::<Targets>()
        .map_err(|error| format!("[logging] level {:?}: {error}", settings.level))?;
    // A RUST_LOG that does not parse is reported once logging runs, and the
    // configured level is used meanwhile.
    let (filter, rejected) = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => match text.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(error) => (configured, Some((text, error))),
        },
        _ => (configured, None),
    };
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .thread_name("podroute-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let format = tracing_subscriber::fmt::layer()
        .with_ansi(terminal)
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Human => registry.with(format).try_init(),
        LogFormat::Json => registry.with(format.json()).try_init(),
    };
    result.map_err(|error| format!("cannot start logging: {error}"))?;
    if let Some((text, error)) = rejected {
        tracing::warn!(rust_log = %text, %error, "RUST_LOG is not a log filter; using [logging] level");
    }
    let _ = DROPPED.set(dropped);
    Ok(guard)
}

static DROPPED: std::sync::OnceLock<ErrorCounter> = std::sync::OnceLock::new();

/// Log lines dropped so far because the writer thread's queue was full.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}
