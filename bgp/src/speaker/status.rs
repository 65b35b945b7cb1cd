//! What `podroute neighbors` shows: one [`NeighborStatus`] per neighbor, a
//! stable JSON schema (documented in docs/api.md) built from the session's
//! status, the neighbor's settings and the RIB's counters.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use serde::Serialize;

use crate::session::{MessageCounters, Negotiated, SessionStatus};
use crate::wire::Family;

/// One neighbor as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeighborStatus {
    /// The neighbor's address.
    pub address: IpAddr,
    /// Its AS: negotiated, else configured (`null` for a dynamic neighbor
    /// before its OPEN).
    pub remote_asn: Option<u32>,
    /// Our AS.
    pub local_asn: u32,
    /// RFC 4271 state name, e.g. `"Established"`.
    pub state: String,
    /// Seconds in Established (0 when not Established).
    pub uptime_seconds: u64,
    /// The neighbor's BGP identifier once known.
    pub router_id: Option<Ipv4Addr>,
    /// Route reflection client (RFC 4456).
    pub route_reflector_client: bool,
    /// Accepted from a listen range rather than configured.
    pub dynamic: bool,
    /// Configured description.
    pub description: Option<String>,
    /// Administratively shut down.
    pub shutdown: bool,
    /// Import policy name (`all`, `none`, `originated` or a `[[policy]]`).
    pub import_policy: String,
    /// Export policy name.
    pub export_policy: String,
    /// Why the neighbor exchanges nothing, when it does not (RFC 8212).
    pub notes: Vec<String>,
    /// UPDATEs with malformed attributes whose prefixes were treated as
    /// withdrawn, keeping the session up (RFC 7606 §2).
    pub updates_treated_as_withdraw: u64,
    /// Prefixes the neighbor announced and that we hold (pre-policy).
    pub prefixes_received: u64,
    /// Of those, the ones import policy accepted.
    pub prefixes_accepted: u64,
    /// Prefixes we advertise to the neighbor.
    pub prefixes_advertised: u64,
    /// Messages received, all types.
    pub messages_received: u64,
    /// Messages sent, all types.
    pub messages_sent: u64,
    /// Messages received per type.
    pub messages_received_by_type: MessageCountView,
    /// Messages sent per type.
    pub messages_sent_by_type: MessageCountView,
    /// Times the session left Established.
    pub flaps: u64,
    /// Negotiated hold time while Established.
    pub hold_time: Option<u16>,
    /// Negotiated keepalive interval while Established.
    pub keepalive: Option<u16>,
    /// Families negotiated, by name.
    pub families: Vec<String>,
    /// Graceful restart as negotiated on the current session (RFC 4724),
    /// `null` before the first OPEN.
    pub graceful_restart: Option<GracefulRestartView>,
    /// Routes of this neighbor kept, stale, while it restarts (RFC 4724 §4.2).
    pub stale_routes: u64,
    /// The last NOTIFICATION sent or received or the last socket error, in words.
    pub last_error: Option<String>,
    /// Seconds since the last error.
    pub last_error_seconds_ago: Option<u64>,
}

/// Graceful restart on one session (RFC 4724 §3, RFC 8538 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GracefulRestartView {
    /// We announced graceful restart: we keep this neighbor's routes when its
    /// session drops.
    pub local: bool,
    /// Both sides set the N bit: a NOTIFICATION other than Hard Reset also
    /// keeps routes (RFC 8538).
    pub notification: bool,
    /// The neighbor's capability, if it sent one.
    pub peer: Option<PeerGracefulRestartView>,
}

/// The neighbor's graceful restart capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerGracefulRestartView {
    /// Seconds we keep its routes after its session drops.
    pub restart_time: u16,
    /// R bit: it has just restarted.
    pub restart_state: bool,
    /// Families it preserves forwarding for, with the F bit of each.
    pub families: Vec<PeerGracefulRestartFamily>,
}

/// One family of the neighbor's graceful restart capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerGracefulRestartFamily {
    /// The family, e.g. `ipv4-unicast`.
    pub family: String,
    /// F bit: forwarding state was kept across its restart.
    pub forwarding_state: bool,
}

/// Message counters by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MessageCountView {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH.
    pub route_refresh: u64,
}

impl From<MessageCounters> for MessageCountView {
    fn from(counters: MessageCounters) -> Self {
        MessageCountView {
            open: counters.open,
            update: counters.update,
            notification: counters.notification,
            keepalive: counters.keepalive,
            route_refresh: counters.route_refresh,
        }
    }
}

/// Route counts of one neighbor, from the RIB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteCounts {
    /// Prefixes held from the neighbor before policy.
    pub received: u64,
    /// Prefixes accepted by import policy.
    pub accepted: u64,
    /// Prefixes advertised to the neighbor.
    pub advertised: u64,
    /// Routes kept stale while the neighbor restarts.
    pub stale: u64,
}

/// The neighbor's settings that the status shows.
#[derive(Debug, Clone, Copy)]
pub struct NeighborFacts<'a> {
    /// Route reflection client.
    pub route_reflector_client: bool,
    /// Accepted from a listen range.
    pub dynamic: bool,
    /// Description.
    pub description: Option<&'a str>,
    /// Administratively down.
    pub shutdown: bool,
    /// An eBGP neighbor (its AS differs from ours).
    pub external: bool,
    /// Import policy name.
    pub import_policy: &'a str,
    /// Export policy name.
    pub export_policy: &'a str,
    /// UPDATEs whose prefixes were treated as withdrawn (RFC 7606).
    pub updates_treated_as_withdraw: u64,
}

