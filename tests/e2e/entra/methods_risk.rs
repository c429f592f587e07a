//! Passwords, authentication methods, the Temporary Access Pass and Identity Protection.

use super::*;

const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";
const PHONE_METHOD: &str = "3179e48a-750b-4051-897c-87b9720928f7";

fn methods_of(state: &Value, user: &str) -> Vec<Value> {
    directory(state, "authenticationMethods").into_iter().filter(|m| m["userId"] == user).collect()
}

fn secret_in(body: &Value, field: &str) -> Option<String> {
    ["/result", "/data", ""]
        .iter()
        .find_map(|p| body.pointer(&format!("{p}/{field}")).and_then(Value::as_str).map(String::from))
}

/// ResetPassword: a generated password is answered once to the caller who asked, and never
/// kept in the operation or the audit; the user must change it at next sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn reset_password_reveals_the_generated_password_once_and_never_records_it() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let u = nth_user(&state, 0);

    let (status, body) = native(&h, &t, "ResetPassword", json!({ "userId": u["userPrincipalName"] }), true).await;
    assert_eq!(status, 200, "{body}");
    let password = secret_in(&body, "newPassword").unwrap_or_else(|| panic!("revealed: {body}"));
    assert!(password.len() >= 16 && password != "[redacted]", "{body}");
    assert!(!records(&h, &t, "ResetPassword", &body).await.contains(&password), "no record holds the password");
    let after = h.state(&t).await;
    assert!(user(&after, u["userPrincipalName"].as_str().unwrap())["passwordChangedAt"].is_string());
    assert!(directory(&after, "forceChangePasswordNextSignIn").contains(&u["id"]), "must change at next sign-in");

    // Without the preference the answer is redacted too.
    let (status, body) = native(&h, &t, "ResetPassword", json!({ "userId": u["id"] }), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(secret_in(&body, "newPassword").as_deref(), Some("[redacted]"), "{body}");

    // A password Graph refuses is a 4xx that never echoes it.
    let (status, body) = h.entra(&t, "ResetPassword", json!({ "userId": u["id"], "newPassword": "Sh0rt!" })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(!body.to_string().contains("Sh0rt!"), "{body}");

    // ForcePasswordReset on another user only sets the flag.
    let v = nth_user(&state, 1);
    let (status, body) = h.entra(&t, "ForcePasswordReset", json!({ "userId": v["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    let after = h.state(&t).await;
    assert!(directory(&after, "forceChangePasswordNextSignIn").contains(&v["id"]));
    assert!(user(&after, v["userPrincipalName"].as_str().unwrap())["passwordChangedAt"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn mfa_methods_are_listed_and_deleted_through_their_typed_collections_and_a_tap_is_shown_once() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let u = nth_user(&state, 0);
    let uid = id(&u);

    let (status, body) = h.entra(&t, "GetUserAuthenticationMethods", json!({ "userId": u["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["data"]["value"].as_array().unwrap();
    assert!(
        listed.iter().any(|m| m["id"] == PASSWORD_METHOD) && listed.iter().any(|m| m["id"] == PHONE_METHOD),
        "{body}"
    );

    let (status, body) = h
        .entra(&t, "DeleteAuthenticationMethod", json!({ "userId": uid, "authenticationMethodId": PHONE_METHOD }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!methods_of(&h.state(&t).await, &uid).iter().any(|m| m["id"] == PHONE_METHOD), "phone method gone");

    // Bad input: an unknown method id, and the password method, are 400s naming the field.
    for bad in ["00000000-0000-0000-0000-000000000001", PASSWORD_METHOD] {
        let (status, body) =
            h.entra(&t, "DeleteAuthenticationMethod", json!({ "userId": uid, "authenticationMethodId": bad })).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("authenticationMethodId"), "{body}");
    }

    // ResetMFARegistration (the seed's alias) deletes every method but the password.
    let v = nth_user(&state, 3);
    let vid = id(&v);
    assert!(methods_of(&state, &vid).len() >= 2);
    let (status, body) = h.entra(&t, "ResetMFARegistration", json!({ "userId": v["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    assert!(methods_of(&h.state(&t).await, &vid).is_empty(), "every MFA method deleted");

    // A Temporary Access Pass: shown once, stored without its pass, in no record.
    let (status, body) =
        native(&h, &t, "CreateTemporaryAccessPass", json!({ "userId": vid, "lifetimeInMinutes": 120 }), true).await;
    assert_eq!(status, 200, "{body}");
    let pass = secret_in(&body, "temporaryAccessPass").unwrap_or_else(|| panic!("revealed: {body}"));
    assert_ne!(pass, "[redacted]");
    assert!(!records(&h, &t, "CreateTemporaryAccessPass", &body).await.contains(&pass));
    let after = h.state(&t).await;
    let tap: Vec<Value> =
        methods_of(&after, &vid).into_iter().filter(|m| m["set"] == "temporaryAccessPassMethods").collect();
    assert_eq!(tap.len(), 1, "{after}");
    assert_eq!(tap[0]["lifetimeInMinutes"], 120);
    assert!(tap[0]["temporaryAccessPass"].is_null() && !after.to_string().contains(&pass), "the sandbox keeps no pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn risky_users_are_confirmed_compromised_then_dismissed_and_a_missing_role_is_graphs_403() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let u = nth_user(&state, 2);
    let uid = id(&u);
    let risky = |s: &Value| directory(s, "riskyUsers").into_iter().find(|r| r["id"] == uid.as_str());

    // Orchestrator shape, by UPN: Graph needs the object id, which resolution supplies.
    let (status, body) = h
        .seed("Gateway", json!({ "service": "EntraID", "action": "ConfirmUserCompromised", "tenantId": t, "userId": u["userPrincipalName"] }))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = risky(&h.state(&t).await).expect("a risky user now");
    assert_eq!((r["riskState"].as_str(), r["riskLevel"].as_str()), (Some("confirmedCompromised"), Some("high")));

    let (status, body) = h.entra(&t, "GetRiskyUsers", json!({ "userId": uid })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"].as_array().map(Vec::len), Some(1), "{body}");

    let (status, body) = h.entra(&t, "DismissRiskyUser", json!({ "userId": uid })).await;
    assert_eq!(status, 200, "{body}");
    let r = risky(&h.state(&t).await).unwrap();
    assert_eq!((r["riskState"].as_str(), r["riskLevel"].as_str()), (Some("dismissed"), Some("none")));

    let detections_of = directory(&state, "riskDetections")[0]["userId"].clone();
    let (status, body) = h.entra(&t, "GetRiskDetections", json!({ "userId": detections_of })).await;
    assert_eq!(status, 200, "{body}");
    let value = body["data"]["value"].as_array().unwrap();
    assert!(!value.is_empty() && value.iter().all(|d| d["userId"] == detections_of), "{body}");
}

/// Permissions are checked per application role: without IdentityRiskyUser.ReadWrite.All (set
/// before the first token, which carries the roles), Graph's 403 Authorization_RequestDenied.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_without_the_risky_user_role_gets_graphs_403() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let uid = id(&nth_user(&h.state(&t).await, 2));
    let roles = h.sandbox_admin(&format!("roles/{t}"), json!({})).await;
    let fewer: Vec<Value> = roles["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| *r != "IdentityRiskyUser.ReadWrite.All")
        .cloned()
        .collect();
    h.sandbox_admin(&format!("roles/{t}"), json!({ "graph": fewer })).await;
    let (status, body) = h.entra(&t, "ConfirmCompromised", json!({ "userId": uid })).await;
    assert!(status >= 400, "{status} {body}");
    assert!(body.to_string().contains("Authorization_RequestDenied"), "{body}");
    assert!(directory(&h.state(&t).await, "riskyUsers").iter().all(|r| r["id"] != uid.as_str()), "nothing changed");
}

/// Identity Protection throttles without `Retry-After` (upstream-apis.md §4.2): Riposte backs
/// off on its own and the action still lands.
#[tokio::test(flavor = "multi_thread")]
async fn identity_protection_429_without_retry_after_is_retried_with_backoff() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let uid = id(&nth_user(&h.state(&t).await, 7));
    h.sandbox_admin(
        "faults",
        json!({ "path_prefix": "/v1.0/identityProtection/riskyUsers/confirmCompromised", "status": 429, "count": 2 }),
    )
    .await;
    let (status, body) = h.entra(&t, "ConfirmCompromised", json!({ "userId": uid })).await;
    assert_eq!(status, 200, "{body}");
    let r = directory(&h.state(&t).await, "riskyUsers").into_iter().find(|r| r["id"] == uid.as_str()).unwrap();
    assert_eq!(r["riskState"], "confirmedCompromised");
}
