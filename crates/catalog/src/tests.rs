//! Whole-table invariants: what every declaration must satisfy for surfaces and the engine to
//! trust it without checking again.

use crate::params::normalize;
use crate::*;
use std::collections::{BTreeMap, HashSet};

fn placeholders(path: &str) -> Vec<&str> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

fn calls() -> impl Iterator<Item = (&'static ActionSpec, Call)> {
    all().filter_map(|s| match s.plan {
        Plan::Call(c) => Some((s, c)),
        Plan::Unsupported { .. } | Plan::Procedure(_) => None,
    })
}

fn declared(spec: &ActionSpec, name: &str) -> Option<&'static ParamSpec> {
    spec.params.iter().find(|p| p.name == name)
}

#[test]
fn canonical_names_are_unique_per_product() {
    let mut seen = HashSet::new();
    for s in all() {
        assert!(seen.insert((s.product, s.name)), "{} declared twice", s.name);
    }
}

#[test]
fn path_placeholders_name_declared_required_params() {
    for (spec, call) in calls() {
        for name in placeholders(call.path) {
            let p = declared(spec, name).unwrap_or_else(|| panic!("{}: {{{name}}} is not a param", spec.name));
            assert!(p.required, "{}: path param {name} must be required", spec.name);
        }
        assert!(call.path.matches('{').count() == call.path.matches('}').count(), "{}", call.path);
    }
}

#[test]
fn each_names_a_list_param_used_in_the_path() {
    for (spec, call) in calls() {
        if let Some(each) = call.each {
            let p = declared(spec, each).unwrap_or_else(|| panic!("{}: each {each}", spec.name));
            let is_list =
                matches!(p.kind, ParamKind::DeviceIds | ParamKind::ResourceIds { .. } | ParamKind::TextList { .. });
            assert!(is_list, "{}: each must name a list", spec.name);
            // The engine keys each per-target result row by the singular (`deviceIds` -> `deviceId`).
            assert!(each.ends_with('s'), "{}: each names a plural list, {each} is not", spec.name);
            assert!(placeholders(call.path).contains(&each), "{}: {each} not in path", spec.name);
        }
    }
}

#[test]
fn body_and_query_sources_are_declared_and_literals_parse() {
    for (spec, call) in calls() {
        for (_, source) in call.body {
            crate::body::check_source(spec, source).unwrap_or_else(|e| panic!("{e}"));
        }
        for (_, p) in call.query {
            assert!(declared(spec, p).is_some(), "{}: query param {p}", spec.name);
        }
    }
}

#[test]
fn every_inverse_is_an_action_of_the_same_product_that_points_back_or_is_read() {
    let cat = Catalog::global();
    for s in all() {
        if let Some(inv) = s.inverse {
            let target = cat.get(s.product, inv).unwrap_or_else(|| panic!("{}: inverse {inv} missing", s.name));
            assert_ne!(target.name, s.name);
            assert_eq!(target.inverse, Some(s.name), "{inv} should undo {}", s.name);
        }
    }
}

#[test]
fn param_spellings_are_unique_within_an_action() {
    for s in all() {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for p in s.params {
            for spelling in p.spellings() {
                if let Some(other) = seen.insert(normalize(spelling), p.name) {
                    assert_eq!(other, p.name, "{}: '{spelling}' claimed by {other} and {}", s.name, p.name);
                }
            }
        }
    }
}

#[test]
fn machine_actions_post_to_mde_and_reads_are_gets() {
    for (spec, call) in calls() {
        if spec.completion == Completion::MachineAction {
            assert_eq!((call.api, call.method), (Api::Mde, Method::Post), "{}", spec.name);
            assert_eq!(call.each, Some("deviceIds"), "{}", spec.name);
        }
        // Hunting reads POST (the query travels in the body), and so do Cloud Apps lists (their
        // filters do; api-alerts-list) and Exchange Online cmdlets (InvokeCommand).
        if spec.risk == Risk::Read
            && call.budget != Budget::Hunting
            && !matches!(call.api, Api::CloudApps | Api::ExchangeOnline)
        {
            assert_eq!(call.method, Method::Get, "{}", spec.name);
        }
        if call.paged {
            assert_eq!(call.method, Method::Get, "{}", spec.name);
        }
        if call.api == Api::Graph {
            assert!(call.path.starts_with("/v1.0/") || call.path.starts_with("/beta/"), "{}", call.path);
        }
    }
}

