//! Logs through `tracing`: readable lines by default, one JSON object per
//! line with `[logging] format = "json"`. `RUST_LOG` overrides the level.
//!
//! Filters are `tracing_subscriber`'s `Targets` (a level, or `target=level`
//! pairs separated by commas, as `[logging] level` documents) rather than
//! `EnvFilter`: the span and field matching `EnvFilter` adds needs a regex
//! engine, about 0.4 MB of the executable that a daemon maps in at start.

use config::{LogFormat, Logging};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber.
pub fn init(settings: &Logging) -> Result<(), String> {
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
    let format = tracing_subscriber::fmt::layer()
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Human => registry.with(format).try_init(),
        LogFormat::Json => registry.with(format.json()).try_init(),
    };
    result.map_err(|error| format!("cannot start logging: {error}"))?;
    if let Some((text, error)) = rejected {
        tracing::warn!(rust_log = %text, %error, "RUST_LOG is not a log filter; using [logging] level");
    }
    Ok(())
}
