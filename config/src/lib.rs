//! podroute configuration: TOML to a validated, typed `Config`, errors with line:col.
