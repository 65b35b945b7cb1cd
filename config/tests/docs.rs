//! docs/configuration.md documents every key the parser accepts: the list
//! of keys is taken from the parser itself (the "expected one of" list of
//! its unknown-key error), so a key added to the schema without
//! documentation fails this test.

// Test helpers may unwrap, index and panic: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use config::Config;
use std::path::PathBuf;

const ROUTER: &str = "[router]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n";

/// The keys the parser accepts at the place where `text` puts `zzz_unknown`.
fn accepted_keys(text: &str) -> Vec<String> {
    let errors = Config::from_str(text, "t.toml").unwrap_err();
    let message = &errors.errors[0].message;
    let (_, list) = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
        .unwrap_or_else(|| panic!("no key list in: {message}"));
    list.replace(" or ", ", ")
        .split(", ")
        .map(|key| key.trim_matches('`').to_string())
        .collect()
}

#[test]
fn every_accepted_key_is_documented() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let neighbor = format!("{ROUTER}[[neighbor]]\naddress = \"198.18.0.2\"\nasn = 1\n");
    let term = format!("{ROUTER}[[policy]]\nname = \"p\"\n[[policy.term]]\naction = \"accept\"\n");
    let places = [
        "zzz_unknown = 1\n".to_string(),
        format!("{ROUTER}zzz_unknown = 1\n"),
        format!("{ROUTER}[fib]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[graceful_restart]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[[originate]]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[[import_kernel]]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[[import_kernel]]\nprefixes = [{{ zzz_unknown = 1 }}]\n"),
        format!("{neighbor}zzz_unknown = 1\n"),
        format!("{neighbor}add_path = {{ zzz_unknown = 1 }}\n"),
        format!("{neighbor}max_prefixes = {{ zzz_unknown = 1 }}\n"),
        format!("{ROUTER}[[listen_range]]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[[policy]]\nzzz_unknown = 1\n"),
        format!("{term}zzz_unknown = 1\n"),
        format!("{term}[policy.term.match]\nzzz_unknown = 1\n"),
        format!("{term}[policy.term.match]\nas_path_length = {{ zzz_unknown = 1 }}\n"),
        format!("{ROUTER}[logging]\nzzz_unknown = 1\n"),
        format!("{ROUTER}[api]\nzzz_unknown = 1\n"),
    ];
    let mut checked = 0;
    for place in &places {
        for key in accepted_keys(place) {
            // Sections are documented by their headers: `[router]`, `[[neighbor]]`.
            let documented = docs.contains(&format!("`{key}`"))
                || docs.contains(&format!("`[{key}]`"))
                || docs.contains(&format!("`[[{key}]]`"));
            assert!(documented, "key `{key}` (from {place:?}) is not documented");
            checked += 1;
        }
    }
    // The schema has well over a hundred keys; a broken extraction would find few.
    assert!(checked > 100, "only {checked} keys found");
}
