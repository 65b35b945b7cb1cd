//! Kernel route programming: `trait Fib`, `NetlinkFib`, `MemoryFib`.
