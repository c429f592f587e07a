//! Graph `applications`: app registrations linked to the service principals by appId, read by
//! object id or the `appId` alternate key, secrets added and removed, certificates removed by
//! PATCH of `keyCredentials`, `removeKey` refused without a proof, and the role checks.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn apps(state: &Value) -> Vec<Value> {
    state["directory"]["applications"].as_array().expect("directory.applications in the state").clone()
}

#[tokio::test]
async fn applications_are_linked_to_service_principals_and_read_two_ways() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let state = e.state(0).await;
    let sps = state["directory"]["servicePrincipals"].as_array().unwrap();
    let list = apps(&state);
    assert!(!list.is_empty());
    for a in &list {
        assert!(sps.iter().any(|s| s["appId"] == a["appId"]), "app {} has its service principal", a["appId"]);
        assert!(a["passwordCredentials"].as_array().unwrap().iter().all(|p| p["secretText"].is_null()));
        assert!(!a["keyCredentials"].as_array().unwrap().is_empty());
    }
    let a = &list[0];
    let (id, app_id) = (a["id"].as_str().unwrap(), a["appId"].as_str().unwrap());

    let r = e.get(&g, &format!("/v1.0/applications/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["appId"], app_id);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("$metadata#applications/$entity"));
    let r = e.get(&g, &format!("/v1.0/applications(appId='{app_id}')?$select=id,keyCredentials")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], id);
    assert!(r.body.get("displayName").is_none(), "$select applies: {:?}", r.body);
    // Percent-encoded quotes, as some clients send them.
    let r = e.get(&g, &format!("/v1.0/applications(appId=%27{app_id}%27)")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let r = e.get(&g, &format!("/v1.0/applications?$filter=appId eq '{app_id}'")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);

    let r = e.get(&g, &format!("/v1.0/applications/{app_id}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "Request_ResourceNotFound"), "the appId is no object id");
    let r = e.get(&g, "/v1.0/applications(appId=abc)").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
}

#[tokio::test]
async fn secrets_are_added_and_removed_and_certificates_removed_by_patch() {
    let e = env().await;
    let g = e.token(0, GRAPH).await;
    let a = apps(&e.state(0).await)[1].clone();
    let id = a["id"].as_str().unwrap();
    let path = format!("/v1.0/applications/{id}");

    let r = e.post(&g, &format!("{path}/addPassword"), json!({"passwordCredential": {"displayName": "new"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let secret = r.body["secretText"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 40);
    assert_eq!(r.body["hint"], &secret[..3]);
    let added = r.body["keyId"].as_str().unwrap().to_string();
    let stored = &apps(&e.state(0).await)[1];
    assert_eq!(stored["passwordCredentials"].as_array().unwrap().len(), 3);
    assert!(!stored.to_string().contains(&secret), "the secret is never stored or shown again");

    let r = e.post(&g, &format!("{path}/removePassword"), json!({"keyId": added})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = e.post(&g, &format!("{path}/removePassword"), json!({"keyId": added})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "already gone: {:?}", r.body);
    let r = e.post(&g, &format!("{path}/removePassword"), json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("keyId"));

    let r = e.patch(&g, &path, json!({"passwordCredentials": []})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "PATCH does not set secrets: {:?}", r.body);

    let cert = a["keyCredentials"][0]["keyId"].as_str().unwrap();
    let r = e.post(&g, &format!("{path}/removeKey"), json!({"keyId": cert})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "removeKey needs a proof: {:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("proof"));
    let r = e.post(&g, &format!("{path}/removeKey"), json!({"keyId": cert, "proof": "a.b.c"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    let r = e.patch(&g, &path, json!({"keyCredentials": [{"keyId": "00000000-0000-4000-8000-000000000001"}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a new key needs its material: {:?}", r.body);
    let r = e.patch(&g, &path, json!({"keyCredentials": []})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(apps(&e.state(0).await)[1]["keyCredentials"], json!([]));
}

#[tokio::test]
async fn owned_by_acts_on_owned_apps_only() {
    let e = env().await;
    let t = e.tenant(0).tenant_id.clone();
    let r = e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"graph": ["Application.ReadWrite.OwnedBy"]})).await;
    assert_eq!(r.status, StatusCode::OK);
    let g = e.token(0, GRAPH).await;
    let list = apps(&e.state(0).await);
    let client = e.tenant(0).client_id.clone();
    let (owned, other): (Vec<&Value>, Vec<&Value>) =
        list.iter().partition(|a| a["owners"].as_array().unwrap().iter().any(|o| o == client.as_str()));
    assert_eq!(owned.len(), 1, "the caller owns one app");

    let r = e.get(&g, "/v1.0/applications").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1, "only the owned app is listed");
    let other_id = other[0]["id"].as_str().unwrap();
    let r = e.patch(&g, &format!("/v1.0/applications/{other_id}"), json!({"keyCredentials": []})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "Authorization_RequestDenied"), "{:?}", r.body);
    let owned_id = owned[0]["id"].as_str().unwrap();
    let r = e.patch(&g, &format!("/v1.0/applications/{owned_id}"), json!({"keyCredentials": []})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    e.admin_post(&format!("/_sandbox/roles/{t}"), json!({"graph": ["User.Read.All"]})).await;
    let g = e.token(0, GRAPH).await;
    let r = e.get(&g, "/v1.0/applications").await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "Authorization_RequestDenied"));
}
