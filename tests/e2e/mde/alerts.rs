//! Alerts and incidents end to end: MDE's alert API and the Graph security API (incidents,
//! alerts_v2), asserting each change in the sandbox's state; Microsoft's triage rule (the
//! determination goes with its classification) refused before any call.

use crate::common::*;
use serde_json::{Value, json};

async fn orch(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "service": "MDE", "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("MainOrchestrator", body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn mde_alert_triage_takes_effect() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    // MDE's alert API serves Endpoint alerts only: those sit on a machine.
    let on_machine = |a: &&Value| a["machineId"].as_str().is_some_and(|m| !m.is_empty());
    let all = h.state(&t).await["alerts"].as_array().unwrap().iter().filter(on_machine).count();
    let open = h.open_alerts(&t).await;
    assert!(open.len() >= 4, "the world seeds open alerts");

    let (status, body) = h.mde(&t, "GetAlerts", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, all);
    let (status, body) = h.mde(&t, "GetAlert", json!({ "alertId": open[0] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], open[0].as_str());

    let (status, body) = h
        .mde(&t, "UpdateAlert", json!({ "alertId": open[0], "status": "inprogress", "assignedTo": "soc@contoso.com" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert_eq!((a["status"].as_str(), a["assignedTo"].as_str()), (Some("InProgress"), Some("soc@contoso.com")));

    let (status, body) = h
        .mde(
            &t,
            "ClassifyAlert",
            json!({ "alertId": open[0], "classification": "TruePositive", "determination": "Malware" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert_eq!((a["classification"].as_str(), a["determination"].as_str()), (Some("TruePositive"), Some("Malware")));

    let (status, body) =
        h.mde(&t, "AddAlertComment", json!({ "alertId": open[0], "comment": "seen on two hosts" })).await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert!(a["comments"].as_array().unwrap().iter().any(|c| c["comment"] == "seen on two hosts"), "{a}");

    let (status, body) =
        h.mde(&t, "AssignAlert", json!({ "alertId": open[1], "assignedTo": "tier2@contoso.com" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.alert(&t, &open[1]).await["assignedTo"], "tier2@contoso.com");

    let (status, body) = h
        .seed("DefenderXDRMDEWorker", json!({ "action": "ResolveAlert", "tenantId": t, "parameters": { "alertId": open[1], "classification": "FalsePositive", "determination": "Clean" } }))
        .await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[1]).await;
    assert_eq!(
        (a["status"].as_str(), a["classification"].as_str(), a["determination"].as_str()),
        (Some("Resolved"), Some("FalsePositive"), Some("Clean"))
    );

    let (status, body) = h
        .mde(
            &t,
            "BatchUpdateAlerts",
            json!({ "alertIds": [open[2], open[3]], "status": "Resolved", "comment": "bulk" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for id in &open[2..4] {
        assert_eq!(h.alert(&t, id).await["status"], "Resolved", "{id}");
    }

    // Microsoft's rule, refused before any call: nothing changes upstream.
    let before = h.alert(&t, &open[0]).await;
    let (status, body) = h
        .mde(
            &t,
            "ClassifyAlert",
            json!({ "alertId": open[0], "classification": "TruePositive", "determination": "Clean" }),
        )
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("determination")), "{body}");
    assert!(body["error"]["hint"].as_str().unwrap().contains("Malware"), "{body}");
    assert_eq!(h.alert(&t, &open[0]).await, before);

    // An unknown alert is Microsoft's 404, passed on.
    let (status, body) = h.mde(&t, "GetAlert", json!({ "alertId": "da000000000000000000_0" })).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_incidents_triage_takes_effect() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let incidents = h.state(&t).await["incidents"].as_array().cloned().unwrap();
    assert!(incidents.len() >= 2, "the world seeds incidents");
    let id = incidents[0]["id"].as_str().unwrap().to_string();
    let other = incidents[1]["id"].as_str().unwrap().to_string();

    let (status, body) = orch(&h, &t, "GetAllIncidents", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, incidents.len());
    let (status, body) = orch(&h, &t, "GetIncident*", json!({ "incidentId": id, "expand": "alerts" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], id.as_str());
    assert!(body["data"]["alerts"].is_array(), "$expand=alerts: {body}");

    let (status, body) = h
        .mde(&t, "UpdateIncident", json!({ "incidentId": id, "status": "Active", "assignedTo": "soc@contoso.com", "classification": "TruePositive", "determination": "MultiStagedAttack", "tags": "ransomware, tier2" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let inc = h.incident(&t, &id).await;
    assert_eq!(inc["assignedTo"], "soc@contoso.com");
    assert_eq!(
        (inc["classification"].as_str(), inc["determination"].as_str()),
        (Some("truePositive"), Some("multiStagedAttack"))
    );
    assert_eq!(inc["customTags"], json!(["ransomware", "tier2"]));

    let (status, body) = h.mde(&t, "AddComment", json!({ "incidentId": id, "comment": "escalated" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(h.incident(&t, &id).await["comments"].as_array().unwrap().iter().any(|c| c["comment"] == "escalated"));

    let (status, body) =
        h.mde(&t, "AssignIncident", json!({ "incidentId": other, "assignedTo": "tier3@contoso.com" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &other).await["assignedTo"], "tier3@contoso.com");

    let (status, body) = h.mde(&t, "SetIncidentTags", json!({ "incidentId": other, "customTags": ["phish"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &other).await["customTags"], json!(["phish"]));

    let (status, body) = h
        .mde(
            &t,
            "ResolveIncident",
            json!({ "incidentId": other, "classification": "falsePositive", "determination": "notMalicious" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let inc = h.incident(&t, &other).await;
    assert_eq!((inc["status"].as_str(), inc["classification"].as_str()), (Some("resolved"), Some("falsePositive")));

    let (status, body) = h
        .mde(
            &t,
            "UpdateIncident",
            json!({ "incidentId": id, "classification": "falsePositive", "determination": "malware" }),
        )
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("determination")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_alerts_v2_triage_takes_effect() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let open = h.open_alerts(&t).await;
    let all = h.state(&t).await["alerts"].as_array().unwrap().len();

    let (status, body) = orch(&h, &t, "GetAllAlerts", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, all);
    let (status, body) = h.mde(&t, "GetSecurityAlert", json!({ "alertId": open[0] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], open[0].as_str());

    let (status, body) = h
        .mde(&t, "UpdateSecurityAlert", json!({ "alertId": open[0], "status": "resolved", "classification": "informationalExpectedActivity", "determination": "securityTesting" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert_eq!(
        (a["status"].as_str(), a["classification"].as_str(), a["determination"].as_str()),
        (Some("Resolved"), Some("InformationalExpectedActivity"), Some("SecurityTesting"))
    );

    let (status, body) =
        h.mde(&t, "AddSecurityAlertComment", json!({ "alertId": open[1], "comment": "from graph" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(h.alert(&t, &open[1]).await["comments"].as_array().unwrap().iter().any(|c| c["comment"] == "from graph"));
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_detection_rules_lifecycle() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = h
        .mde(&t, "CreateCustomDetectionRule", json!({ "ruleName": "Encoded PowerShell", "query": "DeviceProcessEvents | where ProcessCommandLine has '-enc'", "severity": "High", "queryFrequency": "1h" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"].as_str().expect("rule id").to_string();
    let rule = rule_in_state(&h, &t, &id).await.expect("the rule is in the sandbox");
    assert_eq!(rule["displayName"], "Encoded PowerShell");
    assert_eq!(rule["isEnabled"], true);
    assert_eq!(rule["queryCondition"]["queryText"], "DeviceProcessEvents | where ProcessCommandLine has '-enc'");
    assert_eq!(rule["schedule"]["period"], "1H");
    assert_eq!(rule["detectionAction"]["alertTemplate"]["severity"], "high");
    assert_eq!(rule["detectionAction"]["alertTemplate"]["title"], "Encoded PowerShell");
    let (status, body) = h.mde(&t, "GetCustomDetectionRule", json!({ "ruleId": id })).await;
    assert_eq!((status, body["data"]["id"].as_str()), (200, Some(id.as_str())), "{body}");

    let (status, body) = h.mde(&t, "DisableCustomDetectionRule", json!({ "ruleId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rule_in_state(&h, &t, &id).await.unwrap()["isEnabled"], false);
    let (_, body) = h.mde(&t, "GetCustomDetectionRules", json!({})).await;
    assert!(body["data"]["value"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "{body}");

    let (status, body) = h
        .mde(
            &t,
            "UpdateCustomDetectionRule",
            json!({ "ruleId": id, "updates": { "displayName": "Encoded PS (tuned)" }, "period": "3H" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rule = rule_in_state(&h, &t, &id).await.unwrap();
    assert_eq!(
        (rule["displayName"].as_str(), rule["schedule"]["period"].as_str()),
        (Some("Encoded PS (tuned)"), Some("3H"))
    );
    assert_eq!(
        rule["queryCondition"]["queryText"], "DeviceProcessEvents | where ProcessCommandLine has '-enc'",
        "untouched"
    );

    let (status, body) = h.mde(&t, "EnableCustomDetectionRule", json!({ "ruleId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rule_in_state(&h, &t, &id).await.unwrap()["isEnabled"], true);
    let (status, body) = h.mde(&t, "DeleteCustomDetectionRule", json!({ "ruleId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert!(rule_in_state(&h, &t, &id).await.is_none());
    let (status, _) = h.mde(&t, "GetCustomDetectionRule", json!({ "ruleId": id })).await;
    assert_eq!(status, 404);
}

async fn rule_in_state(h: &Harness, tenant: &str, id: &str) -> Option<Value> {
    let rules = h.state(tenant).await["detectionRules"].clone();
    let list: Vec<Value> = match rules {
        Value::Array(a) => a,
        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    list.into_iter().find(|r| r["id"] == id)
}
