//! The one `Fib` contract suite, run against every implementation.
//!
//! Each case is a generic async function over a [`Target`]: the `Fib` under
//! test plus a way to plant routes of other protocols next to ours. The
//! memory test file runs the cases against `MemoryFib`; the netlink test
//! file runs the same cases against `NetlinkFib` in a fresh network
//! namespace whose `dummy0` holds 198.18.0.1/24 and 2001:db8::1/64, so the
//! gateways below are on-link there.

use std::collections::BTreeSet;
use std::net::IpAddr;

use fib::{Fib, FibChange, NextHop, Route, RouteKind};
use ipnetwork::IpNetwork;

/// `rtm_protocol` of `ip route add` (RTPROT_STATIC).
pub const STATIC: u8 = 4;
/// `rtm_protocol` of routes the kernel adds itself (RTPROT_KERNEL).
pub const KERNEL: u8 = 2;

/// Where a planted foreign route sits relative to our routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Our table and our metric: the slot our route would take.
    OurSlot,
    /// Another table (our protocol number is allowed here).
    OtherTable,
}

/// The implementation under test and its way of planting foreign routes.
#[allow(async_fn_in_trait)]
pub trait Target {
    /// The `Fib` implementation.
    type F: Fib;
    /// The FIB under test.
    fn fib(&self) -> &Self::F;
    /// Plants a route for `prefix` with `protocol`, as another program would.
    async fn plant(&self, prefix: IpNetwork, protocol: u8, placement: Placement);
    /// Whether the planted route is still there, unchanged.
    async fn planted_present(&self, prefix: IpNetwork, protocol: u8, placement: Placement) -> bool;
}

pub fn network(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

pub fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

pub fn unicast(prefix: &str, gateways: &[&str]) -> Route {
    Route::unicast(
        network(prefix),
        gateways
            .iter()
            .map(|gateway| NextHop::via(address(gateway)))
            .collect(),
    )
    .unwrap()
}

/// Asserts that what the FIB lists forwards exactly as `expected` asks
/// (the kernel fills in interfaces we left to it).
pub async fn assert_listed<T: Target>(target: &T, expected: &[Route]) {
    let listed = target.fib().list_owned().await.unwrap();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "list_owned must be sorted");
    assert_eq!(
        listed.len(),
        expected.len(),
        "listed {listed:#?}\nexpected {expected:#?}"
    );
    for want in expected {
        assert!(
            listed.iter().any(|have| have.satisfies(want)),
            "{want} not installed as asked; listed {listed:#?}"
        );
    }
}

pub async fn replace_and_remove_are_idempotent<T: Target>(target: &T) {
    let fib = target.fib();
    let route = unicast("198.19.1.0/24", &["198.18.0.2"]);
    fib.replace(route.clone()).await.unwrap();
    fib.replace(route.clone()).await.unwrap();
    assert_listed(target, std::slice::from_ref(&route)).await;
    fib.remove(route.prefix()).await.unwrap();
    fib.remove(route.prefix()).await.unwrap();
    fib.remove(network("198.19.200.0/24")).await.unwrap();
    assert_listed(target, &[]).await;
}

pub async fn replace_changes_the_next_hop<T: Target>(target: &T) {
    let fib = target.fib();
    fib.replace(unicast("198.19.1.0/24", &["198.18.0.2"]))
        .await
        .unwrap();
    fib.replace(unicast("198.19.1.0/24", &["198.18.0.3"]))
        .await
        .unwrap();
    assert_listed(target, &[unicast("198.19.1.0/24", &["198.18.0.3"])]).await;
}

