//! The file library end to end: raw uploads, listing, signed download links (valid, tampered,
//! expired), deletion, size limits, the seed's library actions and the push to MDE's library
//! (asserted in the sandbox's own library).

use crate::common::Harness;
use serde_json::{Value, json};
use std::time::Duration;

async fn upload(h: &Harness, tenant: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let resp = h
        .http
        .post(format!("{}/v1/library?tenant={tenant}&fileName={name}&description=triage", h.gateway))
        .header("x-api-key", &h.admin_key)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// GET without an API key: the link is the authority.
async fn fetch(h: &Harness, url: &str) -> (u16, Vec<u8>) {
    let resp = h.http.get(format!("{}{url}", h.gateway)).send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn upload_list_link_download_and_delete() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let script = b"Write-Output 'triage'\n";
    let (status, body) = upload(&h, &t, "triage.ps1", script).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["file"]["size"], script.len());

    let (status, list) = h.get(&format!("/v1/library?tenant={t}")).await;
    assert_eq!(status, 200);
    assert_eq!(list["value"][0]["name"], "triage.ps1");
    assert_eq!(list["value"][0]["description"], "triage");

    let (status, file) = h.get(&format!("/v1/library/triage.ps1?tenant={t}")).await;
    assert_eq!(status, 200, "{file}");
    let url = file["download"]["url"].as_str().unwrap().to_string();
    let (status, bytes) = fetch(&h, &url).await;
    assert_eq!((status, bytes.as_slice()), (200, &script[..]));

    // Flip one character of the MAC: refused as tampered, with a JSON error.
    let mut tampered = url.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let resp = h.http.get(format!("{}{}", h.gateway, String::from_utf8(tampered).unwrap())).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "InvalidDownloadLink");

    let resp = h
        .http
        .delete(format!("{}/v1/library/triage.ps1?tenant={t}", h.gateway))
        .header("x-api-key", &h.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (status, err) = h.get(&format!("/v1/library/triage.ps1?tenant={t}")).await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("LibraryFileNotFound")));
    // The old link now points at nothing.
    assert_eq!(fetch(&h, &url).await.0, 404);
}

#[tokio::test]
async fn oversized_upload_is_413_naming_the_field_and_bad_names_are_400() {
    let h = Harness::start_with(1, |s| s.library.max_upload_bytes = 16).await;
    let t = h.tenant(0);
    let (status, body) = upload(&h, &t, "big.bin", &[7u8; 17]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["field"], "file");
    assert!(body["error"]["hint"].as_str().unwrap().contains("max_upload_bytes"));
    let (status, body) = upload(&h, &t, "..%2Fescape.ps1", b"x").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("fileName")), "{body}");
    let (_, list) = h.get(&format!("/v1/library?tenant={t}")).await;
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn an_expired_link_is_410() {
    let h = Harness::start_with(1, |s| s.library.link_ttl = Duration::ZERO).await;
    let t = h.tenant(0);
    assert_eq!(upload(&h, &t, "a.ps1", b"a").await.0, 201);
    let (_, file) = h.get(&format!("/v1/library/a.ps1?tenant={t}")).await;
    let (status, body) = fetch(&h, file["download"]["url"].as_str().unwrap()).await;
    assert_eq!(status, 410);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "DownloadLinkExpired");
}

#[tokio::test]
async fn seed_library_actions_and_push_to_mde() {
    use base64::Engine as _;
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let content = b"param($Name) Write-Output \"hello $Name\"\n";
    let b64 = base64::engine::general_purpose::STANDARD.encode(content);
    // The seed README's shape: worker route, flat parameters, action UploadScript.
    let (status, up) = h.mde(&t, "UploadScript", json!({ "fileName": "hello.ps1", "content": b64 })).await;
    assert_eq!(status, 200, "{up}");
    // Nested parameters, orchestrator route.
    let (status, list) = h
        .seed(
            "MainOrchestrator",
            json!({ "service": "MDE", "action": "ListLibraryFiles", "tenantId": t, "parameters": {} }),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"]["value"][0]["name"], "hello.ps1");
    // The audit keeps the size, not the file.
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=UploadToLibrary")).await;
    assert!(!audit.to_string().contains(&b64), "the base64 body must not be in the audit log");

    let (status, pushed) = h.mde(&t, "PushToMdeLibrary", json!({ "parameters": { "fileName": "hello.ps1" } })).await;
    assert_eq!(status, 200, "{pushed}");
    let state = h.state(&t).await;
    let held = state["libraryFiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fileName"] == "hello.ps1")
        .cloned()
        .expect("in MDE's library");
    assert_eq!(held["sha256"], up["data"]["file"]["sha256"]);

    let (status, got) = h.mde(&t, "GetLibraryFile", json!({ "fileName": "hello.ps1" })).await;
    assert_eq!(status, 200);
    let (status, bytes) = fetch(&h, got["data"]["download"]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes.as_slice()), (200, &content[..]));

    let (status, err) = h.mde(&t, "UploadToLibrary", json!({ "fileName": "x.ps1", "content": "%%%not base64" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("content")), "{err}");
    let (status, _) = h.mde(&t, "DeleteLibraryFile", json!({ "fileName": "hello.ps1" })).await;
    assert_eq!(status, 200);
    let (status, err) = h.mde(&t, "GetLibraryFile", json!({ "fileName": "hello.ps1" })).await;
    assert_eq!(status, 404, "{err}");
}
