//! Tests of the RIB.
