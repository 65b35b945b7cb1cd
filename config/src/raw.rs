//! The configuration file's shape, exactly as TOML spells it.
//!
//! Data flow: `toml` deserializes the text into these structures; serde
//! rejects unknown keys (`deny_unknown_fields`) and wrong TOML types, with
//! the span of the offending key or value. Every value that still needs a
//! check (ranges, addresses, enums written as strings, references between
//! sections) stays a [`Spanned`] so the validator can point at it. Numbers
//! are read as `i64` and range-checked later, so "AS 0" or "hold time
//! 70000" get a precise message instead of a serde type error, and so all
//! of them are reported together. Keys that must be present are `Option`s
//! here for the same reason: the validator reports every missing one.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub router: Option<Spanned<RawRouter>>,
    pub fib: Option<Spanned<RawFib>>,
    pub graceful_restart: Option<Spanned<RawGracefulRestart>>,
    #[serde(default)]
    pub originate: Vec<Spanned<RawOriginate>>,
    #[serde(default)]
    pub import_kernel: Vec<Spanned<RawImportKernel>>,
    #[serde(default)]
    pub neighbor: Vec<Spanned<RawNeighbor>>,
    #[serde(default)]
    pub listen_range: Vec<Spanned<RawListenRange>>,
    #[serde(default)]
    pub policy: Vec<Spanned<RawPolicy>>,
    pub logging: Option<Spanned<RawLogging>>,
    pub api: Option<Spanned<RawApi>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouter {
    pub asn: Option<Spanned<i64>>,
    pub router_id: Option<Spanned<String>>,
    pub listen: Option<Spanned<Vec<Spanned<String>>>>,
    pub cluster_id: Option<Spanned<String>>,
    pub hostname: Option<Spanned<String>>,
    pub max_paths: Option<Spanned<i64>>,
    pub relax_as_path: Option<bool>,
    pub always_compare_med: Option<bool>,
    pub update_delay_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFib {
    pub enabled: Option<bool>,
    pub table: Option<Spanned<i64>>,
    pub protocol: Option<Spanned<i64>>,
    pub keep_on_shutdown: Option<bool>,
    pub sweep_delay: Option<Spanned<i64>>,
    pub nexthop_objects: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGracefulRestart {
    pub enabled: Option<bool>,
    pub restart_time: Option<Spanned<i64>>,
    pub stale_time: Option<Spanned<i64>>,
    pub selection_deferral_time: Option<Spanned<i64>>,
    pub notification: Option<bool>,
    pub long_lived_stale_time: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOriginate {
    pub prefix: Option<Spanned<String>>,
    pub blackhole: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImportKernel {
    pub prefixes: Option<Spanned<OneOrMany<RawPrefixEntry>>>,
    pub protocols: Option<Spanned<Vec<Spanned<RawProtocol>>>>,
    pub table: Option<Spanned<i64>>,
}

/// A kernel protocol written as a number or an iproute2 name.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawProtocol {
    Number(i64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNeighbor {
    pub address: Option<Spanned<String>>,
    pub asn: Option<Spanned<i64>>,
    pub description: Option<String>,
    pub route_reflector_client: Option<Spanned<bool>>,
    pub passive: Option<bool>,
    pub next_hop: Option<Spanned<String>>,
    pub hold_time: Option<Spanned<i64>>,
    pub keepalive: Option<Spanned<i64>>,
    pub connect_retry: Option<Spanned<i64>>,
    pub delay_open: Option<Spanned<i64>>,
    pub password: Option<Spanned<String>>,
    pub ttl_security: Option<Spanned<i64>>,
    pub multihop: Option<Spanned<i64>>,
    pub source_address: Option<Spanned<String>>,
    pub next_hop_ipv4: Option<Spanned<String>>,
    pub next_hop_ipv6: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub families: Option<Spanned<Vec<Spanned<String>>>>,
    pub import: Option<Spanned<String>>,
    pub export: Option<Spanned<String>>,
    pub add_path: Option<Spanned<RawAddPath>>,
    pub max_prefixes: Option<Spanned<RawMaxPrefixes>>,
    pub allowas_in: Option<Spanned<i64>>,
    pub soft_reconfiguration_inbound: Option<bool>,
    pub graceful_restart: Option<bool>,
    pub shutdown: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAddPath {
    pub receive: Option<bool>,
    pub send: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMaxPrefixes {
    pub limit: Option<Spanned<i64>>,
    pub action: Option<Spanned<String>>,
    pub restart_after: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListenRange {
    pub prefix: Option<Spanned<String>>,
    pub asn: Option<Spanned<i64>>,
    pub asns: Option<Spanned<Vec<Spanned<i64>>>>,
    pub route_reflector_client: Option<Spanned<bool>>,
    pub password: Option<Spanned<String>>,
    pub import: Option<Spanned<String>>,
    pub export: Option<Spanned<String>>,
    pub max_neighbors: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub name: Option<Spanned<String>>,
    pub default: Option<Spanned<String>>,
    #[serde(default)]
    pub term: Vec<Spanned<RawTerm>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTerm {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matches: Option<Spanned<RawMatch>>,
    pub action: Option<Spanned<String>>,
    pub set_local_pref: Option<Spanned<i64>>,
    pub set_med: Option<Spanned<i64>>,
    pub add_community: Option<Spanned<OneOrMany<String>>>,
    pub remove_community: Option<Spanned<OneOrMany<String>>>,
    pub add_large_community: Option<Spanned<OneOrMany<String>>>,
    pub remove_large_community: Option<Spanned<OneOrMany<String>>>,
    pub prepend_as: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
    pub prefix: Option<Spanned<String>>,
    pub ge: Option<Spanned<i64>>,
    pub le: Option<Spanned<i64>>,
    pub prefixes: Option<Spanned<OneOrMany<RawPrefixEntry>>>,
    pub community: Option<Spanned<OneOrMany<String>>>,
    pub large_community: Option<Spanned<OneOrMany<String>>>,
    pub as_path_length: Option<Spanned<RawLengthRange>>,
    pub neighbor: Option<Spanned<OneOrMany<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLengthRange {
    pub min: Option<Spanned<i64>>,
    pub max: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogging {
    pub level: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub socket: Option<Spanned<String>>,
    pub socket_mode: Option<Spanned<String>>,
    pub metrics: Option<Spanned<String>>,
}

/// A prefix-list table `{ prefix = "...", ge = N, le = N }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrefixTable {
    pub prefix: Option<Spanned<String>>,
    pub ge: Option<Spanned<i64>>,
    pub le: Option<Spanned<i64>>,
}

/// A prefix-list entry: a bare string (exact match) or a table.
pub(crate) enum RawPrefixEntry {
    Text(String),
    Table(RawPrefixTable),
}

impl<'de> Deserialize<'de> for RawPrefixEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawPrefixEntry;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a prefix string or a table { prefix, ge, le }")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(RawPrefixEntry::Text(text.to_string()))
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                // The values inside still come from the TOML deserializer, so
                // their spans survive this detour.
                RawPrefixTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPrefixEntry::Table)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

/// A value written either alone or as an array: `"a"` or `["a", "b"]`.
///
/// A lone value has no span of its own; the validator uses the span of the
/// enclosing `Spanned<OneOrMany<T>>` for it.
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<Spanned<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a value or an array of values")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<T>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(text)).map(OneOrMany::One)
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
        }

        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}
