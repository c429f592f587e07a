//! Device response beyond the basic machine actions: machines named by DNS name or IP, the
//! lookups themselves, logged-on users, bulk forms with per-device results, automated
//! investigations, and the investigation package link; effects asserted in the sandbox.

use crate::common::*;
use serde_json::{Value, json};

async fn windows_online(h: &Harness, tenant: &str) -> Vec<Value> {
    h.online_machines(tenant)
        .await
        .into_iter()
        .filter(|m| m["osPlatform"].as_str().unwrap_or("").starts_with("Windows"))
        .collect()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

fn short_name(m: &Value) -> String {
    m["computerDnsName"].as_str().unwrap().split('.').next().unwrap().to_string()
}

/// A DNS name, a short name and an IP given where a machine id is expected act on that machine.
#[tokio::test(flavor = "multi_thread")]
async fn names_and_ips_resolve_to_the_machine() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let ms = windows_online(&h, &t).await;
    let (m0, m1, m2) = (&ms[0], &ms[1], &ms[2]);

    let upper = m0["computerDnsName"].as_str().unwrap().to_uppercase();
    let (status, body) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": upper, "isolationType": "Selective" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["results"][0]["deviceId"], m0["id"]);

    let (status, body) = h
        .seed("MainOrchestrator", json!({ "service": "MDE", "action": "RunAntivirusScan", "tenantId": t, "deviceIds": [m1["lastIpAddress"]], "scanType": "Full" }))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = h.mde(&t, "GetDeviceInfo", json!({ "machineId": short_name(m2) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], m2["id"]);

    let actions = h.machine_actions(&t).await;
    let on = |id: &Value, ty: &str| actions.iter().find(|a| a["machineId"] == *id && a["type"] == ty).cloned();
    assert_eq!(on(&m0["id"], "Isolate").expect("isolate on the named machine")["scope"], "Selective");
    assert_eq!(on(&m1["id"], "RunAntiVirusScan").expect("scan on the machine with that IP")["scope"], "Full");
    assert_eq!(actions.len(), 2, "nothing else was touched");

    // A name nobody has: 400 naming the field, nothing sent.
    let (status, body) =
        h.mde(&t, "IsolateDevice", json!({ "deviceIds": ["nosuch-host.contoso.local", s(&m2["id"])] })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("deviceIds")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nosuch-host.contoso.local"), "{body}");
    let (status, body) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": "192.0.2.250" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("deviceIds")), "{body}");
    assert_eq!(h.machine_actions(&t).await.len(), 2);
}

/// Bulk forms answer per device: one id, one name, one offline machine (its action stays pending).
#[tokio::test(flavor = "multi_thread")]
async fn bulk_device_actions_answer_per_device() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let ms = windows_online(&h, &t).await;
    let offline = h.offline_machine(&t).await;
    let targets = json!([ms[0]["id"], ms[1]["computerDnsName"], offline["id"]]);
    let (status, body) = h.mde(&t, "RestrictAppExecution", json!({ "deviceIds": targets })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["deviceCount"], 3);
    let rows = body["data"]["results"].as_array().unwrap();
    let ids: Vec<&Value> = rows.iter().map(|r| &r["deviceId"]).collect();
    assert_eq!(ids, vec![&ms[0]["id"], &ms[1]["id"], &offline["id"]]);
    assert!(rows.iter().all(|r| r["success"] == true && r["actionId"].is_string()));
    let actions = h.machine_actions(&t).await;
    for m in [&ms[0], &ms[1], &offline] {
        assert!(
            actions.iter().any(|a| a["machineId"] == m["id"] && a["type"] == "RestrictCodeExecution"),
            "{}",
            m["id"]
        );
    }
}

/// GetDeviceByName (full and short), FindDevicesByIp (now, and an earlier lease), logon users.
#[tokio::test(flavor = "multi_thread")]
async fn device_lookups() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let m = windows_online(&h, &t).await[0].clone();

    for name in [s(&m["computerDnsName"]), short_name(&m)] {
        let (status, body) = h.mde(&t, "GetDeviceByName", json!({ "hostname": name })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["count"], 1, "{name}");
        assert_eq!(body["data"]["value"][0]["id"], m["id"]);
    }
    let (_, body) = h.mde(&t, "GetDeviceByName", json!({ "computerDnsName": "nosuch" })).await;
    assert_eq!(body["data"]["count"], 0);

    let (status, body) = h.mde(&t, "FindDevicesByIp", json!({ "ip": m["lastIpAddress"] })).await;
    assert_eq!(status, 200, "{body}");
    let found: Vec<&Value> = body["data"]["value"].as_array().unwrap().iter().map(|x| &x["id"]).collect();
    assert_eq!(found, vec![&m["id"]]);

    // A machine that moved off an earlier lease three days ago is found under it then.
    let moved = state["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["previousIpAddress"].is_object())
        .expect("a machine that moved");
    let old_ip = moved["previousIpAddress"]["ipAddress"].as_str().unwrap();
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(4);
    let stamp = then.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, body) = h.mde(&t, "FindDevicesByIp", json!({ "ipAddress": old_ip, "timestamp": stamp })).await;
    assert_eq!(status, 200, "{body}");
    let found: Vec<&Value> = body["data"]["value"].as_array().unwrap().iter().map(|x| &x["id"]).collect();
    assert_eq!(found, vec![&moved["id"]], "{body}");

    let (status, body) = h.mde(&t, "GetDeviceLogonUsers", json!({ "deviceId": m["computerDnsName"] })).await;
    assert_eq!(status, 200, "{body}");
    let users = body["data"]["value"].as_array().expect("a collection");
    assert!(!users.is_empty());
    let nicknames: Vec<&str> =
        state["users"].as_array().unwrap().iter().filter_map(|u| u["mailNickname"].as_str()).collect();
    if !nicknames.is_empty() {
        assert!(users.iter().all(|u| nicknames.contains(&u["accountName"].as_str().unwrap())), "{body}");
    }
}

