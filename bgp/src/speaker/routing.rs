//! The owner task's side of the RIB: what the speaker tells it about
//! sessions and UPDATEs, and what it takes from it (UPDATEs to send,
//! forwarding changes, counts).
//!
//! The [`Rib`] is pure and keyed by [`PeerId`]; this adapter translates
//! sessions into [`PeerInfo`], keeps the few per-session facts the RIB does
//! not (the peer's graceful restart time, enhanced route refresh), and owns
//! the stale-route timers of peers that are restarting (RFC 4724 §4.2).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ipnetwork::IpNetwork;

use super::config::{HostAddress, NeighborRouting, NeighborSettings, SpeakerConfig};
use super::neighbor::NeighborId;
use super::status::RouteCounts;
use crate::rib::{FibUpdate, MaxPrefixAction, PeerId, PeerInfo, PrefixView, Rib, RouteFilter};
use crate::session::Negotiated;
use crate::wire::{Afi, Family, Notification, RouteRefresh, RouteRefreshSubtype, Update};

/// UPDATEs encoded once for every neighbor in `neighbors` (an update group).
#[derive(Debug, Clone)]
pub struct OutboundBatch {
    /// Who gets them.
    pub neighbors: Vec<NeighborId>,
    /// Whole encoded messages.
    pub messages: Vec<Bytes>,
}

/// What the speaker must do after a configuration change.
#[derive(Debug, Default)]
pub struct ReconfigureOutcome {
    /// Ask these neighbors to send a family again (import policy changed and
    /// no pre-policy copy is kept).
    pub route_refresh: Vec<(NeighborId, Family)>,
}

#[derive(Debug, Clone, Copy)]
struct SessionFacts {
    enhanced_route_refresh: bool,
}

/// Route state of the speaker.
#[derive(Debug)]
pub struct Routing {
    rib: Rib,
    sessions: BTreeMap<NeighborId, SessionFacts>,
    /// When the stale routes of a restarting peer are given up (RFC 4724 §4.2).
    stale_deadlines: BTreeMap<NeighborId, Instant>,
    /// What the RIB originates now: configured and imported together.
    originated: BTreeSet<IpNetwork>,
    /// `[[originate]]` prefixes.
    configured: BTreeSet<IpNetwork>,
    /// Prefixes imported from kernel routes.
    imported: BTreeSet<IpNetwork>,
    /// How long a returned neighbor's stale routes wait for End-of-RIB.
    stale_time: Duration,
}

fn peer(neighbor: NeighborId) -> PeerId {
    PeerId(neighbor.0)
}

impl Routing {
    /// Routing for a configuration, with this host's prefixes originated.
    pub fn new(now: Instant, config: &SpeakerConfig) -> Routing {
        let mut routing = Routing {
            rib: Rib::new(config.rib.clone()),
            sessions: BTreeMap::new(),
            stale_deadlines: BTreeMap::new(),
            originated: BTreeSet::new(),
            configured: BTreeSet::new(),
            imported: BTreeSet::new(),
            stale_time: config.stale_time,
        };
        routing.set_originated(now, &config.originate);
        routing
    }

    fn set_originated(&mut self, now: Instant, prefixes: &[IpNetwork]) {
        self.configured = prefixes.iter().copied().collect();
        self.apply_originated(now);
    }

    /// Replaces the prefixes imported from the kernel (`[[import_kernel]]`),
    /// which are originated like the configured ones.
    pub fn set_imported(&mut self, now: Instant, prefixes: BTreeSet<IpNetwork>) {
        self.imported = prefixes;
        self.apply_originated(now);
    }

    /// Originates the configured and imported prefixes, withdrawing what left.
    fn apply_originated(&mut self, now: Instant) {
        let wanted: BTreeSet<IpNetwork> = self.configured.union(&self.imported).copied().collect();
        for prefix in self.originated.difference(&wanted) {
            self.rib.withdraw_originated(now, *prefix);
        }
        for prefix in wanted.difference(&self.originated) {
            self.rib.originate(now, *prefix, None);
        }
        self.originated = wanted;
    }

    /// A lost session's withdrawals wait to be sent ([`Rib::lost_session_pending`]).
    pub fn lost_session_pending(&self) -> bool {
        self.rib.lost_session_pending()
    }

    /// Changes wait only for the rest of their event ([`Rib::settling`]).
    pub fn settling(&self) -> bool {
        self.rib.settling()
    }

    /// The rest of the event is in: settling changes are due ([`Rib::settle`]).
    pub fn settle(&mut self) {
        self.rib.settle();
    }

