//! Token cache: single-flight, per audience, refresh before expiry, 401 refresh, auth errors.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::mock::{SECRET, creds, reply, spawn_mock};
use crate::{Api, ApiRequest, TenantCredentials, UpstreamError};
use serde_json::json;

#[tokio::test]
async fn hundred_concurrent_calls_on_cold_tenant_make_one_token_request() {
    let mock = spawn_mock().await;
    *mock.state.token_delay.lock() = Duration::from_millis(200);
    let (upstream, metrics) = mock.upstream();
    let calls = (0..100).map(|i| {
        let upstream = upstream.clone();
        tokio::spawn(
            async move { upstream.call(&creds(), ApiRequest::get(Api::Mde, format!("/api/machines/{i}"))).await },
        )
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().unwrap().status, 200);
    }
    assert_eq!(mock.state.tokens(), 1, "single-flight: one token request for 100 calls");
    assert_eq!(metrics.token_requests(), 1);
    assert_eq!(metrics.token_cache_misses(), 1);
    assert_eq!(metrics.token_cache_hits(), 99);
    assert_eq!(mock.state.api_hits(), 100);
    let seen = mock.state.seen.lock();
    assert!(seen.iter().all(|s| s.authorization.starts_with("Bearer tok-0-tenant-a-")));
}

#[tokio::test]
async fn cache_is_per_audience_and_per_tenant() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    for api in [Api::Mde, Api::Graph, Api::Arm, Api::Mde, Api::Graph] {
        upstream.call(&creds(), ApiRequest::get(api, "/x")).await.unwrap();
    }
    assert_eq!(mock.state.tokens(), 3);
    let mut scopes = mock.state.scopes.lock().clone();
    scopes.sort();
    assert_eq!(
        scopes,
        vec![
            "https://api.securitycenter.microsoft.com/.default",
            "https://graph.microsoft.com/.default",
            "https://management.azure.com/.default",
        ]
    );
    let other = TenantCredentials::new("tenant-b", "client-1", SECRET);
    upstream.call(&other, ApiRequest::get(Api::Mde, "/x")).await.unwrap();
    assert_eq!(mock.state.tokens(), 4, "another tenant gets its own token");
}

#[tokio::test]
async fn a_token_for_another_audience_comes_from_the_same_cache() {
    use secrecy::ExposeSecret;
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    let aud = "https://contoso-ns.servicebus.windows.net";
    let first = upstream.entra_token(&creds(), aud).await.unwrap();
    let again = upstream.entra_token(&creds(), &format!("{aud}/")).await.unwrap();
    assert_eq!(first.expose_secret(), again.expose_secret());
    assert_eq!(mock.state.tokens(), 1, "cached per audience");
    assert_eq!(*mock.state.scopes.lock(), vec![format!("{aud}/.default")]);
    assert!(matches!(upstream.entra_token(&creds(), "contoso-ns").await, Err(UpstreamError::Config(_))));
}

#[tokio::test]
async fn token_is_refreshed_before_expiry() {
    let mock = spawn_mock().await;
    mock.state.expires_in.store(1, Ordering::SeqCst); // refreshed after 0.9 s
    let (upstream, _) = mock.upstream();
    upstream.check_token(&creds(), Api::Graph).await.unwrap();
    upstream.check_token(&creds(), Api::Graph).await.unwrap();
    assert_eq!(mock.state.tokens(), 1);
    tokio::time::sleep(Duration::from_millis(950)).await;
    upstream.check_token(&creds(), Api::Graph).await.unwrap();
    assert_eq!(mock.state.tokens(), 2, "token due for refresh is fetched again");
}

#[tokio::test]
async fn unauthorized_with_cached_token_refreshes_once() {
    let mock = spawn_mock().await;
    let (upstream, metrics) = mock.upstream();
    upstream.call(&creds(), ApiRequest::get(Api::Mde, "/warm")).await.unwrap();
    mock.state.push(reply(401, json!({"error":{"code":"Unauthorized","message":"expired"}})));
    let response = upstream
        .call(&creds(), ApiRequest::post(Api::Mde, "/api/machines/m/isolate", json!({"Comment":"c"})))
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
    assert_eq!(mock.state.tokens(), 2);
    let seen = mock.state.seen.lock().clone();
    assert!(seen[1].authorization.contains("tok-0"));
    assert!(seen[2].authorization.contains("tok-1"), "retried with the fresh token");
    assert_eq!(seen[2].method, reqwest::Method::POST);
    assert_eq!(metrics.retries(Api::Mde), 1);
}

#[tokio::test]
async fn unauthorized_with_fresh_token_is_an_error_not_a_loop() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    mock.state.push(reply(401, json!({"error":{"code":"Unauthorized","message":"no roles"}})));
    mock.state.push(reply(401, json!({"error":{"code":"Unauthorized","message":"no roles"}})));
    let err = upstream.call(&creds(), ApiRequest::get(Api::Mde, "/api/machines")).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Api { status: 401, ref code, .. } if code == "Unauthorized"), "{err:?}");
    assert_eq!(mock.state.api_hits(), 1);
    assert_eq!(mock.state.tokens(), 1);
}

#[tokio::test]
async fn refused_credentials_give_auth_error_without_secret() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    let wrong = TenantCredentials::new("tenant-a", "client-1", "wrong-secret-value-123");
    let err = upstream.check_token(&wrong, Api::Mde).await.unwrap_err();
    match &err {
        UpstreamError::Auth { code, message } => {
            assert_eq!(code, "invalid_client");
            assert!(message.starts_with("AADSTS7000215"), "{message}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("wrong-secret-value-123"), "secret leaked: {text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
    assert_eq!(mock.state.tokens(), 1, "a 401 from login is not retried");
    // Refusals are not cached: the next attempt asks again.
    let _ = upstream.check_token(&wrong, Api::Mde).await;
    assert_eq!(mock.state.tokens(), 2);
}

#[tokio::test]
async fn secrets_absent_from_debug_output() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    upstream.check_token(&creds(), Api::Graph).await.unwrap();
    let c = creds();
    for text in [format!("{c:?}"), format!("{upstream:?}"), format!("{:?}", mock.config())] {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(!text.contains("tok-0"), "token leaked: {text}");
    }
    assert!(format!("{c:?}").contains("[redacted]"));
}
