//! Callers authenticated by Entra ID (issue 15 §4): the sandbox's login issues a user token for
//! Riposte's audience, Riposte checks it against the tenant's JWKS, and the analyst's name, not
//! a shared key, is what the audit and Defender's machine-action comment show.

use crate::common::*;
use gateway::oidc::{EntraConfig, RoleGrant};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ALICE: &str = "alice@contoso.com";

/// A harness whose gateway accepts Entra tokens of tenant 0 of its sandbox as `riposte up` does
/// (`Riposte.Reader`/`Responder`/`Admin` on every tenant). An unknown `kid` refetches the keys at
/// once (the throttle is held by the unit tests).
async fn harness() -> Harness {
    Harness::start_with(1, |s| {
        let tenant = s.tenants[0].tenant_id.clone();
        let login = s.clouds.login.as_str().trim_end_matches('/').to_string();
        let grant = |role: &str| RoleGrant { role: role.into(), tenants: vec!["*".into()] };
        // What `app::sandbox_entra` gives `riposte up`, with the refetch throttle off.
        s.entra = Some(EntraConfig {
            issuer: Some(format!("{login}/{tenant}/v2.0")),
            tenant,
            audience: "api://riposte".into(),
            client_id: None,
            roles: BTreeMap::from([
                ("Riposte.Responder".to_string(), grant("responder")),
                ("Riposte.Reader".to_string(), grant("reader")),
            ]),
            leeway_seconds: Some(30),
            refetch_min_seconds: Some(0),
            refresh_seconds: None,
        });
    })
    .await
}

/// A token from the sandbox's login for `body` (`username`, `roles`, ...).
async fn user_token(h: &Harness, body: Value) -> String {
    let t = h.tenant(0);
    let resp = h.sandbox_admin(&format!("users/{t}/token"), body).await;
    resp["access_token"].as_str().expect("an access token").to_string()
}

async fn alice_token(h: &Harness) -> String {
    user_token(h, json!({ "username": ALICE, "roles": ["Riposte.Responder"] })).await
}

/// GET a gateway path with a bearer token: (status, WWW-Authenticate, body).
async fn get_as(h: &Harness, token: &str, path: &str) -> (u16, String, Value) {
    let resp = h.http.get(format!("{}{path}", h.gateway)).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    let www = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, www, resp.json().await.unwrap_or(Value::Null))
}

