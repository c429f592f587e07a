//! MDE alerts: seeded world, OData, PATCH rules, batchUpdate, related entities.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn state_alert<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["alerts"].as_array().unwrap().iter().find(|a| a["id"] == id).expect("alert in state")
}

fn state_incident<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["incidents"].as_array().unwrap().iter().find(|i| i["id"] == id).expect("incident in state")
}

async fn alerts(e: &Env, tok: &str, query: &str) -> Vec<Value> {
    let r = e.get(tok, &format!("/api/alerts{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

/// An alert that is not resolved and has no classification yet.
async fn open_alert(e: &Env, tok: &str) -> Value {
    alerts(e, tok, "?$filter=status+eq+'New'").await[0].clone()
}

#[tokio::test]
async fn seeded_alerts_link_machines_users_and_evidence() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let all = alerts(&e, &tok, "").await;
    assert!(all.len() >= 10, "{}", all.len());
    let machines = e.machines(&tok).await;
    for a in &all {
        let id = a["id"].as_str().unwrap();
        assert!(id.starts_with("da") && id.contains('_'), "{id}");
        let m = machines.iter().find(|m| m["id"] == a["machineId"]).expect("alert machine exists");
        assert_eq!(m["computerDnsName"], a["computerDnsName"]);
        assert!(a["incidentId"].is_u64());
        assert!(a["relatedUser"]["userName"].is_string());
        assert_eq!(a["evidence"], json!([]), "evidence only with $expand");
    }
    for s in ["New", "InProgress", "Resolved"] {
        assert!(all.iter().any(|a| a["status"] == s), "{s}");
    }
    let expanded = alerts(&e, &tok, "?$expand=evidence").await;
    let ev: Vec<&Value> = expanded.iter().flat_map(|a| a["evidence"].as_array().unwrap()).collect();
    assert!(ev.iter().any(|x| x["entityType"] == "File"
        && x["sha1"].as_str().is_some_and(|h| h.len() == 40)
        && x["sha256"].as_str().is_some_and(|h| h.len() == 64)));
    for kind in ["Process", "User", "Ip", "Url"] {
        assert!(ev.iter().any(|x| x["entityType"] == kind), "{kind}");
    }
    // The same seed gives the same alerts in a second sandbox.
    let e2 = env().await;
    let tok2 = e2.token(0, MDE).await;
    let ids = |v: &[Value]| v.iter().map(|a| a["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&all), ids(&alerts(&e2, &tok2, "").await));
}

#[tokio::test]
async fn odata_filter_top_and_bad_queries() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let all = alerts(&e, &tok, "").await;
    let high = alerts(&e, &tok, "?$filter=severity+eq+'High'").await;
    assert_eq!(high.len(), all.iter().filter(|a| a["severity"] == "High").count());
    assert!(high.iter().all(|a| a["severity"] == "High"));
    let r = e.get(&tok, "/api/alerts?$top=3").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    let next = r.body["@odata.nextLink"].as_str().expect("nextLink");
    let r2 = e.get(&tok, next).await;
    assert_eq!(r2.body["value"][0]["id"], all[3]["id"]);
    let r = e.get(&tok, "/api/alerts?$filter=nope+eq+1").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "ODataError");
    let r = e.get(&tok, "/api/alerts?$expand=machines").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.get(&tok, "/api/alerts/da000_1").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "ResourceNotFound");
}

#[tokio::test]
async fn patch_resolves_classifies_and_comments() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let a = open_alert(&e, &tok).await;
    let id = a["id"].as_str().unwrap();
    let r = e
        .patch(
            &tok,
            &format!("/api/alerts/{id}"),
            json!({"status": "Resolved", "assignedTo": "secop2@contoso.com",
                   "classification": "TruePositive", "determination": "Malware",
                   "comment": "contained"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "Resolved");
    assert_eq!(r.body["determination"], "Malware");
    assert!(r.body["resolvedTime"].is_string());
    let s = e.state(0).await;
    let sa = state_alert(&s, id);
    assert_eq!(sa["status"], "Resolved");
    assert_eq!(sa["classification"], "TruePositive");
    assert_eq!(sa["assignedTo"], "secop2@contoso.com");
    assert_eq!(sa["comments"][0]["comment"], "contained");
    // Reopening clears resolvedTime.
    let r = e.patch(&tok, &format!("/api/alerts/{id}"), json!({"status": "InProgress"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["resolvedTime"].is_null());
}

#[tokio::test]
async fn patch_rejects_mismatched_determination() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let a = open_alert(&e, &tok).await;
    let path = format!("/api/alerts/{}", a["id"].as_str().unwrap());
    let bad = [
        json!({"classification": "FalsePositive", "determination": "Malware"}),
        json!({"classification": "TruePositive", "determination": "SecurityTesting"}),
        json!({"determination": "Malware"}),
        json!({"classification": "Maybe"}),
        json!({"determination": "Apt", "classification": "TruePositive"}),
        json!({"status": "Closed"}),
    ];
    for body in bad {
        let r = e.patch(&tok, &path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} → {:?}", r.body);
        assert_eq!(r.code(), "InvalidInput", "{body}");
        assert!(e.patch(&tok, &path, json!({})).await.status == StatusCode::OK);
    }
    let r = e.patch(&tok, &path, json!({"severity": "Low"})).await;
    assert_eq!(r.code(), "InvalidRequestBody");
    let s = e.state(0).await;
    let sa = state_alert(&s, a["id"].as_str().unwrap());
    assert!(sa["classification"].is_null() && sa["determination"].is_null());
    // FalsePositive accepts its own determinations (MDE spelling and the docs' other names).
    for d in ["Clean", "InsufficientData", "NotMalicious", "Other"] {
        let r = e.patch(&tok, &path, json!({"classification": "FalsePositive", "determination": d})).await;
        assert_eq!(r.status, StatusCode::OK, "{d}: {:?}", r.body);
    }
    let r = e.patch(&tok, "/api/alerts/da1_1", json!({"status": "New"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_update_is_all_or_nothing_and_syncs_incidents() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let s = e.state(0).await;
    // An open incident: resolving all its alerts resolves it.
    let inc = s["incidents"].as_array().unwrap().iter().find(|i| i["status"] == "active").unwrap().clone();
    let ids: Vec<Value> = inc["alertIds"].as_array().unwrap().clone();
    let mut with_bad = ids.clone();
    with_bad.push(json!("da999_1"));
    let r = e.post(&tok, "/api/alerts/batchUpdate", json!({"alertIds": with_bad, "status": "Resolved"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let s = e.state(0).await;
    assert!(ids.iter().all(|id| state_alert(&s, id.as_str().unwrap())["status"] != "Resolved"));
    let r = e
        .post(
            &tok,
            "/api/alerts/batchUpdate",
            json!({"alertIds": ids, "status": "Resolved", "classification": "InformationalExpectedActivity",
                   "determination": "SecurityTesting", "comment": "red team"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body.is_null(), "empty body");
    let s = e.state(0).await;
    for id in &ids {
        let a = state_alert(&s, id.as_str().unwrap());
        assert_eq!(a["status"], "Resolved");
        assert_eq!(a["determination"], "SecurityTesting");
    }
    assert_eq!(state_incident(&s, inc["id"].as_str().unwrap())["status"], "resolved");
    let r = e.post(&tok, "/api/alerts/batchUpdate", json!({"alertIds": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.post(&tok, "/api/alerts/batchUpdate", json!({"status": "New"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_update_has_its_own_quota() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let id = open_alert(&e, &tok).await["id"].clone();
    for i in 0..10 {
        let r = e.post(&tok, "/api/alerts/batchUpdate", json!({"alertIds": [id], "assignedTo": format!("a{i}")})).await;
        assert_eq!(r.status, StatusCode::OK, "{i}: {:?}", r.body);
    }
    let r = e.post(&tok, "/api/alerts/batchUpdate", json!({"alertIds": [id], "assignedTo": "late"})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_some());
    // Other MDE calls are unaffected.
    assert_eq!(e.get(&tok, "/api/alerts?$top=1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn related_entities_and_machine_alerts() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let all = alerts(&e, &tok, "?$expand=evidence").await;
    let with_file =
        all.iter().find(|a| a["evidence"].as_array().unwrap().iter().any(|x| x["entityType"] == "File")).unwrap();
    let id = with_file["id"].as_str().unwrap();
    let files = e.get(&tok, &format!("/api/alerts/{id}/files")).await;
    assert_eq!(files.status, StatusCode::OK);
    let sha1 = files.body["value"][0]["sha1"].as_str().unwrap();
    assert!(with_file["evidence"].as_array().unwrap().iter().any(|x| x["sha1"] == sha1));
    let m = e.get(&tok, &format!("/api/alerts/{id}/machine")).await;
    assert_eq!(m.body["id"], with_file["machineId"]);
    let u = e.get(&tok, &format!("/api/alerts/{id}/user")).await;
    assert_eq!(u.body["accountName"], with_file["relatedUser"]["userName"]);
    let with_url =
        all.iter().find(|a| a["evidence"].as_array().unwrap().iter().any(|x| x["entityType"] == "Url")).unwrap();
    let d = e.get(&tok, &format!("/api/alerts/{}/domains", with_url["id"].as_str().unwrap())).await;
    assert!(d.body["value"][0]["host"].as_str().unwrap().contains('.'));
    let with_ip =
        all.iter().find(|a| a["evidence"].as_array().unwrap().iter().any(|x| x["entityType"] == "Ip")).unwrap();
    let ips = e.get(&tok, &format!("/api/alerts/{}/ips", with_ip["id"].as_str().unwrap())).await;
    assert!(ips.body["value"][0]["id"].as_str().unwrap().starts_with("203.0.113."));
    // Machine → alerts.
    let mid = with_file["machineId"].as_str().unwrap();
    let ma = e.get(&tok, &format!("/api/machines/{mid}/alerts")).await;
    assert_eq!(ma.status, StatusCode::OK);
    let list = ma.body["value"].as_array().unwrap();
    assert_eq!(list.len(), all.iter().filter(|a| a["machineId"] == mid).count());
    assert!(list.iter().any(|a| a["id"] == id));
    let r = e.get(&tok, "/api/machines/0000/alerts").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = e.get(&tok, &format!("/api/alerts/{id}/nothing")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn alert_roles_are_enforced() {
    let e = env().await;
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"mde": ["Alert.Read.All", "Machine.Read.All"]})).await;
    let tok = e.token(0, MDE).await;
    let a = open_alert(&e, &tok).await;
    let r = e.patch(&tok, &format!("/api/alerts/{}", a["id"].as_str().unwrap()), json!({"status": "Resolved"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Forbidden");
}