/// StartInvestigation answers an Investigation and the sandbox holds it; reads find it.
#[tokio::test(flavor = "multi_thread")]
async fn automated_investigations() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[3].clone();
    let (status, body) = h.mde(&t, "StartInvestigation", json!({ "machineId": m["id"], "comment": "triage" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Succeeded", "{body}");
    let investigation = &body["data"]["results"][0]["response"];
    let id = match &investigation["id"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    assert_eq!(investigation["machineId"], m["id"]);

    let state = h.state(&t).await;
    let stored = state["investigations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["machineId"] == m["id"])
        .cloned()
        .expect("in the sandbox");
    assert_eq!(stored["comment"], "triage");

    let (status, body) = h.mde(&t, "GetInvestigation", json!({ "investigationId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["machineId"], m["id"]);
    let (status, body) =
        h.mde(&t, "GetInvestigations", json!({ "filter": format!("machineId eq '{}'", s(&m["id"])) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], 1);
}

/// CollectInvestigationPackage, then the package link through GetInvestigationPackageUri.
#[tokio::test(flavor = "multi_thread")]
async fn investigation_package_link() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[4].clone();
    let (status, body) = h.mde(&t, "CollectInvestigationPackage", json!({ "deviceIds": m["id"] })).await;
    assert_eq!(status, 200, "{body}");
    let action = s(&body["data"]["actionIds"][0]);
    let op = h.wait_operation(body["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let (status, body) = h.mde(&t, "GetPackageUri", json!({ "actionId": action })).await;
    assert_eq!(status, 200, "{body}");
    let url = body["data"]["value"].as_str().expect("a package URL");
    let resp = h.http.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the link downloads");
}

/// startInvestigation has its own budget (50 per hour per tenant, here 2 with a 1 s wait bound):
/// the call past it is refused locally as throttled and never reaches Microsoft, while other
/// MDE calls of the tenant carry on.
#[tokio::test(flavor = "multi_thread")]
async fn investigations_draw_from_their_own_budget() {
    let h = Harness::start_with(1, |s| {
        s.budgets = Some(upstream::Budgets {
            investigation: vec![upstream::Rate::per_hour(2)],
            max_wait: std::time::Duration::from_secs(1),
            ..Default::default()
        });
    })
    .await;
    let t = h.tenant(0);
    let ms = windows_online(&h, &t).await;
    for m in &ms[..2] {
        let (status, body) = h.mde(&t, "StartInvestigation", json!({ "deviceIds": m["id"] })).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = h.mde(&t, "StartInvestigation", json!({ "deviceIds": ms[2]["id"] })).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "Throttled", "{body}");
    assert_eq!(h.state(&t).await["investigations"].as_array().unwrap().len(), 2, "the third never reached MDE");
    let (status, _) = h.mde(&t, "GetDeviceInfo", json!({ "deviceId": ms[2]["id"] })).await;
    assert_eq!(status, 200, "the general MDE budget is separate");
}
