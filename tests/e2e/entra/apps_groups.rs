//! Service principals (disable, secrets and certificates removed) and group membership.

use super::*;

fn sp(state: &Value, i: usize) -> Value {
    directory(state, "servicePrincipals")[i].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_principals_are_disabled_and_lose_their_credentials() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let (a, b) = (sp(&state, 0), sp(&state, 1));

    let (status, body) = h.entra(&t, "DisableServicePrincipal", json!({ "servicePrincipalId": a["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verification"]["verified"], true, "{body}");
    assert_eq!(sp(&h.state(&t).await, 0)["accountEnabled"], false);
    let (status, body) = h.entra(&t, "EnableServicePrincipal", json!({ "servicePrincipalId": a["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sp(&h.state(&t).await, 0)["accountEnabled"], true);

    let (status, body) = h.entra(&t, "GetServicePrincipal", json!({ "servicePrincipalId": a["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["passwordCredentials"][0]["keyId"], a["passwordCredentials"][0]["keyId"]);

    let secret = a["passwordCredentials"][0]["keyId"].clone();
    let (status, body) =
        h.entra(&t, "RemoveServicePrincipalSecret", json!({ "servicePrincipalId": a["id"], "keyId": secret })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sp(&h.state(&t).await, 0)["passwordCredentials"], json!([]), "secret gone");
    let (status, body) =
        h.entra(&t, "RemoveServicePrincipalSecret", json!({ "servicePrincipalId": a["id"], "keyId": secret })).await;
    assert!((400..500).contains(&status), "{status} {body}");

    let cert = b["keyCredentials"][0]["keyId"].clone();
    let (status, body) =
        h.entra(&t, "RemoveServicePrincipalCertificate", json!({ "servicePrincipalId": b["id"], "keyId": cert })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sp(&h.state(&t).await, 1)["keyCredentials"], json!([]), "certificate gone");
    let (status, body) =
        h.entra(&t, "RemoveServicePrincipalCertificate", json!({ "servicePrincipalId": b["id"], "keyId": cert })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("keyId"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_is_removed_from_a_group_and_put_back() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let g = directory(&state, "groups")[0].clone();
    let member = g["members"][0].as_str().unwrap().to_string();
    let upn =
        state["users"].as_array().unwrap().iter().find(|u| u["id"] == member.as_str()).unwrap()["userPrincipalName"]
            .clone();
    let members = |s: &Value| directory(s, "groups")[0]["members"].as_array().unwrap().clone();

    let (status, body) = h.entra(&t, "RemoveGroupMember", json!({ "groupId": g["id"], "userId": upn })).await;
    assert_eq!(status, 200, "{body}");
    assert!(!members(&h.state(&t).await).contains(&json!(member)), "member removed");
    let (status, body) = h.entra(&t, "RemoveGroupMember", json!({ "groupId": g["id"], "userId": upn })).await;
    assert_eq!(status, 404, "not a member any more: {body}");

    let (status, body) = h.entra(&t, "AddGroupMember", json!({ "groupId": g["id"], "userId": member })).await;
    assert_eq!(status, 200, "{body}");
    assert!(members(&h.state(&t).await).contains(&json!(member)), "member back");
    let (status, body) = h.entra(&t, "GetGroupMembers", json!({ "groupId": g["id"] })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["value"].as_array().unwrap().iter().any(|m| m["id"] == member.as_str()), "{body}");
}
