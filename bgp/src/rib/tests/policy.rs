//! Policy evaluation: built-ins, every match condition, every change, and
//! the accept / reject / next flow with its default.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::*;
use crate::rib::policy::{
    AsPathLength, Policy, PolicyAction, PolicyDefault, PolicyRoute, PrefixFilter, Term, TermMatch,
    TermSet, evaluate,
};
use crate::wire::LargeCommunity;

const COMMUNITY: u32 = (64512 << 16) | 100;
const LARGE: LargeCommunity = LargeCommunity {
    global_admin: 64512,
    local_data_1: 1,
    local_data_2: 2,
};

fn route_attributes() -> PathAttributes {
    let mut path = attributes(&[64601, 64700]);
    path.communities = vec![COMMUNITY];
    path.large_communities = vec![LARGE];
    path
}

fn run(
    policy: Option<Policy>,
    name: &str,
    prefix: &str,
    neighbor: Option<&str>,
) -> Option<PathAttributes> {
    let mut policies = BTreeMap::new();
    if let Some(policy) = policy {
        policies.insert(policy.name.clone(), policy);
    }
    let attributes = route_attributes();
    let prefix = net(prefix);
    let neighbor: Option<IpAddr> = neighbor.map(|text| text.parse().unwrap());
    let evaluation = evaluate(
        &policies,
        name,
        PolicyRoute {
            prefix: &prefix,
            attributes: &attributes,
            neighbor,
        },
        LOCAL_ASN,
    );
    evaluation
        .accepted
        .then(|| evaluation.attributes.unwrap_or(attributes))
}

fn single(matches: TermMatch, action: PolicyAction, default: PolicyDefault) -> Policy {
    Policy {
        name: "p".into(),
        terms: vec![Term {
            name: None,
            matches,
            set: TermSet::default(),
            action,
        }],
        default,
    }
}

#[test]
fn built_in_policies() {
    assert!(run(None, "all", "198.19.1.0/24", Some("198.18.1.1")).is_some());
    assert!(run(None, "none", "198.19.1.0/24", None).is_none());
    assert!(run(None, "originated", "198.19.1.0/24", None).is_some());
    assert!(run(None, "originated", "198.19.1.0/24", Some("198.18.1.1")).is_none());
    assert!(
        run(None, "no-such-policy", "198.19.1.0/24", None).is_none(),
        "unknown names reject"
    );
}

#[test]
fn each_match_condition() {
    let neighbor = Some("198.18.1.1");
    let cases: Vec<(&str, TermMatch, &str, Option<&str>, bool)> = vec![
        (
            "empty match",
            TermMatch::default(),
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "exact prefix",
            TermMatch {
                prefixes: vec![PrefixFilter::exact(net("198.19.1.0/24"))],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "exact prefix, longer route",
            TermMatch {
                prefixes: vec![PrefixFilter::exact(net("198.19.0.0/16"))],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "ge/le range",
            TermMatch {
                prefixes: vec![PrefixFilter {
                    prefix: net("198.19.0.0/16"),
                    ge: 20,
                    le: 24,
                }],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "ge/le range, too long",
            TermMatch {
                prefixes: vec![PrefixFilter {
                    prefix: net("198.19.0.0/16"),
                    ge: 20,
                    le: 23,
                }],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "other family",
            TermMatch {
                prefixes: vec![PrefixFilter {
                    prefix: net("2001:db8::/32"),
                    ge: 32,
                    le: 128,
                }],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "community present",
            TermMatch {
                communities: BTreeSet::from([COMMUNITY]),
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "communities are ANDed",
            TermMatch {
                communities: BTreeSet::from([COMMUNITY, COMMUNITY + 1]),
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "large community",
            TermMatch {
                large_communities: BTreeSet::from([LARGE]),
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "as path length in bounds",
            TermMatch {
                as_path_length: Some(AsPathLength { min: 2, max: 2 }),
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "as path length out of bounds",
            TermMatch {
                as_path_length: Some(AsPathLength { min: 0, max: 1 }),
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "neighbor inside",
            TermMatch {
                neighbors: vec![net("198.18.1.0/24")],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            true,
        ),
        (
            "neighbor outside",
            TermMatch {
                neighbors: vec![net("198.18.2.0/24")],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            neighbor,
            false,
        ),
        (
            "neighbor never matches local routes",
            TermMatch {
                neighbors: vec![net("0.0.0.0/0")],
                ..TermMatch::default()
            },
            "198.19.1.0/24",
            None,
            false,
        ),
    ];
    for (label, matches, prefix, from, expected) in cases {
        let policy = single(matches, PolicyAction::Accept, PolicyDefault::Reject);
        assert_eq!(
            run(Some(policy), "p", prefix, from).is_some(),
            expected,
            "{label}"
        );
    }
}

#[test]
fn sets_apply_removals_before_additions_and_next_carries_changes_on() {
    let policy = Policy {
        name: "p".into(),
        terms: vec![
            Term {
                name: Some("tag".into()),
                matches: TermMatch::default(),
                set: TermSet {
                    local_pref: Some(250),
                    med: Some(9),
                    remove_communities: BTreeSet::from([COMMUNITY]),
                    add_communities: BTreeSet::from([COMMUNITY + 5]),
                    remove_large_communities: BTreeSet::from([LARGE]),
                    add_large_communities: BTreeSet::from([LargeCommunity {
                        global_admin: 64512,
                        local_data_1: 9,
                        local_data_2: 9,
                    }]),
                    prepend_as: 2,
                },
                action: PolicyAction::Next,
            },
            Term {
                name: Some("sees the tag".into()),
                matches: TermMatch {
                    communities: BTreeSet::from([COMMUNITY + 5]),
                    ..TermMatch::default()
                },
                set: TermSet::default(),
                action: PolicyAction::Accept,
            },
        ],
        default: PolicyDefault::Reject,
    };
    let out = run(Some(policy), "p", "198.19.1.0/24", None).unwrap();
    assert_eq!(out.local_pref, Some(250));
    assert_eq!(out.med, Some(9));
    assert_eq!(out.communities, vec![COMMUNITY + 5]);
    assert_eq!(out.large_communities[0].local_data_1, 9);
    assert_eq!(
        out.as_path,
        Some(sequence(&[LOCAL_ASN, LOCAL_ASN, 64601, 64700]))
    );
}

#[test]
fn actions_and_defaults() {
    let hit = TermMatch::default;
    let miss = || TermMatch {
        communities: BTreeSet::from([1]),
        ..TermMatch::default()
    };
    let table = [
        (hit(), PolicyAction::Accept, PolicyDefault::Reject, true),
        (hit(), PolicyAction::Reject, PolicyDefault::Accept, false),
        (hit(), PolicyAction::Next, PolicyDefault::Accept, true),
        (hit(), PolicyAction::Next, PolicyDefault::Reject, false),
        (miss(), PolicyAction::Accept, PolicyDefault::Reject, false),
        (miss(), PolicyAction::Reject, PolicyDefault::Accept, true),
    ];
    for (matches, action, default, accepted) in table {
        let policy = single(matches, action, default);
        assert_eq!(
            run(Some(policy), "p", "198.19.1.0/24", None).is_some(),
            accepted,
            "{action:?} / {default:?}"
        );
    }
}
