//! Coverage of the seed: every action name the original system used for Defender for Endpoint
//! (71 MDE worker labels, as written, and 16 orchestrator names for `service=MDE`) resolves to a
//! catalog action, canonical or alias; the unsupported ones say why and point somewhere real.
//!
//! The names are copied into `fixtures/seed_mde_actions.json` from the reference's
//! `seed-actions.json` (CI runs on a clean clone without the reference).

use catalog::{Catalog, Plan, Product};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/seed_mde_actions.json");
    serde_json::from_str(text).expect("fixture is JSON")
}

fn names(kind: &str) -> Vec<String> {
    fixture()[kind].as_array().expect("a list").iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_fixture_holds_every_seed_name() {
    let worker = names("worker");
    let orchestrator = names("orchestrator");
    // 71 labels, plus the three written with a stray space in the seed's switch.
    assert_eq!(worker.len(), 74);
    assert_eq!(orchestrator.len(), 16);
    for spaced in ["RUNAV SCAN", "REMOVEDOMAIN INDICATOR", "DEPLOYSECU RITYUPDATE"] {
        assert!(worker.iter().any(|n| n == spaced), "{spaced}");
    }
}

#[test]
fn every_worker_and_orchestrator_name_resolves_for_mde() {
    let cat = Catalog::global();
    let mut missing = Vec::new();
    for name in names("worker").iter().chain(names("orchestrator").iter()) {
        match cat.resolve(Some(Product::Mde), name) {
            Ok(spec) => assert_eq!(spec.product, Product::Mde, "{name}"),
            Err(e) => missing.push(format!("{name}: {e}")),
        }
        // The orchestrator resolves without `service` too: no other product claims the name.
        if let Ok(spec) = cat.resolve(None, name) {
            assert_eq!(spec.product, Product::Mde, "{name} without a product");
        }
    }
    assert!(missing.is_empty(), "seed names without a catalog action:\n{}", missing.join("\n"));
}

/// The surface spellings of the same name land on one action (worker `AddFileIndicator` with
/// `sha1`, orchestrator `AddFileIndicator` with `indicatorValue`; `RunAVScan` and
/// `RunAntivirusScan`; the orchestrator's wildcard labels).
#[test]
fn seed_spellings_land_where_they_mean() {
    let cat = Catalog::global();
    for (seed, canonical) in [
        ("RunAVScan", "RunAntivirusScan"),
        ("RUNAV SCAN", "RunAntivirusScan"),
        ("RestrictApp", "RestrictAppExecution"),
        ("GetDevices", "GetAllDevices"),
        ("GetIncident*", "GetIncident"),
        ("GetIncidents", "GetAllIncidents"),
        ("AddComment", "AddIncidentComment"),
        ("SubmitIndicator", "AddIndicator"),
        ("GetAllIndicators", "GetIndicators"),
        ("REMOVEDOMAIN INDICATOR", "RemoveIndicatorByValue"),
        ("DEPLOYSECU RITYUPDATE", "DeploySecurityUpdate"),
        ("BulkAddIndicators", "BulkAddIndicators"),
        ("StartInvestigation", "StartInvestigation"),
    ] {
        assert_eq!(cat.resolve(Some(Product::Mde), seed).unwrap().name, canonical, "{seed}");
    }
}

#[test]
fn unsupported_names_are_few_and_explain_themselves() {
    let cat = Catalog::global();
    let seed: Vec<String> = names("worker").into_iter().chain(names("orchestrator")).collect();
    let mut unsupported: Vec<&str> = Vec::new();
    for name in &seed {
        let Ok(spec) = cat.resolve(Some(Product::Mde), name) else { continue };
        if let Plan::Unsupported { reason, nearest } = spec.plan {
            if !unsupported.contains(&spec.name) {
                unsupported.push(spec.name);
            }
            assert!(reason.len() > 60, "{}: the reason should explain", spec.name);
            let row = spec.summary_json();
            assert_eq!(row["status"], "unsupported");
            assert_eq!(row["reason"], reason);
            if let Some(n) = nearest {
                assert_ne!(n, spec.name);
            }
        }
    }
    assert!(unsupported.len() <= 12, "too many unsupported seed names: {unsupported:?}");
    for expected in ["TriggerVulnerabilityScan", "ApplySecurityBaseline", "EnableWebContentFiltering"] {
        assert!(unsupported.contains(&expected), "{expected} has no API and must say so");
    }
}

/// A nearest action named by an unsupported entry exists (else the 501 would point nowhere).
#[test]
fn nearest_actions_exist() {
    let cat = Catalog::global();
    for spec in cat.actions(Some(Product::Mde)) {
        if let Plan::Unsupported { nearest: Some(n), .. } = spec.plan {
            assert!(cat.get(Product::Mde, n).is_some(), "{}: nearest {n} is not an action", spec.name);
        }
    }
}
