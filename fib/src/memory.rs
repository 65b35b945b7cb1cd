//! `MemoryFib`: an in-memory FIB for testing the daemon without a kernel.
//!
//! Requests flow through `MemoryFib::execute`, which first consults the
//! fault plan (injected failures, foreign routes), then updates a `BTreeMap`
//! keyed by prefix, and finally appends what happened to the journal. Tests
//! read the journal to assert what the daemon asked for and in which order,
//! and use the fault plan to reproduce kernel behaviour the daemon must
//! survive: refusals, and routes of other protocols in the way.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use ipnetwork::IpNetwork;

use crate::error::{FibError, FibErrorKind, Operation};
use crate::fib::{Fib, FibFuture};
use crate::netlink::GatewayRemoval;
use crate::route::{FibChange, Route, normalize_prefix};

/// What a successful operation did to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new route was added.
    Added,
    /// Our route for the prefix was replaced by a different one.
    Updated,
    /// The route was already installed exactly so (idempotent replace).
    Unchanged,
    /// Our route was removed.
    Removed,
    /// There was no route of ours to remove (idempotent remove).
    Absent,
    /// A listing was returned.
    Listed,
}

/// The operation a journal entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOperation {
    /// `replace(route)` or `FibChange::Replace`.
    Replace(Route),
    /// `remove(prefix)` or `FibChange::Remove`.
    Remove(IpNetwork),
    /// `list_owned()`.
    List,
    /// `fail_gateway(gateway)` on a FIB made with
    /// [`MemoryFib::with_gateway_removal`].
    FailGateway(IpAddr),
}

/// One operation seen by a [`MemoryFib`], in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// What was asked.
    pub operation: JournalOperation,
    /// What happened.
    pub result: Result<Effect, FibError>,
}

/// A route of another protocol, simulated in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ForeignRoute {
    protocol: u8,
}

/// Injected failures for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    remaining: usize,
    kind: FibErrorKind,
}

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<IpNetwork, Route>,
    foreign: BTreeMap<IpNetwork, ForeignRoute>,
    faults: BTreeMap<IpNetwork, Fault>,
    journal: Vec<JournalEntry>,
}

/// An in-memory [`Fib`] with an operation journal and fault injection.
#[derive(Debug)]
pub struct MemoryFib {
    table: u32,
    metric: u32,
    /// Models a FIB with nexthop objects: `fail_gateway` takes the gateway
    /// out of every route at once instead of answering `None`.
    gateway_removal: bool,
    state: Mutex<State>,
}

impl Default for MemoryFib {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryFib {
    /// An empty table, reporting table 254 and metric 20 in conflicts
    /// (the same defaults as [`crate::NetlinkFibConfig`]).
    pub fn new() -> Self {
        MemoryFib {
            table: 254,
            metric: 20,
            gateway_removal: false,
            state: Mutex::new(State::default()),
        }
    }

    /// An empty table whose `fail_gateway` acts like a FIB with kernel
    /// nexthop objects: one journaled operation takes the gateway out of
    /// every route (a route left with no next hop is removed).
    pub fn with_gateway_removal() -> Self {
        MemoryFib {
            gateway_removal: true,
            ..Self::new()
        }
    }

    fn remove_gateway_locked(state: &mut State, gateway: IpAddr) -> GatewayRemoval {
        let mut removal = GatewayRemoval {
            kernel_operations: 1,
            ..GatewayRemoval::default()
        };
        let affected: Vec<Route> = state
            .routes
            .values()
            .filter(|route| route.next_hops().iter().any(|hop| hop.gateway == gateway))
            .cloned()
            .collect();
        for route in affected {
            let remaining = route
                .next_hops()
                .iter()
                .filter(|hop| hop.gateway != gateway)
                .cloned()
                .collect();
            match Route::unicast(route.prefix(), remaining) {
                Ok(shrunk) => {
                    state.routes.insert(route.prefix(), shrunk);
                    removal.routes_changed += 1;
                    removal.changed_prefixes.push(route.prefix());
                }
                Err(_) => {
                    state.routes.remove(&route.prefix());
                    removal.routes_removed.push(route.prefix());
                }
            }
        }
        removal
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent data
        // (every mutation is a single map operation), so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every operation so far, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state().journal.clone()
    }

    /// Returns and clears the journal.
    pub fn take_journal(&self) -> Vec<JournalEntry> {
        std::mem::take(&mut self.state().journal)
    }

    /// Our routes, without journaling a `List`.
    pub fn snapshot(&self) -> Vec<Route> {
        self.state().routes.values().cloned().collect()
    }

