//! Graph JSON batching: sub-requests go through the real routes (auth, faults), dependsOn
//! order and 424s, and the documented limits.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn by_id<'a>(r: &'a Resp, id: &str) -> &'a Value {
    r.body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {}", r.body))
}

#[tokio::test]
async fn batch_runs_requests_with_dependencies_and_effects() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let users = e.get(&tok, "/v1.0/users?$top=2").await;
    let uid = users.body["value"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"requests": [
        {"id": "3", "method": "POST", "url": format!("/users/{uid}/revokeSignInSessions"), "dependsOn": ["2"]},
        {"id": "1", "method": "GET", "url": "/users?$top=3"},
        {"id": "2", "method": "PATCH", "url": format!("/users/{uid}"), "headers": {"Content-Type": "application/json"},
         "body": {"accountEnabled": false}, "dependsOn": ["1"]},
        {"id": "4", "method": "GET", "url": "/users/nobody@example.invalid"},
        {"id": "5", "method": "GET", "url": "/users", "dependsOn": ["4"]}
    ]});
    let r = e.post(&tok, "/v1.0/$batch", body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["responses"].as_array().unwrap().len(), 5);
    let list = by_id(&r, "1");
    assert_eq!(list["status"], 200);
    assert_eq!(list["body"]["value"].as_array().unwrap().len(), 3);
    assert!(list["headers"]["Content-Type"].as_str().unwrap().contains("json"));
    assert_eq!(by_id(&r, "2")["status"], 204);
    assert_eq!(by_id(&r, "3")["status"], 200);
    assert_eq!(by_id(&r, "4")["status"], 404);
    assert_eq!(by_id(&r, "4")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(by_id(&r, "5")["status"], 424);
    let state = e.state(0).await;
    let u = state["users"].as_array().unwrap().iter().find(|u| u["id"] == uid.as_str()).unwrap();
    assert_eq!(u["accountEnabled"], false);
    assert!(u["sessionsRevokedAt"].is_string());
    // beta batches address beta.
    let r = e
        .post(&tok, "/beta/$batch", json!({"requests": [{"id": "a", "method": "GET", "url": format!("/users/{uid}")}]}))
        .await;
    assert_eq!(by_id(&r, "a")["body"]["accountEnabled"], false, "beta returns every property");
}

#[tokio::test]
async fn batch_limits_and_malformed_batches() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let many: Vec<Value> = (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"})).collect();
    let r = e.post(&tok, "/v1.0/$batch", json!({"requests": many})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
    let dup = json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]});
    assert_eq!(e.post(&tok, "/v1.0/$batch", dup).await.status, StatusCode::BAD_REQUEST);
    let no_ct = json!({"requests": [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"a": 1}}]});
    assert_eq!(e.post(&tok, "/v1.0/$batch", no_ct).await.status, StatusCode::BAD_REQUEST);
    let unknown_dep = json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]});
    assert_eq!(e.post(&tok, "/v1.0/$batch", unknown_dep).await.status, StatusCode::BAD_REQUEST);
    let r = e.post("not-a-token", "/v1.0/$batch", json!({"requests": []})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn inner_requests_meet_faults_and_roles() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let r = e
        .admin_post(
            "/_sandbox/faults",
            json!({"path_prefix": "/v1.0/users/", "status": 429, "retry_after": 7, "count": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users/whoever"},
        {"id": "2", "method": "GET", "url": "/security/alerts_v2?$top=1"}
    ]});
    let r = e.post(&tok, "/v1.0/$batch", body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(by_id(&r, "1")["status"], 429);
    assert_eq!(by_id(&r, "1")["headers"]["Retry-After"], "7");
    assert_eq!(by_id(&r, "2")["status"], 200);
}
