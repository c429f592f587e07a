//! App registrations' credentials: the Azure worker's `RemoveAppCredentials` and
//! `RevokeAppCertificates` (Entra ID's `RemoveApplicationCredentials` /
//! `RemoveApplicationCertificates` under the Azure names), asserted in the sandbox directory's
//! `applications`; and Graph's 403 when the app may not change the registration.

use super::azure;
use crate::common::*;
use serde_json::{Value, json};

fn app(state: &Value, i: usize) -> Value {
    state["directory"]["applications"][i].clone()
}

fn key_ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|k| k["keyId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_app_credentials_one_then_all_and_revoke_certificates() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let a = app(&state, 0);
    let secrets = key_ids(&a["passwordCredentials"]);
    let certs = key_ids(&a["keyCredentials"]);
    assert!(secrets.len() >= 2 && !certs.is_empty(), "seeded credentials: {a}");

    // One named secret: only it goes.
    let (status, op) =
        azure(&h, &t, "RemoveAppCredentials", json!({ "applicationId": a["id"], "keyId": secrets[0] })).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["removedSecretKeyIds"], json!([secrets[0]]), "{op}");
    let now = app(&h.state(&t).await, 0);
    assert_eq!(key_ids(&now["passwordCredentials"]), secrets[1..].to_vec());
    assert_eq!(key_ids(&now["keyCredentials"]), certs);

    // Everything else, the app named by its appId (client id) as sign-in logs show it.
    let (_, op) = azure(&h, &t, "RemoveAppCredentials", json!({ "applicationId": a["appId"] })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["removedSecretKeyIds"], json!(secrets[1..]), "{op}");
    assert_eq!(op["result"]["removedCertificateKeyIds"], json!(certs), "{op}");
    assert_eq!(op["result"]["applicationId"], a["id"]);
    let now = app(&h.state(&t).await, 0);
    assert_eq!(now["passwordCredentials"], json!([]), "secrets gone");
    assert_eq!(now["keyCredentials"], json!([]), "certificates gone");
    // Nothing left: the goal holds, nothing is removed.
    let (_, op) = azure(&h, &t, "RemoveAppCredentials", json!({ "applicationId": a["id"] })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["removedSecretKeyIds"], json!([]), "{op}");

    // Certificates only: the secrets of the second app stay.
    let b = app(&state, 1);
    let (status, body) = azure(
        &h,
        &t,
        "RevokeAppCertificates",
        json!({ "applicationId": b["id"], "keyId": b["passwordCredentials"][0]["keyId"] }),
    )
    .await;
    assert_eq!(status, 400, "a secret is no certificate: {body}");
    assert!(body.to_string().contains("keyId"), "{body}");
    let (_, op) = azure(&h, &t, "RevokeAppCertificates", json!({ "applicationId": b["id"] })).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["removedCertificateKeyIds"], json!(key_ids(&b["keyCredentials"])), "{op}");
    let now = app(&h.state(&t).await, 1);
    assert_eq!(now["keyCredentials"], json!([]), "certificates gone");
    assert_eq!(now["passwordCredentials"], b["passwordCredentials"], "secrets kept");

    // An application that does not exist, by either id.
    let (status, body) =
        azure(&h, &t, "RemoveAppCredentials", json!({ "applicationId": "00000000-0000-4000-8000-00000000abcd" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("applicationId"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_reads_and_removes_certificates_and_owned_by_reaches_only_owned_apps() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    // Riposte's app holds Application.ReadWrite.OwnedBy only (before any Graph token is taken).
    let roles = h.sandbox_admin(&format!("roles/{t}"), json!({})).await;
    let mut graph: Vec<Value> =
        roles["graph"].as_array().unwrap().iter().filter(|r| *r != "Application.ReadWrite.All").cloned().collect();
    graph.push(json!("Application.ReadWrite.OwnedBy"));
    h.sandbox_admin(&format!("roles/{t}"), json!({ "graph": graph })).await;
    let state = h.state(&t).await;
    let apps = state["directory"]["applications"].as_array().unwrap().clone();
    let (owned, other): (Vec<&Value>, Vec<&Value>) =
        apps.iter().partition(|a| !a["owners"].as_array().unwrap().is_empty());
    let (owned, other) = (owned[0].clone(), other[0].clone());

    let (status, body) = h.entra(&t, "GetApplication", json!({ "applicationId": other["appId"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], other["id"], "{body}");
    assert_eq!(body["data"]["keyCredentials"][0]["keyId"], other["keyCredentials"][0]["keyId"]);

    // Not owned: Graph's 403 carried through, nothing removed.
    let (status, body) = h.entra(&t, "RemoveApplicationCertificates", json!({ "applicationId": other["id"] })).await;
    assert_eq!((status, body["error"]["upstreamStatus"].as_u64()), (502, Some(403)), "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied", "{body}");
    let now = state_app(&h, &t, &other["id"]).await;
    assert_eq!(now["keyCredentials"], other["keyCredentials"]);

    // Owned: removed.
    let cert = owned["keyCredentials"][0]["keyId"].clone();
    let (status, body) =
        h.entra(&t, "RemoveApplicationCertificates", json!({ "applicationId": owned["id"], "keyId": cert })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["removedCertificateKeyIds"], json!([cert]), "{body}");
    assert_eq!(state_app(&h, &t, &owned["id"]).await["keyCredentials"], json!([]));
    let (status, body) = h.entra(&t, "RemoveApplicationCredentials", json!({ "applicationId": owned["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(state_app(&h, &t, &owned["id"]).await["passwordCredentials"], json!([]));
}

async fn state_app(h: &Harness, t: &str, id: &Value) -> Value {
    let state = h.state(t).await;
    state["directory"]["applications"].as_array().unwrap().iter().find(|a| a["id"] == *id).unwrap().clone()
}
