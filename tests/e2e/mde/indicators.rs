//! Indicators end to end: every submit form (worker and orchestrator, flat and nested), read,
//! update, remove, batch import and bulk remove, with the effect asserted in the sandbox's state.

use crate::common::*;
use serde_json::{Value, json};

const SHA1: &str = "4f2d7d2a1c3b5e6f7a8b9c0d1e2f3a4b5c6d7e8f";
const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// The orchestrator route, flat parameters, `service=MDE`.
async fn orch(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "service": "MDE", "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("MainOrchestrator", body).await
}

/// The MDE worker route with parameters nested under `parameters`, as the seed's worker read them.
async fn worker_nested(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    h.seed("DefenderXDRMDEWorker", json!({ "action": action, "tenantId": tenant, "parameters": params })).await
}

async fn indicators(h: &Harness, tenant: &str) -> Vec<Value> {
    h.state(tenant).await["indicators"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(list: &'a [Value], value: &str) -> Option<&'a Value> {
    list.iter().find(|i| i["indicatorValue"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(value)))
}

/// Each submit form lands in the sandbox with the right type and action.
#[tokio::test(flavor = "multi_thread")]
async fn every_submit_form_creates_the_indicator_upstream() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    // (action, its answer, indicator type, value, MDE action)
    type Case<'a> = (&'a str, (u16, Value), &'a str, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "AddIndicator worker, type inferred",
            h.mde(&t, "AddIndicator", json!({ "indicatorValue": "Evil.Example.com", "indicatorAction": "Audit", "generateAlert": true, "severity": "high" })).await,
            "evil.example.com",
            "DomainName",
            "Audit",
        ),
        (
            "AddFileIndicator worker, nested sha1 + action",
            worker_nested(&h, &t, "AddFileIndicator", json!({ "sha1": SHA1, "action": "Allowed", "title": "known good" })).await,
            SHA1,
            "FileSha1",
            "Allowed",
        ),
        (
            "AddFileIndicator orchestrator, SHA-256 in indicatorValue",
            orch(&h, &t, "AddFileIndicator", json!({ "indicatorValue": SHA256.to_uppercase() })).await,
            SHA256,
            "FileSha256",
            "Block",
        ),
        (
            "SubmitIndicator orchestrator",
            orch(&h, &t, "SubmitIndicator", json!({ "indicatorValue": "https://evil.example.net/login", "indicatorType": "Url", "indicatorAction": "Warn" })).await,
            "https://evil.example.net/login",
            "Url",
            "Warn",
        ),
        (
            "AddIPIndicator worker",
            h.mde(&t, "AddIPIndicator", json!({ "ipAddress": "203.0.113.7" })).await,
            "203.0.113.7",
            "IpAddress",
            "Block",
        ),
        (
            "AddURLIndicator worker nested",
            worker_nested(&h, &t, "AddURLIndicator", json!({ "url": "http://phish.example.org/a", "action": "Block" })).await,
            "http://phish.example.org/a",
            "Url",
            "Block",
        ),
        (
            "AddDomainIndicator worker nested",
            worker_nested(&h, &t, "AddDomainIndicator", json!({ "domain": "bad.example.org", "action": "Alert" })).await,
            "bad.example.org",
            "DomainName",
            "Alert",
        ),
        (
            "AddCertificateIndicator worker",
            h.mde(&t, "AddCertificateIndicator", json!({ "certificateHash": "AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88 99 AA BB CC DD", "indicatorAction": "AlertAndBlock" })).await,
            "aabbccddeeff00112233445566778899aabbccdd",
            "CertificateThumbprint",
            "AlertAndBlock",
        ),
    ];
    let state = indicators(&h, &t).await;
    for (what, (status, body), value, ty, action) in cases {
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(body["success"], true, "{what}");
        assert_eq!(body["data"]["indicatorType"], ty, "{what}: MDE's answer");
        let stored = find(&state, value).unwrap_or_else(|| panic!("{what}: {value} not in the sandbox"));
        assert_eq!(stored["indicatorType"], ty, "{what}");
        assert_eq!(stored["action"], action, "{what}");
        assert!(stored["title"].as_str().is_some_and(|s| !s.is_empty()), "{what}: MDE requires a title");
    }
    let domain = find(&state, "evil.example.com").unwrap();
    assert_eq!(domain["severity"], "High");
    assert_eq!(domain["generateAlert"], true);
    assert_eq!(find(&state, SHA1).unwrap()["title"], "known good");
}

