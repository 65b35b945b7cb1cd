//! Route reflection (RFC 4456 §6, §8): the source x destination matrix,
//! never back to the source, and the reflection attributes.

use super::*;
use crate::rib::export::{Role, reflection_allows};
use crate::wire::Message;

#[test]
fn the_reflection_matrix() {
    use Role::*;
    let table = [
        // source, destination, allowed
        (Client, Client, true),
        (Client, NonClient, true),
        (Client, External, true),
        (NonClient, Client, true),
        (NonClient, NonClient, false),
        (NonClient, External, true),
        (External, Client, true),
        (External, NonClient, true),
        (External, External, true),
        (Local, Client, true),
        (Local, NonClient, true),
        (Local, External, true),
    ];
    for (source, destination, allowed) in table {
        assert_eq!(
            reflection_allows(source, destination),
            allowed,
            "{source:?} -> {destination:?}"
        );
    }
}

/// Peers 1, 2: clients; 3, 4: non-clients; 5, 6: eBGP. Peer n announces 198.19.n.0/24.
fn reflector() -> (Rib, Vec<(PeerId, Kind)>) {
    let t = now();
    let mut settings = settings();
    settings.cluster_id = Some(v4("198.18.0.100"));
    let mut rib = Rib::new(settings);
    let peers = vec![
        (PeerId(1), Kind::Client),
        (PeerId(2), Kind::Client),
        (PeerId(3), Kind::NonClient),
        (PeerId(4), Kind::NonClient),
        (PeerId(5), Kind::External),
        (PeerId(6), Kind::External),
    ];
    for (id, kind) in &peers {
        let n = u8::try_from(id.0).unwrap();
        rib.peer_up(t, *id, peer(n, *kind));
    }
    rib.poll_outbound(t);
    for (id, kind) in &peers {
        let n = u8::try_from(id.0).unwrap();
        let path = if *kind == Kind::External {
            attributes(&[64600 + id.0])
        } else {
            attributes(&[])
        };
        let prefix = format!("198.19.{n}.0/24");
        let next_hop = format!("198.18.1.{n}");
        let outcome = rib.receive_update(t, *id, announce(&[&prefix], path, &next_hop));
        assert_eq!(outcome.accepted, 1);
    }
    (rib, peers)
}

#[test]
fn a_reflector_sends_each_route_where_rfc_4456_allows_and_never_back() {
    let (mut rib, peers) = reflector();
    let out = rib.poll_outbound(now());
    let role = |kind: Kind| match kind {
        Kind::Client => Role::Client,
        Kind::NonClient => Role::NonClient,
        Kind::External => Role::External,
    };
    for (destination, destination_kind) in &peers {
        let mut expected: Vec<IpNetwork> = peers
            .iter()
            .filter(|(source, source_kind)| {
                source != destination
                    && reflection_allows(role(*source_kind), role(*destination_kind))
            })
            .map(|(source, _)| net(&format!("198.19.{}.0/24", source.0)))
            .collect();
        expected.sort();
        assert_eq!(
            advertised(&rib, *destination),
            expected,
            "to {destination:?}"
        );
        assert_eq!(
            announced_to(&out, *destination),
            expected,
            "wire to {destination:?}"
        );
    }
}

#[test]
fn reflected_routes_carry_originator_id_and_cluster_list_but_not_to_ebgp() {
    let (mut rib, _) = reflector();
    let out = rib.poll_outbound(now());
    let context = CodecContext::new();
    let find = |peer: PeerId, prefix: &str| {
        updates_for(&out, peer, &context)
            .into_iter()
            .find(|update| {
                update
                    .announced()
                    .any(|(_, nlri)| nlri.prefix == net(prefix))
            })
            .unwrap()
    };
    // Client 1's route reflected to client 2 and non-client 3.
    for to in [PeerId(2), PeerId(3)] {
        let update = find(to, "198.19.1.0/24");
        assert_eq!(update.attributes.originator_id, Some(v4("198.18.1.1")));
        assert_eq!(update.attributes.cluster_list, vec![v4("198.18.0.100")]);
        assert_eq!(
            update.attributes.next_hop,
            Some(v4("198.18.1.1")),
            "next hop unchanged"
        );
    }
    // eBGP-learned route to iBGP: not reflection, no reflection attributes.
    let update = find(PeerId(1), "198.19.5.0/24");
    assert_eq!(update.attributes.originator_id, None);
    assert!(update.attributes.cluster_list.is_empty());
    // Reflected route to eBGP: stripped.
    let update = find(PeerId(5), "198.19.1.0/24");
    assert_eq!(update.attributes.originator_id, None);
    assert!(update.attributes.cluster_list.is_empty());
    assert_eq!(update.attributes.next_hop, Some(v4("198.18.0.1")));
}

#[test]
fn an_existing_originator_id_is_kept_and_cluster_ids_stack() {
    let t = now();
    let mut rib = Rib::new(settings());
    rib.peer_up(t, PeerId(1), peer(1, Kind::Client));
    rib.peer_up(t, PeerId(2), peer(2, Kind::Client));
    rib.poll_outbound(t);
    let mut path = attributes(&[]);
    path.originator_id = Some(v4("198.18.7.7"));
    path.cluster_list = vec![v4("198.18.0.200")];
    rib.receive_update(
        t,
        PeerId(1),
        announce(&["198.19.9.0/24"], path, "198.18.7.7"),
    );
    let out = rib.poll_outbound(t);
    let updates = updates_for(&out, PeerId(2), &CodecContext::new());
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].attributes.originator_id, Some(v4("198.18.7.7")));
    assert_eq!(
        updates[0].attributes.cluster_list,
        vec![router_id(), v4("198.18.0.200")]
    );
    assert!(received_by(&out, PeerId(1), &CodecContext::new())
        .iter()
        .all(|message| !matches!(message, Message::Update(update) if update.announced().count() > 0)));
}
