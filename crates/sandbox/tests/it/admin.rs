use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn injected_503_happens_before_the_handler() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let m = e.machine_where(&tok, |m| m["healthStatus"] == "Active").await;
    let id = m["id"].as_str().unwrap();
    let r = e
        .admin_post(
            "/_sandbox/faults",
            json!({"path_prefix": "/api/machines", "method": "POST", "status": 503, "count": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let rule_id = r.body["id"].as_u64().unwrap();
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(is_guid(r.body["error"]["target"].as_str().unwrap()), "MDE error shape: {:?}", r.body);
    assert!(e.state(0).await["machineActions"].as_array().unwrap().is_empty(), "no side effect");
    // GETs were not matched (method filter), and the rule is used up
    assert_eq!(e.get(&tok, "/api/machines?$top=1").await.status, StatusCode::OK);
    let r = e.post(&tok, &format!("/api/machines/{id}/isolate"), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let faults = e.admin_get("/_sandbox/faults").await.body;
    assert_eq!(faults["faults"][0]["id"], rule_id);
    assert_eq!(faults["faults"][0]["fired"], 1);
    let r = e.http.delete(e.url("/_sandbox/faults")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(e.admin_get("/_sandbox/faults").await.body["faults"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn injected_429_carries_retry_after_and_is_counted() {
    let e = env().await;
    e.admin_post(
        "/_sandbox/faults",
        json!({"path_prefix": "/v1.0/users", "status": 429, "retry_after": 7, "count": 2}),
    )
    .await;
    let tok = e.token(0, GRAPH).await;
    for _ in 0..2 {
        let r = e.get(&tok, "/v1.0/users").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers["retry-after"], "7");
        assert_eq!(r.code(), "TooManyRequests");
        assert!(r.body["error"]["innerError"].is_object(), "Graph shape");
    }
    assert_eq!(e.get(&tok, "/v1.0/users").await.status, StatusCode::OK);
    let stats = e.admin_get("/_sandbox/stats").await.body;
    assert_eq!(stats["throttled"][&e.tenant(0).tenant_id], 2);
    assert_eq!(stats["faults_injected"], 2);
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_per_seed() {
    async fn pattern() -> Vec<u16> {
        let e = env().await;
        e.admin_post("/_sandbox/faults", json!({"path_prefix": "/api/", "status": 500, "rate": 0.5})).await;
        let tok = e.token(0, MDE).await;
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(e.get(&tok, "/api/machines?$top=1").await.status.as_u16());
        }
        out
    }
    let a = pattern().await;
    let b = pattern().await;
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn latency_and_tenant_scoped_faults() {
    let e = env().await;
    let t0 = e.tenant(0).tenant_id.clone();
    e.admin_post("/_sandbox/faults", json!({"path_prefix": "/api/machines", "delay_ms": 300, "tenant": t0})).await;
    e.admin_post("/_sandbox/faults", json!({"path_prefix": "/api/machineactions", "status": 502, "tenant": t0})).await;
    let a = e.token(0, MDE).await;
    let b = e.token(1, MDE).await;
    let start = std::time::Instant::now();
    assert_eq!(e.get(&a, "/api/machines?$top=1").await.status, StatusCode::OK);
    assert!(start.elapsed().as_millis() >= 300);
    assert_eq!(e.get(&a, "/api/machineactions").await.status, StatusCode::BAD_GATEWAY);
    assert_eq!(e.get(&b, "/api/machineactions").await.status, StatusCode::OK);
    // token endpoint faults use the login error shape
    e.admin_post("/_sandbox/faults", json!({"path_prefix": format!("/{t0}/oauth2"), "status": 500, "count": 1})).await;
    let t = e.tenant(0).clone();
    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body["error_codes"].is_array());
}

#[tokio::test]
async fn bad_admin_input_is_400() {
    let e = env().await;
    for body in [
        json!({"path_prefix": "/api", "status": 200}),
        json!({"path_prefix": "api", "status": 500}),
        json!({"path_prefix": "/api", "status": 500, "rate": 2}),
        json!({"path_prefix": "/api"}),
        json!({"path_prefix": "/api", "status": 500, "surprise": true}),
    ] {
        assert_eq!(e.admin_post("/_sandbox/faults", body.clone()).await.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(e.admin_post("/_sandbox/clock", json!({"advance_seconds": -5})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.admin_post("/_sandbox/clock", json!({})).await.status, StatusCode::BAD_REQUEST);
    let r = e.http.post(e.url("/_sandbox/faults")).body("{").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(e.admin_post("/_sandbox/settings", json!({"mde_per_minut": 1})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.admin_get("/_sandbox/state/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn clock_control() {
    let e = env().await;
    let before = e.admin_get("/_sandbox/clock").await.body;
    let r = e.admin_post("/_sandbox/clock", json!({"advance_seconds": 86400, "speed": 2.0})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["speed"], 2.0);
    assert!(r.body["offset_seconds"].as_f64().unwrap() >= 86400.0);
    assert!(r.body["now"].as_str().unwrap() > before["now"].as_str().unwrap());
}

#[tokio::test]
async fn unknown_routes_answer_in_family_shape() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let r = e.get(&tok, "/api/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["error"]["target"].is_string());
    let r = e.admin_get("/totally/unknown").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["error"]["message"].is_string());
    let r = e.http.delete(e.url("/api/machines")).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn same_seed_same_world_and_reset() {
    let a = env().await;
    let b = env().await;
    let c = env_with(sandbox::SandboxConfig { seed: 8, ..Default::default() }).await;
    let ta: Vec<_> = a.d.tenants.iter().map(|t| (t.tenant_id.clone(), t.client_secret.clone())).collect();
    let tb: Vec<_> = b.d.tenants.iter().map(|t| (t.tenant_id.clone(), t.client_secret.clone())).collect();
    assert_eq!(ta, tb);
    assert_eq!(a.d.tenants.len(), 3);
    assert_ne!(a.d.tenants[0].tenant_id, c.d.tenants[0].tenant_id);
    let ma: Vec<_> = a.machines(&a.token(0, MDE).await).await.iter().map(|m| m["id"].clone()).collect();
    let mb: Vec<_> = b.machines(&b.token(0, MDE).await).await.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ma, mb);

    let tok = a.token(0, GRAPH).await;
    let id = a.get(&tok, "/v1.0/users?$top=1").await.body["value"][0]["id"].as_str().unwrap().to_string();
    a.patch(&tok, &format!("/v1.0/users/{id}"), json!({"accountEnabled": false})).await;
    assert_eq!(a.admin_post("/_sandbox/reset", json!({})).await.status, StatusCode::OK);
    let r = a.get(&tok, &format!("/v1.0/users/{id}?$select=accountEnabled")).await;
    assert_eq!(r.body["accountEnabled"], true);
}

#[tokio::test]
async fn removed_roles_give_403() {
    let e = env().await;
    let tid = e.tenant(0).tenant_id.clone();
    let r = e
        .admin_post(&format!("/_sandbox/roles/{tid}"), json!({"mde": ["Machine.Read.All"], "graph": ["User.Read.All"]}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mde = e.token(0, MDE).await;
    let m = e.machine_where(&mde, |m| m["healthStatus"] == "Active").await;
    let r =
        e.post(&mde, &format!("/api/machines/{}/isolate", m["id"].as_str().unwrap()), json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Forbidden");
    let graph = e.token(0, GRAPH).await;
    assert_eq!(e.get(&graph, "/v1.0/users?$top=1").await.status, StatusCode::OK);
    let id = e.get(&graph, "/v1.0/users?$top=1").await.body["value"][0]["id"].as_str().unwrap().to_string();
    let r = e.patch(&graph, &format!("/v1.0/users/{id}"), json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "Authorization_RequestDenied");
}

#[tokio::test]
async fn framework_rejections_are_reshaped() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    // invalid UTF-8 in a path parameter
    let r = e.get(&tok, "/api/machines/%FF%FE").await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.body["error"]["code"].is_string(), "{:?}", r.body);
    // a body over the default limit
    let big = format!("{{\"Comment\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let m = e.machine_where(&tok, |m| m["healthStatus"] == "Active").await;
    let r = e.post_raw(&tok, &format!("/api/machines/{}/isolate", m["id"].as_str().unwrap()), &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body["error"]["target"].is_string(), "{:?}", r.body);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sb = sandbox::start(sandbox::SandboxConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("{}/_sandbox/stats", sb.base_url());
    let d = sb.describe();
    assert!(d.ca_pem.is_none());
    assert_eq!(d.endpoints.mde, sb.base_url());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), StatusCode::OK);
    sb.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    assert!(fresh.get(&url).send().await.is_err(), "still serving after shutdown");
}

/// Malformed input of every kind gets a 4xx, never a 5xx or a dropped connection.
#[tokio::test]
async fn junk_input_never_yields_5xx() {
    let e = env().await;
    let mde = e.token(0, MDE).await;
    let graph = e.token(0, GRAPH).await;
    let arm = e.token(0, ARM).await;
    let sub = e.tenant(0).subscription_id.clone();
    let gets: Vec<(&str, String)> = vec![
        (&mde, "/api/machines?$filter=((((".into()),
        (&mde, "/api/machines?$filter=machineTags/any(t: t eq".into()),
        (&mde, "/api/machines?$filter=lastSeen gt 9999-99-99".into()),
        (&mde, "/api/machines?$filter=startswith(computerDnsName)".into()),
        (&mde, "/api/machines?$filter='a' eq 'a' eq 'a'".into()),
        (&mde, "/api/machines?$filter=%00%01".into()),
        (&mde, "/api/machines?$top=99999999999999999999999".into()),
        (&mde, "/api/machines?$orderby=lastSeen sideways".into()),
        (&mde, "/api/machineactions/%2e%2e/cancel".into()),
        (&graph, "/v1.0/users?$filter=not".into()),
        (&graph, "/v1.0/users?$select=,,,".into()),
        (&graph, "/v1.0/users/%FF".into()),
        (&arm, format!("/subscriptions/{sub}/resourceGroups/x/providers?api-version=1")),
        (
            &arm,
            format!("/subscriptions/{sub}/resourceGroups/rg-network/providers/Microsoft.Foo/bars/baz?api-version=1"),
        ),
        (&arm, format!("/subscriptions/{sub}/a/b/c/d/e/f/g/h?api-version=1")),
    ];
    for (tok, path) in gets {
        let r = e.get(tok, &path).await;
        assert!(r.status.is_client_error(), "{path}: {} {:?}", r.status, r.body);
        assert!(r.body["error"].is_object(), "{path}: {:?}", r.body);
    }
    let m = e.machine_where(&mde, |m| m["healthStatus"] == "Active").await;
    let id = m["id"].as_str().unwrap().to_string();
    for body in [
        "",
        "null",
        "[]",
        "\"Comment\"",
        "{\"Comment\": {}}",
        "{\"Comment\": null}",
        "{\"Comment\":\"x\",\"IsolationType\":7}",
    ] {
        let r = e.post_raw(&mde, &format!("/api/machines/{id}/isolate"), body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
    }
    let r = e.post_raw(&mde, "/_sandbox/clock", "{\"advance_seconds\": 1e300}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e
        .http
        .post(e.url(&format!("/{}/oauth2/v2.0/token", e.tenant(0).tenant_id)))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
