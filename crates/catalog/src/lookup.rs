//! Name resolution: canonical names and seed aliases, case-insensitively, with close matches.
//!
//! Names are compared in [`normalize`]d form, so `IsolateDevice`, `isolate_device`,
//! `Isolate Device` and the seed's wildcard label `DisableUser*` all meet.

use crate::params::normalize;
use crate::{ActionSpec, Product};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// How many close matches an unknown-action answer suggests.
const MAX_CLOSE: usize = 5;
/// Jaro-Winkler similarity below which a name is not offered as a close match.
const CLOSE_THRESHOLD: f64 = 0.8;

/// An action name resolved to its declaration.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub spec: &'static ActionSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No action of that name (in that product, when one was given).
    #[error("unknown action '{name}'{}{}", in_product(product), did_you_mean(close))]
    UnknownAction { product: Option<Product>, name: String, close: Vec<String> },
    /// The name exists in several products and none was given.
    #[error("action '{name}' exists in several products ({}); say which", keys(products))]
    Ambiguous { name: String, products: Vec<Product> },
}

fn in_product(product: &Option<Product>) -> String {
    product.map(|p| format!(" for {}", p.key())).unwrap_or_default()
}

fn did_you_mean(close: &[String]) -> String {
    if close.is_empty() { String::new() } else { format!("; did you mean {}?", close.join(", ")) }
}

fn keys(products: &[Product]) -> String {
    products.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
}

/// One spelling (canonical or alias) in normalised form, pointing at its action.
struct Entry {
    key: String,
    spec: &'static ActionSpec,
}

/// The index over every declaration, built once from [`crate::all`].
pub struct Catalog {
    /// (product, normalised spelling) → action.
    by_spelling: HashMap<(Product, String), &'static ActionSpec>,
    /// Every spelling, for close-match search.
    entries: Vec<Entry>,
    /// Spellings claimed by two different actions of one product; the first declaration wins.
    /// Always empty in a correct catalog (a test asserts it); kept rather than panicking.
    collisions: Vec<String>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog").field("spellings", &self.entries.len()).field("collisions", &self.collisions).finish()
    }
}

impl Catalog {
    /// The process-wide index; the catalog is static data, so it is built on first use only.
    pub fn global() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::build(crate::all()))
    }

    fn build(specs: impl Iterator<Item = &'static ActionSpec>) -> Catalog {
        let mut catalog = Catalog { by_spelling: HashMap::new(), entries: Vec::new(), collisions: Vec::new() };
        for spec in specs {
            for spelling in std::iter::once(spec.name).chain(spec.aliases.iter().copied()) {
                catalog.add(spec, spelling);
            }
        }
        catalog
    }

    fn add(&mut self, spec: &'static ActionSpec, spelling: &str) {
        let key = normalize(spelling);
        match self.by_spelling.get(&(spec.product, key.clone())) {
            Some(existing) if existing.name == spec.name => return,
            Some(existing) => {
                self.collisions.push(format!(
                    "{}: '{spelling}' names both {} and {}",
                    spec.product.key(),
                    existing.name,
                    spec.name
                ));
                return;
            }
            None => {}
        }
        self.by_spelling.insert((spec.product, key.clone()), spec);
        self.entries.push(Entry { key, spec });
    }

    /// Resolve a canonical name or seed alias. Without a product every product is searched, and a
    /// name found in more than one is refused as ambiguous rather than guessed.
    pub fn resolve(&self, product: Option<Product>, name: &str) -> Result<&'static ActionSpec, ResolveError> {
        let key = normalize(name);
        let mut found: Vec<&'static ActionSpec> = Product::ALL
            .iter()
            .filter(|p| product.is_none_or(|want| want == **p))
            .filter_map(|p| self.by_spelling.get(&(*p, key.clone())).copied())
            .collect();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ResolveError::UnknownAction { product, name: name.to_string(), close: self.close(product, &key) }),
            _ => Err(ResolveError::Ambiguous {
                name: name.to_string(),
                products: found.iter().map(|s| s.product).collect(),
            }),
        }
    }

    /// Look up an action by its exact canonical name (as stored in operations and `inverse`).
    pub fn get(&self, product: Product, canonical: &str) -> Option<&'static ActionSpec> {
        self.by_spelling.get(&(product, normalize(canonical))).copied().filter(|s| s.name == canonical)
    }

    /// Every action, optionally of one product, in declaration order.
    pub fn actions(&self, product: Option<Product>) -> impl Iterator<Item = &'static ActionSpec> + use<> {
        crate::all().filter(move |s| product.is_none_or(|p| p == s.product))
    }

    /// Spellings that two actions of one product both claim; empty when the catalog is sound.
    pub fn collisions(&self) -> &[String] {
        &self.collisions
    }

    /// Up to [`MAX_CLOSE`] canonical names whose name or alias resembles `key`, best first.
    fn close(&self, product: Option<Product>, key: &str) -> Vec<String> {
        if key.is_empty() {
            return Vec::new();
        }
        let mut best: HashMap<&'static str, f64> = HashMap::new();
        let candidates = self.entries.iter().filter(|e| product.is_none_or(|p| p == e.spec.product));
        for entry in candidates {
            let score = similarity(key, &entry.key);
            if score >= CLOSE_THRESHOLD {
                let slot = best.entry(entry.spec.name).or_insert(0.0);
                *slot = slot.max(score);
            }
        }
        let mut ranked: Vec<(&'static str, f64)> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.into_iter().take(MAX_CLOSE).map(|(name, _)| name.to_string()).collect()
    }
}