#[test]
fn mde_device_actions_always_send_a_comment() {
    for (spec, call) in calls() {
        // Machine actions (and startInvestigation) require `Comment`; indicators, alert batch
        // updates and hunting are other endpoints with their own bodies.
        if call.api == Api::Mde && call.method == Method::Post && call.path.starts_with("/api/machines/") {
            assert!(call.body.iter().any(|(k, _)| *k == "Comment"), "{}: MDE requires Comment", spec.name);
            let comment = declared(spec, "comment").expect("comment param");
            assert!(comment.default.is_some(), "{}: comment needs a default", spec.name);
        }
    }
}

#[test]
fn summary_json_has_the_listing_fields() {
    for s in all() {
        let j = s.summary_json();
        for key in ["product", "name", "aliases", "risk", "status", "reason", "params", "permission", "completion"] {
            assert!(j.get(key).is_some(), "{}: {key}", s.name);
        }
        assert_eq!(j["name"], s.name);
        assert_eq!(j["product"], s.product.key());
        if s.is_supported() {
            assert_eq!(j["status"], "supported");
            assert!(j["reason"].is_null());
        } else {
            assert_eq!(j["status"], "unsupported");
            assert!(j["reason"].as_str().is_some_and(|r| r.len() > 40), "{}: the reason explains", s.name);
        }
    }
    let iso = Catalog::global().get(Product::Mde, "IsolateDevice").unwrap().summary_json();
    assert_eq!(iso["risk"], "contain");
    assert_eq!(iso["completion"], "machine_action");
    assert_eq!(iso["aliases"], serde_json::json!(["IsolateMachine"]));
    assert_eq!(iso["params"][0]["name"], "deviceIds");
    assert_eq!(iso["params"][0]["kind"]["type"], "device_ids");
}

#[test]
fn unsupported_summary_carries_reason_and_nearest() {
    let s = ActionSpec {
        product: Product::Mde,
        name: "X",
        summary: "",
        aliases: &[],
        params: &[],
        risk: Risk::Read,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason: "no such API", nearest: Some("IsolateDevice") },
    };
    let j = s.summary_json();
    assert_eq!(
        (j["status"].as_str(), j["reason"].as_str(), j["nearest"].as_str()),
        (Some("unsupported"), Some("no such API"), Some("IsolateDevice"))
    );
}

#[test]
fn the_issue_scope_is_declared() {
    let mde = [
        "IsolateDevice",
        "UnisolateDevice",
        "RestrictAppExecution",
        "UnrestrictAppExecution",
        "RunAntivirusScan",
        "CollectInvestigationPackage",
        "StopAndQuarantineFile",
        "OffboardDevice",
        "GetAllDevices",
        "GetDeviceInfo",
        "GetActionStatus",
        "GetAllActions",
        "CancelAction",
    ];
    let entra = ["DisableUser", "EnableUser", "RevokeSessions", "GetUserById"];
    let cat = Catalog::global();
    for n in mde {
        assert!(cat.get(Product::Mde, n).is_some(), "{n}");
    }
    for n in entra {
        assert!(cat.get(Product::EntraId, n).is_some(), "{n}");
    }
    let hunting = ["RunAdvancedHuntingQuery", "RunHuntingQuery", "SaveQuery", "GetQueryHistory"];
    for n in hunting {
        assert!(cat.get(Product::Mde, n).is_some(), "{n}");
    }
    assert!(cat.actions(Some(Product::EntraId)).count() >= entra.len());
}

#[test]
fn hunting_calls_use_the_hunting_budget() {
    let hunting: Vec<_> =
        calls().filter(|(_, c)| c.path.contains("advancedqueries") || c.path.contains("runHuntingQuery")).collect();
    assert_eq!(hunting.len(), 2);
    for (spec, call) in hunting {
        assert_eq!(call.budget, Budget::Hunting, "{}", spec.name);
        assert_eq!(spec.risk, Risk::Read, "{}", spec.name);
        assert_eq!(
            call.body.iter().find(|(k, _)| *k == "Query").map(|(_, v)| matches!(v, BodyValue::Param("query"))),
            Some(true)
        );
    }
    for (spec, call) in calls().filter(|(s, _)| !s.name.contains("Hunting")) {
        assert_ne!(call.budget, Budget::Hunting, "{}", spec.name);
    }
}

