//! Graph authentication methods and the asynchronous resetPassword (202 + `Location`, then the
//! longRunningOperation on the sandbox clock).

use crate::common::*;
use reqwest::StatusCode;
use sandbox::SandboxConfig;
use serde_json::{Value, json};

const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

/// A realistic-timing sandbox (reset: notStarted 1 s, succeeded at 5 s) whose Graph accepts the
/// sandbox's app tokens on resetPassword; the Graph token.
async fn reset_env() -> (Env, String) {
    let e = env().await;
    allow_app_reset(&e).await;
    let tok = e.token(0, GRAPH).await;
    (e, tok)
}

async fn allow_app_reset(e: &Env) {
    let r = e.admin_post("/_sandbox/settings", json!({"graph_app_password_reset": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn first_user(e: &Env, tok: &str) -> Value {
    let r = e.get(tok, "/v1.0/users?$top=1").await;
    r.body["value"][0].clone()
}

fn reset_path(user: &str) -> String {
    format!("/v1.0/users/{user}/authentication/methods/{PASSWORD_METHOD}/resetPassword")
}

fn state_user(state: &Value, id: &str) -> Value {
    state["users"].as_array().unwrap().iter().find(|u| u["id"] == id).cloned().expect("the user in the state view")
}

#[tokio::test]
async fn the_password_method_is_listed_by_id_and_upn() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let u = first_user(&e, &tok).await;
    let id = u["id"].as_str().unwrap();
    let upn = u["userPrincipalName"].as_str().unwrap();

    let r = e.get(&tok, &format!("/v1.0/users/{upn}/authentication/passwordMethods")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let v = r.body["value"].as_array().unwrap();
    assert_eq!(v.len(), 1, "exactly one password method");
    assert_eq!(v[0]["id"], PASSWORD_METHOD);
    assert_eq!(v[0]["password"], Value::Null);
    assert!(v[0].get("@odata.type").is_none(), "a typed collection");

    let r = e.get(&tok, &format!("/beta/users/{id}/authentication/methods")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let m = &r.body["value"][0];
    assert_eq!(m["@odata.type"], "#microsoft.graph.passwordAuthenticationMethod");
    assert_eq!(m["id"], PASSWORD_METHOD);

    let r = e.get(&tok, &format!("/v1.0/users/{id}/authentication/passwordMethods/{PASSWORD_METHOD}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], PASSWORD_METHOD);
    let r = e.get(&tok, &format!("/v1.0/users/{id}/authentication/methods/not-a-method")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "itemNotFound"));
    let r = e.get(&tok, "/v1.0/users/nobody@contoso-1.onmicrosoft.com/authentication/methods").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "Request_ResourceNotFound"));

    // The lists need UserAuthenticationMethod.Read.All / .ReadWrite.All (application permissions).
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"graph": ["User.Read.All"]})).await;
    let weak = e.token(0, GRAPH).await;
    let r = e.get(&weak, &format!("/v1.0/users/{id}/authentication/methods")).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "Authorization_RequestDenied"));
}

#[tokio::test]
async fn app_only_tokens_are_refused_as_graph_refuses_them() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let id = first_user(&e, &tok).await["id"].as_str().unwrap().to_string();
    let r = e.post(&tok, &reset_path(&id), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "accessDenied"), "{:?}", r.body);
    let r = e.get(&tok, &format!("/v1.0/users/{id}/authentication/operations/{}", uuid::Uuid::new_v4())).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "accessDenied"));
    assert!(e.state(0).await["passwordResets"].as_array().unwrap().is_empty());

    // With app tokens allowed, the app role stands in for the delegated scope.
    allow_app_reset(&e).await;
    let t = e.tenant(0).tenant_id.clone();
    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"graph": ["User.ReadWrite.All"]})).await;
    let weak = e.token(0, GRAPH).await;
    let r = e.post(&weak, &reset_path(&id), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "Authorization_RequestDenied"));
}

