//! End-to-end tests of the Azure product, one file per catalog area (`network.rs`, `compute.rs`;
//! the data and security areas add theirs): each action's effect is asserted in the sandbox's
//! ARM resource store (`/_sandbox/state/{tenant}`: `vms`, `arm.resources`), and its inverse
//! undoes it.

mod apps;
mod compute;
mod data;
mod edge;
mod network;
mod original;
mod security;

use crate::common::*;
use serde_json::{Value, json};

/// Sends an Azure action on the worker route and, when accepted, waits for its operation to end.
pub async fn azure(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    let (status, body) = h.seed("DefenderXDRAzureWorker", body).await;
    if status >= 300 {
        return (status, body);
    }
    let op = h.wait_operation(body["operationId"].as_str().expect("an accepted action has an operation")).await;
    (status, op)
}

/// The tenant's subscription id, as the sandbox's ARM store holds it.
pub async fn subscription(h: &Harness, tenant: &str) -> String {
    let state = h.state(tenant).await;
    let id = state["vms"][0]["id"].as_str().expect("seeded VMs").to_string();
    id.split('/').nth(2).expect("a resource id").to_string()
}

/// One ARM resource of the sandbox's store, by id (any case).
pub async fn resource(h: &Harness, tenant: &str, id: &str) -> Option<Value> {
    let state = h.state(tenant).await;
    state["arm"]["resources"]
        .as_array()
        .expect("arm resources")
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .cloned()
}

/// What the action answered when accepted: a followed long-running operation keeps it under
/// `result.accepted` (beside ARM's final status), an immediate one under `result`.
pub fn accepted(op: &Value) -> &Value {
    let r = &op["result"];
    if r.get("accepted").is_some() { &r["accepted"] } else { r }
}
