//! Entra ID actions end to end, asserting the effect in the sandbox's directory state
//! (`/_sandbox/state/{tenant}`: `users`, and `directory` for methods, risk, conditional access,
//! roles and PIM, groups and service principals). One file per catalog area.

mod access;
mod apps_groups;
mod containment;
mod methods_risk;
mod roles;

use crate::common::*;
use serde_json::{Value, json};

fn user<'a>(state: &'a serde_json::Value, upn: &str) -> &'a serde_json::Value {
    state["users"].as_array().unwrap().iter().find(|u| u["userPrincipalName"] == upn).unwrap()
}

/// The `i`-th seeded user of the tenant (the sandbox seeds roles, risk and methods by index).
pub(super) fn nth_user(state: &Value, i: usize) -> Value {
    state["users"][i].clone()
}

pub(super) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub(super) fn directory(state: &Value, set: &str) -> Vec<Value> {
    state["directory"][set].as_array().unwrap_or_else(|| panic!("no directory.{set} in the state")).clone()
}

/// A native call, optionally with `Prefer: reveal-secrets`.
pub(super) async fn native(h: &Harness, t: &str, action: &str, params: Value, reveal: bool) -> (u16, Value) {
    let mut req =
        h.http.post(format!("{}/v1/tenants/{t}/actions/EntraID/{action}", h.gateway)).header("x-api-key", &h.admin_key);
    if reveal {
        req = req.header("prefer", "reveal-secrets");
    }
    let resp = req.json(&params).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// The operation as stored and every audit record of the action, as text (for secret checks).
pub(super) async fn records(h: &Harness, t: &str, action: &str, body: &Value) -> String {
    // The seed envelope says operationId; the native answer is the engine's Outcome.
    let op = body["operationId"]
        .as_str()
        .or(body["operation_id"].as_str())
        .unwrap_or_else(|| panic!("no operation id: {body}"));
    let (_, stored) = h.get(&format!("/v1/operations/{op}")).await;
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action={action}")).await;
    assert!(audit.to_string().contains(op), "the audit has the operation: {audit}");
    format!("{stored}{audit}")
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_enable_revoke_and_read_a_user() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let u = state["users"].as_array().unwrap().iter().find(|u| u["accountEnabled"] == true).unwrap().clone();
    let upn = u["userPrincipalName"].as_str().unwrap().to_string();

    let (status, body) = h.entra(&t, "DisableUser", json!({ "userPrincipalName": upn })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user(&h.state(&t).await, &upn)["accountEnabled"], false);

    // Orchestrator form with service=, object id instead of UPN.
    let (status, body) = h
        .seed(
            "MainOrchestrator",
            json!({ "service": "EntraID", "action": "EnableUser", "tenantId": t, "userId": u["id"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user(&h.state(&t).await, &upn)["accountEnabled"], true);

    let before = user(&h.state(&t).await, &upn)["signInSessionsValidFromDateTime"].clone();
    let (status, body) = h.entra(&t, "RevokeSessions", json!({ "userId": upn })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"], true);
    let after = user(&h.state(&t).await, &upn)["signInSessionsValidFromDateTime"].clone();
    assert_ne!(before, after, "revocation moved the sessions-valid-from time");

    let (status, body) = h.entra(&t, "GetUserById", json!({ "userId": upn })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], u["id"]);

    // Target resolution: a user nobody is is a 400 naming the field, before any action.
    let (status, body) = h.entra(&t, "GetUserById", json!({ "userId": "nobody@nowhere.example" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("userId") && body.to_string().contains("no user matched"), "{body}");
    let (status, body) = h.entra(&t, "DisableUser", json!({ "userId": "not a upn" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("userId"), "{body}");
}

/// Effect verification: DisableUser reads the user back (`accountEnabled` via `$select`) and
/// records what it read; when the read never shows the effect, the operation is `NotVerified`.
#[tokio::test(flavor = "multi_thread")]
async fn disable_user_is_verified_by_reading_the_user_back() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let enabled: Vec<serde_json::Value> =
        state["users"].as_array().unwrap().iter().filter(|u| u["accountEnabled"] == true).cloned().collect();
    let (first, second) = (&enabled[0], &enabled[1]);

    let (status, body) = h.entra(&t, "DisableUser", json!({ "userId": first["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verification"]["verified"], true, "{body}");
    assert_eq!(body["data"]["verification"]["read"]["/accountEnabled"], false, "{body}");
    let (_, op) = h.get(&format!("/v1/operations/{}", body["operationId"].as_str().unwrap())).await;
    assert_eq!(op["result"]["verification"]["verified"], true, "the record keeps it: {op}");

    // The user's reads fail (404) from now on: the PATCH lands, but the effect never shows.
    // The user is named by UPN, so resolution reads `/users?$filter=...`, which still answers.
    let path = format!("/v1.0/users/{}", second["id"].as_str().unwrap());
    h.sandbox_admin("faults", json!({ "path_prefix": path, "method": "GET", "status": 404 })).await;
    let (status, body) = h.entra(&t, "DisableUser", json!({ "userId": second["userPrincipalName"] })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "NotVerified", "{body}");
    assert_eq!(body["error"]["verification"]["verified"], false, "{body}");
    let (_, ops) = h.get(&format!("/v1/operations?tenant={t}&action=DisableUser&state=Failed")).await;
    assert_eq!(ops["count"], 1, "{ops}");
    assert_eq!(ops["operations"][0]["error"]["code"], "NotVerified");
    // The change did happen upstream: verification reports, it never hides the effect.
    assert_eq!(user(&h.state(&t).await, second["userPrincipalName"].as_str().unwrap())["accountEnabled"], false);
}