#[tokio::test]
async fn generated_password_reset_runs_its_lifecycle_and_changes_the_password() {
    let (e, tok) = reset_env().await;
    let u = first_user(&e, &tok).await;
    let id = u["id"].as_str().unwrap();
    let upn = u["userPrincipalName"].as_str().unwrap();
    let before = state_user(&e.state(0).await, id);
    assert_eq!(before["passwordChangedAt"], Value::Null);

    // Addressed by UPN; no body: the service generates the password and returns it once.
    let r = e.post_raw(&tok, &reset_path(upn), "").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let generated = r.body["newPassword"].as_str().expect("a generated password").to_string();
    assert!(generated.len() >= 8);
    assert_eq!(r.body["@odata.context"], e.url("/v1.0/$metadata#microsoft.graph.passwordResetResponse").as_str());
    assert_eq!(r.headers["retry-after"], "2");
    let location = r.headers["location"].to_str().unwrap().to_string();
    let prefix = e.url(&format!("/v1.0/users/{id}/authentication/operations/"));
    assert!(location.starts_with(&prefix), "{location}");
    let op_id = location[prefix.len()..].split('?').next().unwrap().to_string();
    assert!(is_guid(&op_id));

    let r = e.get(&tok, &location).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], op_id.as_str());
    assert_eq!(r.body["status"], "notStarted");
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.longRunningOperation");
    assert_eq!(
        r.body["resourceLocation"],
        e.url(&format!("/v1.0/users/{id}/authentication/passwordMethods/{PASSWORD_METHOD}")).as_str()
    );
    assert!(r.body["createdDateTime"].is_string() && r.body["lastActionDateTime"].is_string());
    assert_eq!(r.headers["retry-after"], "2");

    e.advance(2).await;
    let r = e.get(&tok, &location).await;
    assert_eq!(r.body["status"], "running");
    assert_eq!(state_user(&e.state(0).await, id)["passwordChangedAt"], Value::Null, "not before it succeeds");

    e.advance(4).await;
    let r = e.get(&tok, &location).await;
    assert_eq!(r.body["status"], "succeeded", "{:?}", r.body);
    assert_eq!(r.body["statusDetail"], Value::Null);
    assert!(r.headers.get("retry-after").is_none(), "no Retry-After once terminal");

    let state = e.state(0).await;
    let changed = state_user(&state, id)["passwordChangedAt"].clone();
    assert_eq!(changed, r.body["lastActionDateTime"], "changed when the operation succeeded");
    assert_eq!(state["passwordResets"][0]["status"], "succeeded");
    assert_eq!(state["passwordResets"][0]["userId"], id);
    assert!(!state.to_string().contains(&generated), "the password is never kept");
    // Graph shows the change too.
    let r = e.get(&tok, &format!("/v1.0/users/{id}?$select=lastPasswordChangeDateTime")).await;
    assert_eq!(r.body["lastPasswordChangeDateTime"], changed);
    let r = e.get(&tok, &format!("/v1.0/users/{id}/authentication/passwordMethods")).await;
    assert_eq!(r.body["value"][0]["createdDateTime"], changed);
}

