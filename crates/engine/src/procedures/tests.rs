//! Whole-table tests holding the procedure registries to the catalog: every key a row names has
//! exactly one implementation and every implementation is named; every parameter a procedure
//! reads is declared by each row that uses it (required ones required, or defaulted), and every
//! declared parameter is read; and each typed struct parses from every row's parameters, which
//! runs each read through [`super::Args`] so a `READS` list that leaves out a name fails here.

use super::*;
use catalog::{ParamKind, ParamSpec, Plan};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Every catalog row that names a procedure, with its key.
fn procedure_rows() -> impl Iterator<Item = (&'static ActionSpec, ProcedureId)> {
    catalog::all().filter_map(|s| match s.plan {
        Plan::Procedure(id) => Some((s, id)),
        Plan::Call(_) | Plan::Unsupported { .. } => None,
    })
}

fn entries() -> impl Iterator<Item = (&'static str, &'static Entry)> {
    REGISTRIES.iter().flat_map(|(folder, entries)| entries.iter().map(move |e| (*folder, e)))
}

#[test]
fn every_key_has_exactly_one_implementation_in_its_products_registry() {
    let mut registered: BTreeMap<ProcedureId, usize> = BTreeMap::new();
    for (folder, e) in entries() {
        *registered.entry(e.id).or_default() += 1;
        assert_eq!(e.id.product_folder(), folder, "{} is registered under procedures/{folder}/", e.id);
    }
    for (id, n) in &registered {
        assert_eq!(*n, 1, "{id} is registered {n} times");
    }
    for (spec, id) in procedure_rows() {
        assert!(registered.contains_key(&id), "{}: no implementation registered for {id}", spec.name);
    }
    for id in registered.keys() {
        assert!(procedure_rows().any(|(_, used)| used == *id), "{id} is registered but no catalog row names it");
    }
}

/// A required read is met when the row requires the parameter, defaults it, or has validation
/// fill it in (an indicator's type, inferred from its value).
fn always_present(spec: &ActionSpec, p: &ParamSpec) -> bool {
    let inferred =
        spec.params.iter().any(|o| matches!(o.kind, ParamKind::IndicatorValue { type_param } if type_param == p.name));
    p.required || p.default.is_some() || inferred
}

#[test]
fn procedures_read_only_what_their_rows_declare() {
    for (spec, id) in procedure_rows() {
        let Some(entry) = find(id) else { continue };
        for read in entry.reads {
            let declared = spec.params.iter().find(|p| p.name == read.name);
            let declared = declared
                .unwrap_or_else(|| panic!("{}: {id} reads `{}`, which the row does not declare", spec.name, read.name));
            if read.required {
                assert!(
                    always_present(spec, declared),
                    "{}: {id} needs `{}`, which the row declares optional",
                    spec.name,
                    read.name
                );
            }
        }
        for p in spec.params {
            assert!(
                entry.reads.iter().any(|r| r.name == p.name),
                "{}: declares `{}`, which {id} never reads",
                spec.name,
                p.name
            );
        }
    }
}

/// A value validation could have produced for the kind (the parsers do no I/O and trust it).
fn sample(kind: ParamKind) -> Value {
    match kind {
        ParamKind::DeviceId => json!("1e5bc9d7e413ddd7902c2932e418702b84d0cc07"),
        ParamKind::DeviceIds => json!(["1e5bc9d7e413ddd7902c2932e418702b84d0cc07"]),
        ParamKind::Ip => json!("10.0.0.5"),
        ParamKind::DateTime => json!("2026-11-23T10:00:00Z"),
        ParamKind::Int { min, .. } => json!(min),
        ParamKind::Bool => json!(false),
        ParamKind::Enum { values } => json!(values.first().copied().unwrap_or_default()),
        ParamKind::ResourceIds { .. } | ParamKind::TextList { .. } => json!(["x"]),
        ParamKind::PortRanges { .. } => json!(["443"]),
        ParamKind::CountryCodes { .. } => json!(["KP"]),
        ParamKind::IpPrefix => json!("203.0.113.7"),
        ParamKind::IpPrefixes { .. } => json!(["203.0.113.7"]),
        ParamKind::JsonObjects { .. } => json!([{ "Indicator": "203.0.113.7" }]),
        ParamKind::ArmResourceId => json!(
            "/subscriptions/6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
        ),
        ParamKind::Indicators { .. } => {
            json!([{ "indicatorValue": "evil.example.com", "indicatorType": "DomainName" }])
        }
        ParamKind::JsonObject => json!({}),
        ParamKind::Text { .. } if false => Value::Null,
        _ => json!("eA=="),
    }
}

/// The parameters of `spec` as validation leaves them: every one (`all`), or only the required,
/// defaulted and inferred ones.
fn params_of(spec: &ActionSpec, all: bool) -> Params {
    let mut params = Params::new();
    for p in spec.params.iter().filter(|p| all || always_present(spec, p)) {
        params.insert(p.name, sample(p.kind));
    }
    params
}

#[test]
fn every_typed_struct_parses_from_each_rows_parameters() {
    for (spec, id) in procedure_rows() {
        let Some(entry) = find(id) else { continue };
        for all in [true, false] {
            if let Err(e) = (entry.parse)(&params_of(spec, all)) {
                panic!("{}: {id} does not parse from its row's parameters (all given: {all}): {e}", spec.name);
            }
        }
    }
}