/// Why an eBGP neighbor exchanges nothing, when that is the case: RFC 8212
/// makes it the default, and operators should not have to guess.
fn policy_notes(facts: &NeighborFacts<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    if facts.external && facts.import_policy == "none" {
        notes.push("import policy is none: nothing is accepted from this eBGP neighbor (RFC 8212); set import".into());
    }
    if facts.external && facts.export_policy == "none" {
        notes.push(
            "export policy is none: nothing is sent to this eBGP neighbor (RFC 8212); set export"
                .into(),
        );
    }
    notes
}

impl NeighborStatus {
    /// Builds the view at `now`.
    pub fn new(
        now: Instant,
        session: &SessionStatus,
        negotiated: Option<&Negotiated>,
        facts: NeighborFacts<'_>,
        routes: RouteCounts,
    ) -> NeighborStatus {
        let families = negotiated
            .map(|negotiated| negotiated.families.iter().map(Family::to_string).collect())
            .unwrap_or_default();
        NeighborStatus {
            address: session.peer_address,
            remote_asn: session.peer_as,
            local_asn: session.local_as,
            state: session.state.to_string(),
            uptime_seconds: session
                .established_since
                .map(|since| now.saturating_duration_since(since).as_secs())
                .unwrap_or(0),
            router_id: session.peer_router_id,
            route_reflector_client: facts.route_reflector_client,
            dynamic: facts.dynamic,
            description: facts.description.map(str::to_owned),
            shutdown: facts.shutdown,
            import_policy: facts.import_policy.to_owned(),
            export_policy: facts.export_policy.to_owned(),
            notes: policy_notes(&facts),
            updates_treated_as_withdraw: facts.updates_treated_as_withdraw,
            prefixes_received: routes.received,
            prefixes_accepted: routes.accepted,
            prefixes_advertised: routes.advertised,
            messages_received: session.messages_received.total(),
            messages_sent: session.messages_sent.total(),
            messages_received_by_type: session.messages_received.into(),
            messages_sent_by_type: session.messages_sent.into(),
            flaps: session.flap_count,
            hold_time: session.hold_time,
            keepalive: session.keepalive,
            families,
            graceful_restart: negotiated.map(|negotiated| GracefulRestartView {
                local: negotiated.local_graceful_restart,
                notification: negotiated.graceful_restart_notification,
                peer: negotiated.peer_graceful_restart.as_ref().map(|peer| {
                    PeerGracefulRestartView {
                        restart_time: peer.restart_time,
                        restart_state: peer.restart_state,
                        families: peer
                            .families
                            .iter()
                            .map(|family| PeerGracefulRestartFamily {
                                family: family.family.to_string(),
                                forwarding_state: family.forwarding_state,
                            })
                            .collect(),
                    }
                }),
            }),
            stale_routes: routes.stale,
            last_error: session
                .last_error
                .as_ref()
                .map(|error| error.description.clone()),
            last_error_seconds_ago: session
                .last_error
                .as_ref()
                .map(|error| now.saturating_duration_since(error.at).as_secs()),
        }
    }
}

/// How long UPDATEs wait between arriving and being re-advertised, as
/// histogram buckets (the bounds of `podroute_update_propagation_seconds`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyHistogram {
    /// Upper bounds in seconds, increasing.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); one more than `bounds`, the
    /// last for everything above the largest bound.
    pub counts: Vec<u64>,
    /// Sum of all observations in seconds.
    pub sum_seconds: f64,
    /// Number of observations.
    pub count: u64,
}

impl LatencyHistogram {
    /// Buckets from a millisecond to ten seconds: propagation inside a
    /// cluster should land in the first few.
    pub fn for_propagation() -> LatencyHistogram {
        let bounds = vec![
            0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
        ];
        let counts = vec![0; bounds.len() + 1];
        LatencyHistogram {
            bounds,
            counts,
            sum_seconds: 0.0,
            count: 0,
        }
    }

    /// Records one observation.
    pub fn observe(&mut self, seconds: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get_mut(bucket) {
            *count = count.saturating_add(1);
        }
        self.sum_seconds += seconds;
        self.count = self.count.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        external: bool,
        import_policy: &'a str,
        export_policy: &'a str,
    ) -> NeighborFacts<'a> {
        NeighborFacts {
            route_reflector_client: false,
            dynamic: false,
            description: None,
            shutdown: false,
            external,
            import_policy,
            export_policy,
            updates_treated_as_withdraw: 0,
        }
    }

    #[test]
    fn an_ebgp_neighbor_without_policy_says_why_it_exchanges_nothing() {
        let notes = policy_notes(&facts(true, "none", "none"));
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("nothing is accepted") && notes[0].contains("RFC 8212"));
        assert!(notes[1].contains("nothing is sent"));
        assert!(policy_notes(&facts(true, "all", "originated")).is_empty());
        assert!(
            policy_notes(&facts(false, "none", "none")).is_empty(),
            "iBGP: a deliberate none needs no note"
        );
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut histogram = LatencyHistogram::for_propagation();
        histogram.observe(0.0005);
        histogram.observe(0.001);
        histogram.observe(0.003);
        histogram.observe(60.0);
        assert_eq!(histogram.counts[0], 2, "up to and including 1 ms");
        assert_eq!(histogram.counts[2], 1, "2 to 5 ms");
        assert_eq!(histogram.counts.last(), Some(&1), "above 10 s");
        assert_eq!(histogram.count, 4);
        assert!((histogram.sum_seconds - 60.0045).abs() < 1e-9);
    }
}
