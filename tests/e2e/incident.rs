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

/// Every product the seed routed to answers on its worker route and as a `service`; an unknown
/// service is a 400 naming the field, not "unknown action".
#[tokio::test(flavor = "multi_thread")]
async fn every_seed_product_is_routed_and_an_unknown_service_is_a_400() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    for product in catalog::Product::ALL {
        let route = format!("DefenderXDR{}Worker", product.key());
        let (status, body) = h.seed(&route, json!({ "action": "NoSuchAction", "tenantId": t })).await;
        assert_eq!(status, 404, "{route}: {body}");
        let (status, body) =
            h.seed("Gateway", json!({ "service": product.key(), "action": "NoSuchAction", "tenantId": t })).await;
        assert_eq!(status, 404, "service={}: {body}", product.key());
    }
    let (status, body) = h.seed("Gateway", json!({ "service": "Nope", "action": "GetAlerts", "tenantId": t })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("service")), "{body}");
}

/// The incident reads one call cannot shape, and tag appends: each asserted against the
/// sandbox's incident (alerts of several products, comments, tags).
#[tokio::test(flavor = "multi_thread")]
async fn incident_alerts_comments_tags_timeline_and_statistics() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let incidents = state["incidents"].as_array().cloned().unwrap();
    // A cross-product incident: its alerts come from more than one Defender product.
    let multi = incidents
        .iter()
        .find(|i| i["comments"].as_array().is_some_and(|c| !c.is_empty()))
        .expect("a seeded incident with a comment");
    let id = multi["id"].as_str().unwrap().to_string();
    let inc = |action: &'static str, params: Value| {
        let h = &h;
        let t = t.clone();
        async move { worker(h, "DefenderXDRIncidentWorker", &t, action, params).await }
    };

    let (status, body) = inc("GetIncidentAlerts", json!({ "incidentId": id })).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["data"]["alerts"].as_array().unwrap().iter().filter_map(|a| a["id"].as_str()).collect();
    let expected: Vec<&str> = multi["alertIds"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(ids.len(), expected.len(), "{body}");
    assert!(expected.iter().all(|e| ids.contains(e)), "{body}");
    assert_eq!(body["data"]["alertCount"], expected.len());
    let products: std::collections::BTreeSet<&str> =
        body["data"]["alerts"].as_array().unwrap().iter().filter_map(|a| a["serviceSource"].as_str()).collect();
    assert!(products.len() >= 2, "alerts of several products: {products:?}");

    let (status, body) = inc("GetIncidentComments", json!({ "incidentId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["comments"], multi["comments"], "{body}");

    // Tags: appended to what is there (the seeded "seeded" tag stays), then one removed.
    let (status, body) = inc("AddIncidentTag", json!({ "incidentId": id, "tags": "ransomware,tier2" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &id).await["customTags"], json!(["seeded", "ransomware", "tier2"]));
    let (status, body) =
        worker(&h, "IncidentWorker", &t, "RemoveIncidentTag", json!({ "incidentId": id, "customTags": ["tier2"] }))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.incident(&t, &id).await["customTags"], json!(["seeded", "ransomware"]));

    let (status, body) = inc("GetIncidentTimeline", json!({ "incidentId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["computedBy"], "Riposte");
    let events = body["data"]["events"].as_array().unwrap();
    let times: Vec<&str> = events.iter().filter_map(|e| e["time"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    let alert_created = events.iter().filter(|e| e["event"] == "alertCreated").count();
    assert_eq!(alert_created, expected.len(), "{body}");
    assert!(events.iter().any(|e| e["event"] == "comment"), "{body}");
    assert!(events.iter().any(|e| e["event"] == "evidenceObserved"), "{body}");

    let (status, body) = inc("GetIncidentStatistics", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"], incidents.len(), "{body}");
    assert_eq!(body["data"]["computedBy"], "Riposte");
    let active = incidents.iter().filter(|i| i["status"] == "active").count();
    assert_eq!(body["data"]["byStatus"]["active"].as_u64().unwrap_or(0) as usize, active, "{body}");
    assert!(body["data"]["alertsByServiceSource"]["microsoftDefenderForIdentity"].as_u64().unwrap_or(0) > 0, "{body}");

    let (status, body) = inc("GetAlertStatistics", json!({ "filter": "status eq 'new'" })).await;
    assert_eq!(status, 200, "{body}");
    let new = state["alerts"].as_array().unwrap().iter().filter(|a| a["status"] == "New").count();
    assert_eq!(body["data"]["total"], new, "{body}");
    assert_eq!(body["data"]["byStatus"], json!({ "new": new }), "{body}");
}

fn incident_ids(state: &Value) -> Vec<String> {
    state["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// The acceptance case: a bulk classify of 40 incidents with 3 bad ids reports 37 done and 3
/// failed, each failure with Microsoft's reason; every good incident is classified once.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_classify_of_40_with_3_bad_ids_reports_37_done_and_3_failed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let good: Vec<String> = incident_ids(&h.state(&t).await).into_iter().take(37).collect();
    assert_eq!(good.len(), 37, "the world seeds enough incidents");
    let bad = ["990000001", "990000002", "no-such-incident"];
    let mut ids: Vec<String> = good.clone();
    for (i, b) in bad.iter().enumerate() {
        ids.insert(i * 13 + 5, b.to_string());
    }
    assert_eq!(ids.len(), 40);
    let (status, body) = worker(
        &h,
        "DefenderXDRIncidentWorker",
        &t,
        "BulkClassifyIncidents",
        json!({ "incidentIds": ids, "classification": "truePositive", "determination": "malware", "wait": 60 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(
        (data["count"].as_u64(), data["succeeded"].as_u64(), data["failed"].as_u64()),
        (Some(40), Some(37), Some(3)),
        "{body}"
    );
    assert_eq!(body["status"], "PartiallySucceeded", "{body}");
    for r in data["results"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        if bad.contains(&id) {
            assert_eq!(r["success"], false, "{r}");
            assert_eq!(r["error"]["upstreamCode"], "NotFound", "the reason is Microsoft's: {r}");
            assert!(r["error"]["message"].as_str().is_some_and(|m| m.contains(id)), "{r}");
        } else {
            assert_eq!(r["success"], true, "{r}");
        }
    }
    let state = h.state(&t).await;
    for i in
        state["incidents"].as_array().unwrap().iter().filter(|i| good.contains(&i["id"].as_str().unwrap().to_string()))
    {
        assert_eq!(
            (i["classification"].as_str(), i["determination"].as_str()),
            (Some("truePositive"), Some("malware")),
            "{i}"
        );
        assert_eq!(i["history"].as_array().unwrap().len(), 1, "classified exactly once: {i}");
    }
}

/// Every other bulk form, each asserted in the sandbox: assign, resolve (the seed's
/// BulkCloseIncidents) and reopen, update with the seed's `updates` object; alerts resolved,
/// classified, assigned. Suppression stays an honest 501.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_forms_take_effect_per_item() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let ids = incident_ids(&h.state(&t).await);
    let (a, b) = (ids[ids.len() - 1].clone(), ids[ids.len() - 2].clone());
    let inc = |action: &'static str, params: Value| {
        let h = &h;
        let t = t.clone();
        async move { worker(h, "DefenderXDRIncidentWorker", &t, action, params).await }
    };
    let (status, body) =
        inc("BulkAssignIncidents", json!({ "incidentIds": [a, b], "assignedTo": "ir@contoso.com" })).await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(2)), "{body}");
    assert_eq!(h.incident(&t, &a).await["assignedTo"], "ir@contoso.com");
    assert_eq!(h.incident(&t, &b).await["assignedTo"], "ir@contoso.com");

    let (status, body) = inc(
        "BulkCloseIncidents",
        json!({ "incidentIds": format!("{a},{b}"), "classification": "falsePositive", "determination": "notMalicious" }),
    )
    .await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(2)), "{body}");
    assert_eq!(h.incident(&t, &a).await["status"], "resolved");
    let (status, body) = inc("BulkReopenIncidents", json!({ "incidentIds": [a] })).await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(h.incident(&t, &a).await["status"], "active");
    assert_eq!(h.incident(&t, &b).await["status"], "resolved");

    let (status, body) = inc(
        "BulkUpdateIncidents",
        json!({ "incidentIds": [a], "updates": { "status": "inProgress", "customTags": ["bulk"] } }),
    )
    .await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(1)), "{body}");
    let i = h.incident(&t, &a).await;
    assert_eq!((i["status"].as_str(), i["customTags"].clone()), (Some("inProgress"), json!(["bulk"])), "{i}");
    let (status, body) =
        inc("BulkUpdateIncidents", json!({ "incidentIds": [a], "updates": { "severity": "high" } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("updates")), "{body}");

    let open = h.open_alerts(&t).await;
    let (status, body) =
        inc("BulkResolveAlerts", json!({ "alertIds": [open[0], open[1]], "classification": "truePositive" })).await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(2)), "{body}");
    assert_eq!(h.alert(&t, &open[0]).await["status"], "Resolved");
    assert_eq!(h.alert(&t, &open[1]).await["status"], "Resolved");
    let (status, body) = inc(
        "BulkClassifyAlerts",
        json!({ "alertIds": [open[2]], "classification": "informationalExpectedActivity", "determination": "securityTesting" }),
    )
    .await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(h.alert(&t, &open[2]).await["classification"], "InformationalExpectedActivity");
    let (status, body) =
        inc("BulkAssignAlerts", json!({ "alertIds": [open[3]], "assignedTo": "tier2@contoso.com" })).await;
    assert_eq!((status, body["data"]["succeeded"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(h.alert(&t, &open[3]).await["assignedTo"], "tier2@contoso.com");

    let before = h.alert(&t, &open[4]).await;
    let (status, body) = inc("BulkSuppressAlerts", json!({ "alertIds": [open[4]] })).await;
    assert_eq!((status, body["error"]["nearest"].as_str()), (501, Some("BulkResolveAlerts")), "{body}");
    assert_eq!(h.alert(&t, &open[4]).await, before);
}

/// The acceptance case's second half: the gateway is killed with `kill -9` part-way through a
/// bulk classify of 40 incidents (3 bad ids); after the restart the operation resumes from its
/// stored progress and ends 37 done, 3 failed, every good incident changed exactly once (the
/// sandbox records each PATCH in the incident's history).
#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_classify_killed_mid_way_resumes_without_repeating_an_item() {
    use crate::platform::durability::{GatewayProcess, free_port};
    use std::time::{Duration, Instant};
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let dir = tempfile::tempdir().unwrap();
    let config = h.process_config();
    let config_path = dir.path().join("riposte.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let key = "rk_bulk_kill_admin_key_0123456789abcdef";
    let mut gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;

    let good: Vec<String> = incident_ids(&h.state(&t).await).into_iter().take(37).collect();
    let mut ids = good.clone();
    for (i, b) in ["990000001", "990000002", "990000003"].iter().enumerate() {
        ids.insert(i * 11 + 3, b.to_string());
    }
    // Each incident PATCH takes 250 ms upstream, so the kill lands part-way.
    h.sandbox_admin(
        "faults",
        json!({ "path_prefix": "/v1.0/security/incidents/", "method": "PATCH", "delay_ms": 250 }),
    )
    .await;
    let sent: Value = h
        .http
        // The native route: a bulk form is one resumable operation there (on the seed routes,
        // more than 10 targets become a job, whose kill -9 test is platform::jobs).
        .post(format!("{}/v1/tenants/{t}/actions/Incident/BulkClassifyIncidents", gw.url))
        .header("x-api-key", key)
        .header("prefer", "wait=0")
        .json(&json!({ "incidentIds": ids, "classification": "truePositive", "determination": "phishing" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = sent["operation_id"].as_str().expect("accepted").to_string();
    let progress = |gw_url: String| {
        let http = h.http.clone();
        let op = op.clone();
        async move {
            let v: Value = http
                .get(format!("{gw_url}/v1/operations/{op}"))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let started = Instant::now();
    loop {
        let v = progress(gw.url.clone()).await;
        let done = v["tracking"]["bulk"]["rows"].as_array().map_or(0, Vec::len);
        if done >= 8 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no progress: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gw.kill();
    let before_restart = h.state(&t).await;
    let changed_before = before_restart["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["history"].as_array().unwrap().is_empty())
        .count();
    assert!(changed_before < 37, "the kill must land part-way: {changed_before} done");

    let gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;
    let restarted = Instant::now();
    let finished = loop {
        let v = progress(gw.url.clone()).await;
        if engine::status::is_terminal(v["status"].as_str().unwrap_or("")) {
            break v;
        }
        assert!(restarted.elapsed() < Duration::from_secs(60), "not finished after the restart: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["status"], "PartiallySucceeded", "{finished}");
    let result = &finished["result"];
    assert_eq!((result["succeeded"].as_u64(), result["failed"].as_u64()), (Some(37), Some(3)), "{finished}");
    let state = h.state(&t).await;
    for i in
        state["incidents"].as_array().unwrap().iter().filter(|i| good.contains(&i["id"].as_str().unwrap().to_string()))
    {
        assert_eq!(i["history"].as_array().unwrap().len(), 1, "PATCHed exactly once: {i}");
        assert_eq!(i["determination"], "phishing", "{i}");
    }
}
