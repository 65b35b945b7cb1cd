//! The `Fib` contract suite against `MemoryFib`.

// A test crate: a panic here is a failed test, not a crashed daemon
// (clippy.toml allows this inside #[test] functions; helpers need it too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/contract.rs"]
mod contract;

use std::future::Future;

use contract::{Placement, Target};
use fib::MemoryFib;
use ipnetwork::IpNetwork;

struct MemoryTarget {
    fib: MemoryFib,
}

impl Target for MemoryTarget {
    type F = MemoryFib;

    fn fib(&self) -> &MemoryFib {
        &self.fib
    }

    async fn plant(&self, prefix: IpNetwork, protocol: u8, placement: Placement) {
        // MemoryFib models our table only; routes elsewhere cannot collide.
        if placement == Placement::OurSlot {
            self.fib.add_foreign(prefix, protocol);
        }
    }

    async fn planted_present(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> bool {
        placement != Placement::OurSlot || self.fib.foreign_protocol(prefix) == Some(protocol)
    }
}

fn run<F, Fut>(_name: &str, case: F)
where
    F: FnOnce(MemoryTarget) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(case(MemoryTarget {
        fib: MemoryFib::new(),
    }));
}

contract_tests!(run);
