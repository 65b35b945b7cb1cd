//! Graceful restart, receiving side (RFC 4724 §4.2): routes kept stale
//! across the restart, refreshed one by one, swept at End-of-RIB or when
//! the restart timer expires.

use super::*;
use crate::wire::Family;

fn restarting() -> (Rib, PeerId, PeerId) {
    let t = now();
    let mut rib = Rib::new(settings());
    let restarter = PeerId(1);
    let watcher = PeerId(2);
    rib.peer_up(t, restarter, peer(1, Kind::Client));
    rib.peer_up(t, watcher, peer(2, Kind::Client));
    rib.receive_update(
        t,
        restarter,
        announce(
            &["198.19.1.0/24", "198.19.2.0/24"],
            attributes(&[]),
            "198.18.1.1",
        ),
    );
    rib.poll_outbound(t);
    rib.poll_fib_changes();
    rib.peer_down_retaining(t, restarter);
    (rib, restarter, watcher)
}

#[test]
fn retained_routes_keep_forwarding_and_nothing_is_withdrawn() {
    let (mut rib, restarter, watcher) = restarting();
    assert_eq!(rib.stale_count(restarter), 2);
    assert!(rib.poll_fib_changes().is_empty());
    assert!(rib.poll_outbound(now()).is_empty());
    assert_eq!(advertised(&rib, watcher).len(), 2);
    assert!(best_of(&rib, "198.19.1.0/24").is_some());
}

#[test]
fn re_sent_routes_stop_being_stale_and_end_of_rib_sweeps_the_rest() {
    let (mut rib, restarter, watcher) = restarting();
    let t = now();
    rib.peer_up(t, restarter, peer(1, Kind::Client));
    let initial = rib.poll_outbound(t);
    let to_restarter = updates_for(&initial, restarter, &CodecContext::new());
    assert!(
        to_restarter
            .iter()
            .all(|update| update.announced().count() == 0)
    );
    assert_eq!(to_restarter.len(), 2, "End-of-RIB for both families only");
    rib.receive_update(
        t,
        restarter,
        announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.1"),
    );
    assert_eq!(rib.stale_count(restarter), 1);
    assert!(
        rib.poll_outbound(t).is_empty(),
        "same route again: nothing to tell"
    );
    rib.receive_update(t, restarter, Update::end_of_rib(Family::IPV6_UNICAST));
    assert_eq!(rib.stale_count(restarter), 1, "another family's End-of-RIB");
    rib.receive_update(t, restarter, Update::end_of_rib(Family::IPV4_UNICAST));
    assert_eq!(rib.stale_count(restarter), 0);
    assert!(best_of(&rib, "198.19.2.0/24").is_none());
    assert_eq!(
        rib.poll_fib_changes(),
        vec![crate::rib::FibUpdate {
            prefix: net("198.19.2.0/24"),
            next_hops: vec![],
        }]
    );
    let out = rib.poll_outbound(t);
    let updates = updates_for(&out, watcher, &CodecContext::new());
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].withdrawn, vec![Nlri::new(net("198.19.2.0/24"))]);
}

#[test]
fn the_restart_timer_sweeps_everything_and_forgets_the_peer() {
    let (mut rib, restarter, _) = restarting();
    rib.sweep_stale(now(), restarter, None);
    assert!(best_of(&rib, "198.19.1.0/24").is_none());
    assert_eq!(rib.poll_fib_changes().len(), 2);
    assert_eq!(
        rib.peer_counters(restarter),
        crate::rib::PeerRouteCounters::default()
    );
    assert_eq!(rib.counts().attribute_sets, 0);
}
