//! The container lab: topologies of BIRD, FRR, GoBGP and podroute in Docker.
