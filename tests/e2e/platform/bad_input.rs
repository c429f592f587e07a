//! Bad input gets the documented 4xx naming the field; never a 500.

use crate::common::*;
use serde_json::{Value, json};

async fn raw(h: &Harness, route: &str, key: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req =
        h.http.post(format!("{}/api/{route}", h.gateway)).header("content-type", "application/json").body(body);
    if let Some(k) = key {
        req = req.header("x-functions-key", k);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Just over the 1 MiB body limit: small enough that the client has written all of it by the
/// time the gateway answers 413 (a far larger body races the early answer and the socket close).
const OVER_LIMIT: usize = 1024 * 1024 + 16 * 1024;

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
    let (s, b) =
        h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "GetAllDevices", "tenantId": t }), "rk_wrong").await;
    assert_eq!(s, 401, "{b}");
    let (s, _) = raw(&h, "DefenderXDRMDEWorker", None, b"{}".to_vec()).await;
    assert_eq!(s, 401);

    // A key scoped to another tenant.
    let other = h.tenant(1);
    let scoped = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: "other-only".into(),
            role: "admin".into(),
            tenants: vec![other],
            key_hash: gateway::auth::hash_key(&scoped),
        })
        .await
        .unwrap();
    let (s, b) =
        h.seed_with_key("DefenderXDRMDEWorker", json!({ "action": "GetAllDevices", "tenantId": t }), &scoped).await;
    assert_eq!(s, 403, "{b}");

    // A reader may not isolate.
    let reader = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: "reader".into(),
            role: "reader".into(),
            tenants: vec![],
            key_hash: gateway::auth::hash_key(&reader),
        })
        .await
        .unwrap();
    let (s, b) = h
        .seed_with_key(
            "DefenderXDRMDEWorker",
            json!({ "action": "IsolateDevice", "tenantId": t, "deviceIds": m }),
            &reader,
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, _) = h
        .seed_with_key(
            "DefenderXDRMDEWorker",
            json!({ "action": "GetDeviceInfo", "tenantId": t, "deviceId": m }),
            &reader,
        )
        .await;
    assert_eq!(s, 200);

    // Invalid JSON.
    let (s, b) = raw(&h, "DefenderXDRMDEWorker", Some(&h.admin_key), b"{\"action\": \"IsolateDevice\",".to_vec()).await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("body")), "{b}");

    // Oversized body.
    let big = format!("{{\"action\":\"IsolateDevice\",\"comment\":\"{}\"}}", "x".repeat(OVER_LIMIT));
    let (s, b) = raw(&h, "DefenderXDRMDEWorker", Some(&h.admin_key), big.into_bytes()).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"]["field"], "body");

    // Unknown tenant, unknown service, wrong hash length, bad enum.
    let (s, b) = h.mde("00000000-0000-0000-0000-00000000dead", "GetAllDevices", json!({})).await;
    assert_eq!((s, b["error"]["field"].as_str()), (404, Some("tenantId")), "{b}");
    let (s, b) =
        h.seed("MainOrchestrator", json!({ "service": "Nope", "action": "IsolateDevice", "tenantId": t })).await;
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
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/XDR/IsolateDevice", h.gateway))
        .header("x-api-key", &h.admin_key)
        .send()
        .await
        .unwrap();
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
    let metrics = h
        .http
        .get(format!("{}/metrics", h.gateway))
        .bearer_auth(&h.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("riposte_actions"), "{metrics}");
    assert!(metrics.contains("riposte_http_requests"));
    assert!(!metrics.contains(&h.admin_key));
}

