//! From the raw TOML structures to a typed [`Config`], collecting every error.
//!
//! Data flow: [`validate`] walks the sections in dependency order: policies
//! first (neighbors refer to them), then the router (neighbors need its AS
//! to pick iBGP or eBGP defaults), then the rest. Each check that fails
//! records a [`ConfigError`] through the [`Checker`] and yields `None`; the
//! walk carries on, so one run reports every problem in the file. A typed
//! [`Config`] is returned only when no error was recorded.

mod kernel;
mod listen_range;
mod neighbor;
mod policy;
mod router;

use crate::error::{ConfigError, Locator};
use crate::model::Config;
use crate::raw::{OneOrMany, RawConfig};
use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// Checks a parsed file and builds the typed configuration.
pub(crate) fn validate(raw: RawConfig, locator: &Locator<'_>) -> Result<Config, Vec<ConfigError>> {
    let mut checker = Checker {
        locator,
        errors: Vec::new(),
    };
    let policies = policy::policies(&mut checker, &raw.policy);
    let router = router::router(&mut checker, raw.router.as_ref());
    let graceful_restart = router::graceful_restart(&mut checker, raw.graceful_restart.as_ref());
    let fib = kernel::fib(&mut checker, raw.fib.as_ref(), graceful_restart.enabled);
    let originate = kernel::originate(&mut checker, &raw.originate);
    let import_kernel = kernel::import_kernel(&mut checker, &raw.import_kernel, fib.protocol);
    let local_asn = router.as_ref().map(|router| router.asn);
    let neighbors = neighbor::neighbors(&mut checker, &raw.neighbor, local_asn, &policies);
    let listen_ranges =
        listen_range::listen_ranges(&mut checker, &raw.listen_range, local_asn, &policies);
    let logging = router::logging(&mut checker, raw.logging.as_ref());
    let api = router::api(&mut checker, raw.api.as_ref());

    match router {
        Some(router) if checker.errors.is_empty() => Ok(Config {
            router,
            fib,
            graceful_restart,
            originate,
            import_kernel,
            neighbors,
            listen_ranges,
            policies,
            logging,
            api,
        }),
        _ => Err(checker.errors),
    }
}

/// Records errors against the source text and performs the common checks.
///
/// Every helper returns `None` after recording an error, so callers can
/// combine results with `?`-free `Option` handling and keep going.
pub(crate) struct Checker<'a> {
    locator: &'a Locator<'a>,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    /// Records one error at `span`.
    pub(crate) fn report(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let error = self.locator.error(span, key, message.into());
        self.errors.push(error);
    }

    /// A required key: reports it missing from the table at `table_span`.
    pub(crate) fn required<'v, T>(
        &mut self,
        value: &'v Option<T>,
        table_span: Range<usize>,
        key: &str,
    ) -> Option<&'v T> {
        if value.is_none() {
            let field = key.rsplit('.').next().unwrap_or(key);
            self.report(table_span, key, format!("missing required key `{field}`"));
        }
        value.as_ref()
    }

    /// An integer in `min..=max`, converted to its target type.
    pub(crate) fn integer<T: TryFrom<i64>>(
        &mut self,
        value: &Spanned<i64>,
        key: &str,
        min: i64,
        max: i64,
        what: &str,
    ) -> Option<T> {
        let number = *value.get_ref();
        if number < min || number > max {
            self.report(
                value.span(),
                key,
                format!("{what} must be between {min} and {max} (got {number})"),
            );
            return None;
        }
        T::try_from(number).ok()
    }

    /// An optional integer with a default.
    pub(crate) fn integer_or<T: TryFrom<i64>>(
        &mut self,
        value: Option<&Spanned<i64>>,
        key: &str,
        (min, max): (i64, i64),
        what: &str,
        default: T,
    ) -> T {
        match value {
            Some(value) => self.integer(value, key, min, max, what).unwrap_or(default),
            None => default,
        }
    }

    /// A whole number of seconds in `min..=max`.
    pub(crate) fn seconds(
        &mut self,
        value: &Spanned<i64>,
        key: &str,
        (min, max): (i64, i64),
        what: &str,
    ) -> Option<Duration> {
        self.integer::<u64>(value, key, min, max, what)
            .map(Duration::from_secs)
    }

    /// An optional number of seconds with a default (in seconds).
    pub(crate) fn seconds_or(
        &mut self,
        value: Option<&Spanned<i64>>,
        key: &str,
        range: (i64, i64),
        what: &str,
        default: u64,
    ) -> Duration {
        value
            .and_then(|value| self.seconds(value, key, range, what))
            .unwrap_or(Duration::from_secs(default))
    }

    /// An AS number (RFC 6793): 1..=4294967295, never AS_TRANS.
    pub(crate) fn asn(&mut self, value: &Spanned<i64>, key: &str) -> Option<u32> {
        let number = *value.get_ref();
        let message = match number {
            0 => "AS 0 is reserved and cannot be used (RFC 7607)".to_string(),
            23456 => {
                "AS 23456 is AS_TRANS, reserved for 2-octet compatibility (RFC 6793)".to_string()
            }
            _ => match u32::try_from(number) {
                Ok(asn) => return Some(asn),
                Err(_) => format!("AS number must be between 1 and 4294967295 (got {number})"),
            },
        };
        self.report(value.span(), key, message);
        None
    }

    /// An IPv4 or IPv6 address.
    pub(crate) fn address(&mut self, value: &Spanned<String>, key: &str) -> Option<IpAddr> {
        parse_address(value.get_ref())
            .map_err(|message| self.report(value.span(), key, message))
            .ok()
    }

    /// An IPv4 address, as used for router ids and cluster ids (RFC 6286 §2.1: non-zero).
    pub(crate) fn identifier(&mut self, value: &Spanned<String>, key: &str) -> Option<Ipv4Addr> {
        let text = value.get_ref();
        match text.parse::<Ipv4Addr>() {
            Ok(address) if address.is_unspecified() => {
                self.report(value.span(), key, "must not be 0.0.0.0 (RFC 6286 §2.1)");
                None
            }
            Ok(address) => Some(address),
            Err(_) => {
                let hint = if text.parse::<IpAddr>().is_ok() {
                    " (a BGP identifier is 4 bytes, written as an IPv4 address even on IPv6-only hosts)"
                } else {
                    ""
                };
                self.report(
                    value.span(),
                    key,
                    format!("`{text}` is not an IPv4 address{hint}"),
                );
                None
            }
        }
    }

    /// A prefix with an explicit length and no host bits set.
    pub(crate) fn prefix(&mut self, value: &Spanned<String>, key: &str) -> Option<IpNetwork> {
        self.prefix_text(value.get_ref(), value.span(), key)
    }

    /// Like [`Checker::prefix`] for text whose span is known separately.
    pub(crate) fn prefix_text(
        &mut self,
        text: &str,
        span: Range<usize>,
        key: &str,
    ) -> Option<IpNetwork> {
        parse_prefix(text)
            .map_err(|message| self.report(span, key, message))
            .ok()
    }

    /// A socket address: `198.18.0.1:179` or `[2001:db8::1]:179`.
    pub(crate) fn socket_address(
        &mut self,
        value: &Spanned<String>,
        key: &str,
    ) -> Option<SocketAddr> {
        let text = value.get_ref();
        match text.parse::<SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                let hint = if text.parse::<IpAddr>().is_ok() {
                    " (add a port, e.g. 198.18.0.1:179 or [2001:db8::1]:179)"
                } else {
                    " (write ADDRESS:PORT, with IPv6 addresses in brackets)"
                };
                self.report(
                    value.span(),
                    key,
                    format!("`{text}` is not a socket address{hint}"),
                );
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = value.get_ref();
        if let Some((_, choice)) = choices.iter().find(|(word, _)| word == text) {
            return Some(*choice);
        }
        let words: Vec<String> = choices
            .iter()
            .map(|(word, _)| format!("`{word}`"))
            .collect();
        self.report(
            value.span(),
            key,
            format!("`{text}` is not one of {}", words.join(", ")),
        );
        None
    }
}

