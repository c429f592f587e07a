//! The Incident product end to end: the seed's Incident worker (`/api/IncidentWorker`,
//! `/api/DefenderXDRIncidentWorker`) triaging Graph `alerts_v2` and incidents, each change
//! asserted in the sandbox's state; and product namespaces at the surface: one name, `UpdateAlert`,
//! meaning MDE's alert API on the MDE worker, Graph's on the Incident worker, and refused as
//! ambiguous (400 listing both) when the orchestrator is given no `service`.

use crate::common::*;
use serde_json::{Value, json};

async fn worker(h: &Harness, route: &str, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed(route, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn update_alert_means_what_the_route_says() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let open = h.open_alerts(&t).await;
    assert!(open.len() >= 4, "the world seeds open alerts");

    // The Incident worker, both spellings: Graph alerts_v2.
    let (status, body) = worker(&h, "IncidentWorker", &t, "UpdateAlert", json!({ "alertId": open[0], "status": "inProgress", "assignedTo": "soc@contoso.com", "classification": "truePositive", "determination": "malware" })).await;
    assert_eq!((status, body["service"].as_str()), (200, Some("Incident")), "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert_eq!(a["status"], "InProgress", "{a}");
    assert_eq!(a["assignedTo"], "soc@contoso.com");
    assert_eq!((a["classification"].as_str(), a["determination"].as_str()), (Some("TruePositive"), Some("Malware")));
    let (status, body) =
        worker(&h, "DefenderXDRIncidentWorker", &t, "UpdateAlert", json!({ "alertId": open[1], "status": "resolved" }))
            .await;
    assert_eq!((status, body["service"].as_str()), (200, Some("Incident")), "{body}");
    assert_eq!(h.alert(&t, &open[1]).await["status"], "Resolved");

    // The MDE worker: MDE's alert API, MDE's vocabulary, where Graph's classification "unknown" is
    // refused before any call.
    let (status, body) = worker(
        &h,
        "DefenderXDRMDEWorker",
        &t,
        "UpdateAlert",
        json!({ "alertId": open[2], "status": "InProgress", "assignedTo": "tier2@contoso.com" }),
    )
    .await;
    assert_eq!((status, body["service"].as_str()), (200, Some("MDE")), "{body}");
    assert_eq!(h.alert(&t, &open[2]).await["assignedTo"], "tier2@contoso.com");
    let (status, body) = worker(
        &h,
        "DefenderXDRMDEWorker",
        &t,
        "UpdateAlert",
        json!({ "alertId": open[2], "classification": "unknown" }),
    )
    .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("classification")), "{body}");

    // No product: ambiguous, a 400 naming both, and nothing changes upstream.
    let before = h.alert(&t, &open[3]).await;
    let (status, body) = h
        .seed(
            "MainOrchestrator",
            json!({ "action": "UpdateAlert", "tenantId": t, "alertId": open[3], "status": "resolved" }),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("AmbiguousAction")), "{body}");
    let products: Vec<&str> =
        body["error"]["products"].as_array().expect("products listed").iter().filter_map(Value::as_str).collect();
    assert!(products.contains(&"MDE") && products.contains(&"Incident"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Incident"), "{body}");
    assert_eq!(h.alert(&t, &open[3]).await, before);
    // ... and with a service it runs there.
    let (status, body) = h.seed("MainOrchestrator", json!({ "service": "Incident", "action": "UpdateAlert", "tenantId": t, "alertId": open[3], "status": "resolved" })).await;
    assert_eq!((status, body["service"].as_str()), (200, Some("Incident")), "{body}");
    assert_eq!(h.alert(&t, &open[3]).await["status"], "Resolved");
}

#[tokio::test(flavor = "multi_thread")]
async fn incident_worker_triage_takes_effect() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let incidents = h.state(&t).await["incidents"].as_array().cloned().unwrap();
    assert!(incidents.len() >= 2, "the world seeds incidents");
    let id = incidents[0]["id"].as_str().unwrap().to_string();
    let other = incidents[1]["id"].as_str().unwrap().to_string();
    let open = h.open_alerts(&t).await;
    let inc = |action: &'static str, params: Value| {
        let h = &h;
        let t = t.clone();
        async move { worker(h, "DefenderXDRIncidentWorker", &t, action, params).await }
    };

    let (status, body) = inc("GetAllIncidents", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"].as_u64().unwrap() as usize, incidents.len());
    let (status, body) = inc("GetIncidentById", json!({ "incidentId": id })).await;
    assert_eq!((status, body["data"]["id"].as_str()), (200, Some(id.as_str())), "{body}");

    let (status, body) = inc("UpdateIncident", json!({ "incidentId": id, "status": "inProgress", "classification": "truePositive", "determination": "multiStagedAttack", "tags": "ransomware,tier2" })).await;
    assert_eq!(status, 200, "{body}");
    let i = h.incident(&t, &id).await;
    assert_eq!(
        (i["classification"].as_str(), i["determination"].as_str()),
        (Some("truePositive"), Some("multiStagedAttack"))
    );
    assert_eq!(i["customTags"], json!(["ransomware", "tier2"]));

    let (status, body) = inc("AssignIncident", json!({ "incidentId": id, "assignedTo": "tier3@contoso.com" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &id).await["assignedTo"], "tier3@contoso.com");

    let (status, body) = inc("AddIncidentComment", json!({ "incidentId": id, "comment": "escalated to IR" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        h.incident(&t, &id).await["comments"].as_array().unwrap().iter().any(|c| c["comment"] == "escalated to IR")
    );

    let (status, body) = inc(
        "CloseIncident",
        json!({ "incidentId": other, "classification": "falsePositive", "determination": "notMalicious" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &other).await["status"], "resolved");
    let (status, body) = inc("ReopenIncident", json!({ "incidentId": other })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &other).await["status"], "active");

    // Alerts on the same worker.
    let (status, body) = inc("GetAllAlerts", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = inc("GetAlertById", json!({ "alertId": open[0] })).await;
    assert_eq!((status, body["data"]["id"].as_str()), (200, Some(open[0].as_str())), "{body}");
    let (status, body) = inc("ClassifyAlert", json!({ "alertId": open[0], "classification": "informationalExpectedActivity", "determination": "securityTesting" })).await;
    assert_eq!(status, 200, "{body}");
    let a = h.alert(&t, &open[0]).await;
    assert_eq!(
        (a["classification"].as_str(), a["determination"].as_str()),
        (Some("InformationalExpectedActivity"), Some("SecurityTesting"))
    );
    let (status, body) =
        inc("ResolveAlert", json!({ "alertId": open[1], "classification": "falsePositive", "determination": "clean" }))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.alert(&t, &open[1]).await["status"], "Resolved");
    let (status, body) =
        inc("AddAlertComment", json!({ "alertId": open[2], "comment": "seen on the mail gateway" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        h.alert(&t, &open[2]).await["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["comment"] == "seen on the mail gateway")
    );

    // Graph has no suppressed state: an honest 501 pointing at ResolveAlert, nothing changed.
    let before = h.alert(&t, &open[3]).await;
    let (status, body) = inc("SuppressAlert", json!({ "alertId": open[3] })).await;
    assert_eq!(status, 501, "{body}");
    assert_eq!(body["error"]["nearest"], "ResolveAlert", "{body}");
    assert_eq!(h.alert(&t, &open[3]).await, before);
}

/// Products the seed routed to but Riposte has not built yet answer that, not "unknown service".
#[tokio::test(flavor = "multi_thread")]
async fn known_products_without_actions_say_not_yet_implemented() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    for route in ["DefenderXDRMCASWorker", "MDOWorker", "DefenderXDRMDCWorker"] {
        let (status, body) = h.seed(route, json!({ "action": "Anything", "tenantId": t })).await;
        assert_eq!((status, body["error"]["code"].as_str()), (501, Some("ProductNotImplemented")), "{route}: {body}");
    }
    for service in ["MDI", "Intune", "Azure", "MCAS", "MDO", "MDC"] {
        let (status, body) =
            h.seed("Gateway", json!({ "service": service, "action": "GetAlerts", "tenantId": t })).await;
        assert_eq!(
            (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (501, Some("ProductNotImplemented"), Some("service")),
            "{service}: {body}"
        );
        assert!(body["error"]["hint"].as_str().unwrap().contains("Incident"), "{body}");
    }
    let (status, body) = h.seed("Gateway", json!({ "service": "Nope", "action": "GetAlerts", "tenantId": t })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("service")), "{body}");
}
