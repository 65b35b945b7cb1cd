//! The effective configuration written back as TOML.
//!
//! Data flow: [`Config::to_toml`] writes every section with all defaults
//! made explicit, in a fixed order, so `podroute check-config` can show what
//! the daemon will actually run with, and so that parsing the output gives
//! back an equal [`Config`] (the round trip the tests check). Strings go
//! through `toml`'s own quoting, so any text survives.

use crate::model::LogFormat;
use crate::model::{
    Config, ImportKernel, ListenRange, MaxPrefixAction, Neighbor, Policy, PolicyAction,
    PolicyDefault, PrefixFilter, Term,
};
use std::fmt::Display;
use std::fmt::Write;

impl Config {
    /// The configuration as TOML, every default explicit; parses back to an equal `Config`.
    pub fn to_toml(&self) -> String {
        let mut out = Toml::default();
        self.render_router(&mut out);
        for originate in &self.originate {
            out.header("[[originate]]");
            out.raw("prefix", quote(originate.prefix));
            out.raw("blackhole", originate.blackhole);
        }
        for import in &self.import_kernel {
            render_import_kernel(&mut out, import);
        }
        for neighbor in &self.neighbors {
            render_neighbor(&mut out, neighbor);
        }
        for range in &self.listen_ranges {
            render_listen_range(&mut out, range);
        }
        for policy in self.policies.values() {
            render_policy(&mut out, policy);
        }
        out.header("[logging]");
        out.raw("level", quote(&self.logging.level));
        let format = match self.logging.format {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        };
        out.raw("format", quote(format));
        out.header("[api]");
        out.raw("socket", quote(self.api.socket.display()));
        out.raw(
            "socket_mode",
            quote(format!("{:04o}", self.api.socket_mode)),
        );
        let metrics = self
            .api
            .metrics
            .map(|address| address.to_string())
            .unwrap_or_default();
        out.raw("metrics", quote(metrics));
        out.text
    }

    fn render_router(&self, out: &mut Toml) {
        let router = &self.router;
        out.header("[router]");
        out.raw("asn", router.asn);
        out.raw("router_id", quote(router.router_id));
        out.raw("listen", list(router.listen.iter().map(quote)));
        if let Some(cluster_id) = router.cluster_id {
            out.raw("cluster_id", quote(cluster_id));
        }
        if let Some(hostname) = &router.hostname {
            out.raw("hostname", quote(hostname));
        }
        out.raw("max_paths", router.max_paths);
        out.raw("relax_as_path", router.relax_as_path);
        out.raw("always_compare_med", router.always_compare_med);
        out.raw("update_delay_ms", router.update_delay.as_millis());

        let fib = &self.fib;
        out.header("[fib]");
        out.raw("enabled", fib.enabled);
        out.raw("table", fib.table);
        out.raw("protocol", fib.protocol);
        out.raw("keep_on_shutdown", fib.keep_on_shutdown);
        out.raw("sweep_delay", fib.sweep_delay.as_secs());
        out.raw("nexthop_objects", fib.nexthop_objects);

        let graceful = &self.graceful_restart;
        out.header("[graceful_restart]");
        out.raw("enabled", graceful.enabled);
        out.raw("restart_time", graceful.restart_time.as_secs());
        out.raw("stale_time", graceful.stale_time.as_secs());
        out.raw(
            "selection_deferral_time",
            graceful.selection_deferral_time.as_secs(),
        );
        out.raw("notification", graceful.notification);
        if let Some(time) = graceful.long_lived_stale_time {
            out.raw("long_lived_stale_time", time.as_secs());
        }
    }
}

fn render_import_kernel(out: &mut Toml, import: &ImportKernel) {
    out.header("[[import_kernel]]");
    out.raw("prefixes", prefix_list(&import.prefixes));
    let protocols = import
        .protocols
        .iter()
        .map(|protocol| match protocol.name() {
            Some(name) => quote(name),
            None => protocol.0.to_string(),
        });
    out.raw("protocols", list(protocols));
    out.raw("table", import.table);
}

