use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn list_users_default_projection_and_select() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let r = e.get(&tok, "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["@odata.context"], e.url("/v1.0/$metadata#users").as_str());
    let users = r.body["value"].as_array().unwrap();
    assert_eq!(users.len(), 40);
    assert!(r.body.get("@odata.nextLink").is_none());
    assert!(users[0]["userPrincipalName"].as_str().unwrap().ends_with("@contoso-1.onmicrosoft.com"));
    assert!(is_guid(users[0]["id"].as_str().unwrap()));
    assert!(users[0].get("accountEnabled").is_none(), "v1.0 default set has no accountEnabled");

    let r = e.get(&tok, "/v1.0/users?$select=id,accountEnabled,department").await;
    let u = &r.body["value"][0];
    assert_eq!(u.as_object().unwrap().len(), 3);
    assert!(u["accountEnabled"].is_boolean());
    let r = e.get(&tok, "/v1.0/users?$select=nope").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = e.get(&tok, "/beta/users?$top=1").await;
    assert!(r.body["value"][0]["accountEnabled"].is_boolean(), "beta returns all properties");
}

#[tokio::test]
async fn paging_with_skiptoken() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let mut url = e.url("/v1.0/users?$top=15&$select=id,displayName");
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let r = e.get(&tok, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {:?}", r.body);
        let v = r.body["value"].as_array().unwrap();
        sizes.push(v.len());
        ids.extend(v.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match r.body.get("@odata.nextLink").and_then(|l| l.as_str()) {
            Some(n) => {
                assert!(n.contains("$skiptoken="));
                url = n.to_string();
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![15, 15, 10]);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 40);
    assert_eq!(e.get(&tok, "/v1.0/users?$skiptoken=bogus").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.get(&tok, "/v1.0/users?$top=1000").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn filters() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let all = e.get(&tok, "/beta/users").await.body["value"].as_array().unwrap().clone();
    let upn = all[5]["userPrincipalName"].as_str().unwrap();
    let r = e.get(&tok, &format!("/v1.0/users?$filter=userPrincipalName eq '{upn}'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = e.get(&tok, "/v1.0/users?$filter=startswith(displayName,'A')").await;
    let expected = all.iter().filter(|u| u["displayName"].as_str().unwrap().starts_with('A')).count();
    assert_eq!(r.body["value"].as_array().unwrap().len(), expected);
    let r = e.get(&tok, "/v1.0/users?$filter=accountEnabled eq true").await;
    let enabled = all.iter().filter(|u| u["accountEnabled"] == true).count();
    assert_eq!(r.body["value"].as_array().unwrap().len(), enabled);
    let r = e.get(&tok, "/v1.0/users?$filter=department eq").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn get_user_by_id_or_upn_and_404() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let u = e.get(&tok, "/v1.0/users?$top=1").await.body["value"][0].clone();
    let id = u["id"].as_str().unwrap();
    let upn = u["userPrincipalName"].as_str().unwrap();
    let r = e.get(&tok, &format!("/v1.0/users/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["@odata.context"], e.url("/v1.0/$metadata#users/$entity").as_str());
    let r = e.get(&tok, &format!("/v1.0/users/{}", upn.to_uppercase())).await;
    assert_eq!(r.body["id"], id);
    let r = e
        .http
        .get(e.url("/v1.0/users/nobody@contoso-1.onmicrosoft.com"))
        .bearer_auth(&tok)
        .header("client-request-id", "c-r-i")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["client-request-id"], "c-r-i");
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(b["error"]["innerError"]["client-request-id"], "c-r-i");
    // another tenant's user is not visible
    let other = e.token(1, GRAPH).await;
    assert_eq!(e.get(&other, &format!("/v1.0/users/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn patch_disables_user() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let u =
        e.get(&tok, "/v1.0/users?$top=1&$select=id,accountEnabled,userPrincipalName").await.body["value"][0].clone();
    assert_eq!(u["accountEnabled"], true);
    let upn = u["userPrincipalName"].as_str().unwrap();
    let r = e
        .patch(
            &tok,
            &format!("/v1.0/users/{upn}"),
            json!({"@odata.type": "#microsoft.graph.user", "accountEnabled": false, "jobTitle": "Suspended"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = e.get(&tok, &format!("/v1.0/users/{}?$select=accountEnabled,jobTitle", u["id"].as_str().unwrap())).await;
    assert_eq!(r.body["accountEnabled"], false);
    assert_eq!(r.body["jobTitle"], "Suspended");
    let st = e.state(0).await;
    let su = st["users"].as_array().unwrap().iter().find(|x| x["id"] == u["id"]).unwrap();
    assert_eq!(su["accountEnabled"], false);

    for bad in [json!({"accountEnabled": "no"}), json!({"notAProperty": 1}), json!({"id": "x"}), json!([1, 2])] {
        let r = e.patch(&tok, &format!("/v1.0/users/{upn}"), bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body["error"]["innerError"].is_object());
    }
    let r = e.http.patch(e.url(&format!("/v1.0/users/{upn}"))).bearer_auth(&tok).body("{oops").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = e.patch(&tok, "/v1.0/users/nobody@contoso-1.onmicrosoft.com", json!({"accountEnabled": false})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "Request_ResourceNotFound");
}

#[tokio::test]
async fn revoke_sign_in_sessions() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let u = e.get(&tok, "/v1.0/users?$top=1").await.body["value"][0].clone();
    let id = u["id"].as_str().unwrap();
    let r = e.post(&tok, &format!("/v1.0/users/{id}/revokeSignInSessions"), serde_json::Value::Null).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["value"], true);
    assert_eq!(r.body["@odata.context"], e.url("/v1.0/$metadata#Edm.Boolean").as_str());
    let st = e.state(0).await;
    let su = st["users"].as_array().unwrap().iter().find(|x| x["id"] == id).unwrap();
    assert!(su["sessionsRevokedAt"].is_string());
    let r = e.get(&tok, &format!("/v1.0/users/{id}?$select=signInSessionsValidFromDateTime")).await;
    assert_eq!(r.body["signInSessionsValidFromDateTime"], su["signInSessionsValidFromDateTime"]);
    let r = e
        .post(&tok, "/v1.0/users/00000000-0000-0000-0000-000000000000/revokeSignInSessions", serde_json::Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_graph_segment_is_400() {
    let e = env().await;
    let tok = e.token(0, GRAPH).await;
    let r = e.get(&tok, "/v1.0/nonsense/things").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "BadRequest");
    assert!(r.headers.contains_key("request-id"));
}
