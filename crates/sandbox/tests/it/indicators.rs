//! MDE custom indicators: submit-or-update, validation, OData, delete, import, BatchDelete,
//! the 15,000 cap and the import quota.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ind(ty: &str, value: &str, action: &str) -> Value {
    json!({"indicatorValue": value, "indicatorType": ty, "action": action,
           "title": "t", "description": "d", "severity": "High"})
}

async fn delete(e: &Env, tok: &str, path: &str) -> StatusCode {
    e.http.delete(e.url(path)).bearer_auth(tok).send().await.unwrap().status()
}

fn state_indicators(s: &Value) -> Vec<Value> {
    s["indicators"].as_array().unwrap().clone()
}

#[tokio::test]
async fn submit_is_create_or_update_and_visible_in_state() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let sha = "4".repeat(64);
    let r = e.post(&tok, "/api/indicators", ind("FileSha256", &sha, "BlockAndRemediate")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.parse::<u64>().is_ok(), "numeric-looking id {id}");
    assert_eq!(r.body["indicatorType"], "FileSha256");
    assert_eq!(r.body["action"], "BlockAndRemediate");
    assert_eq!(r.body["sourceType"], "AadApp");
    assert!(r.body["creationTimeDateTimeUtc"].is_string());
    // Same type + value (any case) updates in place.
    let mut again = ind("FileSha256", &sha.to_uppercase(), "Allowed");
    again["title"] = json!("now allowed");
    let r2 = e.post(&tok, "/api/indicators", again).await;
    assert_eq!(r2.status, StatusCode::OK, "{:?}", r2.body);
    assert_eq!(r2.body["id"], id.as_str());
    assert_eq!(r2.body["action"], "Allowed");
    let s = state_indicators(&e.state(0).await);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["title"], "now allowed");
    assert_eq!(s[0]["indicatorValue"], sha);
    let g = e.get(&tok, &format!("/api/indicators/{id}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body["action"], "Allowed");
    // Other tenants do not see it.
    let tok1 = e.token(1, MDE).await;
    assert_eq!(e.get(&tok1, &format!("/api/indicators/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_type_and_action_validates_like_mde() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let ok = [
        ("FileSha1", "a".repeat(40), "Block"),
        ("FileSha256", "b".repeat(64), "Alert"),
        ("FileMd5", "c".repeat(32), "AlertAndBlock"),
        ("CertificateThumbprint", "D".repeat(40), "Allowed"),
        ("IpAddress", "203.0.113.7".to_string(), "Warn"),
        ("IpAddress", "2001:db8::7".to_string(), "Block"),
        ("DomainName", "evil.example.com".to_string(), "Block"),
        ("Url", "https://evil.example.com/a?b=c".to_string(), "Warn"),
    ];
    for (ty, v, action) in &ok {
        let r = e.post(&tok, "/api/indicators", ind(ty, v, action)).await;
        assert_eq!(r.status, StatusCode::OK, "{ty} {v}: {:?}", r.body);
    }
    let mut audit = ind("FileSha1", &"e".repeat(40), "Audit");
    audit["generateAlert"] = json!(true);
    assert_eq!(e.post(&tok, "/api/indicators", audit).await.status, StatusCode::OK);

    let bad: Vec<(Value, &str)> = vec![
        (ind("FileSha1", &"a".repeat(39), "Block"), "InvalidHashValue"),
        (ind("FileSha256", &"g".repeat(64), "Block"), "InvalidHashValue"),
        (ind("FileMd5", &"a".repeat(40), "Block"), "InvalidHashValue"),
        (ind("CertificateThumbprint", "xyz", "Block"), "InvalidHashValue"),
        (ind("IpAddress", "203.0.113.0/24", "Block"), "InvalidIpAddress"),
        (ind("IpAddress", "10.0.0.1", "Block"), "InvalidIpAddress"),
        (ind("IpAddress", "300.1.1.1", "Block"), "InvalidIpAddress"),
        (ind("DomainName", "https://evil.example.com", "Block"), "InvalidDomainName"),
        (ind("DomainName", "no_dots", "Block"), "InvalidDomainName"),
        (ind("Url", "ftp://evil.example.com/x", "Block"), "InvalidUrl"),
        (ind("FileSha1", &"a".repeat(40), "Audit"), "InvalidInput"),
        (ind("FileSha1", &"a".repeat(40), "Warn"), "InvalidInput"),
        (ind("Url", "https://evil.example.com", "BlockAndRemediate"), "InvalidInput"),
        (ind("FileSha1", &"a".repeat(40), "Nuke"), "InvalidRequestBody"),
        (ind("Sha1", &"a".repeat(40), "Block"), "InvalidRequestBody"),
        (
            json!({"indicatorType": "FileSha1", "indicatorValue": "a".repeat(40), "action": "Block", "description": "d"}),
            "MissingRequiredParameter",
        ),
        (
            json!({"indicatorType": "FileSha1", "indicatorValue": "a".repeat(40), "action": "Block", "title": "t"}),
            "MissingRequiredParameter",
        ),
        (
            json!({"IndicatorType": "FileSha1", "indicatorValue": "a".repeat(40), "action": "Block", "title": "t", "description": "d"}),
            "InvalidRequestBody",
        ),
    ];
    for (body, code) in bad {
        let r = e.post(&tok, "/api/indicators", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
        assert_eq!(r.code(), code, "{body}: {:?}", r.body);
        assert!(is_guid(r.body["error"]["target"].as_str().unwrap()));
    }
    let mut past = ind("FileSha1", &"f".repeat(40), "Block");
    past["expirationTime"] = json!("2001-01-01T00:00:00Z");
    assert_eq!(e.post(&tok, "/api/indicators", past).await.code(), "InvalidInput");
    let mut sev = ind("FileSha1", &"f".repeat(40), "Block");
    sev["severity"] = json!("Critical");
    assert_eq!(e.post(&tok, "/api/indicators", sev).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(state_indicators(&e.state(0).await).len(), ok.len() + 1);
}

#[tokio::test]
async fn list_filters_pages_and_deletes() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    for i in 0..5 {
        let r = e.post(&tok, "/api/indicators", ind("FileSha1", &format!("{i}").repeat(40), "Block")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    e.post(&tok, "/api/indicators", ind("DomainName", "bad.example.org", "Warn")).await;
    let r = e.get(&tok, "/api/indicators?$filter=indicatorType+eq+'FileSha1'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 5);
    let r = e.get(&tok, "/api/indicators?$filter=action+eq+'Warn'").await;
    assert_eq!(r.body["value"][0]["indicatorValue"], "bad.example.org");
    let r = e.get(&tok, "/api/indicators?$top=2&$skip=1").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    assert!(r.body["@odata.nextLink"].as_str().unwrap().contains("$skip=3"));
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("$metadata#Indicators"));
    let id = r.body["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(delete(&e, &tok, &format!("/api/indicators/{id}")).await, StatusCode::NO_CONTENT);
    assert_eq!(e.get(&tok, &format!("/api/indicators/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&e, &tok, &format!("/api/indicators/{id}")).await, StatusCode::NOT_FOUND);
    assert_eq!(delete(&e, &tok, "/api/indicators/abc").await, StatusCode::BAD_REQUEST);
    assert!(state_indicators(&e.state(0).await).iter().all(|i| i["id"] != id.as_str()));
}

#[tokio::test]
async fn batch_delete_is_all_or_nothing() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = e.post(&tok, "/api/indicators", ind("FileMd5", &format!("{i}").repeat(32), "Block")).await;
        ids.push(r.body["id"].clone());
    }
    let mut with_unknown = ids.clone();
    with_unknown.push(json!("999999"));
    let r = e.post(&tok, "/api/indicators/BatchDelete", json!({"IndicatorIds": with_unknown})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(state_indicators(&e.state(0).await).len(), 3);
    let r = e.post(&tok, "/api/indicators/BatchDelete", json!({"IndicatorIds": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.post(&tok, "/api/indicators/BatchDelete", json!({"IndicatorIds": ["x"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.post(&tok, "/api/indicators/batchdelete", json!({"IndicatorIds": &ids[..2]})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let left = state_indicators(&e.state(0).await);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], ids[2]);
}

#[tokio::test]
async fn import_reports_per_item_and_caps_batches() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let body = json!({"Indicators": [
        ind("FileSha1", &"1".repeat(40), "Block"),
        ind("IpAddress", "198.51.100.0/24", "Block"),
        ind("Url", "https://x.example.net/p", "Block"),
    ]});
    let r = e.post(&tok, "/api/indicators/import", body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["isFailed"], false);
    assert!(v[0]["id"].is_string());
    assert_eq!(v[1]["isFailed"], true);
    assert_eq!(v[1]["indicator"], "198.51.100.0/24");
    assert!(v[1]["failureReason"].as_str().unwrap().contains("InvalidIpAddress"));
    assert_eq!(v[2]["isFailed"], false);
    assert_eq!(state_indicators(&e.state(0).await).len(), 2);
    let many: Vec<Value> = (0..501).map(|i| ind("FileSha1", &format!("{i:040x}"), "Block")).collect();
    let r = e.post(&tok, "/api/indicators/import", json!({"Indicators": many})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "MaximumBatchSizeExceeded");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Received: 501, allowed: 500"));
    let r = e.post(&tok, "/api/indicators/import", json!({"indicators": []})).await;
    assert_eq!(r.code(), "InvalidRequestBody");
}

/// 30 imports of 500 fill the tenant to its 15,000 cap; the 31st import is throttled, a new
/// indicator is refused, and updating an existing one still works.
#[tokio::test]
async fn cap_of_15000_and_import_quota() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    for batch in 0..30u32 {
        let items: Vec<Value> =
            (0..500u32).map(|i| ind("FileSha256", &format!("{:064x}", batch * 500 + i), "Block")).collect();
        let r = e.post(&tok, "/api/indicators/import", json!({"Indicators": items})).await;
        assert_eq!(r.status, StatusCode::OK, "batch {batch}");
        assert!(r.body["value"].as_array().unwrap().iter().all(|x| x["isFailed"] == false));
    }
    let r = e
        .post(&tok, "/api/indicators/import", json!({"Indicators": [ind("FileSha1", &"9".repeat(40), "Block")]}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_some());
    let r = e.post(&tok, "/api/indicators", ind("FileSha1", &"9".repeat(40), "Block")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("15000"));
    let r = e.post(&tok, "/api/indicators", ind("FileSha256", &format!("{:064x}", 7), "Allowed")).await;
    assert_eq!(r.status, StatusCode::OK, "updates stay possible: {:?}", r.body);
    let r = e.get(&tok, "/api/indicators?$top=1&$count=true").await;
    assert_eq!(r.body["@odata.count"], 15_000);
}

#[tokio::test]
async fn indicators_need_ti_permission() {
    let e = env().await;
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"mde": ["Machine.Read.All"]})).await;
    let tok = e.token(0, MDE).await;
    let r = e.post(&tok, "/api/indicators", ind("FileSha1", &"a".repeat(40), "Block")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(e.get(&tok, "/api/indicators").await.status, StatusCode::FORBIDDEN);
}
