//! Keys an action does not declare (issue 15: `isolationTyp: "Selective"` was silently
//! ignored and produced a Full isolation).
//!
//! Matching is the same as [`super::ParamSpec`]'s: case and separators do not count. For each
//! key no declared spelling matches, this finds the closest declared name by edit distance,
//! so a surface can answer "did you mean ...": native routes refuse every unknown key, seed
//! routes refuse the near misses (a typo of a real parameter) and report the rest as warnings.

use serde_json::{Map, Value};

use super::{ParamSpec, normalize};

/// Keys every action takes besides its declared parameters (read by the engine itself).
pub const ENGINE_KEYS: &[&str] = &["revertAfter", "breakGlass"];

/// An edit distance at or under this, between a key and a declared spelling, is a typo.
pub const TYPO_DISTANCE: usize = 2;

/// A key no declared parameter matches, and the declared name nearest to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    /// The canonical name of the nearest declared parameter, if the action declares any.
    pub closest: Option<&'static str>,
    /// Edit distance (over the normalised forms) from the key to that parameter's nearest spelling.
    pub distance: usize,
}

impl UnknownKey {
    /// Whether the key looks like a misspelling of a declared parameter.
    pub fn is_typo(&self) -> bool {
        self.closest.is_some() && self.distance <= TYPO_DISTANCE
    }
}

/// The keys of `raw` that none of `specs` (nor [`ENGINE_KEYS`]) accepts, in the order given.
pub fn unknown_keys(specs: &[ParamSpec], raw: &Map<String, Value>) -> Vec<UnknownKey> {
    let known: Vec<(String, &'static str)> =
        specs.iter().flat_map(|p| p.spellings().map(move |s| (normalize(s), p.name))).collect();
    let engine: Vec<String> = ENGINE_KEYS.iter().map(|k| normalize(k)).collect();
    raw.keys()
        .filter_map(|key| {
            let n = normalize(key);
            if known.iter().any(|(k, _)| *k == n) || engine.contains(&n) {
                return None;
            }
            let nearest = known.iter().map(|(k, name)| (edit_distance(&n, k), *name)).min_by_key(|(d, _)| *d);
            Some(UnknownKey {
                key: key.clone(),
                closest: nearest.map(|(_, name)| name),
                distance: nearest.map_or(usize::MAX, |(d, _)| d),
            })
        })
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;
    use serde_json::json;

    fn isolate() -> &'static crate::ActionSpec {
        Catalog::global().resolve(Some(crate::Product::Mde), "IsolateDevice").expect("declared")
    }

    #[test]
    fn a_misspelled_parameter_is_a_typo_of_the_declared_one() {
        let raw = json!({ "deviceIds": "x", "isolationTyp": "Selective" });
        let unknown = unknown_keys(isolate().params, raw.as_object().unwrap());
        assert_eq!(
            unknown,
            vec![UnknownKey { key: "isolationTyp".into(), closest: Some("isolationType"), distance: 1 }]
        );
        assert!(unknown[0].is_typo());
    }

    #[test]
    fn declared_spellings_and_engine_keys_are_known_and_far_keys_are_not_typos() {
        let raw = json!({ "DeviceIds": "x", "isolation_type": "Full", "revertAfter": "PT1H", "ticketNumber": "42" });
        let unknown = unknown_keys(isolate().params, raw.as_object().unwrap());
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert_eq!(unknown[0].key, "ticketNumber");
        assert!(!unknown[0].is_typo());
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
