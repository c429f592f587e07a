//! Retries, throttling, budgets, error normalisation and request ids over real sockets.

use std::time::{Duration, Instant};

use serde_json::json;

use super::mock::{creds, reply, spawn_mock, upstream_with};
use crate::{Api, ApiRequest, Budgets, Rate, UpstreamError};

#[tokio::test]
async fn retries_429_after_retry_after_even_for_post() {
    let mock = spawn_mock().await;
    let (upstream, metrics) = mock.upstream();
    mock.state.push(
        reply(429, json!({"error":{"code":"TooManyRequests","message":"slow down","target":"0b8b3d2e-8f5a-4b43-9a43-3f1c2d9b7e11"}}))
            .header("retry-after", "1"),
    );
    let start = Instant::now();
    let response = upstream
        .call(
            &creds(),
            ApiRequest::post(Api::Mde, "/api/machines/m1/isolate", json!({"Comment":"x","IsolationType":"Full"})),
        )
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1), "waited Retry-After");
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 2);
    assert_eq!(mock.state.api_hits(), 2);
    assert_eq!(metrics.throttled(Api::Mde), 1);
    assert_eq!(metrics.retries(Api::Mde), 1);
    assert_eq!(metrics.calls(Api::Mde, "4xx"), 1);
    assert_eq!(metrics.calls(Api::Mde, "2xx"), 1);
    // The same client-request-id identifies both attempts of one call.
    let seen = mock.state.seen.lock().clone();
    assert!(seen[0].client_request_id.is_some());
    assert_eq!(seen[0].client_request_id, seen[1].client_request_id);
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_throttled() {
    let mock = spawn_mock().await;
    let (upstream, metrics) = mock.upstream(); // max_throttled_attempts = 5 (429s with Retry-After)
    for _ in 0..10 {
        mock.state.push(
            reply(429, json!({"error":{"code":"TooManyRequests","message":"quota","innerError":{"request-id":"8c4a3f1e-1111-2222-3333-444455556666"}}}))
                .header("retry-after", "0"),
        );
    }
    let err = upstream.call(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users")).await.unwrap_err();
    assert_eq!(
        err,
        UpstreamError::Throttled {
            retry_after: Some(Duration::ZERO),
            request_id: Some("8c4a3f1e-1111-2222-3333-444455556666".into()),
            attempts: 5,
        }
    );
    assert_eq!(mock.state.api_hits(), 5);
    assert_eq!(metrics.throttled(Api::Graph), 5);
    assert_eq!(metrics.retries(Api::Graph), 4);
}

#[tokio::test]
async fn retry_after_longer_than_bound_gives_up_at_once() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream(); // max_wait = 5 s
    mock.state.push(reply(429, json!({"error":{"code":"TooManyRequests","message":"q"}})).header("retry-after", "600"));
    let start = Instant::now();
    let err = upstream.call(&creds(), ApiRequest::get(Api::Arm, "/subscriptions")).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(err, UpstreamError::Throttled { retry_after: Some(d), attempts: 1, .. } if d == Duration::from_secs(600)),
        "{err:?}"
    );
}