/// Jaro-Winkler, with a containment floor so `isolate` still suggests `isolatedevice`.
fn similarity(a: &str, b: &str) -> f64 {
    let jw = strsim::jaro_winkler(a, b);
    let contains = a.len() >= 4 && b.len() >= 4 && (a.contains(b) || b.contains(a));
    if contains { jw.max(CLOSE_THRESHOLD) } else { jw }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> &'static Catalog {
        Catalog::global()
    }

    #[test]
    fn every_canonical_name_and_alias_resolves_to_its_action() {
        for spec in crate::all() {
            for spelling in std::iter::once(spec.name).chain(spec.aliases.iter().copied()) {
                let got = cat().resolve(Some(spec.product), spelling).unwrap();
                assert_eq!((got.product, got.name), (spec.product, spec.name), "{spelling}");
                // Without a product: this action, or a 400 that names its product among others.
                match cat().resolve(None, &spelling.to_uppercase()) {
                    Ok(got) => {
                        assert_eq!((got.product, got.name), (spec.product, spec.name), "{spelling} without product")
                    }
                    Err(ResolveError::Ambiguous { products, .. }) => {
                        assert!(products.len() > 1 && products.contains(&spec.product), "{spelling}: {products:?}")
                    }
                    Err(e) => panic!("{spelling} without product: {e}"),
                }
            }
        }
    }

    #[test]
    fn spacing_and_case_variants_resolve() {
        for name in ["Isolate Device", "isolate_device", "ISOLATE-DEVICE", " isolatedevice "] {
            assert_eq!(cat().resolve(Some(Product::Mde), name).unwrap().name, "IsolateDevice", "{name}");
        }
    }

    /// Every spelling the seed used for these calls (see `reference/seed-actions.json`: worker and
    /// orchestrator records whose upstream call is the action's), with where it must land.
    #[test]
    fn seed_spellings_resolve() {
        let cases = [
            (Product::Mde, "IsolateDevice", "IsolateDevice"),
            (Product::Mde, "UnisolateDevice", "UnisolateDevice"),
            (Product::Mde, "RestrictApp", "RestrictAppExecution"),
            (Product::Mde, "RestrictAppExecution", "RestrictAppExecution"),
            (Product::Mde, "UnrestrictApp", "UnrestrictAppExecution"),
            (Product::Mde, "UnrestrictAppExecution", "UnrestrictAppExecution"),
            (Product::Mde, "RunAVScan", "RunAntivirusScan"),
            (Product::Mde, "RUNAV SCAN", "RunAntivirusScan"),
            (Product::Mde, "RunAntiVirusScan", "RunAntivirusScan"),
            (Product::Mde, "RunAntivirusScan", "RunAntivirusScan"),
            (Product::Mde, "CollectInvestigationPackage", "CollectInvestigationPackage"),
            (Product::Mde, "CollectPackage", "CollectInvestigationPackage"),
            (Product::Mde, "StopAndQuarantineFile", "StopAndQuarantineFile"),
            (Product::Mde, "OffboardDevice", "OffboardDevice"),
            (Product::Mde, "GetDevices", "GetAllDevices"),
            (Product::Mde, "GetAllDevices", "GetAllDevices"),
            (Product::Mde, "GetMachines", "GetAllDevices"),
            (Product::Mde, "IsolateMachine", "IsolateDevice"),
            (Product::Mde, "GetDeviceInfo", "GetDeviceInfo"),
            (Product::Mde, "GetActionStatus", "GetActionStatus"),
            (Product::Mde, "GetMachineActionStatus", "GetActionStatus"),
            (Product::Mde, "GetAllActions", "GetAllActions"),
            (Product::Mde, "CancelAction", "CancelAction"),
            (Product::EntraId, "DisableUser", "DisableUser"),
            (Product::EntraId, "DisableUser*", "DisableUser"),
            (Product::EntraId, "BlockUserSignIn", "DisableUser"),
            (Product::EntraId, "DisableUserAccount", "DisableUser"),
            (Product::EntraId, "EnableUser*", "EnableUser"),
            (Product::EntraId, "RevokeSessions", "RevokeSessions"),
            (Product::EntraId, "RevokeUserSessions", "RevokeSessions"),
            (Product::EntraId, "GetUserById", "GetUserById"),
            (Product::Mde, "RunQuery", "RunAdvancedHuntingQuery"),
            (Product::Mde, "RunAdvancedQuery", "RunAdvancedHuntingQuery"),
            (Product::Mde, "AdvancedHunt*", "RunAdvancedHuntingQuery"),
            (Product::Mde, "AdvancedHuntingRunQuery", "RunAdvancedHuntingQuery"),
            (Product::Mde, "SaveQuery", "SaveQuery"),
            (Product::Mde, "GetQueryHistory", "GetQueryHistory"),
        ];
        for (product, seed, canonical) in cases {
            let got = cat().resolve(Some(product), seed).unwrap_or_else(|e| panic!("{seed}: {e}"));
            assert_eq!(got.name, canonical, "{seed}");
        }
    }

    #[test]
    fn aliases_never_collide_within_a_product() {
        assert!(cat().collisions().is_empty(), "{:?}", cat().collisions());
    }

    #[test]
    fn wrong_product_is_unknown() {
        let err = cat().resolve(Some(Product::EntraId), "IsolateDevice").unwrap_err();
        assert!(matches!(err, ResolveError::UnknownAction { product: Some(Product::EntraId), .. }));
    }

    #[test]
    fn close_matches_suggest_the_intended_action() {
        let err = cat().resolve(Some(Product::Mde), "IsolateDevic").unwrap_err();
        let ResolveError::UnknownAction { close, .. } = &err else { panic!("{err:?}") };
        assert_eq!(close.first().map(String::as_str), Some("IsolateDevice"), "{close:?}");
        assert!(close.len() <= MAX_CLOSE);
        assert!(err.to_string().contains("did you mean IsolateDevice"), "{err}");

        let err = cat().resolve(None, "revoke session").unwrap_err();
        let ResolveError::UnknownAction { close, .. } = err else { panic!() };
        assert!(close.iter().any(|c| c == "RevokeSessions"), "{close:?}");
    }

    #[test]
    fn nonsense_has_no_close_matches_and_never_panics() {
        for name in ["", "   ", "*", "zzzzzzzzzzzz", &"x".repeat(100_000), "🙂"] {
            match cat().resolve(None, name) {
                Err(ResolveError::UnknownAction { close, .. }) => {
                    assert!(close.is_empty(), "{name:.20}: {close:?}")
                }
                other => panic!("{name:.20}: {other:?}"),
            }
        }
    }

    #[test]
    fn ambiguity_across_products_is_reported() {
        use crate::{Completion, Plan, Risk};
        static SPECS: [ActionSpec; 2] = [
            ActionSpec {
                product: Product::Mde,
                name: "GetThing",
                summary: "",
                aliases: &[],
                params: &[],
                risk: Risk::Read,
                inverse: None,
                permission: "",
                completion: Completion::Immediate,
                sensitive_results: &[],
                plan: Plan::Unsupported { reason: "test", nearest: None },
            },
            ActionSpec {
                product: Product::EntraId,
                name: "GetThing",
                summary: "",
                aliases: &[],
                params: &[],
                risk: Risk::Read,
                inverse: None,
                permission: "",
                completion: Completion::Immediate,
                sensitive_results: &[],
                plan: Plan::Unsupported { reason: "test", nearest: None },
            },
        ];
        let c = Catalog::build(SPECS.iter());
        let err = c.resolve(None, "get thing").unwrap_err();
        assert_eq!(
            err,
            ResolveError::Ambiguous { name: "get thing".into(), products: vec![Product::Mde, Product::EntraId] }
        );
        assert!(err.to_string().contains("MDE, EntraID"));
        assert_eq!(c.resolve(Some(Product::EntraId), "GetThing").unwrap().product, Product::EntraId);
    }

    #[test]
    fn get_wants_the_exact_canonical_name() {
        assert_eq!(cat().get(Product::Mde, "IsolateDevice").map(|s| s.name), Some("IsolateDevice"));
        assert!(cat().get(Product::Mde, "isolatedevice").is_none());
        assert!(cat().get(Product::Mde, "IsolateMachine").is_none());
        assert!(cat().get(Product::EntraId, "IsolateDevice").is_none());
    }
}
