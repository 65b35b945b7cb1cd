//! The `podroute` binary: CLI, daemon wiring, control API.

fn main() {}