#[tokio::test]
async fn retries_503_with_backoff_then_succeeds() {
    let mock = spawn_mock().await;
    let (upstream, metrics) = mock.upstream();
    mock.state.push(reply(503, serde_json::Value::Null));
    mock.state
        .push(reply(503, json!({"error":{"code":"serviceNotAvailable","message":"busy"}})).header("retry-after", "0"));
    let response = upstream.call(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users/u1")).await.unwrap();
    assert_eq!(response.attempts, 3);
    assert_eq!(metrics.retries(Api::Graph), 2);
    assert_eq!(metrics.throttled(Api::Graph), 0, "503 is not a 429");
}

#[tokio::test]
async fn exhausted_503_is_a_normalised_api_error() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    for _ in 0..4 {
        mock.state.push(
            reply(503, json!({"error":{"code":"serviceNotAvailable","message":"busy"}}))
                .header("request-id", "rid-503"),
        );
    }
    let err = upstream.call(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users/u1")).await.unwrap_err();
    assert_eq!(
        err,
        UpstreamError::Api {
            status: 503,
            code: "serviceNotAvailable".into(),
            message: "busy".into(),
            request_id: Some("rid-503".into())
        }
    );
}

#[tokio::test]
async fn normalises_mde_graph_and_arm_errors() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    mock.state.push(reply(404, json!({"error":{"code":"ResourceNotFound","message":"Machine 123 was not found","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}})));
    let err = upstream.call(&creds(), ApiRequest::get(Api::Mde, "/api/machines/123")).await.unwrap_err();
    assert_eq!(
        err,
        UpstreamError::Api {
            status: 404,
            code: "ResourceNotFound".into(),
            message: "Machine 123 was not found".into(),
            request_id: Some("43f4cb08-8fac-4b65-9db1-745c2ae65f3a".into()),
        }
    );

    mock.state.push(
        reply(403, json!({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{"request-id":"aaaaaaaa-1111-2222-3333-444444444444","date":"2025-02-13T10:17:05"}}}))
            .header("request-id", "aaaaaaaa-1111-2222-3333-444444444444"),
    );
    let err = upstream
        .call(
            &creds(),
            ApiRequest::new(Api::Graph, crate::Method::Patch, "/v1.0/users/u")
                .with_body(json!({"accountEnabled":false})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Api { status: 403, code, request_id: Some(r), .. } if code == "Authorization_RequestDenied" && r.starts_with("aaaaaaaa")),
        "{err:?}"
    );

    mock.state.push(
        reply(409, json!({"error":{"code":"AnotherOperationInProgress","message":"Another operation on this resource is in progress","details":[]}}))
            .header("x-ms-request-id", "arm-req-1"),
    );
    let err = upstream
        .call(&creds(), ApiRequest::new(Api::Arm, crate::Method::Put, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/r").with_query("api-version", "2024-05-01").with_body(json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Api { status: 409, code, request_id: Some(r), .. } if code == "AnotherOperationInProgress" && r == "arm-req-1"),
        "{err:?}"
    );
    let seen = mock.state.seen.lock().clone();
    assert!(seen.last().unwrap().uri.starts_with("/arm/subscriptions/s/"), "{:?}", seen.last());
    assert!(seen.last().unwrap().uri.ends_with("?api-version=2024-05-01"));
}

#[tokio::test]
async fn success_carries_request_id_location_and_async_operation() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    mock.state.push(
        reply(202, serde_json::Value::Null)
            .header("x-ms-request-id", "arm-2")
            .header("azure-asyncoperation", mock.url("/arm/operations/op1"))
            .header("location", mock.url("/arm/operationResults/op1"))
            .header("retry-after", "3"),
    );
    let r = upstream.call(&creds(), ApiRequest::post(Api::Arm, "/subscriptions/s/vm/start", json!({}))).await.unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.body, serde_json::Value::Null);
    assert_eq!(r.request_id.as_deref(), Some("arm-2"));
    assert_eq!(r.async_operation, Some(mock.url("/arm/operations/op1")));
    assert_eq!(r.retry_after, Some(Duration::from_secs(3)));
    // The monitor URL is on the configured host, so it can be polled; a foreign one cannot.
    mock.state.push(reply(200, json!({"status":"Succeeded"})));
    let polled = upstream.get_url(&creds(), Api::Arm, r.async_operation.as_deref().unwrap()).await.unwrap();
    assert_eq!(polled.body["status"], "Succeeded");
    let err = upstream.get_url(&creds(), Api::Arm, "https://evil.example/operations/op1").await.unwrap_err();
    assert!(matches!(err, UpstreamError::Config(_)), "{err:?}");

    // Without a server id, the client-request-id we sent is the request id.
    let r = upstream.call(&creds(), ApiRequest::get(Api::Mde, "/api/machines")).await.unwrap();
    let sent = mock.state.seen.lock().last().unwrap().client_request_id.clone();
    assert_eq!(r.request_id, sent);
}

#[tokio::test]
async fn budget_delays_the_sixth_call_instead_of_failing() {
    let mock = spawn_mock().await;
    let mut cfg = mock.config();
    cfg.budgets = Budgets::uniform(vec![Rate::per_second(5)]);
    let (upstream, metrics) = upstream_with(cfg);
    upstream.check_token(&creds(), Api::Mde).await.unwrap();
    let start = Instant::now();
    for i in 0..5 {
        upstream.call(&creds(), ApiRequest::get(Api::Mde, format!("/api/machines/{i}"))).await.unwrap();
    }
    assert!(start.elapsed() < Duration::from_millis(150), "{:?}", start.elapsed());
    upstream.call(&creds(), ApiRequest::get(Api::Mde, "/api/machines/6")).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150), "6th call waited: {:?}", start.elapsed());
    assert_eq!(mock.state.api_hits(), 6);
    assert_eq!(metrics.budget_waits(Api::Mde), 1);
    // Other families have their own budget.
    let other = Instant::now();
    upstream.call(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users")).await.unwrap();
    assert!(other.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn budget_exhaustion_beyond_bound_is_throttled_without_sending() {
    let mock = spawn_mock().await;
    let mut cfg = mock.config();
    cfg.budgets = Budgets::uniform(vec![Rate::per_hour(1)]);
    cfg.budgets.max_wait = Duration::from_millis(50);
    let (upstream, _) = upstream_with(cfg);
    upstream.call(&creds(), ApiRequest::get(Api::Mde, "/a")).await.unwrap();
    let err = upstream.call(&creds(), ApiRequest::get(Api::Mde, "/b")).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Throttled { attempts: 0, retry_after: Some(_), .. }), "{err:?}");
    assert_eq!(mock.state.api_hits(), 1);
}

/// A server that reads the request and hangs up without answering: the request may have
/// been acted on, so POST must not be repeated, while GET may be.
#[tokio::test]
async fn transport_errors_retry_only_idempotent_calls() {
    let mock = spawn_mock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    let mut cfg = mock.config();
    cfg.clouds = cfg.clouds.with_base(Api::Mde, url::Url::parse(&format!("http://{dead}/")).unwrap());
    let (upstream, _) = upstream_with(cfg);
    let err =
        upstream.call(&creds(), ApiRequest::post(Api::Mde, "/api/machines/m/offboard", json!({}))).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Transport(_)), "{err:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1, "POST sent once");
    let err = upstream.call(&creds(), ApiRequest::get(Api::Mde, "/api/machines")).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Transport(_)), "{err:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1 + 4, "GET tried max_attempts times");
}

#[tokio::test]
async fn rejects_bad_configuration() {
    let mock = spawn_mock().await;
    let mut cfg = mock.config();
    cfg.extra_ca_pem = Some("not a pem".into());
    let metrics = std::sync::Arc::new(crate::UpstreamMetrics::new());
    assert!(matches!(crate::Upstream::new(cfg, metrics.clone()), Err(UpstreamError::Config(_))));
    let mut cfg = mock.config();
    cfg.retry.max_attempts = 0;
    assert!(matches!(crate::Upstream::new(cfg, metrics.clone()), Err(UpstreamError::Config(_))));
    let (upstream, _) = mock.upstream();
    let err = upstream.call(&creds(), ApiRequest::get(Api::Mde, "api/no-slash")).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Config(_)));
}
