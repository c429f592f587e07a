//! Single-entity and per-machine reads through Riposte equal what the sandbox's own APIs answer
//! (MDE read directly with the tenant's credentials; Graph incidents from the sandbox state), and
//! the saved-query actions change what Riposte stores.

use crate::common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn ids(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
}

/// A read through the seed worker route; returns the envelope's `data`.
async fn read(h: &Harness, t: &str, action: &str, params: Value) -> Value {
    let (status, out) = h.mde(t, action, params).await;
    assert_eq!(status, 200, "{action}: {out}");
    out["data"].clone()
}

fn values(data: &Value) -> Vec<Value> {
    data["value"].as_array().unwrap_or_else(|| panic!("a collection: {data}")).clone()
}

#[tokio::test]
async fn entity_and_per_machine_reads_match_the_sandbox() {
    let h = Harness::start(1).await;
    h.sandbox_admin("settings", json!({ "mde_per_minute": 100_000, "mde_per_hour": 1_000_000 })).await;
    let t = h.tenant(0);
    let mde = Mde::connect(&h, &t).await;

    // GetDeviceAlerts: the alerts of a machine that has some.
    let alerts = mde.list(&h, "/api/alerts").await;
    let machine = alerts[0]["machineId"].as_str().unwrap().to_string();
    let expected = ids(&mde.list(&h, &format!("/api/machines/{machine}/alerts")).await);
    assert!(!expected.is_empty());
    let got = read(&h, &t, "GetDeviceAlerts", json!({ "machineId": machine })).await;
    assert_eq!(ids(&values(&got)), expected, "{got}");

    // GetDeviceSoftware: the machine's inventory.
    let expected = ids(&mde.list(&h, &format!("/api/machines/{machine}/software")).await);
    let got = read(&h, &t, "GetDeviceSoftware", json!({ "deviceId": machine })).await;
    assert_eq!(ids(&values(&got)), expected);

    // Single entities: the same record as the sandbox's own GET.
    for (action, collection, param) in [
        ("GetVulnerability", "/api/vulnerabilities", "vulnerabilityId"),
        ("GetSoftwareById", "/api/Software", "softwareId"),
        ("GetRecommendation", "/api/recommendations", "recommendationId"),
    ] {
        let first =
            mde.list(&h, collection).await.into_iter().next().unwrap_or_else(|| panic!("{collection} is empty"));
        let id = first["id"].as_str().unwrap();
        let (status, direct) = mde.get(&h, &format!("{collection}/{id}")).await;
        assert_eq!(status, 200);
        let got = read(&h, &t, action, json!({ param: id })).await;
        assert_eq!(got["id"], direct["id"], "{action}");
        assert_eq!(got["name"], direct["name"], "{action}");
    }

    // Collections: the same ids as the sandbox lists.
    for (action, path) in
        [("GetRecommendations", "/api/recommendations"), ("GetRemediationTasks", "/api/remediationTasks")]
    {
        let expected = ids(&mde.list(&h, path).await);
        let got = read(&h, &t, action, json!({})).await;
        assert_eq!(ids(&values(&got)), expected, "{action}");
    }

    // GetIncident (Graph security): the incident the sandbox holds, with its status.
    let state = h.state(&t).await;
    let incident = state["incidents"][0].clone();
    let got = read(&h, &t, "GetIncident", json!({ "incidentId": incident["id"] })).await;
    assert_eq!(got["id"], incident["id"], "{got}");
    assert_eq!(got["status"], incident["status"], "{got}");
}

#[tokio::test]
async fn saved_query_actions_list_get_and_delete() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let text = "DeviceInfo | where OSPlatform startswith 'Windows' | take 3";
    read(&h, &t, "SaveQuery", json!({ "queryName": "windows-devices", "query": text })).await;

    let listed = read(&h, &t, "ListSavedQueries", json!({})).await;
    assert!(listed.to_string().contains("windows-devices"), "{listed}");
    let got = read(&h, &t, "GetSavedQuery", json!({ "name": "windows-devices" })).await;
    assert!(got.to_string().contains("OSPlatform startswith"), "{got}");

    read(&h, &t, "DeleteSavedQuery", json!({ "queryName": "windows-devices" })).await;
    let listed = read(&h, &t, "ListSavedQueries", json!({})).await;
    assert!(!listed.to_string().contains("windows-devices"), "{listed}");
    let (status, _) = h.get("/v1/queries/windows-devices").await;
    assert_eq!(status, 404);
}
