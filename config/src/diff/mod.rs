//! What changed between two configurations, and what a reload must do.
//!
//! Data flow: `podroute reload` loads the new file, calls [`Config::diff`]
//! with the running config, and applies the result: start added neighbors,
//! stop removed ones, reset / refresh changed ones ([`ConfigDiff::neighbor_reactions`]
//! merges field changes with changes to the policies they use), announce or
//! withdraw originated prefixes, and refuse (or ask for a restart) when a
//! setting with [`Effect::Restart`] changed. Peers are matched by key
//! (neighbor address, listen-range prefix, originated prefix, policy name),
//! so a changed address is a removal plus an addition. Every list is sorted
//! by its key, so the same two files always give the same diff.

mod neighbor;
mod reaction;
mod settings;

pub use neighbor::NeighborField;
pub use reaction::{Effect, Reaction};

use crate::model::{Config, Neighbor, Policy};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// A router-wide key that changed, e.g. `router.asn` or `fib.table`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SettingChange {
    /// Dotted key.
    pub key: String,
    /// When the new value takes effect.
    pub effect: Effect,
}

/// A neighbor present in both configs whose settings differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborChange {
    /// The neighbor's address (its identity).
    pub address: IpAddr,
    /// The keys that differ, in declaration order.
    pub fields: Vec<NeighborField>,
    /// What the session needs for those fields (policy content changes are
    /// in [`ConfigDiff::policies_changed`]; see [`ConfigDiff::neighbor_reactions`]).
    pub reaction: Reaction,
}

/// A listen range present in both configs whose settings differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenRangeChange {
    /// The range's prefix (its identity).
    pub prefix: IpNetwork,
    /// The keys that differ.
    pub fields: Vec<&'static str>,
    /// What sessions accepted from the range need.
    pub reaction: Reaction,
}

/// An originated prefix present in both configs whose settings differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateChange {
    /// The prefix.
    pub prefix: IpNetwork,
    /// The new `blackhole` value (the only other setting).
    pub blackhole: bool,
}

/// A policy defined in both configs whose content differs, with its users in the new config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// Policy name.
    pub name: String,
    /// Neighbors importing with it: they need a soft-in refresh.
    pub import_neighbors: Vec<IpAddr>,
    /// Neighbors exporting with it: they need a soft-out refresh.
    pub export_neighbors: Vec<IpAddr>,
    /// Listen ranges importing with it.
    pub import_ranges: Vec<IpNetwork>,
    /// Listen ranges exporting with it.
    pub export_ranges: Vec<IpNetwork>,
}

/// Everything that differs between two configurations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigDiff {
    /// Router-wide keys that changed, sorted by key.
    pub settings: Vec<SettingChange>,
    /// Neighbors only in the new config, by address.
    pub neighbors_added: Vec<IpAddr>,
    /// Neighbors only in the old config, by address.
    pub neighbors_removed: Vec<IpAddr>,
    /// Neighbors in both whose settings differ, by address.
    pub neighbors_changed: Vec<NeighborChange>,
    /// Listen ranges only in the new config.
    pub listen_ranges_added: Vec<IpNetwork>,
    /// Listen ranges only in the old config.
    pub listen_ranges_removed: Vec<IpNetwork>,
    /// Listen ranges in both whose settings differ.
    pub listen_ranges_changed: Vec<ListenRangeChange>,
    /// Prefixes to start announcing.
    pub originate_added: Vec<IpNetwork>,
    /// Prefixes to withdraw.
    pub originate_removed: Vec<IpNetwork>,
    /// Prefixes whose local blackhole setting changed.
    pub originate_changed: Vec<OriginateChange>,
    /// Policies only in the new config, by name.
    pub policies_added: Vec<String>,
    /// Policies only in the old config, by name.
    pub policies_removed: Vec<String>,
    /// Policies in both whose content differs, by name.
    pub policies_changed: Vec<PolicyChange>,
}

impl Config {
    /// Compares a running config (`old`) with a newly loaded one (`new`).
    pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
        ConfigDiff::compute(old, new)
    }
}

