//! podroute configuration: TOML text to a validated, typed [`Config`], with
//! every error pointing at a file, line, column and key.
//!
//! Data flow:
//!
//! 1. `parse` hands the text to `toml` + serde, into the raw structures of
//!    `raw`. Syntax errors, wrong TOML types and unknown keys stop here: serde
//!    cannot continue past them, so they are reported one at a time, with
//!    the dotted key path tracked by `serde_path_to_error`.
//! 2. `validate` checks every value of the raw structures (ranges,
//!    addresses, prefixes, names, references between sections, duplicates)
//!    and collects *all* problems, each located through the spans kept in
//!    the raw structures.
//! 3. The typed [`Config`] (module `model`) holds plain values only; spans
//!    never leave this crate.
//! 4. On reload, [`Config::diff`] compares two configs and says what must
//!    be reset, refreshed or restarted (module `diff`).
//!
//! The file format is documented key by key in `docs/configuration.md`.

pub mod community;
mod diff;
mod error;
mod model;
mod raw;
mod render;
mod validate;

pub use community::{Community, LargeCommunity};
pub use diff::{
    ConfigDiff, Effect, ListenRangeChange, NeighborChange, NeighborField, OriginateChange,
    PolicyChange, Reaction, SettingChange,
};
pub use error::{ConfigError, ConfigErrors};
pub use model::*;

use error::Locator;
use std::path::Path;

/// Where podroute looks for its configuration when none is given.
pub const DEFAULT_PATH: &str = "/etc/podroute/podroute.toml";

impl Config {
    /// Parses and validates configuration text. `file_name` only labels errors.
    ///
    /// Returns every validation error found; syntax and type errors, which
    /// stop the TOML parser, come one at a time.
    pub fn from_str(text: &str, file_name: &str) -> Result<Config, ConfigErrors> {
        let locator = Locator::new(file_name, text);
        let raw = parse(text, &locator).map_err(|error| ConfigErrors::new(vec![error]))?;
        validate::validate(raw, &locator).map_err(ConfigErrors::new)
    }
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
    let path = path.as_ref();
    let file_name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Config::from_str(&text, &file_name),
        Err(error) => Err(ConfigErrors::new(vec![ConfigError {
            file: file_name,
            line: 1,
            column: 1,
            key: String::new(),
            message: format!("cannot read the configuration file: {error}"),
        }])),
    }
}

/// Runs the TOML parser and serde, turning their first error into a located one.
///
/// A file that parses is read once, by serde alone. Only one that does not
/// is read again with `serde_path_to_error`, which stops at the same first
/// error and knows its key path: tracking the path wraps every value's
/// deserialiser, which is most of the code a daemon runs while it reads its
/// configuration (code that stays resident until the start releases it, see
/// the daemon's `startup_code`), for errors that a valid file never has.
fn parse(text: &str, locator: &Locator<'_>) -> Result<raw::RawConfig, ConfigError> {
    use serde::Deserialize;
    if let Ok(raw) = raw::RawConfig::deserialize(toml::Deserializer::new(text)) {
        return Ok(raw);
    }
    let deserializer = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let key = key_path(error.path());
        let inner = error.into_inner();
        let span = inner.span().unwrap_or(0..0);
        // toml's messages can span lines ("invalid string\nexpected ..."):
        // keep one error per line of output.
        let message = inner
            .message()
            .trim()
            .replace('\n', "; ")
            .replace("expected i64", "expected an integer");
        locator.error(span, &key, message)
    })
}

/// The dotted key path of a serde error, without `toml::Spanned`'s private
/// wrapper fields.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if name.starts_with("$__") {
                    continue;
                }
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(name);
            }
            Segment::Unknown => {}
        }
    }
    key
}
