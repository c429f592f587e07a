//! OData paging across pages, truncation, and refusal of foreign-host nextLinks.

use serde_json::json;

use super::mock::{Mock, creds, reply, spawn_mock};
use crate::{Api, ApiRequest, UpstreamError};

fn push_three_pages(mock: &Mock) {
    let next = |token: u32| mock.url(&format!("/graph/v1.0/users?$skiptoken={token}"));
    mock.state.push(reply(200, json!({"value":[1,2],"@odata.nextLink": next(2)})).header("request-id", "p1"));
    mock.state.push(reply(200, json!({"value":[3,4],"@odata.nextLink": next(4)})).header("request-id", "p2"));
    mock.state.push(reply(200, json!({"value":[5]})).header("request-id", "p3"));
}

#[tokio::test]
async fn follows_next_links_across_three_pages() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    push_three_pages(&mock);
    let paged = upstream
        .get_paged(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users").with_query("$top", "2"), 100)
        .await
        .unwrap();
    assert_eq!(paged.items, vec![json!(1), json!(2), json!(3), json!(4), json!(5)]);
    assert_eq!(paged.request_ids, vec!["p1", "p2", "p3"]);
    assert!(!paged.truncated);
    let seen = mock.state.seen.lock().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].uri, "/graph/v1.0/users?%24top=2");
    assert_eq!(seen[2].uri, "/graph/v1.0/users?$skiptoken=4");
}

#[tokio::test]
async fn stops_at_max_items_and_says_truncated() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    push_three_pages(&mock);
    let paged = upstream.get_paged(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users"), 3).await.unwrap();
    assert_eq!(paged.items, vec![json!(1), json!(2), json!(3)]);
    assert!(paged.truncated);
    assert_eq!(mock.state.api_hits(), 2, "no third page fetched");

    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    push_three_pages(&mock);
    let paged = upstream.get_paged(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users"), 4).await.unwrap();
    assert_eq!(paged.items.len(), 4);
    assert!(paged.truncated, "a nextLink remained");
    assert_eq!(mock.state.api_hits(), 2);
}

#[tokio::test]
async fn refuses_next_link_to_another_host() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    mock.state
        .push(reply(200, json!({"value":[1],"@odata.nextLink":"https://evil.example/graph/v1.0/users?$skiptoken=2"})));
    let err = upstream.get_paged(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users"), 100).await.unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Api { code, message, .. } if code == "ForeignNextLink" && message.contains("evil.example")),
        "{err:?}"
    );

    // Same IP, different port is another origin too.
    mock.state.push(reply(200, json!({"value":[1],"@odata.nextLink":"http://127.0.0.1:1/graph/v1.0/users"})));
    let err = upstream.get_paged(&creds(), ApiRequest::get(Api::Graph, "/v1.0/users"), 100).await.unwrap_err();
    assert!(matches!(&err, UpstreamError::Api { code, .. } if code == "ForeignNextLink"), "{err:?}");
    assert_eq!(mock.state.api_hits(), 2, "nothing sent to the foreign host");
}

#[tokio::test]
async fn non_collection_and_non_get_are_errors() {
    let mock = spawn_mock().await;
    let (upstream, _) = mock.upstream();
    mock.state.push(reply(200, json!({"id":"x"})));
    let err = upstream.get_paged(&creds(), ApiRequest::get(Api::Mde, "/api/machines/x"), 10).await.unwrap_err();
    assert!(matches!(&err, UpstreamError::Api { code, .. } if code == "UnexpectedResponse"), "{err:?}");
    let err = upstream.get_paged(&creds(), ApiRequest::post(Api::Mde, "/api/x", json!({})), 10).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Config(_)));
}