/// Read one, list, update (resubmitted, same id), remove by id and by value.
#[tokio::test(flavor = "multi_thread")]
async fn read_update_and_remove() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (_, added) = h.mde(&t, "AddIndicator", json!({ "indicatorValue": "c2.example.com", "title": "c2" })).await;
    let id = added["data"]["id"].as_str().expect("an indicator id").to_string();
    h.mde(&t, "AddIPIndicator", json!({ "ip": "198.51.100.20", "indicatorAction": "Audit", "generateAlert": true }))
        .await;

    let (status, body) = h.mde(&t, "GetIndicator", json!({ "indicatorId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["indicatorValue"], "c2.example.com");

    let (status, body) = orch(&h, &t, "GetAllIndicators", json!({ "filter": "indicatorType eq 'IpAddress'" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], 1);
    assert_eq!(body["data"]["value"][0]["indicatorValue"], "198.51.100.20");

    let (status, body) = h
        .mde(&t, "UpdateIndicator", json!({ "indicatorId": id, "indicatorAction": "Allowed", "severity": "Low", "expirationTime": "2099-01-01T00:00:00Z" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let stored = indicators(&h, &t).await;
    let c2 = find(&stored, "c2.example.com").unwrap();
    assert_eq!(
        (c2["id"].as_str(), c2["action"].as_str(), c2["severity"].as_str()),
        (Some(id.as_str()), Some("Allowed"), Some("Low"))
    );
    assert_eq!(c2["title"], "c2", "fields not given are kept");
    assert!(c2["expirationTime"].as_str().is_some_and(|e| e.starts_with("2099-01-01")), "{c2}");

    // Remove by value (the seed's RemoveDomainIndicator, even with its stray space).
    let (status, body) = h.mde(&t, "REMOVEDOMAIN INDICATOR", json!({ "domain": "C2.example.com" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["succeeded"], 1);
    assert!(find(&indicators(&h, &t).await, "c2.example.com").is_none());
    let (status, body) = h.mde(&t, "RemoveDomainIndicator", json!({ "domain": "c2.example.com" })).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("indicatorValue")),
        "nothing left to remove: {body}"
    );

    // Remove by id.
    let ip_id = find(&indicators(&h, &t).await, "198.51.100.20").unwrap()["id"].as_str().unwrap().to_string();
    let (status, body) = h.mde(&t, "RemoveIndicator", json!({ "indicatorId": ip_id })).await;
    assert_eq!(status, 200, "{body}");
    assert!(indicators(&h, &t).await.is_empty());
    let (status, body) = h.mde(&t, "RemoveIndicator", json!({ "indicatorId": ip_id })).await;
    assert_eq!(status, 404, "already gone: {body}");
}

/// 600 indicators go up in two import calls; all land; bulk remove reports per item.
#[tokio::test(flavor = "multi_thread")]
async fn batch_import_and_bulk_remove() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let items: Vec<Value> =
        (0..600).map(|i| json!({ "indicatorValue": format!("host{i}.bad.example.com"), "action": "Block", "severity": "Medium" })).collect();
    let (status, body) = worker_nested(&h, &t, "BulkAddIndicators", json!({ "indicators": items })).await;
    assert_eq!(status, 200, "{}", &body.to_string()[..body.to_string().len().min(2000)]);
    assert_eq!(body["status"], "Succeeded");
    assert_eq!((body["data"]["count"].as_u64(), body["data"]["succeeded"].as_u64()), (Some(600), Some(600)));
    let results = body["data"]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["success"] == true && r["id"].is_string()));
    let stored = indicators(&h, &t).await;
    assert_eq!(stored.len(), 600);
    for r in results.iter().step_by(97) {
        let s = stored.iter().find(|i| i["id"] == r["id"]).expect("the answered id exists");
        assert_eq!(s["indicatorValue"], r["indicatorValue"], "each result names its own indicator");
    }
    assert!(stored.iter().all(|i| i["indicatorType"] == "DomainName" && i["action"] == "Block"));

    let ids: Vec<String> = results.iter().take(3).map(|r| r["id"].as_str().unwrap().to_string()).collect();
    let mut with_unknown = ids.clone();
    with_unknown.push("999999999".into());
    let (status, body) = h.mde(&t, "BulkRemoveIndicators", json!({ "indicatorIds": with_unknown })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "PartiallySucceeded");
    assert_eq!((body["data"]["succeeded"].as_u64(), body["data"]["failed"].as_u64()), (Some(3), Some(1)));
    let failed = body["data"]["results"].as_array().unwrap().iter().find(|r| r["success"] == false).unwrap();
    assert_eq!(failed["indicatorId"], "999999999");
    let left: Vec<String> = indicators(&h, &t).await.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(left.len(), 597);
    assert!(ids.iter().all(|id| !left.contains(id)));
}