#[tokio::test]
async fn supplied_passwords_paths_and_bad_input() {
    let (e, tok) = reset_env().await;
    let id = first_user(&e, &tok).await["id"].as_str().unwrap().to_string();

    let r = e.post(&tok, &reset_path(&id), json!({"newPassword": "Cuyo5459"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body, json!({}), "a supplied password is not echoed");
    assert!(r.headers.contains_key("location"));
    assert!(!e.state(0).await.to_string().contains("Cuyo5459"));

    // beta, the passwordMethods spelling, and any case.
    let r = e
        .post(
            &tok,
            &format!("/beta/users/{id}/authentication/passwordMethods/{PASSWORD_METHOD}/resetPassword"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert!(r.headers["location"].to_str().unwrap().contains("/beta/users/"));
    let r = e
        .post(&tok, &format!("/v1.0/Users/{id}/Authentication/Methods/{PASSWORD_METHOD}/RESETPASSWORD"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);

    for (body, code) in [
        (json!({"newPassword": "short"}), "invalidRequest"),
        (json!({"newPassword": "alllowercaseletters"}), "invalidRequest"),
        (json!({"newPassword": 12345678}), "invalidRequest"),
        (json!({"password": "Cuyo5459"}), "invalidRequest"),
    ] {
        let r = e.post(&tok, &reset_path(&id), body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    let r = e.post_raw(&tok, &reset_path(&id), "[1,2]").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.post(&tok, &format!("/v1.0/users/{id}/authentication/methods/other/resetPassword"), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "itemNotFound"));
    let r = e.post(&tok, &reset_path("nobody@contoso-1.onmicrosoft.com"), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "Request_ResourceNotFound"));
    assert_eq!(e.state(0).await["passwordResets"].as_array().unwrap().len(), 3, "refused calls create nothing");
}

#[tokio::test]
async fn an_injected_failure_ends_failed_and_changes_nothing() {
    let (e, tok) = reset_env().await;
    let t = e.tenant(0).tenant_id.clone();
    let users = e.get(&tok, "/v1.0/users?$top=2").await.body["value"].clone();
    let (a, b) = (users[0]["id"].as_str().unwrap(), users[1]["id"].as_str().unwrap());

    let r = e
        .admin_post(
            &format!("/_sandbox/graph/{t}/operations/outcomes"),
            json!({"status": "failed", "statusDetail": "Password is in the banned list."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let failing = e.post(&tok, &reset_path(a), json!({})).await;
    let fine = e.post(&tok, &reset_path(a), json!({})).await;
    let (failing, fine) = (
        failing.headers["location"].to_str().unwrap().to_string(),
        fine.headers["location"].to_str().unwrap().to_string(),
    );
    e.advance(6).await;
    let r = e.get(&tok, &failing).await;
    assert_eq!(r.body["status"], "failed", "{:?}", r.body);
    assert_eq!(r.body["statusDetail"], "Password is in the banned list.");
    assert_eq!(e.get(&tok, &fine).await.body["status"], "succeeded", "one failure was queued");

    // A failed reset alone leaves the password as it was.
    e.admin_post(&format!("/_sandbox/graph/{t}/operations/outcomes"), json!({"status": "failed"})).await;
    let r = e.post(&tok, &reset_path(b), json!({})).await;
    let loc = r.headers["location"].to_str().unwrap().to_string();
    e.advance(6).await;
    let r = e.get(&tok, &loc).await;
    assert_eq!(r.body["status"], "failed");
    assert!(r.body["statusDetail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(state_user(&e.state(0).await, b)["passwordChangedAt"], Value::Null);

    // An operation is found only under its own user.
    let op = loc.split("/operations/").nth(1).unwrap().split('?').next().unwrap();
    let r = e.get(&tok, &format!("/v1.0/users/{a}/authentication/operations/{op}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "itemNotFound"));

    let r = e.admin_post(&format!("/_sandbox/graph/{t}/operations/outcomes"), json!({"status": "succeeded"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.admin_post("/_sandbox/graph/no-such-tenant/operations/outcomes", json!({"status": "failed"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn by_default_a_reset_succeeds_within_seconds() {
    let e = env_with(SandboxConfig::new(7, 1)).await;
    allow_app_reset(&e).await;
    let tok = e.token(0, GRAPH).await;
    let id = first_user(&e, &tok).await["id"].as_str().unwrap().to_string();
    let r = e.post(&tok, &reset_path(&id), json!({})).await;
    assert_eq!(r.headers["retry-after"], "1");
    let loc = r.headers["location"].to_str().unwrap().to_string();
    let started = std::time::Instant::now();
    loop {
        let r = e.get(&tok, &loc).await;
        if r.body["status"] == "succeeded" {
            break;
        }
        assert!(started.elapsed().as_secs() < 5, "still {:?}", r.body["status"]);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(state_user(&e.state(0).await, &id)["passwordChangedAt"].is_string());
}
