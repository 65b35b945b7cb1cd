//! Errors a `Fib` reports: always which operation, on which prefix, and why.
//!
//! Kernel refusals keep the raw errno and its text (`strerror`), so an
//! operator reading a log line can match it against `ip route` behaviour.

use std::fmt;

use ipnetwork::IpNetwork;

use crate::route::RouteError;

/// The `Fib` operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Install or replace a route (`RTM_NEWROUTE`).
    Replace,
    /// Remove a route (`RTM_DELROUTE`).
    Remove,
    /// Dump the routes we own (`RTM_GETROUTE` with `NLM_F_DUMP`).
    List,
}

impl fmt::Display for Operation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Operation::Replace => "replace",
            Operation::Remove => "remove",
            Operation::List => "list",
        })
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FibErrorKind {
    /// The kernel answered with a negative errno.
    #[error("kernel refused: {message} (errno {errno})")]
    Kernel {
        /// Positive errno value, e.g. 17 for `EEXIST`.
        errno: i32,
        /// `strerror` text for `errno`.
        message: String,
    },
    /// A route of another protocol holds the same prefix, table and metric.
    /// podroute never modifies it (DESIGN.md "Own only what is ours").
    #[error(
        "a route with protocol {protocol} already holds this prefix in table {table} at metric {metric}; left untouched"
    )]
    Conflict {
        /// `rtm_protocol` of the route that is in the way.
        protocol: u8,
        /// Kernel table.
        table: u32,
        /// Route metric (`RTA_PRIORITY`).
        metric: u32,
    },
    /// The request itself is not valid.
    #[error("invalid route: {0}")]
    Invalid(String),
    /// Talking to the kernel failed (socket error, malformed reply).
    #[error("netlink transport: {0}")]
    Transport(String),
}

/// An error from a `Fib` operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FibError {
    /// Which operation failed.
    pub operation: Operation,
    /// Which prefix it was about; `None` for [`Operation::List`].
    pub prefix: Option<IpNetwork>,
    /// What went wrong.
    pub kind: FibErrorKind,
}

impl fmt::Display for FibError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(prefix) => write!(formatter, "{} {prefix}: {}", self.operation, self.kind),
            None => write!(formatter, "{}: {}", self.operation, self.kind),
        }
    }
}

impl FibError {
    /// An error about `prefix`.
    pub fn new(operation: Operation, prefix: IpNetwork, kind: FibErrorKind) -> Self {
        FibError {
            operation,
            prefix: Some(prefix),
            kind,
        }
    }

    /// A kernel errno for `prefix` (errno is taken as its absolute value).
    pub fn kernel(operation: Operation, prefix: IpNetwork, errno: i32) -> Self {
        Self::new(operation, prefix, kernel_kind(errno))
    }

    /// True when the error is a refusal to touch another protocol's route.
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind, FibErrorKind::Conflict { .. })
    }

    /// The kernel errno, when the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self.kind {
            FibErrorKind::Kernel { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

/// Builds the errno variant with its `strerror` text.
pub fn kernel_kind(errno: i32) -> FibErrorKind {
    let errno = errno.checked_abs().unwrap_or(i32::MAX);
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; the errno is printed separately.
    let message = match text.rfind(" (os error") {
        Some(end) => text.get(..end).unwrap_or(&text).to_string(),
        None => text,
    };
    FibErrorKind::Kernel { errno, message }
}

impl From<(Operation, IpNetwork, RouteError)> for FibError {
    fn from((operation, prefix, error): (Operation, IpNetwork, RouteError)) -> Self {
        FibError::new(operation, prefix, FibErrorKind::Invalid(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_prefix_and_errno_text() {
        let error = FibError::kernel(Operation::Replace, "198.19.1.0/24".parse().unwrap(), -17);
        assert_eq!(
            error.to_string(),
            "replace 198.19.1.0/24: kernel refused: File exists (errno 17)"
        );
        assert_eq!(error.errno(), Some(17));
        assert!(!error.is_conflict());
    }

    #[test]
    fn conflict_message_names_the_other_protocol() {
        let error = FibError::new(
            Operation::Replace,
            "2001:db8:1::/64".parse().unwrap(),
            FibErrorKind::Conflict {
                protocol: 4,
                table: 254,
                metric: 20,
            },
        );
        assert!(error.is_conflict());
        assert!(error.to_string().contains("protocol 4"), "{error}");
        assert!(
            error.to_string().starts_with("replace 2001:db8:1::/64"),
            "{error}"
        );
    }
}
