//! Update groups: the unit of shared work on the outbound side.
//!
//! Peers whose [`GroupKey`] is equal (export policy, role, next-hop
//! treatment, local addresses, families, ADD-PATH and encoding) are sent
//! the same attributes for the same route, so the [`Exporter`] computes a
//! route's exported attributes once per group, and a [`Batch`] collects the
//! changes a set of peers shares, to be packed and encoded once
//! (`wire::packing`). `outbound.rs` decides what changes; this file holds
//! the pieces it shares work with.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use ipnetwork::IpNetwork;

use super::core::{NextHopState, PeerState};
use super::export::{Role, SourceFacts, export_route};
use super::fast_hash::FastMap;
use super::interner::Interner;
use super::table::{Destination, Path};
use super::types::{
    NextHopMode, PeerId, PeerInfo, RibSettings, SharedAttributes, Source, family_of,
    next_hop_address,
};
use crate::wire::{CodecContext, Family, Nlri, pack_announcements, pack_withdrawals};

/// What makes two peers receive the same bytes (apart from split horizon).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct GroupKey {
    export_policy: String,
    role: Role,
    next_hop: NextHopMode,
    local_ipv4: Option<Ipv4Addr>,
    local_ipv6: Option<Ipv6Addr>,
    extended_next_hop: bool,
    families: BTreeSet<Family>,
    add_path_send: Vec<(Family, u8)>,
    four_octet_as: bool,
    add_path: BTreeSet<Family>,
    extended_message: bool,
    codec_families: BTreeSet<Family>,
}

impl GroupKey {
    pub(super) fn of(info: &PeerInfo) -> GroupKey {
        GroupKey {
            export_policy: info.export_policy.clone(),
            role: Role::of(info),
            next_hop: info.next_hop,
            local_ipv4: info.local_ipv4,
            local_ipv6: info.local_ipv6,
            extended_next_hop: info.extended_next_hop,
            families: info.families.clone(),
            add_path_send: info
                .add_path_send
                .iter()
                .filter(|(family, _)| info.encoding.has_path_id(**family))
                .map(|(family, count)| (*family, *count))
                .collect(),
            four_octet_as: info.encoding.four_octet_as,
            add_path: info.encoding.add_path.clone(),
            extended_message: info.encoding.extended_message,
            codec_families: info.encoding.families.clone(),
        }
    }
}

/// Changes shared by one set of peers, in the order they were found.
#[derive(Debug, Default)]
pub(super) struct Batch {
    withdrawals: BTreeMap<Family, Vec<Nlri>>,
    announcements: Vec<(Family, SharedAttributes, Vec<Nlri>)>,
    /// (family, attributes pointer) -> position in `announcements`; look-up only.
    index: FastMap<(Family, usize), usize>,
}

impl Batch {
    pub(super) fn withdraw(&mut self, family: Family, nlri: Nlri) {
        self.withdrawals.entry(family).or_default().push(nlri);
    }

    pub(super) fn announce(&mut self, family: Family, attributes: &SharedAttributes, nlri: Nlri) {
        let key = (family, Arc::as_ptr(attributes) as usize);
        let position = *self.index.entry(key).or_insert_with(|| {
            self.announcements
                .push((family, Arc::clone(attributes), Vec::new()));
            self.announcements.len().saturating_sub(1)
        });
        if let Some((_, _, prefixes)) = self.announcements.get_mut(position) {
            prefixes.push(nlri);
        }
    }

    pub(super) fn encode(&self, context: &CodecContext) -> Vec<Bytes> {
        let mut messages = Vec::new();
        for (family, prefixes) in &self.withdrawals {
            match pack_withdrawals(*family, prefixes, context) {
                Ok(encoded) => messages.extend(encoded),
                Err(error) => tracing::warn!(%error, "cannot encode withdrawals"),
            }
        }
        for (family, attributes, prefixes) in &self.announcements {
            match pack_announcements(
                *family,
                &attributes.path,
                attributes.next_hop,
                prefixes,
                context,
            ) {
                Ok(encoded) => messages.extend(encoded),
                Err(error) => tracing::warn!(%error, "cannot encode announcements"),
            }
        }
        messages
    }
}

/// A prefix's exportable paths for one group: source, path id to send
/// with ADD-PATH, exported attributes.
pub(super) type Exported = Vec<(Source, u32, Slot)>;

/// Path ids and attributes (as slots) to announce.
pub(super) type Announcements = Vec<(u32, Slot)>;

/// The index of an exported attribute set in [`Slots`].
pub(super) type Slot = u32;