async fn jwks_served(h: &Harness) -> u64 {
    let keys: Value =
        h.http.get(format!("{}/_sandbox/keys", h.sandbox.base_url())).send().await.unwrap().json().await.unwrap();
    keys["jwksServed"].as_u64().expect("the sandbox counts JWKS fetches")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entra_analyst_isolates_a_device_and_is_named_in_the_audit_and_in_mde() {
    let h = harness().await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let token = alice_token(&h).await;

    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/MDE/IsolateDevice", h.gateway))
        .bearer_auth(&token)
        .json(&json!({ "deviceIds": [m], "comment": "beaconing", "isolationType": "Full" }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let out: Value = resp.json().await.unwrap();
    assert!(status == 200 || status == 202, "{status} {out}");
    let op_id = out["operation_id"].as_str().expect("an operation").to_string();
    let op = h.wait_operation(&op_id).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(jwks_served(&h).await, 1, "the keys were fetched once, on the first token");

    // The audit names alice, not a key.
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=IsolateDevice")).await;
    let ours: Vec<&Value> =
        audit["records"].as_array().unwrap().iter().filter(|r| r["operation_id"] == op_id.as_str()).collect();
    assert!(ours.len() >= 2, "attempt and outcome at least: {audit}");
    assert!(ours.iter().all(|r| r["principal"] == ALICE), "{ours:?}");

    // So does Defender: the machine action's comment says who acted.
    let actions = h.machine_actions(&t).await;
    let action = actions
        .iter()
        .find(|a| a["requestorComment"].as_str().is_some_and(|c| c.contains(&format!("[riposte:{op_id}]"))))
        .expect("the isolation in the sandbox");
    assert_eq!(action["type"], "Isolate");
    assert_eq!(action["machineId"], m.as_str());
    let comment = action["requestorComment"].as_str().unwrap();
    assert!(comment.starts_with("beaconing (by alice@contoso.com via Riposte)"), "{comment}");
    let machine = h.state(&t).await["machines"].as_array().unwrap().iter().find(|x| x["id"] == m.as_str()).cloned();
    assert_eq!(machine.unwrap()["isolated"], true);

    // The same caller as the console sees it.
    let (status, _, me) = get_as(&h, &token, "/v1/me").await;
    assert_eq!((status, me["name"].as_str(), me["role"].as_str()), (200, Some(ALICE), Some("responder")), "{me}");
    // API keys keep working, also as a bearer.
    let (status, _, me) = get_as(&h, &h.admin_key, "/v1/me").await;
    assert_eq!((status, me["name"].as_str()), (200, Some("admin")), "{me}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_are_401_with_a_challenge_and_unmapped_roles_are_403() {
    let h = harness().await;
    let challenged = |www: &str| www.starts_with("Bearer error=\"invalid_token\"");

    let wrong_audience =
        user_token(&h, json!({ "username": ALICE, "roles": ["Riposte.Responder"], "audience": "api://other" })).await;
    let (status, www, body) = get_as(&h, &wrong_audience, "/v1/me").await;
    assert_eq!(status, 401, "{body}");
    assert!(challenged(&www), "{www}");
    assert!(body["error"]["message"].as_str().unwrap().contains("audience 'api://other'"), "{body}");
    assert!(!body.to_string().contains(&wrong_audience) && !www.contains(&wrong_audience), "the token is never echoed");

    let expired =
        user_token(&h, json!({ "username": ALICE, "roles": ["Riposte.Responder"], "expiresInSeconds": -600 })).await;
    let (status, www, body) = get_as(&h, &expired, "/v1/me").await;
    assert_eq!(status, 401, "{body}");
    assert!(challenged(&www) && www.contains("expired"), "{www}");

    // A valid token with one character of its signature changed.
    let good = alice_token(&h).await;
    let (head, sig) = good.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{flipped}{}", &sig[1..]);
    let (status, www, body) = get_as(&h, &forged, "/v1/me").await;
    assert_eq!(status, 401, "{body}");
    assert!(challenged(&www) && body["error"]["message"].as_str().unwrap().contains("signature"), "{www} {body}");

    // Signed by the sandbox but for an analyst without a Riposte role: 403 naming what to assign.
    let unmapped = user_token(&h, json!({ "username": "mallory@contoso.com", "roles": ["Some.Other.Role"] })).await;
    let (status, www, body) = get_as(&h, &unmapped, "/v1/me").await;
    assert_eq!(status, 403, "{body}");
    assert!(www.is_empty(), "a 403 is no challenge: {www}");
    let hint = body["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("mallory@contoso.com") && hint.contains("Riposte.Responder"), "{body}");

    // A reader may read but not isolate: the engine's role check applies to Entra callers too.
    let reader = user_token(&h, json!({ "username": "rita@contoso.com", "roles": ["Riposte.Reader"] })).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/MDE/IsolateDevice", h.gateway))
        .bearer_auth(&reader)
        .json(&json!({ "deviceIds": [m], "comment": "no", "isolationType": "Full" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(h.count_actions(&t, "Isolate", &m).await, 0, "nothing reached MDE");

    // The refusals are audited under who tried: the analyst when the token is valid, never the
    // claims of a refused token, and never a token.
    let records = h.engine.store().query_audit(store::AuditFilter::default()).await.unwrap();
    let refused: Vec<_> = records.iter().filter(|r| r.kind.as_str() == "refused").collect();
    let by = |who: &str| refused.iter().filter(|r| r.principal == who).count();
    assert_eq!(by("mallory@contoso.com"), 1, "{refused:?}");
    let reader_refusal = refused.iter().find(|r| r.principal == "rita@contoso.com").expect("rita's 403 is audited");
    assert_eq!(reader_refusal.action.as_deref(), Some("IsolateDevice"));
    assert_eq!(by("entra:invalid-token"), 3, "wrong audience, expired, forged: {refused:?}");
    assert_eq!(by(ALICE), 0, "alice's refused tokens do not name her");
    let all = serde_json::to_string(&records).unwrap();
    for token in [&wrong_audience, &expired, &forged, &unmapped, &reader] {
        assert!(!all.contains(token.as_str()), "tokens never reach the audit");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_sandbox_rotates_its_key_riposte_refetches_the_keys_and_fresh_tokens_work() {
    let h = harness().await;
    let before = alice_token(&h).await;
    let (status, _, me) = get_as(&h, &before, "/v1/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(jwks_served(&h).await, 1);

    let rotated = h.sandbox_admin("keys/rotate", json!({})).await;
    let new_kid = rotated["current"].as_str().unwrap().to_string();
    let after = alice_token(&h).await;
    assert_ne!(header_kid(&before), header_kid(&after));
    assert_eq!(header_kid(&after), new_kid);

    let (status, www, me) = get_as(&h, &after, "/v1/me").await;
    assert_eq!((status, me["name"].as_str()), (200, Some(ALICE)), "{www} {me}");
    assert_eq!(jwks_served(&h).await, 2, "the unknown kid made Riposte refetch the keys once");
    // The token signed before the rotation is still valid (its key is still published), and
    // known keys need no fetch.
    let (status, _, _) = get_as(&h, &before, "/v1/me").await;
    assert_eq!(status, 200);
    let (status, _, _) = get_as(&h, &after, "/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(jwks_served(&h).await, 2);

    // Prometheus says the same.
    let metrics = h
        .http
        .get(format!("{}/metrics", h.gateway))
        .header("x-api-key", &h.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("riposte_entra_key_fetches_total 2"), "{metrics}");
    assert!(metrics.contains("riposte_entra_tokens_total{outcome=\"accepted\"} 4"), "{metrics}");
}

/// Entra's documented password grant (ROPC) for a registered analyst: the token it issues is
/// accepted like any other; a wrong password is Entra's `invalid_grant` AADSTS50126.
#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_signs_in_with_the_password_grant() {
    let h = harness().await;
    let t = h.tenant(0);
    let registered = h
        .sandbox_admin(
            &format!("users/{t}"),
            json!({ "username": "bob@contoso.com", "password": "correct horse", "roles": ["Riposte.Responder"] }),
        )
        .await;
    assert_eq!(registered["audience"], "api://riposte");
    // Home realm discovery, which MSAL asks before the password grant.
    for (user, kind) in [("bob@contoso.com", "Managed"), ("nobody@contoso.com", "Unknown")] {
        let url = format!("{}/common/userrealm/{user}?api-version=1.0", h.sandbox.base_url());
        let realm: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(realm["account_type"], kind, "{user}: {realm}");
    }
    let token_url = format!("{}/{t}/oauth2/v2.0/token", h.sandbox.base_url());
    let form = |password: &str| {
        vec![
            ("grant_type", "password".to_string()),
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46".to_string()),
            ("username", "bob@contoso.com".to_string()),
            ("password", password.to_string()),
            ("scope", "api://riposte/.default openid profile offline_access".to_string()),
        ]
    };
    let resp = h.http.post(&token_url).form(&form("correct horse")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let issued: Value = resp.json().await.unwrap();
    assert_eq!(issued["scope"], "api://riposte/.default");
    let token = issued["access_token"].as_str().unwrap();
    let (status, _, me) = get_as(&h, token, "/v1/me").await;
    assert_eq!((status, me["name"].as_str(), me["role"].as_str()), (200, Some("bob@contoso.com"), Some("responder")));

    let resp = h.http.post(&token_url).form(&form("wrong")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let refused: Value = resp.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant");
    assert!(refused["error_codes"].to_string().contains("50126"), "{refused}");
}

/// The `kid` of a token's header.
fn header_kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_string()
}
