//! Defender for Cloud adaptive network hardening on a VM (`Microsoft.Security`, api-version
//! `2020-01-01`): the recommendation (`.../providers/Microsoft.Security/adaptiveNetworkHardenings/default`)
//! and its `enforce` action.
//!
//! The recommendation is computed from the VM's NSG: each inbound Allow rule open to a wide
//! source (`*`, `Internet`, `0.0.0.0/0`) on one port becomes a recommended rule that admits only
//! the corporate range (the sandbox has no traffic to learn from, so the range is fixed). `enforce` writes, into each NSG named, an Allow rule for the
//! recommended addresses and a Deny rule for everyone else on that port (named
//! `ANH_{rule}_Allow` / `ANH_{rule}_Deny`, the portal's pattern), at free priorities below the
//! rule they harden; it answers 202 with `Location` / `Azure-AsyncOperation`, like the REST
//! spec's long-running `AdaptiveNetworkHardenings_Enforce`.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::path::ExtensionPath;
use super::{Req, method_not_allowed, ok_json, ops};
use crate::errors;
use crate::world::arm::{ArmStore, NICS, OpKind, Resource, SECURITY_RULES, VIRTUAL_MACHINES, rule_json};

/// The range the recommendation admits (the seeded corporate network).
const CORPORATE: &str = "10.0.0.0/8";

/// Whether `e` is a VM's adaptive network hardening resource (or its `enforce`).
pub fn addresses(e: &ExtensionPath) -> bool {
    e.ns == "Microsoft.Security"
        && e.rest.first().is_some_and(|r| r.eq_ignore_ascii_case("adaptiveNetworkHardenings"))
        && e.scope.to_ascii_lowercase().contains("/providers/microsoft.compute/virtualmachines/")
}

pub fn serve(req: &Req, store: &mut ArmStore, e: &ExtensionPath) -> Result<Response, Response> {
    let vm = store.get(&e.scope).filter(|r| r.kind == VIRTUAL_MACHINES).cloned().ok_or_else(|| {
        errors::arm(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The Resource '{}' was not found.", e.scope))
    })?;
    let recommendation = recommend(store, &vm);
    match (e.rest.as_slice(), &req.method) {
        ([_, name], &Method::GET) if name.eq_ignore_ascii_case("default") => Ok(ok_json(recommendation)),
        ([_], &Method::GET) => Ok(ok_json(json!({"value": [recommendation]}))),
        ([_, name, action], &Method::POST)
            if name.eq_ignore_ascii_case("default") && action.eq_ignore_ascii_case("enforce") =>
        {
            enforce(req, store, &vm)
        }
        ([_, _, _], m) | ([_, _], m) => Err(method_not_allowed(m)),
        _ => Err(errors::arm(StatusCode::NOT_FOUND, "NotFound", "No such adaptive network hardening resource.")),
    }
}

/// The VM's NSGs (through its NICs).
fn nsgs_of(store: &ArmStore, vm: &Resource) -> Vec<(String, String)> {
    let nics = vm.body.pointer("/properties/networkProfile/networkInterfaces").and_then(Value::as_array).cloned();
    nics.unwrap_or_default()
        .iter()
        .filter_map(|n| n["id"].as_str())
        .filter_map(|id| store.get(id).filter(|r| r.kind == NICS))
        .filter_map(|nic| {
            let nsg = nic.body.pointer("/properties/networkSecurityGroup/id")?.as_str()?;
            Some((nic.id.clone(), nsg.to_string()))
        })
        .collect()
}

const WIDE: &[&str] = &["*", "internet", "0.0.0.0/0", "any"];

fn recommend(store: &ArmStore, vm: &Resource) -> Value {
    let nsgs = nsgs_of(store, vm);
    let mut rules = Vec::new();
    for (_, nsg) in &nsgs {
        for r in store.list(SECURITY_RULES, nsg) {
            let p = &r.body["properties"];
            let source = p["sourceAddressPrefix"].as_str().unwrap_or("").to_ascii_lowercase();
            let port = p["destinationPortRange"].as_str().unwrap_or("");
            if p["direction"] == "Inbound"
                && p["access"] == "Allow"
                && WIDE.contains(&source.as_str())
                && port.parse::<u16>().is_ok()
            {
                rules.push(json!({"name": r.name(), "direction": "Inbound", "destinationPort": port.parse::<u16>().unwrap_or(0),
                                  "protocols": ["TCP"], "ipAddresses": [CORPORATE]}));
            }
        }
    }
    let effective: Vec<Value> =
        nsgs.iter().map(|(nic, nsg)| json!({"networkInterface": nic, "networkSecurityGroups": [nsg]})).collect();
    json!({
        "id": format!("{}/providers/Microsoft.Security/adaptiveNetworkHardenings/default", vm.id),
        "name": "default",
        "type": "Microsoft.Security/adaptiveNetworkHardenings",
        "properties": {"rules": rules, "rulesCalculationTime": "2026-01-01T00:00:00Z", "effectiveNetworkSecurityGroups": effective},
    })
}

fn enforce(req: &Req, store: &mut ArmStore, vm: &Resource) -> Result<Response, Response> {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let rules = body["rules"].as_array().cloned().unwrap_or_default();
    let nsgs: Vec<String> = body["networkSecurityGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if rules.is_empty() || nsgs.is_empty() {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "The enforce request needs 'rules' and 'networkSecurityGroups'.",
        ));
    }
    for nsg in &nsgs {
        if store.get(nsg).is_none() {
            return Err(errors::arm(StatusCode::NOT_FOUND, "ResourceNotFound", format!("NSG {nsg} was not found.")));
        }
        for rule in &rules {
            write_pair(store, nsg, rule);
        }
    }
    let location = vm.location().unwrap_or("westeurope").to_string();
    // The status resource lives under the VM's provider: `Microsoft.Security/locations/...`
    // paths are Defender for Cloud's own resources in this sandbox (`arm/security.rs`).
    let op = ops::start(
        store,
        ops::NewOp {
            namespace: "Microsoft.Compute",
            location: &location,
            resource_id: &vm.id,
            kind: OpKind::Put,
            now: req.now,
            run_seconds: req.run_seconds,
        },
    );
    let mut resp = ops::empty(StatusCode::ACCEPTED);
    ops::monitor_headers(&mut resp, &op, &req.base, &req.sub, &req.api_version, req.retry_after, true);
    Ok(resp)
}

