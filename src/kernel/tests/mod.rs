//! Tests of the kernel synchronizer.
