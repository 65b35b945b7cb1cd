//! Update groups sharing one Adj-RIB-Out (`shared_out.rs`): members join
//! once their initial table is out, are never sent their own routes, see
//! exactly the changes a table of their own would give, and leave on a
//! session loss or an export policy change.

use std::time::Duration;

use super::*;

fn client(rib: &mut Rib, n: u8) -> PeerId {
    let id = PeerId(u32::from(n));
    rib.peer_up(now(), id, peer(n, Kind::Client));
    id
}

fn members(rib: &Rib) -> Vec<Vec<PeerId>> {
    rib.shared_out
        .values()
        .map(|group| group.members.iter().copied().collect())
        .collect()
}

#[test]
fn clients_share_one_table_and_are_never_sent_their_own_routes() {
    let mut rib = Rib::new(settings());
    let clients: Vec<PeerId> = (1..=3).map(|n| client(&mut rib, n)).collect();
    rib.poll_outbound(now());
    // Nothing pending after the initial tables: all three joined.
    assert_eq!(members(&rib), vec![clients.clone()]);
    for (index, id) in clients.iter().enumerate() {
        let n = index + 1;
        rib.receive_update(
            now(),
            *id,
            announce(
                &[&format!("198.19.{n}.0/24")],
                attributes(&[]),
                &format!("198.18.1.{n}"),
            ),
        );
    }
    let out = rib.poll_outbound(now());
    for (index, id) in clients.iter().enumerate() {
        let own = net(&format!("198.19.{}.0/24", index + 1));
        let sent = announced_to(&out, *id);
        assert_eq!(
            sent.len(),
            2,
            "client {id:?} is sent the two others' routes"
        );
        assert!(!sent.contains(&own));
        assert_eq!(advertised(&rib, *id).len(), 2);
        assert!(!advertised(&rib, *id).contains(&own));
        // No table of its own: the group's table, less its own route.
        let state = &rib.peers[id];
        assert_eq!(state.adj_rib_out.len(), 0);
        assert!(state.shared.is_some());
        assert_eq!(rib.peer_counters(*id).advertised, 2);
    }
    // Client 2 now also announces client 1's prefix with a shorter path:
    // client 1 gets it (it is no longer its own best), client 2 loses it.
    let mut better = attributes(&[]);
    better.local_pref = Some(200);
    rib.receive_update(
        now(),
        clients[1],
        announce(&["198.19.1.0/24"], better, "198.18.1.2"),
    );
    let out = rib.poll_outbound(now());
    assert_eq!(announced_to(&out, clients[0]), vec![net("198.19.1.0/24")]);
    let withdrawn: Vec<IpNetwork> = updates_for(&out, clients[1], &CodecContext::new())
        .iter()
        .flat_map(|update| {
            update
                .withdrawals()
                .map(|(_, nlri)| nlri.prefix)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(withdrawn, vec![net("198.19.1.0/24")]);
    assert_eq!(
        advertised(&rib, clients[0]),
        vec![
            net("198.19.1.0/24"),
            net("198.19.2.0/24"),
            net("198.19.3.0/24")
        ]
    );
    assert_eq!(advertised(&rib, clients[1]), vec![net("198.19.3.0/24")]);
}

#[test]
fn members_leave_on_session_loss_and_export_change_and_rejoin() {
    let mut rib = Rib::new(settings());
    let clients: Vec<PeerId> = (1..=2).map(|n| client(&mut rib, n)).collect();
    rib.receive_update(
        now(),
        clients[0],
        announce(&["198.19.1.0/24"], attributes(&[]), "198.18.1.1"),
    );
    rib.poll_outbound(now());
    assert_eq!(members(&rib), vec![clients.clone()]);
    // An export policy change: the member gets its own table back, is
    // compared alone (nothing to send: `all` -> `all` changes nothing
    // exported), then joins again.
    rib.set_peer_policy(now(), clients[1], "all", "originated");
    let out = rib.poll_outbound(now());
    assert_eq!(announced_to(&out, clients[1]), vec![]);
    assert!(advertised(&rib, clients[1]).is_empty());
    // A different export policy is a different group: two groups of one,
    // each peer with a table of its own.
    assert!(rib.shared_out.is_empty());
    assert_eq!(advertised(&rib, clients[0]), vec![]);
    rib.set_peer_policy(now(), clients[1], "all", "all");
    let out = rib.poll_outbound(now());
    assert_eq!(announced_to(&out, clients[1]), vec![net("198.19.1.0/24")]);
    assert_eq!(members(&rib), vec![clients.clone()]);
    // A session loss leaves a group of one: its last member takes its view
    // back as a table of its own.
    rib.peer_down(now(), clients[1]);
    rib.poll_outbound(now());
    assert!(rib.shared_out.is_empty());
    assert!(rib.peers[&clients[0]].shared.is_none());
    assert_eq!(advertised(&rib, clients[0]), vec![]);
    rib.receive_update(
        now(),
        clients[0],
        announce(&["198.19.9.0/24"], attributes(&[]), "198.18.1.1"),
    );
    let third = client(&mut rib, 3);
    let out = rib.poll_outbound(now());
    assert_eq!(
        announced_to(&out, third),
        vec![net("198.19.1.0/24"), net("198.19.9.0/24")]
    );
    assert_eq!(members(&rib), vec![vec![clients[0], third]]);
}

#[test]
fn a_peer_alone_in_its_group_keeps_its_own_table() {
    let mut rib = Rib::new(settings());
    let external = PeerId(4);
    rib.peer_up(now(), external, peer(4, Kind::External));
    let only_client = client(&mut rib, 1);
    rib.poll_outbound(now());
    assert!(rib.shared_out.is_empty());
    assert!(rib.peers[&external].shared.is_none());
    assert!(rib.peers[&only_client].shared.is_none());
}

#[test]
fn new_sessions_get_the_group_table_as_their_initial_table_and_join_at_once() {
    let mut settings = settings();
    settings.coalesce_window = Duration::from_millis(10);
    let mut rib = Rib::new(settings);
    let at = |milliseconds: u64| now() + Duration::from_millis(milliseconds);
    let first = client(&mut rib, 1);
    let second = client(&mut rib, 2);
    rib.poll_outbound(at(0));
    for (id, n) in [(first, 1), (second, 2)] {
        rib.receive_update(
            at(0),
            id,
            announce(
                &[&format!("198.19.{n}.0/24")],
                attributes(&[]),
                &format!("198.18.1.{n}"),
            ),
        );
    }
    rib.poll_outbound(at(20));
    assert_eq!(members(&rib), vec![vec![first, second]]);
    // A change still inside its coalescing window when clients 3 and 4
    // come up at once, as in a session storm.
    rib.receive_update(
        at(21),
        first,
        announce(&["198.19.9.0/24"], attributes(&[]), "198.18.1.1"),
    );
    let third = client(&mut rib, 3);
    let fourth = client(&mut rib, 4);
    let out = rib.poll_outbound(at(21));
    // Their initial table is the group's table as last sent (without the
    // pending change), and they are members at once: no table of their own
    // was built, although a change is pending.
    for id in [third, fourth] {
        assert_eq!(
            announced_to(&out, id),
            vec![net("198.19.1.0/24"), net("198.19.2.0/24")],
            "{id:?} is sent the group's table"
        );
        let state = &rib.peers[&id];
        assert!(state.shared.is_some(), "{id:?} joined at once");
        assert_eq!(state.adj_rib_out.len(), 0);
        assert_eq!(rib.peer_counters(id).advertised, 2);
        // End-of-RIB follows the table (RFC 4724 §2).
        let updates = updates_for(&out, id, &CodecContext::new());
        assert!(
            updates
                .last()
                .is_some_and(|update| update.is_end_of_rib().is_some())
        );
    }
    // Both were sent one encoding.
    assert!(
        out.iter()
            .any(|outbound| outbound.peers == vec![third, fourth])
    );
    assert_eq!(members(&rib), vec![vec![first, second, third, fourth]]);
    // The pending change reaches them with the other members when due.
    let out = rib.poll_outbound(at(31));
    for id in [second, third, fourth] {
        assert_eq!(announced_to(&out, id), vec![net("198.19.9.0/24")]);
    }
    assert_eq!(announced_to(&out, first), Vec::<IpNetwork>::new());
    assert_eq!(advertised(&rib, fourth).len(), 3);
}

#[test]
fn a_returning_session_is_not_sent_its_own_retained_routes() {
    let mut rib = Rib::new(settings());
    let first = client(&mut rib, 1);
    let second = client(&mut rib, 2);
    let third = client(&mut rib, 3);
    rib.poll_outbound(now());
    rib.receive_update(
        now(),
        second,
        announce(&["198.19.2.0/24"], attributes(&[]), "198.18.1.2"),
    );
    rib.poll_outbound(now());
    // Client 2 restarts gracefully: its route stays, and it comes back.
    rib.peer_down_retaining(now(), second);
    rib.poll_outbound(now());
    rib.peer_up(now(), second, peer(2, Kind::Client));
    let out = rib.poll_outbound(now());
    assert_eq!(announced_to(&out, second), Vec::<IpNetwork>::new());
    assert!(rib.peers[&second].shared.is_some());
    assert_eq!(advertised(&rib, first), vec![net("198.19.2.0/24")]);
    assert_eq!(advertised(&rib, third), vec![net("198.19.2.0/24")]);
    assert_eq!(advertised(&rib, second), Vec::<IpNetwork>::new());
}