    /// Makes the next `count` replace/remove operations on `prefix` fail
    /// with `kind`, leaving the table unchanged.
    pub fn fail_next(&self, prefix: IpNetwork, count: usize, kind: FibErrorKind) {
        let prefix = normalize_prefix(prefix);
        self.state().faults.insert(
            prefix,
            Fault {
                remaining: count,
                kind,
            },
        );
    }

    /// Simulates a route of another protocol (e.g. 4 = static, 2 = kernel)
    /// for `prefix` in our table at our metric.
    pub fn add_foreign(&self, prefix: IpNetwork, protocol: u8) {
        let prefix = normalize_prefix(prefix);
        self.state()
            .foreign
            .insert(prefix, ForeignRoute { protocol });
    }

    /// Removes a simulated foreign route; returns whether one was there.
    pub fn remove_foreign(&self, prefix: IpNetwork) -> bool {
        self.state()
            .foreign
            .remove(&normalize_prefix(prefix))
            .is_some()
    }

    /// The protocol of the foreign route at `prefix`, if any.
    pub fn foreign_protocol(&self, prefix: IpNetwork) -> Option<u8> {
        self.state()
            .foreign
            .get(&normalize_prefix(prefix))
            .map(|foreign| foreign.protocol)
    }

    /// Simulates someone else deleting our route (drift); not journaled.
    pub fn delete_externally(&self, prefix: IpNetwork) -> Option<Route> {
        self.state().routes.remove(&normalize_prefix(prefix))
    }

    /// Runs one change against the table and journals it.
    fn execute(&self, change: FibChange) -> Result<(), FibError> {
        let mut state = self.state();
        let prefix = change.prefix();
        let (operation, journal_operation) = match &change {
            FibChange::Replace(route) => {
                (Operation::Replace, JournalOperation::Replace(route.clone()))
            }
            FibChange::Remove(_) => (Operation::Remove, JournalOperation::Remove(prefix)),
        };
        let result = Self::execute_locked(&mut state, change, operation, self.table, self.metric);
        state.journal.push(JournalEntry {
            operation: journal_operation,
            result: result.clone(),
        });
        result.map(|_| ())
    }

    fn execute_locked(
        state: &mut State,
        change: FibChange,
        operation: Operation,
        table: u32,
        metric: u32,
    ) -> Result<Effect, FibError> {
        let prefix = change.prefix();
        if let Some(fault) = state.faults.get_mut(&prefix) {
            if fault.remaining > 0 {
                fault.remaining -= 1;
                let kind = fault.kind.clone();
                if fault.remaining == 0 {
                    state.faults.remove(&prefix);
                }
                return Err(FibError::new(operation, prefix, kind));
            }
        }
        match change {
            FibChange::Replace(route) => {
                if let Some(foreign) = state.foreign.get(&prefix) {
                    return Err(FibError::new(
                        operation,
                        prefix,
                        FibErrorKind::Conflict {
                            protocol: foreign.protocol,
                            table,
                            metric,
                        },
                    ));
                }
                Ok(match state.routes.insert(prefix, route.clone()) {
                    None => Effect::Added,
                    Some(previous) if previous == route => Effect::Unchanged,
                    Some(_) => Effect::Updated,
                })
            }
            // A foreign route is not ours: removing "our" route leaves it,
            // exactly as the kernel's protocol-filtered delete does.
            FibChange::Remove(_) => Ok(match state.routes.remove(&prefix) {
                Some(_) => Effect::Removed,
                None => Effect::Absent,
            }),
        }
    }
}

impl Fib for MemoryFib {
    fn replace(&self, route: Route) -> FibFuture<'_, Result<(), FibError>> {
        Box::pin(async move { self.execute(FibChange::Replace(route)) })
    }