/// The items of a `OneOrMany` with their spans; a lone value takes the span of the whole.
pub(crate) fn items<T>(value: &Spanned<OneOrMany<T>>) -> Vec<(&T, Range<usize>)> {
    match value.get_ref() {
        OneOrMany::One(item) => vec![(item, value.span())],
        OneOrMany::Many(items) => items
            .iter()
            .map(|item| (item.get_ref(), item.span()))
            .collect(),
    }
}

/// `key[index]` for list items, so every error names the exact element.
pub(crate) fn indexed(key: &str, index: usize) -> String {
    format!("{key}[{index}]")
}

fn parse_address(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>().map_err(|_| {
        if text.contains('/') {
            format!("`{text}` is a prefix; an address has no /length")
        } else {
            format!("`{text}` is not an IPv4 or IPv6 address")
        }
    })
}

fn parse_prefix(text: &str) -> Result<IpNetwork, String> {
    if !text.contains('/') {
        return Err(match text.parse::<IpAddr>() {
            Ok(address) => {
                let length = if address.is_ipv4() { 32 } else { 128 };
                format!(
                    "`{text}` has no prefix length (for a single address write {text}/{length})"
                )
            }
            Err(_) => {
                format!("`{text}` is not a prefix (write ADDRESS/LENGTH, e.g. 198.19.0.0/16)")
            }
        });
    }
    let network: IpNetwork = text.parse().map_err(|_| {
        format!("`{text}` is not a prefix (write ADDRESS/LENGTH, e.g. 198.19.0.0/16)")
    })?;
    if network.ip() != network.network() {
        return Err(format!(
            "`{text}` has host bits set; did you mean {}/{}?",
            network.network(),
            network.prefix()
        ));
    }
    Ok(network)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_need_a_length_and_no_host_bits() {
        assert_eq!(
            parse_prefix("198.19.0.0/16").map(|n| n.to_string()),
            Ok("198.19.0.0/16".into())
        );
        assert_eq!(parse_prefix("2001:db8::/32").map(|n| n.prefix()), Ok(32));
        assert_eq!(
            parse_prefix("198.19.1.1/24"),
            Err("`198.19.1.1/24` has host bits set; did you mean 198.19.1.0/24?".into())
        );
        assert!(
            parse_prefix("198.19.1.0")
                .unwrap_err()
                .contains("198.19.1.0/32")
        );
        assert!(parse_prefix("198.19.1.0/33").is_err());
        assert!(parse_prefix("nonsense/8").is_err());
    }

    #[test]
    fn addresses_reject_prefixes_with_a_hint() {
        assert!(parse_address("2001:db8::1").is_ok());
        assert!(
            parse_address("198.18.0.0/16")
                .unwrap_err()
                .contains("is a prefix")
        );
        assert!(parse_address("198.18.0.256").is_err());
    }
}
