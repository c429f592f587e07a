use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn https_with_generated_ca_and_describe_file() {
    let sb = sandbox::start(
        sandbox::SandboxConfig { seed: 3, tls: true, ..Default::default() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    assert!(sb.base_url().starts_with("https://localhost:"));
    let ca = sb.ca_pem().expect("CA when tls").to_string();
    let dir = std::env::temp_dir().join(format!("sandbox-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("describe.json");
    sb.write_describe(&path).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let keys: Vec<_> = raw.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["ca_pem", "endpoints", "tenants"]);
    let ca_path = raw["ca_pem"].as_str().unwrap();
    assert!(ca_path.ends_with("describe-ca.pem"));
    assert_eq!(std::fs::read_to_string(ca_path).unwrap(), ca);
    for k in ["login", "graph", "mde", "arm"] {
        assert_eq!(raw["endpoints"][k], sb.base_url());
    }
    let t = &raw["tenants"][0];
    for k in ["tenantId", "clientId", "clientSecret", "subscriptionId"] {
        assert!(t[k].is_string(), "{k}");
    }

    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let tenant = t["tenantId"].as_str().unwrap();
    let r = http
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sb.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", t["clientId"].as_str().unwrap()),
            ("client_secret", t["clientSecret"].as_str().unwrap()),
            ("scope", MDE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tok: serde_json::Value = r.json().await.unwrap();
    let r = http
        .get(format!("{}/api/machines?$top=2", sb.base_url()))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // an untrusting client fails the handshake
    let strict = reqwest::Client::builder().tls_certs_only(Vec::<reqwest::Certificate>::new()).build().unwrap();
    assert!(strict.get(format!("{}/_sandbox/stats", sb.base_url())).send().await.is_err());
    sb.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