pub async fn ecmp_grows_to_three_and_shrinks_to_one<T: Target>(target: &T) {
    let fib = target.fib();
    for gateways in [
        &["198.18.0.2", "198.18.0.3"][..],
        &["198.18.0.4", "198.18.0.2", "198.18.0.3"][..],
        &["198.18.0.3"][..],
    ] {
        let route = unicast("198.19.2.0/24", gateways);
        fib.replace(route.clone()).await.unwrap();
        assert_listed(target, &[route]).await;
    }
    let weighted = Route::unicast(
        network("198.19.2.0/24"),
        vec![
            NextHop::via(address("198.18.0.2")).with_weight(3),
            NextHop::via(address("198.18.0.3")),
        ],
    )
    .unwrap();
    fib.replace(weighted.clone()).await.unwrap();
    assert_listed(target, &[weighted]).await;
}

pub async fn ipv6_routes_and_ecmp<T: Target>(target: &T) {
    let fib = target.fib();
    let single = unicast("2001:db8:10::/48", &["2001:db8::2"]);
    let ecmp = unicast(
        "2001:db8:11::/48",
        &["2001:db8::2", "2001:db8::3", "2001:db8::4"],
    );
    fib.replace(single.clone()).await.unwrap();
    fib.replace(ecmp.clone()).await.unwrap();
    fib.replace(ecmp.clone()).await.unwrap();
    assert_listed(target, &[single.clone(), ecmp]).await;
    let shrunk = unicast("2001:db8:11::/48", &["2001:db8::3"]);
    fib.replace(shrunk.clone()).await.unwrap();
    assert_listed(target, &[single, shrunk]).await;
    fib.remove(network("2001:db8:10::/48")).await.unwrap();
    fib.remove(network("2001:db8:11::/48")).await.unwrap();
    assert_listed(target, &[]).await;
}

/// RFC 8950: an IPv4 prefix through an IPv6 gateway (kernel `RTA_VIA`).
pub async fn ipv4_prefix_via_ipv6_gateway<T: Target>(target: &T) {
    let fib = target.fib();
    let route = unicast("198.19.3.0/24", &["2001:db8::2"]);
    fib.replace(route.clone()).await.unwrap();
    fib.replace(route.clone()).await.unwrap();
    let ecmp = unicast("198.19.4.0/24", &["2001:db8::2", "198.18.0.2"]);
    fib.replace(ecmp.clone()).await.unwrap();
    assert_listed(target, &[route, ecmp]).await;
}

pub async fn blackholes_for_both_families<T: Target>(target: &T) {
    let fib = target.fib();
    let v4 = Route::blackhole(network("198.19.128.0/24"));
    let v6 = Route::blackhole(network("2001:db8:80::/64"));
    fib.replace(v4.clone()).await.unwrap();
    fib.replace(v4.clone()).await.unwrap();
    fib.replace(v6.clone()).await.unwrap();
    assert_listed(target, &[v4.clone(), v6.clone()]).await;
    assert!(
        fib.list_owned()
            .await
            .unwrap()
            .iter()
            .all(|route| route.kind() == RouteKind::Blackhole)
    );
    // A blackhole turns into a unicast route for the same prefix and back.
    let forwarded = unicast("198.19.128.0/24", &["198.18.0.2"]);
    fib.replace(forwarded.clone()).await.unwrap();
    assert_listed(target, &[forwarded, v6.clone()]).await;
    fib.replace(v4.clone()).await.unwrap();
    assert_listed(target, &[v4, v6]).await;
}

pub async fn foreign_route_in_our_slot_is_a_conflict_and_untouched<T: Target>(target: &T) {
    let fib = target.fib();
    for (prefix, protocol, route) in [
        (
            "198.19.5.0/24",
            STATIC,
            unicast("198.19.5.0/24", &["198.18.0.2"]),
        ),
        (
            "2001:db8:50::/64",
            KERNEL,
            unicast("2001:db8:50::/64", &["2001:db8::2"]),
        ),
        (
            "198.19.6.0/24",
            STATIC,
            Route::blackhole(network("198.19.6.0/24")),
        ),
    ] {
        let prefix = network(prefix);
        target.plant(prefix, protocol, Placement::OurSlot).await;
        let error = fib.replace(route.clone()).await.unwrap_err();
        assert!(error.is_conflict(), "{error}");
        assert_eq!(error.prefix, Some(prefix));
        assert!(
            error.to_string().contains(&format!("protocol {protocol}")),
            "{error}"
        );
        // The batch path refuses the same way.
        let batch = fib.apply(vec![FibChange::Replace(route)]).await;
        assert!(batch[0].as_ref().unwrap_err().is_conflict());
        // Removing "our" route for the prefix leaves theirs alone.
        fib.remove(prefix).await.unwrap();
        assert!(
            target
                .planted_present(prefix, protocol, Placement::OurSlot)
                .await
        );
    }
    assert_listed(target, &[]).await;
}

