//! Logs through `tracing`: readable lines by default, one JSON object per
//! line with `[logging] format = "json"`. `RUST_LOG` overrides the level.

use config::{LogFormat, Logging};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init(settings: &Logging) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .map_err(|error| format!("[logging] level {:?}: {error}", settings.level))?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    let result = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| format!("cannot start logging: {error}"))
}
