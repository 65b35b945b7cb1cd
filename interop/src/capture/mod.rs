//! Golden vectors from real daemons. [`scenario`] runs BIRD, FRR and GoBGP
//! in the lab while tcpdump records the network; [`stream`] splits each
//! TCP direction into BGP messages by their header length; [`dissect`]
//! reads tshark's own dissection of the same capture (a decoder independent
//! of podroute's) into the `expect` facts; [`vectors`] pairs the two and
//! writes `bgp/tests/vectors/captured/*.json`.

pub mod dissect;
pub mod scenario;
pub mod stream;
pub mod vectors;