pub async fn foreign_routes_are_never_listed_nor_removed<T: Target>(target: &T) {
    let fib = target.fib();
    let planted = [
        (network("198.19.7.0/24"), STATIC, Placement::OurSlot),
        (network("2001:db8:70::/64"), STATIC, Placement::OurSlot),
        (network("198.19.8.0/24"), 201, Placement::OtherTable),
        (network("2001:db8:71::/64"), 201, Placement::OtherTable),
    ];
    for (prefix, protocol, placement) in planted {
        target.plant(prefix, protocol, placement).await;
    }
    let ours = [
        unicast("198.19.9.0/24", &["198.18.0.2"]),
        unicast("2001:db8:72::/64", &["2001:db8::2"]),
    ];
    for route in &ours {
        fib.replace(route.clone()).await.unwrap();
    }
    assert_listed(target, &ours).await;
    let mut removals: Vec<FibChange> = ours
        .iter()
        .map(|route| FibChange::Remove(route.prefix()))
        .collect();
    removals.extend(
        planted
            .iter()
            .map(|(prefix, _, _)| FibChange::Remove(*prefix)),
    );
    for result in fib.apply(removals).await {
        result.unwrap();
    }
    assert_listed(target, &[]).await;
    for (prefix, protocol, placement) in planted {
        assert!(
            target.planted_present(prefix, protocol, placement).await,
            "{prefix} was disturbed"
        );
    }
}

pub async fn changes_within_one_batch_apply_in_order<T: Target>(target: &T) {
    let fib = target.fib();
    fib.replace(unicast("198.19.10.0/24", &["198.18.0.2"]))
        .await
        .unwrap();
    fib.replace(unicast("198.19.11.0/24", &["198.18.0.2"]))
        .await
        .unwrap();
    let results = fib
        .apply(vec![
            // Existing route: replaced twice, the later one wins.
            FibChange::Replace(unicast("198.19.10.0/24", &["198.18.0.3"])),
            FibChange::Replace(unicast("198.19.10.0/24", &["198.18.0.4"])),
            // Existing route: replaced, then removed.
            FibChange::Replace(unicast("198.19.11.0/24", &["198.18.0.3"])),
            FibChange::Remove(network("198.19.11.0/24")),
            // New route: removed (absent), then added.
            FibChange::Remove(network("198.19.12.0/24")),
            FibChange::Replace(unicast("198.19.12.0/24", &["198.18.0.2"])),
        ])
        .await;
    assert_eq!(results.len(), 6);
    for result in results {
        result.unwrap();
    }
    assert_listed(
        target,
        &[
            unicast("198.19.10.0/24", &["198.18.0.4"]),
            unicast("198.19.12.0/24", &["198.18.0.2"]),
        ],
    )
    .await;
}