fn render_neighbor(out: &mut Toml, neighbor: &Neighbor) {
    out.header("[[neighbor]]");
    out.raw("address", quote(neighbor.address));
    out.raw("asn", neighbor.asn);
    if let Some(description) = &neighbor.description {
        out.raw("description", quote(description));
    }
    out.raw("route_reflector_client", neighbor.route_reflector_client);
    out.raw("passive", neighbor.passive);
    out.raw("next_hop", quote(neighbor.next_hop.as_str()));
    out.raw("hold_time", neighbor.hold_time.as_secs());
    if let Some(keepalive) = neighbor.keepalive {
        out.raw("keepalive", keepalive.as_secs());
    }
    out.raw("connect_retry", neighbor.connect_retry.as_secs());
    if let Some(delay) = neighbor.delay_open {
        out.raw("delay_open", delay.as_secs());
    }
    if let Some(password) = &neighbor.password {
        out.raw("password", quote(password));
    }
    if let Some(hops) = neighbor.ttl_security {
        out.raw("ttl_security", hops);
    }
    if let Some(ttl) = neighbor.multihop {
        out.raw("multihop", ttl);
    }
    if let Some(address) = neighbor.next_hop_ipv4 {
        out.raw("next_hop_ipv4", quote(address));
    }
    if let Some(address) = neighbor.next_hop_ipv6 {
        out.raw("next_hop_ipv6", quote(address));
    }
    if let Some(source) = neighbor.source_address {
        out.raw("source_address", quote(source));
    }
    out.raw("port", neighbor.port);
    out.raw(
        "families",
        list(
            neighbor
                .families
                .iter()
                .map(|family| quote(family.as_str())),
        ),
    );
    out.raw("import", quote(&neighbor.import));
    out.raw("export", quote(&neighbor.export));
    out.raw(
        "add_path",
        format!(
            "{{ receive = {}, send = {} }}",
            neighbor.add_path.receive, neighbor.add_path.send
        ),
    );
    if let Some(limit) = neighbor.max_prefixes {
        let action = match limit.action {
            MaxPrefixAction::Warn => "warn",
            MaxPrefixAction::Teardown => "teardown",
        };
        let mut table = format!("{{ limit = {}, action = {}", limit.limit, quote(action));
        if let Some(after) = limit.restart_after {
            let _ = write!(table, ", restart_after = {}", after.as_secs());
        }
        table.push_str(" }");
        out.raw("max_prefixes", table);
    }
    out.raw("allowas_in", neighbor.allowas_in);
    out.raw(
        "soft_reconfiguration_inbound",
        neighbor.soft_reconfiguration_inbound,
    );
    if let Some(graceful) = neighbor.graceful_restart {
        out.raw("graceful_restart", graceful);
    }
    out.raw("shutdown", neighbor.shutdown);
}

fn render_listen_range(out: &mut Toml, range: &ListenRange) {
    out.header("[[listen_range]]");
    out.raw("prefix", quote(range.prefix));
    out.raw("asns", list(range.asns.iter().map(u32::to_string)));
    out.raw("route_reflector_client", range.route_reflector_client);
    if let Some(password) = &range.password {
        out.raw("password", quote(password));
    }
    out.raw("import", quote(&range.import));
    out.raw("export", quote(&range.export));
    if let Some(most) = range.max_neighbors {
        out.raw("max_neighbors", most);
    }
}

fn render_policy(out: &mut Toml, policy: &Policy) {
    out.header("[[policy]]");
    out.raw("name", quote(&policy.name));
    let default = match policy.default {
        PolicyDefault::Accept => "accept",
        PolicyDefault::Reject => "reject",
    };
    out.raw("default", quote(default));
    for term in &policy.terms {
        render_term(out, term);
    }
}

fn render_term(out: &mut Toml, term: &Term) {
    out.header("[[policy.term]]");
    if let Some(name) = &term.name {
        out.raw("name", quote(name));
    }
    let action = match term.action {
        PolicyAction::Accept => "accept",
        PolicyAction::Reject => "reject",
        PolicyAction::Next => "next",
    };
    out.raw("action", quote(action));
    let set = &term.set;
    if let Some(local_pref) = set.local_pref {
        out.raw("set_local_pref", local_pref);
    }
    if let Some(med) = set.med {
        out.raw("set_med", med);
    }
    out.non_empty("add_community", list(set.add_communities.iter().map(quote)));
    out.non_empty(
        "remove_community",
        list(set.remove_communities.iter().map(quote)),
    );
    out.non_empty(
        "add_large_community",
        list(set.add_large_communities.iter().map(quote)),
    );
    out.non_empty(
        "remove_large_community",
        list(set.remove_large_communities.iter().map(quote)),
    );
    out.raw("prepend_as", set.prepend_as);

    let matches = &term.matches;
    out.header("[policy.term.match]");
    out.non_empty("prefixes", prefix_list(&matches.prefixes));
    out.non_empty("community", list(matches.communities.iter().map(quote)));
    out.non_empty(
        "large_community",
        list(matches.large_communities.iter().map(quote)),
    );
    if let Some(length) = matches.as_path_length {
        // An unbounded maximum is written by leaving `max` out.
        let max = if length.max == u32::MAX {
            String::new()
        } else {
            format!(", max = {}", length.max)
        };
        out.raw("as_path_length", format!("{{ min = {}{max} }}", length.min));
    }
    out.non_empty("neighbor", list(matches.neighbors.iter().map(quote)));
}

fn prefix_list(filters: &[PrefixFilter]) -> String {
    list(filters.iter().map(|filter| {
        format!(
            "{{ prefix = {}, ge = {}, le = {} }}",
            quote(filter.prefix),
            filter.ge,
            filter.le
        )
    }))
}

/// A TOML basic string with toml's own escaping.
fn quote(value: impl Display) -> String {
    toml::Value::String(value.to_string()).to_string()
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// Accumulates output; sections are separated by a blank line.
#[derive(Default)]
struct Toml {
    text: String,
}

impl Toml {
    fn header(&mut self, header: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(header);
        self.text.push('\n');
    }

    /// Writes a list only when it has items; an absent key means the same.
    fn non_empty(&mut self, key: &str, value: String) {
        if value != "[]" {
            self.raw(key, value);
        }
    }

    fn raw(&mut self, key: &str, value: impl Display) {
        let _ = writeln!(self.text, "{key} = {value}");
    }
}
