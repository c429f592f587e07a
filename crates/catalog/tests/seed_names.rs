//! Coverage of the seed's whole inventory, product by product: every `(product, name)` the
//! original system exposed resolves in that product's namespace, every route and `service`
//! spelling it used names the product, and whatever is not there yet is declared so (the name in
//! its product's `pending_seed_names()`). The list only shrinks: a declared-pending name that
//! starts resolving fails the test.
//!
//! `fixtures/seed_actions.json` is the reference's `seed-actions.json` (340 records) cut to the
//! fields read here, so CI needs no `../shared`:
//! `jq -c '[.[] | {worker, action, via, entrypoint, switch_label}]' seed-actions.json`.

use catalog::{Catalog, Product, ResolveError};
use serde::Deserialize;

#[derive(Deserialize)]
struct SeedAction {
    worker: String,
    action: String,
    via: String,
    entrypoint: String,
}

fn inventory() -> Vec<SeedAction> {
    serde_json::from_str(include_str!("fixtures/seed_actions.json")).expect("fixture is the seed inventory")
}

/// The product a record belongs to: its `worker` field is a product spelling.
fn product_of(record: &SeedAction) -> Product {
    Product::parse(&record.worker).unwrap_or_else(|| panic!("worker '{}' names no product", record.worker))
}

/// Every route (`/api/...Worker`) and `service=` value written in an entrypoint.
fn spellings(entrypoint: &str) -> (Vec<&str>, Vec<&str>) {
    let word = |s: &str| -> usize { s.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(s.len()) };
    let routes = entrypoint
        .match_indices("/api/")
        .map(|(i, m)| &entrypoint[i + m.len()..])
        .map(|rest| &rest[..word(rest)])
        .filter(|r| r.ends_with("Worker"))
        .collect();
    let services = entrypoint
        .match_indices("service=")
        .map(|(i, m)| &entrypoint[i + m.len()..])
        .map(|rest| &rest[..word(rest)])
        .filter(|s| !s.is_empty())
        .collect();
    (routes, services)
}

#[test]
fn the_fixture_is_the_whole_inventory() {
    let all = inventory();
    assert_eq!(all.len(), 340);
    let mut products: Vec<Product> = all.iter().map(product_of).collect();
    products.sort();
    products.dedup();
    assert_eq!(products.len(), 9, "MDE, MDO, MDC, MDI, EntraID, Intune, Azure, MCAS, Incident: {products:?}");
}

#[test]
fn every_route_and_service_spelling_names_its_product() {
    let mut seen = 0;
    for record in inventory() {
        let product = product_of(&record);
        let (routes, services) = spellings(&record.entrypoint);
        for route in routes {
            assert_eq!(Product::from_worker_route(route), Some(product), "route {route} of {}", record.action);
            // The short form `/api/{Product}Worker` names it too.
            let short = route.strip_prefix("DefenderXDR").unwrap_or(route);
            assert_eq!(Product::from_worker_route(short), Some(product), "route {short}");
            seen += 1;
        }
        for service in services {
            assert_eq!(Product::parse(service), Some(product), "service={service} of {}", record.action);
            seen += 1;
        }
    }
    assert!(seen >= 340, "every record has a route or a service ({seen})");
}

#[test]
fn every_seed_name_resolves_in_its_product_or_is_declared_pending() {
    let cat = Catalog::global();
    let mut missing = Vec::new();
    for record in inventory() {
        let product = product_of(&record);
        // The orchestrator's MCAS branch forwarded any name ("*") to the MCAS worker.
        if record.action.starts_with('*') {
            continue;
        }
        let pending = product.pending_seed_names().iter().any(|n| n.eq_ignore_ascii_case(&record.action));
        match (cat.resolve(Some(product), &record.action), pending) {
            (Ok(spec), false) => assert_eq!(spec.product, product, "{}", record.action),
            (Ok(spec), true) => missing.push(format!(
                "{}/{} resolves (to {}); remove it from the pending list",
                product.key(),
                record.action,
                spec.name
            )),
            (Err(_), true) => {}
            (Err(e), false) => missing.push(format!("{}/{} ({}): {e}", product.key(), record.action, record.via)),
        }
    }
    assert!(missing.is_empty(), "seed names neither resolving nor declared pending:\n{}", missing.join("\n"));
}

#[test]
fn every_product_has_actions_and_pending_names_are_seed_names() {
    let cat = Catalog::global();
    let all = inventory();
    for p in Product::ALL {
        assert!(cat.actions(Some(*p)).next().is_some(), "{} has no actions", p.key());
        for name in p.pending_seed_names() {
            assert!(
                all.iter().any(|r| product_of(r) == *p && r.action.eq_ignore_ascii_case(name)),
                "{}: pending name {name} is not a seed name",
                p.key()
            );
        }
    }
}

/// The acceptance case of product namespaces: one seed name, three meanings.
#[test]
fn update_alert_resolves_per_product_and_is_ambiguous_without_one() {
    let cat = Catalog::global();
    let mde = Product::from_worker_route("DefenderXDRMDEWorker").expect("MDE route");
    assert_eq!(cat.resolve(Some(mde), "UpdateAlert").map(|s| s.product), Ok(Product::Mde));
    for route in ["IncidentWorker", "DefenderXDRIncidentWorker"] {
        let p = Product::from_worker_route(route).expect("Incident route");
        let spec = cat.resolve(Some(p), "UpdateAlert").expect("UpdateAlert in Incident");
        assert_eq!(spec.product, Product::Incident, "{route}");
    }
    match cat.resolve(None, "UpdateAlert") {
        Err(ResolveError::Ambiguous { products, .. }) => {
            assert!(products.contains(&Product::Mde) && products.contains(&Product::Incident), "{products:?}")
        }
        other => panic!("UpdateAlert without a product must be ambiguous: {other:?}"),
    }
}
