use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn missing_token_is_401_in_each_shape() {
    let e = env().await;
    let r = e.http.get(e.url("/api/machines")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "Unauthorized");
    assert!(is_guid(b["error"]["target"].as_str().unwrap()));

    let r = e.http.get(e.url("/v1.0/users")).header("client-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["client-request-id"], "abc-123");
    assert!(r.headers().contains_key("request-id"));
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(b["error"]["innerError"]["client-request-id"], "abc-123");
    assert!(b["error"]["innerError"]["date"].is_string());
    assert!(b["error"]["innerError"]["request-id"].is_string());

    let sub = e.tenant(0).subscription_id.clone();
    let r =
        e.http.get(e.url(&format!("/subscriptions/{sub}/resourcegroups?api-version=2021-04-01"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_audience_is_401() {
    let e = env().await;
    let graph = e.token(0, GRAPH).await;
    let mde = e.token(0, MDE).await;
    let r = e.get(&graph, "/api/machines").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "Unauthorized");
    let r = e.get(&mde, "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    let sub = e.tenant(0).subscription_id.clone();
    let r = e.get(&mde, &format!("/subscriptions/{sub}?api-version=2022-12-01")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");
}

#[tokio::test]
async fn expired_token_is_401_after_clock_advance() {
    let e = env().await;
    let mde = e.token(0, MDE).await;
    let graph = e.token(0, GRAPH).await;
    assert_eq!(e.get(&mde, "/api/machines?$top=1").await.status, StatusCode::OK);
    e.advance(5401).await;
    let r = e.get(&mde, "/api/machines?$top=1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
    let r = e.get(&graph, "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // a fresh token works again
    let fresh = e.token(0, MDE).await;
    assert_eq!(e.get(&fresh, "/api/machines?$top=1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn tampered_or_foreign_tokens_are_401() {
    let e = env().await;
    let tok = e.token(0, MDE).await;
    let mut parts: Vec<String> = tok.split('.').map(str::to_owned).collect();
    // swap the payload for another tenant's, keeping the signature
    let other = e.token(1, MDE).await;
    parts[1] = other.split('.').nth(1).unwrap().to_string();
    let forged = parts.join(".");
    assert_eq!(e.get(&forged, "/api/machines").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(e.get("not-a-jwt", "/api/machines").await.status, StatusCode::UNAUTHORIZED);
    // a token from another sandbox instance (other signing key)
    let e2 = env().await;
    let foreign = e2.token(0, MDE).await;
    assert_eq!(e.get(&foreign, "/api/machines").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_tenant_selects_the_world() {
    let e = env().await;
    let a = e.token(0, MDE).await;
    let b = e.token(1, MDE).await;
    let ma = e.machines(&a).await;
    let mb = e.machines(&b).await;
    assert!(ma[0]["computerDnsName"].as_str().unwrap().ends_with(".contoso-1.local"));
    assert!(mb[0]["computerDnsName"].as_str().unwrap().ends_with(".contoso-2.local"));
    let id_a = ma[0]["id"].as_str().unwrap();
    let r = e.get(&b, &format!("/api/machines/{id_a}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = e.post(&b, &format!("/api/machines/{id_a}/isolate"), serde_json::json!({"Comment": "x"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