/// Product spellings are one namespace too: none names two products, and every key parses back.
#[test]
fn product_spellings_are_unique_and_keys_round_trip() {
    let mut seen: HashSet<String> = HashSet::new();
    for p in Product::ALL {
        assert_eq!(Product::parse(p.key()), Some(*p), "{}", p.key());
        assert_eq!(p.aliases().first(), Some(&p.key()), "{}: the key comes first", p.key());
        for a in p.aliases() {
            assert!(seen.insert(crate::params::normalize(a)), "{a} names two products");
        }
        for route in [
            format!("{}Worker", p.key()),
            format!("DefenderXDR{}Worker", p.key()),
            format!("defenderxdr{}worker", p.key()),
        ] {
            assert_eq!(Product::from_worker_route(&route), Some(*p), "{route}");
        }
    }
    // Identity is Defender for Identity's (the seed's service=MDI), not Entra ID's.
    assert_eq!(Product::parse("Identity"), Some(Product::Mdi));
    assert_eq!(Product::parse("IncidentWorker"), None, "a route is not a spelling");
    assert_eq!(Product::from_worker_route("Worker"), None);
    assert_eq!(Product::from_worker_route("DefenderXDRWorker"), None);
    assert_eq!(Product::from_worker_route("MDE"), None, "a worker route ends in Worker");
    assert_eq!(Product::parse(""), None);
}

/// Secrets are declared, not guessed: a parameter whose name or alias looks like a secret
/// (password, secret, passcode, unlock code, key material, token) is declared `ParamKind::Secret`,
/// which is what keeps it out of records (`engine/src/redact.rs`). This name list is the guard;
/// the declaration is the mechanism. A `Secret` never has a default (it would be a shared secret
/// in the binary).
#[test]
fn secret_looking_params_are_declared_secret() {
    const LOOKS_SECRET: &[&str] = &[
        "password",
        "passwd",
        "passcode",
        "passphrase",
        "secret",
        "unlockcode",
        "pin",
        "privatekey",
        "accesskey",
        "apikey",
        "sharedkey",
        "recoverykey",
        "storagekey",
        "keymaterial",
        "keyvalue",
        "token",
        "credential",
    ];
    let looks_secret = |name: &str| {
        let n = normalize(name);
        // A bare `key` is a registry key in MDE's live response; key material is named as such.
        // A secret's name or version (Key Vault's `secretName`) identifies it; it is not one.
        let identifies = n.ends_with("name") || n.ends_with("version");
        !identifies && (n == "pin" || LOOKS_SECRET.iter().filter(|m| **m != "pin").any(|m| n.contains(m)))
    };
    let mut undeclared = Vec::new();
    for spec in all() {
        for p in spec.params {
            if p.spellings().any(looks_secret) && !p.kind.is_secret() {
                undeclared.push(format!("{}/{}: {} is {:?}", spec.product.key(), spec.name, p.name, p.kind));
            }
            if p.kind.is_secret() {
                assert!(p.default.is_none(), "{}: secret {} has a default", spec.name, p.name);
            }
        }
    }
    assert!(undeclared.is_empty(), "declare these ParamKind::Secret:\n{}", undeclared.join("\n"));
    assert!(
        looks_secret("newPassword")
            && looks_secret("unlockCode")
            && looks_secret("clientSecret")
            && looks_secret("recoveryKey")
    );
    assert!(!looks_secret("keyPath") && !looks_secret("registryPath") && !looks_secret("pinned"));
}

/// Sensitive answer fields are RFC 6901 pointers (`*` for any key or index) the engine can apply.
#[test]
fn sensitive_result_pointers_are_json_pointers() {
    for spec in all() {
        for pointer in spec.sensitive_results {
            assert!(pointer.starts_with('/') && pointer.len() > 1, "{}: '{pointer}' is not a JSON pointer", spec.name);
            assert!(!pointer.split('/').skip(1).any(str::is_empty), "{}: '{pointer}' has an empty segment", spec.name);
        }
    }
}

#[test]
fn secret_values_are_never_echoed_in_errors() {
    let specs = [ParamSpec {
        name: "newPassword",
        aliases: &[],
        kind: ParamKind::Secret { max: 8 },
        required: true,
        default: None,
        doc: "",
    }];
    let raw = serde_json::json!({ "newPassword": "hunter2-is-too-long" });
    let err = crate::params::validate_fields(&specs, raw.as_object().expect("object")).unwrap_err();
    assert_eq!(err.field, "newPassword");
    assert!(!format!("{err:?}{err}").contains("hunter2"), "{err:?}");
    let raw = serde_json::json!({ "newPassword": "hunter2" });
    let ok = crate::params::validate_fields(&specs, raw.as_object().expect("object")).expect("valid");
    assert_eq!(ok["newPassword"], "hunter2", "the engine still sends it upstream");
    assert!(ok.is_secret("newPassword"));
    assert_eq!(format!("{ok:?}"), "{\"newPassword\": [redacted]}");
}
