//! Entra ID actions end to end, asserting the user's state in the sandbox.

use crate::common::*;
use serde_json::json;

fn user<'a>(state: &'a serde_json::Value, upn: &str) -> &'a serde_json::Value {
    state["users"].as_array().unwrap().iter().find(|u| u["userPrincipalName"] == upn).unwrap()
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
        .seed("MainOrchestrator", json!({ "service": "EntraID", "action": "EnableUser", "tenantId": t, "userId": u["id"] }))
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

    let (status, body) = h.entra(&t, "GetUserById", json!({ "userId": "nobody@nowhere.example" })).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
}
