//! Update groups sharing one Adj-RIB-Out (`shared_out.rs`): members join
//! once their initial table is out, are never sent their own routes, see
//! exactly the changes a table of their own would give, and leave on a
//! session loss or an export policy change.

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