    /// When the RIB or a stale timer next needs the owner's attention.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.rib
            .next_deadline()
            .into_iter()
            .chain(self.stale_deadlines.values().copied())
            .min()
    }

    /// Runs the stale timers that are due.
    pub fn handle_timeouts(&mut self, now: Instant) {
        let due: Vec<NeighborId> = self
            .stale_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for neighbor in due {
            self.stale_deadlines.remove(&neighbor);
            tracing::info!(
                neighbor = neighbor.0,
                "restart time over: stale routes removed"
            );
            self.rib.sweep_stale(now, peer(neighbor), None);
        }
    }

    /// A session came up.
    pub fn peer_up(
        &mut self,
        now: Instant,
        neighbor: NeighborId,
        settings: &NeighborSettings,
        negotiated: &Negotiated,
        local: Option<SocketAddr>,
        host_addresses: &[HostAddress],
    ) {
        let routing = &settings.routing;
        let local_address = local.map(|address| canonical(address.ip()));
        let (local_ipv4, local_ipv6) =
            next_hop_self_addresses(routing, local_address, host_addresses);
        let info = PeerInfo {
            address: settings.address(),
            local_ipv4,
            local_ipv6,
            remote_asn: negotiated.peer_as,
            remote_router_id: negotiated.peer_router_id,
            internal: negotiated.internal,
            route_reflector_client: settings.route_reflector_client,
            next_hop: routing.next_hop,
            families: negotiated.families.clone(),
            add_path_receive: negotiated.add_path_receive.clone(),
            add_path_send: negotiated
                .add_path_send
                .iter()
                .map(|family| (*family, routing.add_path_send.max(1)))
                .collect(),
            import_policy: routing.import_policy.clone(),
            export_policy: routing.export_policy.clone(),
            allowas_in: routing.allowas_in,
            max_prefixes: routing.max_prefixes,
            soft_reconfiguration_inbound: routing.soft_reconfiguration_inbound,
            extended_next_hop: negotiated.extended_next_hop.iter().any(|entry| {
                entry.family == Family::IPV4_UNICAST && entry.next_hop_afi == Afi::IPV6
            }),
            encoding: negotiated.encode_context(),
        };
        // Back after a restart with routes still stale: they wait for its
        // End-of-RIB, but no longer than the stale time (RFC 4724 §4.2).
        if self.rib.stale_count(peer(neighbor)) > 0 {
            self.stale_deadlines.insert(neighbor, now + self.stale_time);
        } else {
            self.stale_deadlines.remove(&neighbor);
        }
        self.sessions.insert(
            neighbor,
            SessionFacts {
                enhanced_route_refresh: negotiated.enhanced_route_refresh,
            },
        );
        self.rib.peer_up(now, peer(neighbor), info);
    }

    /// A session went down. With graceful restart in force (`retain_for`),
    /// its routes stay, stale, until it comes back and sends End-of-RIB or
    /// the time is over (RFC 4724 §4.2); otherwise they go at once.
    pub fn peer_down(&mut self, now: Instant, neighbor: NeighborId, retain_for: Option<Duration>) {
        self.sessions.remove(&neighbor);
        match retain_for {
            Some(time) => {
                self.rib.peer_down_retaining(now, peer(neighbor));
                self.stale_deadlines.insert(neighbor, now + time);
            }
            None => {
                self.stale_deadlines.remove(&neighbor);
                self.rib.peer_down(now, peer(neighbor));
            }
        }
    }

    /// Forgets a neighbor that is removed from the configuration.
    pub fn forget(&mut self, now: Instant, neighbor: NeighborId) {
        self.peer_down(now, neighbor, None);
    }

    /// An UPDATE arrived. Returns a NOTIFICATION when the session must be
    /// stopped (a prefix limit with `teardown`).
    pub fn receive_update(
        &mut self,
        now: Instant,
        neighbor: NeighborId,
        update: Update,
    ) -> Option<Notification> {
        let family = update
            .announced()
            .next()
            .map_or(Family::IPV4_UNICAST, |(family, _)| family);
        if let Some(error) = &update.treat_as_withdraw {
            tracing::warn!(
                neighbor = neighbor.0,
                field = error.field,
                offset = error.offset,
                detail = %error.detail,
                "malformed attribute: the UPDATE's prefixes are treated as withdrawn (RFC 7606)"
            );
        }
        let outcome = self.rib.receive_update(now, peer(neighbor), update);
        let exceeded = outcome.max_prefixes_exceeded?;
        match exceeded.action {
            MaxPrefixAction::Warn => {
                tracing::warn!(
                    neighbor = neighbor.0,
                    limit = exceeded.limit,
                    accepted = exceeded.accepted,
                    "prefix limit passed"
                );
                None
            }
            MaxPrefixAction::Teardown => {
                tracing::warn!(
                    neighbor = neighbor.0,
                    limit = exceeded.limit,
                    "prefix limit passed: session torn down"
                );
                Some(Notification::maximum_prefixes(family, exceeded.limit))
            }
        }
    }

    /// The neighbor asked for our routes again (RFC 2918, RFC 7313).
    pub fn route_refresh(&mut self, now: Instant, neighbor: NeighborId, refresh: RouteRefresh) {
        if refresh.subtype != RouteRefreshSubtype::Request {
            return;
        }
        let enhanced = self
            .sessions
            .get(&neighbor)
            .is_some_and(|facts| facts.enhanced_route_refresh);
        self.rib
            .route_refresh(now, peer(neighbor), refresh.family, enhanced);
    }

    /// UPDATEs ready to send.
    pub fn poll_outbound(&mut self, now: Instant) -> Vec<OutboundBatch> {
        self.rib
            .poll_outbound(now)
            .into_iter()
            .map(|outbound| OutboundBatch {
                neighbors: outbound
                    .peers
                    .iter()
                    .map(|peer| NeighborId(peer.0))
                    .collect(),
                messages: outbound.messages,
            })
            .collect()
    }

    /// Forwarding changes for the kernel.
    pub fn poll_fib_changes(&mut self) -> Vec<FibUpdate> {
        self.rib.poll_fib_changes()
    }

    /// Route counts of one neighbor.
    pub fn counts(&self, neighbor: NeighborId) -> RouteCounts {
        let counters = self.rib.peer_counters(peer(neighbor));
        RouteCounts {
            received: u64::from(counters.received),
            accepted: u64::from(counters.accepted),
            advertised: u64::from(counters.advertised),
            stale: self.rib.stale_count(peer(neighbor)) as u64,
        }
    }

    /// Routes of the Loc-RIB, for the API.
    pub fn routes(&self, filter: RouteFilter) -> Vec<PrefixView> {
        self.rib.routes(filter)
    }

    /// The RIB itself, for read-only queries.
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// Whether every neighbor in `neighbors` has sent End-of-RIB for every
    /// family it negotiated.
    pub fn end_of_rib_from_all(&self, neighbors: &BTreeMap<NeighborId, BTreeSet<Family>>) -> bool {
        neighbors.iter().all(|(neighbor, families)| {
            let received: BTreeSet<Family> = self
                .rib
                .end_of_rib_received(peer(*neighbor))
                .into_iter()
                .collect();
            families.is_subset(&received)
        })
    }

    /// A neighbor's policies changed (no reset needed).
    pub fn set_neighbor_policy(
        &mut self,
        now: Instant,
        neighbor: NeighborId,
        import: &str,
        export: &str,
    ) -> Vec<(NeighborId, Family)> {
        let outcome = self
            .rib
            .set_peer_policy(now, peer(neighbor), import, export);
        outcome
            .route_refresh
            .into_iter()
            .map(|(peer, family)| (NeighborId(peer.0), family))
            .collect()
    }

    /// A new configuration: policies and originated prefixes.
    pub fn reconfigure(&mut self, now: Instant, config: &SpeakerConfig) -> ReconfigureOutcome {
        let mut outcome = ReconfigureOutcome::default();
        self.stale_time = config.stale_time;
        if self.rib.settings().policies != config.rib.policies {
            let policy = self.rib.set_policies(now, config.rib.policies.clone());
            outcome.route_refresh.extend(
                policy
                    .route_refresh
                    .into_iter()
                    .map(|(peer, family)| (NeighborId(peer.0), family)),
            );
        }
        self.set_originated(now, &config.originate);
        outcome
    }
}