/// `ANH_{rule}_Allow` (the recommended addresses) and `ANH_{rule}_Deny` (everyone else) for the
/// rule's port, at the two lowest free inbound priorities.
fn write_pair(store: &mut ArmStore, nsg: &str, rule: &Value) {
    let name = rule["name"].as_str().unwrap_or("rule");
    let port = rule["destinationPort"].as_u64().unwrap_or(0).to_string();
    let addresses: Vec<Value> = rule["ipAddresses"].as_array().cloned().unwrap_or_default();
    for (suffix, access, sources) in [("Allow", "Allow", addresses), ("Deny", "Deny", vec![json!("*")])] {
        let id = format!("{nsg}/securityRules/ANH_{name}_{suffix}");
        let taken: Vec<u64> = store
            .list(SECURITY_RULES, nsg)
            .iter()
            .filter(|r| r.body["properties"]["direction"] == "Inbound" && !r.id.eq_ignore_ascii_case(&id))
            .filter_map(|r| r.body["properties"]["priority"].as_u64())
            .collect();
        let priority = (100..=4096u64).find(|p| !taken.contains(p)).unwrap_or(4096);
        let props = json!({"provisioningState": "Succeeded", "description": "Adaptive network hardening",
            "protocol": "Tcp", "access": access, "direction": "Inbound", "priority": priority,
            "sourceAddressPrefixes": sources, "sourcePortRange": "*", "destinationAddressPrefix": "*",
            "destinationPortRange": port, "sourcePortRanges": [], "destinationPortRanges": [], "destinationAddressPrefixes": []});
        let props = props.as_object().cloned().unwrap_or_default();
        let name_full = format!("ANH_{name}_{suffix}");
        store.put(Resource::new(
            id.clone(),
            SECURITY_RULES,
            rule_json(&id, &name_full, &super::network::new_etag(), props),
        ));
    }
}
