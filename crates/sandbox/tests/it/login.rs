use crate::common::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn issues_bearer_token_per_audience_with_roles() {
    let e = env().await;
    let t = e.tenant(0).clone();
    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", MDE),
                // MSAL / kiota extras must be ignored
                ("client_info", "1"),
                ("claims", r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    let exp = r.body["expires_in"].as_i64().unwrap();
    assert!((3600..=5400).contains(&exp), "{exp}");
    assert_eq!(r.body["ext_expires_in"].as_i64(), Some(exp));
    let claims = jwt_claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(claims["tid"], t.tenant_id.as_str());
    assert_eq!(claims["appid"], t.client_id.as_str());
    assert_eq!(claims["aud"], "https://api.securitycenter.microsoft.com");
    assert!(claims["roles"].as_array().unwrap().iter().any(|r| r == "Machine.Isolate"));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), exp);

    for (scope, aud) in [
        (GRAPH, "https://graph.microsoft.com"),
        (ARM, "https://management.azure.com"),
        ("https://api.security.microsoft.com/.default", "https://api.security.microsoft.com"),
        (
            "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
        ),
    ] {
        let tok = e.token(0, scope).await;
        assert_eq!(jwt_claims(&tok)["aud"], aud);
    }
    let stats = e.admin_get("/_sandbox/stats").await.body;
    let per = &stats["token_requests"][&t.tenant_id];
    assert_eq!(per["mde"], 3);
    assert_eq!(per["graph"], 1);
    assert_eq!(per["arm"], 1);
}

#[tokio::test]
async fn token_lifetimes_are_seeded() {
    let a = env().await;
    let b = env().await;
    let mut la = Vec::new();
    let mut lb = Vec::new();
    for _ in 0..5 {
        let t = a.tenant(0).clone();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", GRAPH),
        ];
        la.push(a.token_request(&t.tenant_id, &form).await.body["expires_in"].as_i64().unwrap());
        let t = b.tenant(0).clone();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", GRAPH),
        ];
        lb.push(b.token_request(&t.tenant_id, &form).await.body["expires_in"].as_i64().unwrap());
    }
    assert_eq!(la, lb);
    assert!(la.iter().any(|x| *x != la[0]), "lifetimes vary: {la:?}");
}

#[tokio::test]
async fn wrong_secret_is_401_invalid_client() {
    let e = env().await;
    let t = e.tenant(0).clone();
    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", "nope"),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "invalid_client");
    assert_eq!(r.body["error_codes"], json!([7000215]));
    assert!(r.body["error_description"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided"));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(r.body[k].is_string(), "{k}");
    }
    // another tenant's secret is wrong too
    let other = e.tenant(1).clone();
    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &other.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_tenant_client_and_bad_scope_are_400() {
    let e = env().await;
    let t = e.tenant(0).clone();
    let r = e
        .token_request(
            "11111111-2222-3333-4444-555555555555",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error_codes"], json!([90002]));

    // tenant 1's app is unknown in tenant 0
    let other = e.tenant(1).clone();
    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &other.client_id),
                ("client_secret", &other.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "unauthorized_client");
    assert_eq!(r.body["error_codes"], json!([700016]));

    for scope in [
        "https://example.com/.default",
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com/.default https://management.azure.com/.default",
    ] {
        let r = e
            .token_request(
                &t.tenant_id,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &t.client_id),
                    ("client_secret", &t.client_secret),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{scope}");
        assert_eq!(r.body["error"], "invalid_scope", "{scope}");
        assert_eq!(r.body["error_codes"], json!([70011]));
        assert!(r.body["error_description"].as_str().unwrap().starts_with("AADSTS70011:"));
    }

    let r = e
        .token_request(
            &t.tenant_id,
            &[("client_id", &t.client_id), ("client_secret", &t.client_secret), ("scope", GRAPH)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error_codes"], json!([900144]));

    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "password"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    // The password grant (ROPC) exists for analysts; without `username` it is Entra's
    // AADSTS900144 naming the missing parameter.
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "invalid_request");
    assert_eq!(r.body["error_codes"], json!([900144]));
    assert!(r.body["error_description"].as_str().unwrap().contains("'username'"), "{}", r.body);

    let r = e
        .token_request(
            &t.tenant_id,
            &[
                ("grant_type", "urn:example:no-such-grant"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "unsupported_grant_type");
    assert_eq!(r.body["error_codes"], json!([70003]));
}

#[tokio::test]
async fn basic_auth_domain_tenant_and_v1_endpoint() {
    let e = env().await;
    let t = e.tenant(0).clone();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", t.client_id, t.client_secret));
    let r = e
        .http
        .post(e.url(&format!("/{}/oauth2/v2.0/token", t.tenant_id.to_uppercase())))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials"), ("scope", GRAPH)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = e
        .token_request(
            "contoso-1.onmicrosoft.com",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &t.client_id),
                ("client_secret", &t.client_secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = e
        .http
        .post(e.url(&format!("/{}/oauth2/token", t.tenant_id)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &t.client_id),
            ("client_secret", &t.client_secret),
            ("resource", "https://api.securitycenter.microsoft.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["expires_in"].is_string());
    assert!(body["expires_on"].is_string());
    let tok = body["access_token"].as_str().unwrap();
    assert_eq!(e.get(tok, "/api/machines?$top=1").await.status, StatusCode::OK);

    let r = e
        .http
        .post(e.url(&format!("/{}/oauth2/token", t.tenant_id)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &t.client_id),
            ("client_secret", &t.client_secret),
            ("resource", "https://nope.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn discovery_documents() {
    let e = env().await;
    let t = e.tenant(0).clone();
    let r = e.admin_get(&format!("/{}/v2.0/.well-known/openid-configuration", t.tenant_id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_endpoint"], e.url(&format!("/{}/oauth2/v2.0/token", t.tenant_id)).as_str());
    assert_eq!(r.body["issuer"], e.url(&format!("/{}/v2.0", t.tenant_id)).as_str());
    assert!(r.body["authorization_endpoint"].is_string());
    let jwks = e.admin_get(r.body["jwks_uri"].as_str().unwrap().trim_start_matches(e.sb.base_url())).await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(jwks.body["keys"][0]["kty"], "EC");
    assert!(jwks.body["keys"][0]["kid"].is_string());
    assert_eq!(e.admin_get("/common/discovery/instance?api-version=1.1").await.status, StatusCode::OK);
    assert_eq!(
        e.admin_get("/not-a-tenant/v2.0/.well-known/openid-configuration").await.status,
        StatusCode::BAD_REQUEST
    );
}
