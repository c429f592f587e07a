//! Bad input gets the documented 4xx naming the field; never a 500.

use crate::common::*;
use serde_json::{json, Value};

async fn raw(h: &Harness, route: &str, key: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = h.http.post(format!("{}/api/{route}", h.gateway)).header("content-type", "application/json").body(body);
    if let Some(k) = key {
        req = req.header("x-functions-key", k);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_input_is_a_clear_4xx() {
    let h = Harness::start(2).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();

    // Missing tenantId.
    let (s, b) = h.seed("DefenderXDRMDEWorker", json!({ "action": "IsolateDevice", "deviceIds": m })).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("tenantId")), "{b}");

    // Malformed device id.
    let (s, b) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": "not-a-machine!" })).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("deviceIds")), "{b}");
    assert!(b["error"]["hint"].as_str().is_some());

    // Unknown action: 404 with close matches.
    let (s, b) = h.mde(&t, "IsolateDevic", json!({ "deviceIds": m })).await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"]["field"], "action");
    assert!(b["error"]["closeMatches"].as_array().unwrap().iter().any(|c| c == "IsolateDevice"), "{b}");

    // Wrong key, and no key.
    let (s, b) = h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "GetAllDevices", "tenantId": t }), "rk_wrong").await;
    assert_eq!(s, 401, "{b}");
    let (s, _) = raw(&h, "DefenderXDRMDEWorker", None, b"{}".to_vec()).await;
    assert_eq!(s, 401);

    // A key scoped to another tenant.
    let other = h.tenant(1);
    let scoped = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey { name: "other-only".into(), role: "admin".into(), tenants: vec![other], key_hash: gateway::auth::hash_key(&scoped) })
        .await
        .unwrap();
    let (s, b) = h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "GetAllDevices", "tenantId": t }), &scoped).await;
    assert_eq!(s, 403, "{b}");

    // A reader may not isolate.
    let reader = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey { name: "reader".into(), role: "reader".into(), tenants: vec![], key_hash: gateway::auth::hash_key(&reader) })
        .await
        .unwrap();
    let (s, b) = h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "IsolateDevice", "tenantId": t, "deviceIds": m }), &reader).await;
    assert_eq!(s, 403, "{b}");
    let (s, _) = h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "GetDeviceInfo", "tenantId": t, "deviceId": m }), &reader).await;
    assert_eq!(s, 200);

    // Invalid JSON.
    let (s, b) = raw(&h, "DefenderXDRMDEWorker", Some(&h.admin_key), b"{\"action\": \"IsolateDevice\",".to_vec()).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("body")), "{b}");

    // Oversized body.
    let big = format!("{{\"action\":\"IsolateDevice\",\"comment\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (s, b) = raw(&h, "DefenderXDRMDEWorker", Some(&h.admin_key), big.into_bytes()).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"]["field"], "body");

    // Unknown tenant, unknown service, wrong hash length, bad enum.
    let (s, b) = h.mde("00000000-0000-0000-0000-00000000dead", "GetAllDevices", json!({})).await;
    assert_eq!((s, b["error"]["field"].as_str()), (404, Some("tenantId")), "{b}");
    let (s, b) = h.seed("MainOrchestrator", json!({ "service": "Nope", "action": "IsolateDevice", "tenantId": t })).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("service")), "{b}");
    let (s, b) = h.mde(&t, "StopAndQuarantineFile", json!({ "deviceIds": m, "sha1": "abc" })).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": m, "isolationType": "Partial" })).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("isolationType")), "{b}");

    // Nothing above reached the sandbox as an action.
    assert!(h.machine_actions(&t).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn native_surface_speaks_the_same_rules() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/MDE/IsolateDevice", h.gateway))
        .header("authorization", format!("Bearer {}", h.admin_key))
        .header("prefer", "respond-async")
        .json(&json!({ "deviceIds": [m] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(loc, format!("/v1/operations/{}", body["operation_id"].as_str().unwrap()));
    let resp = h.http.post(format!("{}/v1/tenants/{t}/actions/XDR/IsolateDevice", h.gateway)).header("x-api-key", &h.admin_key).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (s, spec) = h.get("/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/v1/tenants/{tenantId}/actions/MDE/IsolateDevice"]["post"].is_object());
    // The library routes are described too, each method the router serves.
    for (path, methods) in [
        ("/v1/library", &["get", "post"][..]),
        ("/v1/library/{name}", &["get", "delete"][..]),
        ("/v1/downloads/{token}", &["get"][..]),
    ] {
        for m in methods {
            assert!(spec["paths"][path][m]["operationId"].is_string(), "{m} {path} missing from OpenAPI");
        }
    }
    assert_eq!(spec["paths"]["/v1/downloads/{token}"]["get"]["security"], json!([]), "a download link needs no key");
    let (s, cat) = h.get("/v1/catalog").await;
    assert_eq!(s, 200);
    assert!(cat.as_array().unwrap().iter().any(|a| a["name"] == "IsolateDevice" && a["status"] == "supported"));
    let metrics = h.http.get(format!("{}/metrics", h.gateway)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("riposte_actions"), "{metrics}");
    assert!(metrics.contains("riposte_http_requests"));
    assert!(!metrics.contains(&h.admin_key));
}