    fn remove(&self, prefix: IpNetwork) -> FibFuture<'_, Result<(), FibError>> {
        Box::pin(async move { self.execute(FibChange::Remove(prefix)) })
    }

    fn list_owned(&self) -> FibFuture<'_, Result<Vec<Route>, FibError>> {
        Box::pin(async move {
            let mut state = self.state();
            let routes: Vec<Route> = state.routes.values().cloned().collect();
            state.journal.push(JournalEntry {
                operation: JournalOperation::List,
                result: Ok(Effect::Listed),
            });
            Ok(routes)
        })
    }

    fn apply(&self, changes: Vec<FibChange>) -> FibFuture<'_, Vec<Result<(), FibError>>> {
        Box::pin(async move {
            changes
                .into_iter()
                .map(|change| self.execute(change))
                .collect()
        })
    }

    fn fail_gateway(
        &self,
        gateway: IpAddr,
    ) -> FibFuture<'_, Result<Option<GatewayRemoval>, FibError>> {
        Box::pin(async move {
            if !self.gateway_removal {
                return Ok(None);
            }
            let mut state = self.state();
            let removal = Self::remove_gateway_locked(&mut state, gateway);
            let effect = if removal.routes_changed == 0 && removal.routes_removed.is_empty() {
                Effect::Unchanged
            } else {
                Effect::Updated
            };
            state.journal.push(JournalEntry {
                operation: JournalOperation::FailGateway(gateway),
                result: Ok(effect),
            });
            Ok(Some(removal))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::NextHop;

    fn network(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    fn route(prefix: &str, gateway: &str) -> Route {
        Route::unicast(
            network(prefix),
            vec![NextHop::via(gateway.parse().unwrap())],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn journal_records_effects_in_order() {
        let fib = MemoryFib::new();
        fib.replace(route("198.19.1.0/24", "198.18.0.2"))
            .await
            .unwrap();
        fib.replace(route("198.19.1.0/24", "198.18.0.2"))
            .await
            .unwrap();
        fib.replace(route("198.19.1.0/24", "198.18.0.3"))
            .await
            .unwrap();
        fib.remove(network("198.19.1.0/24")).await.unwrap();
        fib.remove(network("198.19.1.0/24")).await.unwrap();
        let effects: Vec<Effect> = fib
            .take_journal()
            .into_iter()
            .map(|entry| entry.result.unwrap())
            .collect();
        assert_eq!(
            effects,
            vec![
                Effect::Added,
                Effect::Unchanged,
                Effect::Updated,
                Effect::Removed,
                Effect::Absent
            ]
        );
        assert!(fib.journal().is_empty());
    }

    #[tokio::test]
    async fn injected_faults_fail_exactly_count_times() {
        let fib = MemoryFib::new();
        let prefix = network("198.19.2.0/24");
        fib.fail_next(prefix, 2, crate::error::kernel_kind(105));
        let first = fib
            .replace(route("198.19.2.0/24", "198.18.0.2"))
            .await
            .unwrap_err();
        assert_eq!(first.errno(), Some(105));
        assert_eq!(first.operation, Operation::Replace);
        assert!(fib.remove(prefix).await.is_err());
        fib.replace(route("198.19.2.0/24", "198.18.0.2"))
            .await
            .unwrap();
        assert_eq!(fib.snapshot().len(), 1);
    }

    #[tokio::test]
    async fn gateway_failure_is_one_operation_only_when_modelled() {
        let plain = MemoryFib::new();
        plain
            .replace(route("198.19.1.0/24", "198.18.0.2"))
            .await
            .unwrap();
        let gateway: IpAddr = "198.18.0.2".parse().unwrap();
        assert_eq!(plain.fail_gateway(gateway).await.unwrap(), None);
        assert_eq!(plain.snapshot().len(), 1);

        let objects = MemoryFib::with_gateway_removal();
        let ecmp = Route::unicast(
            network("198.19.2.0/24"),
            vec![
                NextHop::via("198.18.0.2".parse().unwrap()),
                NextHop::via("198.18.0.3".parse().unwrap()),
            ],
        )
        .unwrap();
        objects.replace(ecmp).await.unwrap();
        objects
            .replace(route("198.19.1.0/24", "198.18.0.2"))
            .await
            .unwrap();
        objects
            .replace(route("198.19.3.0/24", "198.18.0.3"))
            .await
            .unwrap();
        objects.take_journal();
        let removal = objects.fail_gateway(gateway).await.unwrap().unwrap();
        assert_eq!(removal.routes_changed, 1);
        assert_eq!(removal.routes_removed, vec![network("198.19.1.0/24")]);
        assert_eq!(
            objects.snapshot(),
            vec![
                route("198.19.2.0/24", "198.18.0.3"),
                route("198.19.3.0/24", "198.18.0.3")
            ]
        );
        assert_eq!(objects.take_journal().len(), 1);
    }

    #[tokio::test]
    async fn external_delete_is_visible_and_not_journaled() {
        let fib = MemoryFib::new();
        fib.replace(route("198.19.3.0/24", "198.18.0.2"))
            .await
            .unwrap();
        fib.take_journal();
        assert!(fib.delete_externally(network("198.19.3.0/24")).is_some());
        assert!(fib.journal().is_empty());
        assert!(fib.list_owned().await.unwrap().is_empty());
    }
}
