//! End-to-end tests of Defender for Cloud: seed 004's container-attack alerts listed and moved
//! through their states (asserted on the alert in the sandbox's ARM store), Defender plans
//! switched on and off, and the posture reads.

use crate::common::*;
use serde_json::{Value, json};

async fn mdc(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    let (status, body) = h.seed("DefenderXDRMDCWorker", body).await;
    if status >= 300 {
        return (status, body);
    }
    let op = h.wait_operation(body["operationId"].as_str().expect("an accepted action has an operation")).await;
    (status, op)
}

async fn subscription(h: &Harness, tenant: &str) -> String {
    h.sandbox.describe().tenants.iter().find(|d| d.tenant_id == tenant).expect("the tenant").subscription_id.clone()
}

/// The alert of that name as the sandbox's ARM store holds it.
async fn alert(h: &Harness, tenant: &str, name: &str) -> Value {
    let state = h.state(tenant).await;
    state["arm"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Microsoft.Security/locations/alerts" && r["id"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no alert {name}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn container_alerts_are_listed_and_dismissed_resolved_and_reactivated() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (status, op) = mdc(&h, &t, "GetSecurityAlerts", json!({ "subscriptionId": sub })).await;
    assert_eq!((status, op["status"].as_str()), (200, Some("Succeeded")), "{op}");
    let alerts = op["result"]["value"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 9, "seed 004's container attack");
    let drift = alerts
        .iter()
        .find(|a| a["properties"]["alertDisplayName"] == "A drift binary detected executing in the container")
        .expect("the drift alert");
    let name = drift["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("dc"), "the id XDR's AlertInfo carries: {name}");

    let (_, op) = mdc(&h, &t, "DismissSecurityAlert", json!({ "subscriptionId": sub, "alertId": name })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(alert(&h, &t, &name).await["properties"]["status"], "Dismissed");
    let (_, op) = mdc(&h, &t, "ActivateSecurityAlert", json!({ "subscriptionId": sub, "alertId": name })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(alert(&h, &t, &name).await["properties"]["status"], "Active", "the inverse undid it");
    // The seed's spelling: UpdateSecurityAlert with a status, the alert named by its full id.
    let id = drift["id"].as_str().unwrap();
    let (_, op) =
        mdc(&h, &t, "UpdateSecurityAlert", json!({ "subscriptionId": sub, "alertId": id, "status": "InProgress" }))
            .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(alert(&h, &t, &name).await["properties"]["status"], "InProgress");
    let (_, op) = mdc(&h, &t, "ResolveSecurityAlert", json!({ "subscriptionId": sub, "alertId": name })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(alert(&h, &t, &name).await["properties"]["status"], "Resolved");

    let filter = json!({ "subscriptionId": sub, "filter": "properties/status eq 'Active'" });
    let (_, op) = mdc(&h, &t, "GetSecurityAlerts", filter).await;
    assert_eq!(op["status"], "Succeeded", "{op}");

    let (status, body) =
        mdc(&h, &t, "UpdateSecurityAlert", json!({ "subscriptionId": sub, "alertId": name, "status": "Closed" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("status"), "{body}");
    let (_, op) =
        mdc(&h, &t, "DismissSecurityAlert", json!({ "subscriptionId": sub, "alertId": "dc-no-such-alert" })).await;
    assert!(op.to_string().contains("alertId"), "an unknown alert is refused naming alertId: {op}");
}

#[tokio::test(flavor = "multi_thread")]
async fn defender_plans_are_enabled_and_disabled_and_posture_is_read() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let plan = |p: &str| json!({ "subscriptionId": sub, "defenderPlan": p });
    let tier = |state: Value, plan: &str| {
        state["arm"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"].as_str().unwrap().ends_with(&format!("/pricings/{plan}")))
            .unwrap()["properties"]["pricingTier"]
            .clone()
    };
    let (_, op) = mdc(&h, &t, "EnableDefenderPlan", plan("StorageAccounts")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(tier(h.state(&t).await, "StorageAccounts"), "Standard");
    let (_, op) = mdc(&h, &t, "DisableDefenderPlan", plan("StorageAccounts")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(tier(h.state(&t).await, "StorageAccounts"), "Free");
    let (status, body) = mdc(&h, &t, "EnableDefenderPlan", plan("Mainframes")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("planName"), "{body}");

    let s = json!({ "subscriptionId": sub });
    let (_, op) = mdc(&h, &t, "GetDefenderPlans", s.clone()).await;
    let standard = op["result"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["properties"]["pricingTier"] == "Standard")
        .count();
    assert_eq!(standard, 3, "servers, containers and posture: {op}");
    let (_, op) = mdc(&h, &t, "GetRecommendations", s.clone()).await;
    let unhealthy = op["result"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["properties"]["status"]["code"] == "Unhealthy")
        .count();
    assert!(unhealthy >= 3, "{op}");
    let (_, op) = mdc(&h, &t, "GetSecureScore", s.clone()).await;
    assert_eq!(op["result"]["value"][0]["properties"]["score"]["max"], 58, "{op}");
    let (_, op) = mdc(&h, &t, "GetRegulatoryCompliance", s.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let (_, op) = mdc(&h, &t, "GetJitAccessPolicies", s).await;
    assert_eq!(op["result"]["value"][0]["name"], "default", "{op}");
}