impl ConfigDiff {
    fn compute(old: &Config, new: &Config) -> ConfigDiff {
        let mut settings = settings::setting_changes(old, new);
        settings.sort();

        let old_neighbors: BTreeMap<IpAddr, &Neighbor> = old
            .neighbors
            .iter()
            .map(|neighbor| (neighbor.address, neighbor))
            .collect();
        let new_neighbors: BTreeMap<IpAddr, &Neighbor> = new
            .neighbors
            .iter()
            .map(|neighbor| (neighbor.address, neighbor))
            .collect();
        let (neighbors_added, neighbors_removed) = added_removed(&old_neighbors, &new_neighbors);
        let neighbors_changed = paired(&old_neighbors, &new_neighbors)
            .filter_map(|(address, old, new)| {
                let fields = neighbor::neighbor_fields(old, new);
                let reaction = fields.iter().fold(Reaction::NONE, |reaction, field| {
                    reaction.merge(field.reaction())
                });
                (!fields.is_empty()).then_some(NeighborChange {
                    address,
                    fields,
                    reaction,
                })
            })
            .collect();

        let old_ranges: BTreeMap<IpNetwork, _> = old
            .listen_ranges
            .iter()
            .map(|range| (range.prefix, range))
            .collect();
        let new_ranges: BTreeMap<IpNetwork, _> = new
            .listen_ranges
            .iter()
            .map(|range| (range.prefix, range))
            .collect();
        let (listen_ranges_added, listen_ranges_removed) = added_removed(&old_ranges, &new_ranges);
        let listen_ranges_changed = paired(&old_ranges, &new_ranges)
            .filter_map(|(prefix, old, new)| {
                let (fields, reaction) = neighbor::listen_range_fields(old, new);
                (!fields.is_empty()).then_some(ListenRangeChange {
                    prefix,
                    fields,
                    reaction,
                })
            })
            .collect();

        let old_originate: BTreeMap<IpNetwork, _> = old
            .originate
            .iter()
            .map(|entry| (entry.prefix, entry))
            .collect();
        let new_originate: BTreeMap<IpNetwork, _> = new
            .originate
            .iter()
            .map(|entry| (entry.prefix, entry))
            .collect();
        let (originate_added, originate_removed) = added_removed(&old_originate, &new_originate);
        let originate_changed = paired(&old_originate, &new_originate)
            .filter(|(_, old, new)| old != new)
            .map(|(prefix, _, new)| OriginateChange {
                prefix,
                blackhole: new.blackhole,
            })
            .collect();

        let old_policies: BTreeMap<String, &Policy> = old
            .policies
            .iter()
            .map(|(name, policy)| (name.clone(), policy))
            .collect();
        let new_policies: BTreeMap<String, &Policy> = new
            .policies
            .iter()
            .map(|(name, policy)| (name.clone(), policy))
            .collect();
        let (policies_added, policies_removed) = added_removed(&old_policies, &new_policies);
        let policies_changed = paired(&old_policies, &new_policies)
            .filter(|(_, old, new)| old != new)
            .map(|(name, _, _)| policy_users(new, name))
            .collect();

        ConfigDiff {
            settings,
            neighbors_added,
            neighbors_removed,
            neighbors_changed,
            listen_ranges_added,
            listen_ranges_removed,
            listen_ranges_changed,
            originate_added,
            originate_removed,
            originate_changed,
            policies_added,
            policies_removed,
            policies_changed,
        }
    }

    /// True when the two configs are equivalent.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }

    /// True when some changed setting can only take effect by restarting the daemon.
    pub fn needs_restart(&self) -> bool {
        self.settings
            .iter()
            .any(|change| change.effect == Effect::Restart)
    }

    /// What each existing neighbor's session needs, merging its own field
    /// changes with changes to the policies it imports or exports with.
    /// Neighbors that need nothing are left out; added and removed ones are
    /// not included (they are started or stopped).
    pub fn neighbor_reactions(&self) -> BTreeMap<IpAddr, Reaction> {
        let mut reactions: BTreeMap<IpAddr, Reaction> = BTreeMap::new();
        let mut add = |address: IpAddr, reaction: Reaction| {
            let entry = reactions.entry(address).or_default();
            *entry = entry.merge(reaction);
        };
        for change in &self.neighbors_changed {
            add(change.address, change.reaction);
        }
        let added: BTreeSet<&IpAddr> = self.neighbors_added.iter().collect();
        for policy in &self.policies_changed {
            for address in policy
                .import_neighbors
                .iter()
                .filter(|address| !added.contains(address))
            {
                add(*address, Reaction::SOFT_IN);
            }
            for address in policy
                .export_neighbors
                .iter()
                .filter(|address| !added.contains(address))
            {
                add(*address, Reaction::SOFT_OUT);
            }
        }
        reactions.retain(|_, reaction| !reaction.is_none());
        reactions
    }
}