/// The addresses a session announces as "next hop self", per family: the
/// configured ones, else the session's own address for its family, else an
/// address of the other family on the same interface (so IPv6 routes can go
/// over an IPv4 session: dual stack on one session, as Calico runs it).
fn next_hop_self_addresses(
    routing: &NeighborRouting,
    local: Option<IpAddr>,
    host_addresses: &[HostAddress],
) -> (Option<std::net::Ipv4Addr>, Option<std::net::Ipv6Addr>) {
    let interface = local.and_then(|local| {
        host_addresses
            .iter()
            .find(|host| host.address == local)
            .map(|host| host.interface)
    });
    let on_interface = |ipv6: bool| {
        host_addresses
            .iter()
            .filter(|host| {
                Some(host.interface) == interface && host.global && host.address.is_ipv6() == ipv6
            })
            .map(|host| host.address)
            .next()
    };
    let ipv4 = routing.next_hop_ipv4.or(match local {
        Some(IpAddr::V4(address)) => Some(address),
        _ => match on_interface(false) {
            Some(IpAddr::V4(address)) => Some(address),
            _ => None,
        },
    });
    let ipv6 = routing.next_hop_ipv6.or(match local {
        Some(IpAddr::V6(address)) => Some(address),
        _ => match on_interface(true) {
            Some(IpAddr::V6(address)) => Some(address),
            _ => None,
        },
    });
    (ipv4, ipv6)
}

