//! Bad input to the MDE actions: a 4xx naming the field with a hint, one case each, and nothing
//! reaches the sandbox. Unsupported names answer 501 with the reason and the nearest action.

use crate::common::*;
use serde_json::{Value, json};

async fn expect_400(h: &Harness, tenant: &str, action: &str, params: Value, field: &str, says: &str) {
    let (status, body) = h.mde(tenant, action, params).await;
    assert_eq!(status, 400, "{action}: {body}");
    assert_eq!(body["success"], false, "{action}");
    assert_eq!(body["error"]["field"], field, "{action}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{action}: message should say '{says}': {body}");
    assert!(body["error"]["hint"].as_str().is_some_and(|h| !h.is_empty()), "{action}: a hint: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_hash_length_names_the_field() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    expect_400(&h, &t, "StopAndQuarantineFile", json!({ "deviceIds": m, "sha1": md5 }), "sha1", "got 32").await;
    expect_400(
        &h,
        &t,
        "AddIndicator",
        json!({ "indicatorValue": md5, "indicatorType": "FileSha256" }),
        "indicatorValue",
        "got 32",
    )
    .await;
    expect_400(
        &h,
        &t,
        "AddFileIndicator",
        json!({ "sha1": "abc123" }),
        "indicatorValue",
        "not a recognisable indicator",
    )
    .await;
    assert!(h.machine_actions(&t).await.is_empty());
    assert!(h.state(&t).await["indicators"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cidr_for_an_ip_indicator_names_the_field() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    expect_400(&h, &t, "AddIPIndicator", json!({ "ipAddress": "203.0.113.0/24" }), "indicatorValue", "CIDR").await;
    expect_400(
        &h,
        &t,
        "AddIndicator",
        json!({ "indicatorValue": "198.51.100.0/25", "indicatorType": "IpAddress" }),
        "indicatorValue",
        "CIDR",
    )
    .await;
    expect_400(&h, &t, "AddIPIndicator", json!({ "ipAddress": "10.1.2.3" }), "indicatorValue", "internal").await;
    assert!(h.state(&t).await["indicators"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_isolation_type_lists_the_values() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    expect_400(
        &h,
        &t,
        "IsolateDevice",
        json!({ "deviceIds": m, "isolationType": "Partial" }),
        "isolationType",
        "Full, Selective, UnManagedDevice",
    )
    .await;
    expect_400(&h, &t, "RunAntivirusScan", json!({ "deviceIds": m, "scanType": "Deep" }), "scanType", "Quick, Full")
        .await;
    assert!(h.machine_actions(&t).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn other_mde_inputs_are_refused_clearly() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let alert = h.state(&t).await["alerts"][0]["id"].as_str().unwrap().to_string();
    let before = h.state(&t).await["alerts"][0].clone();
    expect_400(
        &h,
        &t,
        "ClassifyAlert",
        json!({ "alertId": alert, "classification": "FalsePositive", "determination": "Malware" }),
        "determination",
        "does not go with",
    )
    .await;
    expect_400(&h, &t, "AddDomainIndicator", json!({ "domain": "*.evil.example.com" }), "indicatorValue", "wildcard")
        .await;
    expect_400(&h, &t, "AddURLIndicator", json!({ "url": "ftp://evil.example.com/x" }), "indicatorValue", "scheme")
        .await;
    expect_400(
        &h,
        &t,
        "AddIndicator",
        json!({ "indicatorValue": "evil.example.com", "expirationTime": "tomorrow" }),
        "expirationTime",
        "RFC 3339",
    )
    .await;
    expect_400(
        &h,
        &t,
        "AddIndicator",
        json!({ "indicatorValue": "evil.example.com", "indicatorAction": "Nuke" }),
        "indicatorAction",
        "not one of",
    )
    .await;
    expect_400(&h, &t, "RemoveIndicator", json!({ "indicatorId": "../machines" }), "indicatorId", "not an id").await;
    expect_400(
        &h,
        &t,
        "BulkAddIndicators",
        json!({ "indicators": [{ "indicatorValue": "ok.example.com" }, { "indicatorValue": "203.0.113.0/24" }] }),
        "indicators",
        "item 1: indicatorValue",
    )
    .await;
    expect_400(
        &h,
        &t,
        "GetDeviceInfo",
        json!({ "deviceId": "6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31" }),
        "deviceId",
        "Entra/Intune",
    )
    .await;
    expect_400(&h, &t, "UpdateIncident", json!({ "incidentId": "1", "status": "closed" }), "status", "not one of")
        .await;
    expect_400(
        &h,
        &t,
        "CreateCustomDetectionRule",
        json!({ "ruleName": "r", "query": "T", "period": "2H" }),
        "period",
        "not one of",
    )
    .await;
    assert_eq!(h.state(&t).await["alerts"][0], before, "nothing changed upstream");
    assert!(h.state(&t).await["indicators"].as_array().unwrap().is_empty());
}

/// Names Microsoft has no API for: 501 with the reason and the nearest real action, no call.
#[tokio::test(flavor = "multi_thread")]
async fn unsupported_names_answer_501_with_reason_and_nearest() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    for (action, nearest) in [
        ("TriggerVulnerabilityScan", "GetDeviceVulnerabilities"),
        ("ApplySecurityBaseline", "GetDeviceRecommendations"),
        ("EnableWebContentFiltering", "AddURLIndicator"),
        ("BlockNetworkDestination", "AddIPIndicator"),
    ] {
        let (status, body) =
            h.mde(&t, action, json!({ "deviceId": m, "deviceIds": [m], "ipAddress": "203.0.113.9" })).await;
        assert_eq!(status, 501, "{action}: {body}");
        assert_eq!(body["success"], false);
        let text = body["error"].to_string();
        assert!(text.contains(nearest), "{action} should point at {nearest}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 60, "{action}: the reason is given: {body}");
    }
    assert!(h.machine_actions(&t).await.is_empty(), "the seed's AV scan is not run under these names");
}
