//! Configuration errors: every problem found in a file, each pointing at a
//! line, a column and a dotted key.
//!
//! Data flow: the parser ([`crate::parse`]) and the validator
//! ([`crate::validate`]) report problems as a byte span into the source text
//! plus a key path. [`Locator`] turns the byte offset into a 1-based line and
//! column (columns count characters, not bytes, so they match what an editor
//! shows), and the result is a [`ConfigError`]. All errors of one file are
//! gathered into [`ConfigErrors`], sorted by position so the output reads top to
//! bottom and never depends on the order the checks ran in.

use std::fmt;
use std::ops::Range;

/// One problem in a configuration file.
///
/// Displays as `FILE:LINE:COLUMN: KEY: MESSAGE`, the form compilers use, so
/// editors and CI logs can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigError {
    /// The file name given to [`crate::Config::from_str`] or [`crate::load`].
    pub file: String,
    /// 1-based line of the offending value (or of its table when the key is missing).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Dotted key path with 0-based array indexes, e.g. `neighbor[2].hold_time`.
    /// Empty for a syntax error outside any key.
    pub key: String,
    /// What is wrong, and where useful, how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(formatter, "{}: ", self.key)?;
        }
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one configuration file, ordered by position.
///
/// Never empty when returned as an `Err`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors {
    /// The errors, sorted by line, then column, then key.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps errors, sorting them and dropping exact duplicates.
    pub fn new(mut errors: Vec<ConfigError>) -> Self {
        errors.sort();
        errors.dedup();
        ConfigErrors { errors }
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there is no error (never the case for a returned `Err`).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterates over the errors in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line, in file order.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Maps byte offsets of one source text to line and column.
pub(crate) struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Locator { file, text }
    }

    /// 1-based line and character column of a byte offset. Offsets past the
    /// end, or inside a multi-byte character, are clamped rather than trusted.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while end > 0 && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = self.text.get(..end).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        (line, column)
    }

    /// Builds an error located at the start of `span`.
    pub(crate) fn error(&self, span: Range<usize>, key: &str, message: String) -> ConfigError {
        let (line, column) = self.line_column(span.start);
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_character_columns() {
        let locator = Locator::new("f.toml", "ab\n\u{e9}cd\n");
        assert_eq!(locator.line_column(0), (1, 1));
        assert_eq!(locator.line_column(2), (1, 3));
        assert_eq!(locator.line_column(3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(locator.line_column(5), (2, 2));
        // Inside the two-byte character: clamped to its start.
        assert_eq!(locator.line_column(4), (2, 1));
        assert_eq!(locator.line_column(1000), (3, 1));
    }

    #[test]
    fn display_matches_compiler_style() {
        let error = ConfigError {
            file: "podroute.toml".into(),
            line: 12,
            column: 9,
            key: "neighbor[1].hold_time".into(),
            message: "hold time must be 0 or at least 3 (got 2)".into(),
        };
        assert_eq!(
            error.to_string(),
            "podroute.toml:12:9: neighbor[1].hold_time: hold time must be 0 or at least 3 (got 2)"
        );
    }

    #[test]
    fn errors_are_sorted_and_deduplicated() {
        let make = |line, key: &str| ConfigError {
            file: "f".into(),
            line,
            column: 1,
            key: key.into(),
            message: "m".into(),
        };
        let errors = ConfigErrors::new(vec![make(5, "b"), make(2, "a"), make(5, "b")]);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.to_string(), "f:2:1: a: m\nf:5:1: b: m");
    }
}