/// A request as sent, answered: status, headers, and the body parsed as JSON (`Null` if not JSON).
async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_has_a_json_body() {
    let h = Harness::start(1).await;
    let url = |path: &str| format!("{}{path}", h.gateway);
    let key = h.admin_key.clone();

    // 405: a known route, a method it does not take; the Allow header still says which.
    let (s, headers, b) = send(h.http.delete(url("/v1/catalog")).header("x-api-key", &key)).await;
    assert_eq!((s, b["error"]["code"].as_str()), (405, Some("MethodNotAllowed")), "{b}");
    assert!(headers.get("allow").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("GET")), "{headers:?}");

    // A path parameter that is not UTF-8 once decoded.
    let (s, _, b) = send(h.http.get(url("/v1/queries/%FF%FE")).header("x-api-key", &key)).await;
    assert_eq!(
        (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
        (400, Some("InvalidPath"), Some("path")),
        "{b}"
    );
    // ...on a seed route, in the seed's envelope.
    let (s, _, b) = send(h.http.post(url("/api/%FF%FE")).header("x-functions-key", &key).json(&json!({}))).await;
    assert_eq!(
        (s, b["success"].as_bool(), b["error"]["code"].as_str()),
        (400, Some(false), Some("InvalidPath")),
        "{b}"
    );

    // 413: a body over the limit.
    let big = format!("{{\"query\":\"{}\"}}", "x".repeat(OVER_LIMIT));
    let (s, _, b) = send(
        h.http.post(url("/v1/hunt")).header("x-api-key", &key).header("content-type", "application/json").body(big),
    )
    .await;
    assert_eq!((s, b["error"]["code"].as_str()), (413, Some("PayloadTooLarge")), "{b}");

    // 404: no such route.
    let (s, _, b) = send(h.http.get(url("/v1/nothing/here")).header("x-api-key", &key)).await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("NotFound")), "{b}");

    // A JSON body that is not JSON, or not an object.
    let (s, _, b) = send(
        h.http
            .post(url("/v1/hunt"))
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .body("{\"query\":"),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
        (400, Some("InvalidJson"), Some("body")),
        "{b}"
    );
    let (s, _, b) = send(h.http.post(url("/v1/queries")).header("x-api-key", &key).json(&json!([1, 2]))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("InvalidJson")), "{b}");

    // 401 from the extractor, before any handler: every native route.
    for (method, path) in [
        ("GET", "/v1/operations"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/tenants"),
        ("POST", "/v1/hunt"),
        ("GET", "/v1/library"),
        ("DELETE", "/v1/queries/x"),
    ] {
        let req = h.http.request(method.parse().unwrap(), url(path));
        let (s, _, b) = send(req).await;
        assert_eq!((s, b["error"]["code"].as_str()), (401, Some("Unauthorized")), "{method} {path}: {b}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_ids_match_however_they_are_spelled() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (s, b) = h.mde(&t, "GetAllDevices", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let upper = t.to_uppercase();
    let (s, audit) = h.get(&format!("/v1/audit?tenant={upper}")).await;
    assert_eq!(s, 200, "{audit}");
    assert!(audit["count"].as_u64().unwrap() >= 2, "the attempt and outcome records: {audit}");
    let (s, ops) = h.get(&format!("/v1/operations?tenant={upper}")).await;
    assert_eq!((s, ops["count"].as_u64()), (200, Some(1)), "{ops}");

    // A key scoped with the upper-case spelling reads the same records; others are refused.
    let scoped = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: "upper".into(),
            role: "reader".into(),
            tenants: vec![upper.clone()],
            key_hash: gateway::auth::hash_key(&scoped),
        })
        .await
        .unwrap();
    let get = |path: String| h.http.get(format!("{}{path}", h.gateway)).header("x-api-key", scoped.clone());
    let (s, _, b) = send(get(format!("/v1/audit?tenant={t}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], audit["count"]);
    let (s, _, b) = send(get("/v1/audit".into())).await;
    assert_eq!(s, 403, "a scoped key must name its tenant: {b}");
    let (s, _, b) = send(get("/v1/operations".into())).await;
    assert_eq!((s, b["count"].as_u64()), (200, Some(1)), "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_have_route_and_upstream_latency_and_no_leading_underscores() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (s, _) = h.mde(&t, "GetAllDevices", json!({})).await;
    assert_eq!(s, 200);
    let (s, _) = h.get("/v1/operations/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(s, 404);
    let text = h
        .http
        .get(format!("{}/metrics", h.gateway))
        .bearer_auth(&h.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let names: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    assert!(names.iter().all(|n| !n.starts_with('_')), "{names:?}");
    for expected in [
        "riposte_actions",
        "riposte_http_requests",
        "riposte_http_request_duration_seconds",
        "riposte_upstream_calls",
        "riposte_upstream_request_duration_seconds",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    // The route template, never the raw path.
    assert!(text.contains("route=\"/v1/operations/{id}\""), "{text}");
    assert!(!text.contains("00000000-0000-0000-0000-000000000000"), "{text}");
    assert!(text.contains("route=\"/api/{route}\""), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("riposte_upstream_request_duration_seconds_count") && l.contains("api=\"mde\"")),
        "{text}"
    );
}
