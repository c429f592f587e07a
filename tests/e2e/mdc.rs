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

    // ARM's 2022-01-01 list ignores $filter; Riposte applies it: one of nine alerts is resolved.
    let filter = json!({ "subscriptionId": sub, "filter": "properties/status eq 'Active'" });
    let (_, op) = mdc(&h, &t, "GetSecurityAlerts", filter).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let active = op["result"]["value"].as_array().unwrap();
    assert_eq!(active.len(), 8, "{op}");
    assert!(active.iter().all(|a| a["properties"]["status"] == "Active" && a["name"] != name.as_str()));
    let filter = json!({ "subscriptionId": sub,
        "filter": "contains(properties/alertDisplayName, 'drift') or properties/severity eq 'Low'" });
    let (_, op) = mdc(&h, &t, "GetSecurityAlerts", filter).await;
    assert_eq!(op["result"]["value"].as_array().unwrap().len(), 3, "the drift alert and the two Low ones: {op}");
    let (status, body) =
        mdc(&h, &t, "GetSecurityAlerts", json!({ "subscriptionId": sub, "filter": "status eq 'Active'" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("filter") && body.to_string().contains("properties/"), "{body}");

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

/// Seed 004's lab step "correlate in XDR, then respond": the container attack is one Defender XDR
/// incident (Graph security, through Riposte's incident product) whose alert ids are the
/// Defender for Cloud alerts' names, so the response happens in Defender for Cloud.
#[tokio::test(flavor = "multi_thread")]
async fn container_attack_is_correlated_in_xdr_and_answered_in_defender_for_cloud() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let list = json!({ "action": "GetAllIncidents", "tenantId": t, "expand": "alerts" });
    let (status, body) = h.seed("DefenderXDRIncidentWorker", list).await;
    assert_eq!(status, 200, "{body}");
    let incidents = body["data"]["value"].as_array().unwrap_or_else(|| panic!("incidents: {body}"));
    let from_cloud = |i: &&Value| {
        let alerts = i["alerts"].as_array().unwrap();
        !alerts.is_empty() && alerts.iter().all(|a| a["serviceSource"] == "microsoftDefenderForCloud")
    };
    let incident = incidents.iter().find(from_cloud).unwrap_or_else(|| panic!("a Defender for Cloud incident: {body}"));
    let mut xdr_ids: Vec<String> =
        incident["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    xdr_ids.sort();
    assert_eq!(xdr_ids.len(), 9, "seed 004's nine container alerts");
    let evidence = incident["alerts"][0]["evidence"].to_string();
    assert!(evidence.contains("DefenderLabAKS") && evidence.contains("kubernetesPodEvidence"), "{evidence}");

    let (_, op) = mdc(&h, &t, "GetSecurityAlerts", json!({ "subscriptionId": sub })).await;
    let mut mdc_ids: Vec<String> =
        op["result"]["value"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
    mdc_ids.sort();
    assert_eq!(xdr_ids, mdc_ids, "the same ids in XDR and Defender for Cloud");

    let graph_alert = |id: &str| {
        incident["alerts"].as_array().unwrap().iter().find(|a| a["id"] == id).cloned().expect("the alert in XDR")
    };
    assert_eq!(graph_alert(&xdr_ids[0])["status"], "new", "not yet dismissed");
    assert_eq!(graph_alert(&xdr_ids[0])["detectionSource"], "microsoftDefenderForContainers");

    // Respond in Defender for Cloud on the id XDR showed.
    let (_, op) = mdc(&h, &t, "DismissSecurityAlert", json!({ "subscriptionId": sub, "alertId": xdr_ids[0] })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(alert(&h, &t, &xdr_ids[0]).await["properties"]["status"], "Dismissed");
    // Microsoft syncs the two: the same alert in Defender XDR (Graph alerts_v2) is now resolved.
    let (status, body) = graph_read(&h, &t, &xdr_ids[0]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "resolved", "dismissed in Defender for Cloud, resolved in XDR: {body}");
    assert!(body["data"]["resolvedDateTime"].is_string(), "{body}");
    assert_eq!(graph_alert(&xdr_ids[1])["status"], "new");
    assert_eq!(graph_read(&h, &t, &xdr_ids[1]).await.1["data"]["status"], "new", "the other alerts are untouched");

    // And back: reopening it in XDR reactivates it in Defender for Cloud.
    let reopen = json!({ "action": "UpdateAlert", "tenantId": t, "alertId": xdr_ids[0], "status": "inProgress" });
    let (status, body) = h.seed("DefenderXDRIncidentWorker", reopen).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert(&h, &t, &xdr_ids[0]).await["properties"]["status"], "InProgress");
}

/// One alert as Graph security `alerts_v2` answers it, through Riposte's incident product.
async fn graph_read(h: &Harness, tenant: &str, id: &str) -> (u16, Value) {
    h.seed("DefenderXDRIncidentWorker", json!({ "action": "GetAlert", "tenantId": tenant, "alertId": id })).await
}
