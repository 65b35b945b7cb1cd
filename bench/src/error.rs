//! The benchmark's one error type: every failure (socket, codec, container,
//! a role's output the harness cannot read) becomes a [`BenchError`] whose
//! text says what was being done, so a failed run explains itself.

/// Any failure of a benchmark role or of the harness.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The BGP codec refused to encode or decode (RFC 4271 §6 errors).
    #[error("{context}: {source}")]
    Wire {
        /// What was being done.
        context: String,
        /// The codec's error.
        source: bgp::wire::WireError,
    },
    /// A container, network or command of the lab failed.
    #[error(transparent)]
    Lab(#[from] interop::Error),
    /// Anything else, described in words.
    #[error("{0}")]
    Other(String),
}

/// Result of every fallible benchmark operation.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Attaches a description of the operation to an I/O error.
pub fn io_context(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let context = context.into();
    move |source| BenchError::Io { context, source }
}

/// Attaches a description of the operation to a codec error.
pub fn wire_context(context: impl Into<String>) -> impl FnOnce(bgp::wire::WireError) -> BenchError {
    let context = context.into();
    move |source| BenchError::Wire { context, source }
}