/// IPv4 peers reaching an IPv6 socket appear as ::ffff:a.b.c.d.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speaker_config() -> SpeakerConfig {
        let router_id = std::net::Ipv4Addr::new(198, 18, 0, 1);
        SpeakerConfig {
            local_as: 64512,
            router_id,
            listen: vec![],
            neighbors: vec![],
            listen_ranges: vec![],
            connection: Default::default(),
            rib: crate::rib::RibSettings::new(64512, router_id),
            originate: vec![],
            restarting: None,
            host_addresses: vec![],
            stale_time: Duration::from_secs(10),
        }
    }

    #[test]
    fn stale_routes_of_a_returned_neighbor_wait_for_end_of_rib_no_longer_than_the_stale_time() {
        use crate::session::{ExpectedPeerAs, SessionConfig, negotiate};
        use crate::wire::{Nlri, Origin, PathAttributes};

        let start = Instant::now();
        let mut routing = Routing::new(start, &speaker_config());
        let ours = SessionConfig::new(
            64512,
            "198.18.0.1".parse().unwrap(),
            "198.18.0.2".parse().unwrap(),
            ExpectedPeerAs::Exact(64512),
        );
        let theirs = SessionConfig::new(
            64512,
            "198.18.0.2".parse().unwrap(),
            "198.18.0.1".parse().unwrap(),
            ExpectedPeerAs::Exact(64512),
        );
        let negotiated = negotiate(&ours, &theirs.open_message());
        let settings = NeighborSettings {
            session: ours,
            port: 179,
            transport: Default::default(),
            route_reflector_client: false,
            routing: NeighborRouting::open(),
            description: None,
            shutdown: false,
        };
        let neighbor = NeighborId(1);
        routing.peer_up(start, neighbor, &settings, &negotiated, None, &[]);
        let update = Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(Default::default()),
                next_hop: Some("198.18.0.2".parse().unwrap()),
                local_pref: Some(100),
                ..PathAttributes::default()
            },
            nlri: vec![Nlri {
                path_id: None,
                prefix: "198.19.2.0/24".parse().unwrap(),
            }],
            ..Update::default()
        };
        routing.receive_update(start, neighbor, update);
        assert_eq!(routing.routes(RouteFilter::default()).len(), 1);

        // It restarts (routes kept stale), comes back, and never sends End-of-RIB.
        routing.peer_down(start, neighbor, Some(Duration::from_secs(120)));
        let back = start + Duration::from_secs(5);
        routing.peer_up(back, neighbor, &settings, &negotiated, None, &[]);
        assert_eq!(routing.counts(neighbor).stale, 1);
        routing.poll_outbound(back);
        assert_eq!(
            routing.next_deadline(),
            Some(back + Duration::from_secs(10)),
            "the stale time, not the restart time"
        );
        routing.handle_timeouts(back + Duration::from_secs(10));
        assert_eq!(routing.counts(neighbor).stale, 0);
        assert!(routing.routes(RouteFilter::default()).is_empty(), "swept");
    }

    fn host(interface: u32, address: &str, global: bool) -> HostAddress {
        HostAddress {
            interface,
            address: address.parse().unwrap(),
            global,
        }
    }

    #[test]
    fn an_ipv4_session_takes_its_interfaces_global_ipv6_address_for_ipv6_routes() {
        let hosts = [
            host(2, "198.18.0.1", true),
            host(2, "fe80::1", false),
            host(2, "2001:db8::1", true),
            host(3, "2001:db8:ffff::9", true),
        ];
        let local = Some("198.18.0.1".parse().unwrap());
        let (ipv4, ipv6) = next_hop_self_addresses(&NeighborRouting::open(), local, &hosts);
        assert_eq!(ipv4, Some("198.18.0.1".parse().unwrap()));
        assert_eq!(
            ipv6,
            Some("2001:db8::1".parse().unwrap()),
            "global, same interface, not link-local"
        );
    }

    #[test]
    fn configured_next_hops_win_and_nothing_is_invented() {
        let local = Some("198.18.0.1".parse().unwrap());
        let mut routing = NeighborRouting::open();
        routing.next_hop_ipv6 = Some("2001:db8::99".parse().unwrap());
        let (_, ipv6) = next_hop_self_addresses(&routing, local, &[]);
        assert_eq!(ipv6, Some("2001:db8::99".parse().unwrap()));
        let (ipv4, ipv6) = next_hop_self_addresses(&NeighborRouting::open(), local, &[]);
        assert_eq!(
            (ipv4, ipv6),
            (Some("198.18.0.1".parse().unwrap()), None),
            "no address known, none invented"
        );
    }
}
