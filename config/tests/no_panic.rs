//! No configuration text can panic the parser: random edits of the example
//! files either fail with located errors or yield a config that renders and
//! parses back to itself.

// Test helpers may unwrap, index and panic: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use config::Config;
use proptest::prelude::*;

const SOURCES: [&str; 4] = [
    include_str!("data/design_example.toml"),
    include_str!("../examples/full-mesh.toml"),
    include_str!("../examples/route-reflector.toml"),
    include_str!("../examples/tor-uplink.toml"),
];

/// Characters that matter to TOML and to the validators.
const ALPHABET: &[char] = &[
    '[', ']', '{', '}', '"', '\'', '=', ',', '.', ':', '/', '#', '\n', ' ', '0', '1', '9', '-',
    'a', 'é', '\\',
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let character = proptest::sample::select(ALPHABET);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), character.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<usize>(), character).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut characters: Vec<char> = text.chars().collect();
    for edit in edits {
        let length = characters.len().max(1);
        match *edit {
            Edit::Delete(at) if !characters.is_empty() => {
                characters.remove(at % length);
            }
            Edit::Insert(at, c) => characters.insert(at % (characters.len() + 1), c),
            Edit::Replace(at, c) if !characters.is_empty() => characters[at % length] = c,
            _ => {}
        }
    }
    characters.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn edited_examples_never_panic(source in 0..SOURCES.len(), edits in proptest::collection::vec(edit(), 1..6)) {
        let text = apply(SOURCES[source], &edits);
        match Config::from_str(&text, "fuzz.toml") {
            Ok(config) => {
                let rendered = config.to_toml();
                prop_assert_eq!(Config::from_str(&rendered, "rendered.toml").ok(), Some(config));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                let line_count = text.lines().count().max(1) + 1;
                for error in &errors {
                    prop_assert!(error.line >= 1 && error.line <= line_count, "{}", error);
                    prop_assert!(error.column >= 1, "{}", error);
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Config::from_str(&text, "fuzz.toml");
    }
}
