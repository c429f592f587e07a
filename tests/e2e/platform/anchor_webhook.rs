//! External anchoring to a webhook (issue 15 §1: "the head written to ... syslog/a webhook"):
//! with `[audit] anchor_webhook`, the gateway POSTs the audit head to it at start and every
//! anchor interval, besides the anchor file `audit verify` checks against. A tiny local HTTP
//! listener stands in for the collector.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

/// A collector on a loopback port: every JSON body POSTed to `/anchors` comes out of the channel.
async fn collector() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/anchors",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/anchors", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_head_is_posted_to_the_anchor_webhook() {
    let (url, mut posts) = collector().await;
    let h = Harness::start_with(1, |s| s.anchor_webhook = Some(url.clone())).await;
    let posted = tokio::time::timeout(Duration::from_secs(20), posts.recv())
        .await
        .expect("the head is posted at start")
        .expect("the collector is running");

    let store = h.engine.store();
    let (seq, hash) = store.audit_head().await.unwrap().expect("a head");
    assert_eq!(posted["source"], "riposte");
    assert!(posted["seq"].as_i64().unwrap() <= seq, "{posted}");
    let at_seq = store.audit_hash_at(posted["seq"].as_i64().unwrap()).await.unwrap();
    let expected = if posted["seq"] == 0 { Some(hash) } else { at_seq };
    assert_eq!(posted["hash"].as_str(), expected.as_deref(), "the posted hash is the chain's at that seq");
    assert_eq!(
        posted["key"].as_str(),
        store.audit_key_fingerprint().as_deref(),
        "the key's fingerprint, never the key"
    );
    let key_file = std::fs::read_to_string(h.dir.path().join("audit.key")).unwrap();
    assert!(!posted.to_string().contains(key_file.trim()), "the key itself is never posted");

    // The file anchor is still written, and `audit verify` checks against it.
    let anchors = riposte::audit_anchor::read_anchors(&h.dir.path().join("audit-anchor.log")).unwrap();
    assert!(!anchors.is_empty(), "the anchor file is written too");
    let report = riposte::audit_anchor::verify(store, h.dir.path()).await.unwrap();
    assert!(report.ok, "{report:?}");
}