/// 10,000 host routes in one batch, listed, re-pointed in one batch (every
/// prefix already exists), then removed in one batch.
pub async fn batch_of_ten_thousand<T: Target>(target: &T) {
    let fib = target.fib();
    let prefixes: Vec<String> = (0..10_000u32)
        .map(|i| format!("198.19.{}.{}/32", i / 256, i % 256))
        .collect();
    let first: Vec<Route> = prefixes
        .iter()
        .map(|prefix| unicast(prefix, &["198.18.0.2"]))
        .collect();
    let results = fib
        .apply(first.iter().cloned().map(FibChange::Replace).collect())
        .await;
    assert_eq!(results.len(), 10_000);
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|result| result.is_err())
    );
    let listed = fib.list_owned().await.unwrap();
    let listed_prefixes: BTreeSet<IpNetwork> = listed.iter().map(Route::prefix).collect();
    let expected: BTreeSet<IpNetwork> = first.iter().map(Route::prefix).collect();
    assert_eq!(listed_prefixes, expected);
    assert!(
        listed
            .iter()
            .zip(&first)
            .all(|(have, want)| have.satisfies(want))
    );

    let second: Vec<Route> = prefixes
        .iter()
        .map(|prefix| unicast(prefix, &["198.18.0.3", "198.18.0.4"]))
        .collect();
    let results = fib
        .apply(second.iter().cloned().map(FibChange::Replace).collect())
        .await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|result| result.is_err())
    );
    let listed = fib.list_owned().await.unwrap();
    assert_eq!(listed.len(), 10_000);
    assert!(
        listed
            .iter()
            .zip(&second)
            .all(|(have, want)| have.satisfies(want))
    );

    let results = fib
        .apply(
            first
                .iter()
                .map(|route| FibChange::Remove(route.prefix()))
                .collect(),
        )
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_listed(target, &[]).await;
}

/// Startup adoption: what is already right stays untouched, the rest is
/// replaced or swept, and one more reconcile finds nothing to do.
pub async fn startup_adoption_converges<T: Target>(target: &T) {
    let fib = target.fib();
    let kept = unicast("198.19.60.0/24", &["198.18.0.2", "198.18.0.3"]);
    let stale = unicast("198.19.61.0/24", &["198.18.0.2"]);
    let repointed = unicast("2001:db8:61::/64", &["2001:db8::2"]);
    let blackhole = Route::blackhole(network("198.19.62.0/24"));
    for route in [&kept, &stale, &repointed, &blackhole] {
        fib.replace(route.clone()).await.unwrap();
    }
    let desired = vec![
        kept.clone(),
        blackhole.clone(),
        unicast("2001:db8:61::/64", &["2001:db8::3"]),
        unicast("198.19.63.0/24", &["198.18.0.4"]),
    ];
    let current = fib.list_owned().await.unwrap();
    let changes = fib::reconcile(&current, &desired);
    assert_eq!(
        changes,
        vec![
            FibChange::Remove(stale.prefix()),
            FibChange::Replace(unicast("198.19.63.0/24", &["198.18.0.4"])),
            FibChange::Replace(unicast("2001:db8:61::/64", &["2001:db8::3"])),
        ]
    );
    for result in fib.apply(changes).await {
        result.unwrap();
    }
    assert_listed(target, &desired).await;
    assert!(fib::reconcile(&fib.list_owned().await.unwrap(), &desired).is_empty());
}

/// Declares one `#[test]` per contract case; `$runner` turns a case into a
/// test body.
#[macro_export]
macro_rules! contract_tests {
    ($runner:ident) => {
        contract_tests!($runner:
            replace_and_remove_are_idempotent,
            replace_changes_the_next_hop,
            ecmp_grows_to_three_and_shrinks_to_one,
            ipv6_routes_and_ecmp,
            ipv4_prefix_via_ipv6_gateway,
            blackholes_for_both_families,
            foreign_route_in_our_slot_is_a_conflict_and_untouched,
            foreign_routes_are_never_listed_nor_removed,
            changes_within_one_batch_apply_in_order,
            startup_adoption_converges,
            batch_of_ten_thousand
        );
    };
    ($runner:ident: $($case:ident),+) => {
        $(
            #[test]
            fn $case() {
                $runner(stringify!($case), |target| async move { contract::$case(&target).await });
            }
        )+
    };
}