/// The exported attribute sets of one export pass, each held once: the
/// per-prefix lists refer to them by index, so passing a route along
/// costs no reference-count traffic on a set shared by a whole table.
#[derive(Debug, Default)]
pub(super) struct Slots {
    held: Vec<SharedAttributes>,
}

impl Slots {
    /// The set in `slot`.
    pub(super) fn get(&self, slot: Slot) -> Option<&SharedAttributes> {
        usize::try_from(slot)
            .ok()
            .and_then(|index| self.held.get(index))
    }

    /// Whether two slots hold the same set (sets are interned, so identity
    /// is equality).
    pub(super) fn same(&self, one: Slot, other: Slot) -> bool {
        one == other
            || matches!((self.get(one), self.get(other)), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    }

    fn push(&mut self, attributes: SharedAttributes) -> Option<Slot> {
        let slot = Slot::try_from(self.held.len()).ok()?;
        self.held.push(attributes);
        Some(slot)
    }

    /// Every set held, emptying the slots (for the interner to release).
    pub(super) fn drain(&mut self) -> impl Iterator<Item = SharedAttributes> + '_ {
        self.held.drain(..)
    }
}

/// Whether `name` is a built-in or unknown policy, whose verdict does not
/// depend on the prefix, so exported attributes can be cached per
/// (attribute set, source, family).
pub(super) fn is_builtin_policy(settings: &RibSettings, name: &str) -> bool {
    matches!(name, "all" | "none" | "originated") || !settings.policies.contains_key(name)
}

/// Computes the attributes one update group is sent for a prefix's paths.
pub(super) struct Exporter<'a> {
    pub(super) settings: &'a RibSettings,
    pub(super) peers: &'a BTreeMap<PeerId, PeerState>,
    pub(super) next_hops: &'a BTreeMap<IpAddr, NextHopState>,
    pub(super) interner: &'a mut Interner,
    pub(super) cache: &'a mut FastMap<(usize, Source, Family), Option<Slot>>,
    pub(super) slots: &'a mut Slots,
    pub(super) cacheable: bool,
    pub(super) destination: &'a PeerInfo,
}

impl Exporter<'_> {
    /// The exportable paths of a prefix, in decision order: only the best
    /// without ADD-PATH; every eligible path with it (the caller takes as
    /// many as the peer wants, best first, then the multipath set, then
    /// the next best, RFC 7911), appended to `exported` as slots. Without
    /// caching (a prefix-dependent policy) each call adds slots of its own,
    /// which the caller releases after the prefix.
    pub(super) fn export(
        &mut self,
        prefix: &IpNetwork,
        destination: &Destination,
        add_path: bool,
        exported: &mut Exported,
    ) {
        let paths = if add_path {
            &destination.paths[..]
        } else {
            destination.best().map(std::slice::from_ref).unwrap_or(&[])
        };
        for path in paths {
            let key = (
                Arc::as_ptr(&path.attributes) as usize,
                path.source,
                family_of(prefix),
            );
            // Reachability depends on the attributes (their next hop) alone
            // and cannot change during one export pass, so a cached answer,
            // exported or not, holds for it too: one look-up per route.
            let slot = match self.cache.get(&key).filter(|_| self.cacheable) {
                Some(cached) => *cached,
                None => {
                    let computed = if self.reachable(path) {
                        self.compute(prefix, &path.attributes, path.source)
                    } else {
                        None
                    };
                    let slot = computed.and_then(|attributes| self.slots.push(attributes));
                    if self.cacheable {
                        self.cache.insert(key, slot);
                    }
                    slot
                }
            };
            if let Some(slot) = slot {
                exported.push((path.source, path.local_id, slot));
            }
        }
    }

    /// Whether the path's next hop resolves (RFC 4271 §9.1.2.1); our own
    /// routes always do.
    fn reachable(&self, path: &Path) -> bool {
        path.source == Source::Local
            || path.attributes.next_hop.as_ref().is_none_or(|hop| {
                self.next_hops
                    .get(&next_hop_address(hop))
                    .copied()
                    .unwrap_or_default()
                    .reachable
            })
    }

    fn compute(
        &mut self,
        prefix: &IpNetwork,
        attributes: &SharedAttributes,
        source: Source,
    ) -> Option<SharedAttributes> {
        let facts = match source {
            Source::Local => SourceFacts {
                role: Role::Local,
                address: None,
                router_id: self.settings.router_id,
            },
            Source::Peer(peer) => {
                let info = &self.peers.get(&peer)?.info;
                SourceFacts {
                    role: Role::of(info),
                    address: Some(info.address),
                    router_id: info.remote_router_id,
                }
            }
        };
        let exported = export_route(self.settings, prefix, attributes, facts, self.destination)?;
        Some(self.interner.intern(exported))
    }
}