/// Keys only in `new`, then keys only in `old`, each sorted.
fn added_removed<K: Ord + Clone, V>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
) -> (Vec<K>, Vec<K>) {
    let added = new
        .keys()
        .filter(|key| !old.contains_key(key))
        .cloned()
        .collect();
    let removed = old
        .keys()
        .filter(|key| !new.contains_key(key))
        .cloned()
        .collect();
    (added, removed)
}

/// Entries present in both maps, in key order.
fn paired<'m, K: Ord + Clone, V: Copy>(
    old: &'m BTreeMap<K, V>,
    new: &'m BTreeMap<K, V>,
) -> impl Iterator<Item = (K, V, V)> + 'm {
    old.iter().filter_map(|(key, old_value)| {
        new.get(key)
            .map(|new_value| (key.clone(), *old_value, *new_value))
    })
}

/// Who uses policy `name` in `config`.
fn policy_users(config: &Config, name: String) -> PolicyChange {
    let sorted = |mut addresses: Vec<IpAddr>| {
        addresses.sort();
        addresses
    };
    let sorted_ranges = |mut prefixes: Vec<IpNetwork>| {
        prefixes.sort();
        prefixes
    };
    PolicyChange {
        import_neighbors: sorted(
            config
                .neighbors
                .iter()
                .filter(|n| n.import == name)
                .map(|n| n.address)
                .collect(),
        ),
        export_neighbors: sorted(
            config
                .neighbors
                .iter()
                .filter(|n| n.export == name)
                .map(|n| n.address)
                .collect(),
        ),
        import_ranges: sorted_ranges(
            config
                .listen_ranges
                .iter()
                .filter(|r| r.import == name)
                .map(|r| r.prefix)
                .collect(),
        ),
        export_ranges: sorted_ranges(
            config
                .listen_ranges
                .iter()
                .filter(|r| r.export == name)
                .map(|r| r.prefix)
                .collect(),
        ),
        name,
    }
}

impl fmt::Display for ConfigDiff {
    /// A line per change, for `podroute reload` and logs.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(formatter, "no changes");
        }
        for change in &self.settings {
            writeln!(
                formatter,
                "setting {} changed ({})",
                change.key, change.effect
            )?;
        }
        for address in &self.neighbors_added {
            writeln!(formatter, "neighbor {address} added")?;
        }
        for address in &self.neighbors_removed {
            writeln!(formatter, "neighbor {address} removed")?;
        }
        for change in &self.neighbors_changed {
            let fields: Vec<&str> = change.fields.iter().map(|field| field.as_str()).collect();
            writeln!(
                formatter,
                "neighbor {} changed: {} ({})",
                change.address,
                fields.join(", "),
                change.reaction
            )?;
        }
        for prefix in &self.listen_ranges_added {
            writeln!(formatter, "listen range {prefix} added")?;
        }
        for prefix in &self.listen_ranges_removed {
            writeln!(formatter, "listen range {prefix} removed")?;
        }
        for change in &self.listen_ranges_changed {
            writeln!(
                formatter,
                "listen range {} changed: {} ({})",
                change.prefix,
                change.fields.join(", "),
                change.reaction
            )?;
        }
        for prefix in &self.originate_added {
            writeln!(formatter, "originate {prefix} added")?;
        }
        for prefix in &self.originate_removed {
            writeln!(formatter, "originate {prefix} removed")?;
        }
        for change in &self.originate_changed {
            writeln!(
                formatter,
                "originate {} changed: blackhole = {}",
                change.prefix, change.blackhole
            )?;
        }
        for name in &self.policies_added {
            writeln!(formatter, "policy {name} added")?;
        }
        for name in &self.policies_removed {
            writeln!(formatter, "policy {name} removed")?;
        }
        for change in &self.policies_changed {
            let users: Vec<String> = change
                .import_neighbors
                .iter()
                .map(|address| format!("{address} (soft in)"))
                .chain(
                    change
                        .export_neighbors
                        .iter()
                        .map(|address| format!("{address} (soft out)")),
                )
                .collect();
            writeln!(
                formatter,
                "policy {} changed; used by: {}",
                change.name,
                users.join(", ")
            )?;
        }
        Ok(())
    }
}
