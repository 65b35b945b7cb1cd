//! The control API: HTTP and JSON over a Unix socket, served by the daemon
//! ([`server`]) and spoken by the CLI ([`client`]). `curl --unix-socket`
//! works too. The schema is documented in docs/api.md.

pub mod client;
pub mod server;
pub mod socket;
