//! Defender for Identity end to end: identity account actions change the account in the
//! sandbox (Active Directory state, or the Entra user for `entraID`) and their inverses undo it;
//! identity alerts are alerts_v2 of the identity service source; the hunting-backed reads and
//! the identity Secure Score answer from the tenant's data.

use crate::common::*;
use serde_json::{Value, json};

async fn mdi(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("DefenderXDRMDIWorker", body).await
}

fn ad_account(state: &Value, identity: &str) -> Value {
    state["identity"]["identityAccounts"].as_array().unwrap().iter().find(|a| a["id"] == identity).unwrap()
        ["activeDirectory"]
        .clone()
}

fn user(state: &Value, id: &str) -> Value {
    state["users"].as_array().unwrap().iter().find(|u| u["id"] == id).unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_account_actions_take_effect_and_inverses_undo_them() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdi(&h, &t, "GetIdentityAccounts", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let accounts = body["data"]["value"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(accounts.len() >= 40, "one identity per user: {}", accounts.len());
    let first = &accounts[0];
    let identity = first["id"].as_str().unwrap().to_string();
    let ad = first["accounts"].as_array().unwrap().iter().find(|a| a["identityProvider"] == "activeDirectory").unwrap();
    let entra = first["accounts"].as_array().unwrap().iter().find(|a| a["identityProvider"] == "entraID").unwrap();
    let (ad_id, user_id) = (ad["accountId"].as_str().unwrap(), entra["accountId"].as_str().unwrap());
    assert_eq!(ad_account(&h.state(&t).await, &identity)["enabled"], true);

    let args = json!({ "identityAccountId": identity, "accountId": ad_id });
    let (status, body) = mdi(&h, &t, "DisableIdentityAccount", args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"]["action"], "disable", "{body}");
    assert_eq!(ad_account(&h.state(&t).await, &identity)["enabled"], false);
    let (status, body) = mdi(&h, &t, "EnableIdentityAccount", args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ad_account(&h.state(&t).await, &identity)["enabled"], true);
    let (status, body) = mdi(&h, &t, "ForceIdentityPasswordReset", args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ad_account(&h.state(&t).await, &identity)["mustChangePassword"], true);
    let (status, body) = mdi(&h, &t, "GetIdentityAccount", json!({ "identityAccountId": identity })).await;
    assert_eq!((status, body["data"]["id"].as_str()), (200, Some(identity.as_str())), "{body}");

    // Entra ID through MDI: the Entra user itself.
    let before = user(&h.state(&t).await, user_id)["signInSessionsValidFromDateTime"].clone();
    let entra_args = json!({ "identityAccountId": identity, "accountId": user_id, "identityProvider": "entraID" });
    let (status, body) = mdi(&h, &t, "RevokeIdentitySessions", entra_args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(user(&h.state(&t).await, user_id)["signInSessionsValidFromDateTime"], before, "sessions revoked");
    let (status, body) = mdi(&h, &t, "DisableIdentityAccount", entra_args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user(&h.state(&t).await, user_id)["accountEnabled"], false);
    let (status, body) = mdi(&h, &t, "EnableIdentityAccount", entra_args.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user(&h.state(&t).await, user_id)["accountEnabled"], true);
    assert_eq!(h.state(&t).await["identity"]["actions"].as_array().unwrap().len(), 6);

    // The documented provider matrix: no password reset for Entra ID through MDI.
    let (status, body) = mdi(&h, &t, "ForceIdentityPasswordReset", entra_args).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("forcePasswordReset"), "{body}");
    // An account id that is not this identity's.
    let (status, body) =
        mdi(&h, &t, "DisableIdentityAccount", json!({ "identityAccountId": identity, "accountId": "not-mine" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("accountId"), "{body}");
    let (status, body) =
        mdi(&h, &t, "DisableIdentityAccount", json!({ "identityAccountId": "nope", "accountId": ad_id })).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_alerts_reads_and_secure_score() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = h.seed("Gateway", json!({ "service": "MDI", "action": "GetAlerts", "tenantId": t })).await;
    assert_eq!(status, 200, "{body}");
    let alerts = body["data"]["value"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(!alerts.is_empty(), "the world has identity alerts");
    assert!(alerts.iter().all(|a| a["serviceSource"] == "microsoftDefenderForIdentity"), "{body}");
    let id = alerts[0]["id"].as_str().unwrap().to_string();

    let (status, body) = h
        .seed(
            "Gateway",
            json!({ "service": "MDI", "action": "UpdateAlert", "tenantId": t, "alertId": id, "status": "resolved",
                    "classification": "truePositive", "determination": "compromisedUser" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let state = h.state(&t).await;
    let a = state["alerts"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
    assert_eq!(a["status"], "Resolved", "{a}");

    for name in ["GetLateralMovementPaths", "GetExposedCredentials"] {
        let (status, body) = mdi(&h, &t, name, json!({ "lookbackDays": 30 })).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body["data"]["query"].as_str().unwrap().starts_with("IdentityLogonEvents"), "{body}");
        assert!(body["data"]["schema"].is_array(), "{name}: {body}");
    }

    let (status, body) = mdi(&h, &t, "GetIdentitySecureScore", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let controls = body["data"]["identityControls"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(!controls.is_empty() && controls.iter().all(|c| c["controlCategory"] == "Identity"), "{body}");
    let sum: f64 = controls.iter().map(|c| c["score"].as_f64().unwrap()).sum();
    assert!((sum - body["data"]["identityScore"].as_f64().unwrap()).abs() < 0.02, "{body}");
}

/// Without SecurityIdentitiesActions.ReadWrite.All the action is Graph's 403 and the account
/// stays enabled.
#[tokio::test(flavor = "multi_thread")]
async fn identity_actions_without_their_role_get_graphs_403() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let roles = h.sandbox_admin(&format!("roles/{t}"), json!({})).await;
    let fewer: Vec<Value> = roles["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| *r != "SecurityIdentitiesActions.ReadWrite.All")
        .cloned()
        .collect();
    h.sandbox_admin(&format!("roles/{t}"), json!({ "graph": fewer })).await;
    let state = h.state(&t).await;
    let identity = &state["identity"]["identityAccounts"][0];
    let id = identity["id"].as_str().unwrap();
    let args = json!({ "identityAccountId": id, "accountId": identity["activeDirectory"]["accountId"] });
    let (status, body) = mdi(&h, &t, "DisableIdentityAccount", args).await;
    // Our app lacks a permission: the gateway's 502 carries Microsoft's 403 and its code.
    assert_eq!((status, body["error"]["upstreamStatus"].as_u64()), (502, Some(403)), "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied", "{body}");
    assert_eq!(ad_account(&h.state(&t).await, id)["enabled"], true);
}
