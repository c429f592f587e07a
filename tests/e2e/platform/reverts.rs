//! Time-boxed actions (`revertAfter`): the inverse fires in sandbox time, once, after a restart;
//! a newer action on the target makes it skip with the reason; cancel and extend; bad input.

use super::durability::{GatewayProcess, free_port};
use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn isolated(h: &Harness, tenant: &str, machine: &str) -> bool {
    let state = h.state(tenant).await;
    let m = state["machines"].as_array().unwrap().iter().find(|x| x["id"] == machine).cloned().unwrap();
    m["isolated"] == true
}

async fn advance(h: &Harness, seconds: u64) {
    h.sandbox_admin("clock", json!({ "advance_seconds": seconds })).await;
}

/// Poll a revert (by GET on `base`) until it leaves Scheduled/Running.
async fn revert_ended(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    for _ in 0..300 {
        let r: Value = http
            .get(format!("{base}/v1/reverts/{id}"))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["status"] != "Scheduled" && r["status"] != "Running" {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("revert {id} did not end");
}

async fn post(h: &Harness, path: &str, body: Value) -> (u16, Value) {
    let resp =
        h.http.post(format!("{}{path}", h.gateway)).header("x-api-key", &h.admin_key).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// The revert of an operation, as `GET /v1/reverts?operation=` lists it.
async fn revert_of(h: &Harness, op: &str) -> Value {
    let (s, list) = h.get(&format!("/v1/reverts?operation={op}")).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["count"], 1, "{list}");
    list["reverts"][0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_isolation_for_4_hours_is_released_when_sandbox_time_passes() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[0]["id"].as_str().unwrap().to_string();
    let (s, body) = h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [m], "revertAfter": "PT4H" })).await;
    assert!(s == 200 || s == 202, "{body}");
    let op = body["operation_id"].as_str().unwrap().to_string();
    h.wait_operation(&op).await;
    assert!(isolated(&h, &t, &m).await);
    let r = revert_of(&h, &op).await;
    assert_eq!(r["status"], "Scheduled");
    assert_eq!(r["inverse"], "UnisolateDevice");
    assert_eq!(r["target"], json!({ "deviceIds": [m.to_lowercase()] }));

    // Three hours in: still isolated, still scheduled.
    advance(&h, 3 * 3600).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(revert_of(&h, &op).await["status"], "Scheduled");
    assert!(isolated(&h, &t, &m).await);

    // Past four hours: the inverse runs, once, and the machine is released.
    advance(&h, 3600 + 60).await;
    let id = r["id"].as_str().unwrap();
    let ended = revert_ended(&h.http, &h.gateway, &h.admin_key, id).await;
    assert_eq!(ended["status"], "Fired", "{ended}");
    let undo = h.wait_operation(ended["revert_operation_id"].as_str().unwrap()).await;
    assert_eq!(undo["action"], "UnisolateDevice");
    assert_eq!(undo["status"], "Succeeded", "{undo}");
    assert!(!isolated(&h, &t, &m).await, "released in the sandbox");
    assert_eq!(h.count_actions(&t, "Unisolate", &m).await, 1);

    // The audit links the revert to the original operation.
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}")).await;
    let records = audit["records"].as_array().unwrap();
    for kind in ["revert_scheduled", "revert_fired"] {
        let rec = records.iter().find(|x| x["kind"] == kind).unwrap_or_else(|| panic!("no {kind} record"));
        assert_eq!(rec["operation_id"].as_str().or(rec["operationId"].as_str()), Some(op.as_str()), "{rec}");
    }
    assert!(h.engine.store().verify_audit().await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_separate_isolation_is_not_undone_and_the_skip_says_why() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[1]["id"].as_str().unwrap().to_string();
    let (_, first) = h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [m], "revertAfter": 3600 })).await;
    let first = first["operation_id"].as_str().unwrap().to_string();
    assert_eq!(h.wait_operation(&first).await["status"], "Succeeded");
    let (_, un) = h.native_mde(&t, "UnisolateDevice", json!({ "deviceIds": [m] })).await;
    assert_eq!(h.wait_operation(un["operation_id"].as_str().unwrap()).await["status"], "Succeeded");
    let (_, second) = h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [m] })).await;
    assert_eq!(h.wait_operation(second["operation_id"].as_str().unwrap()).await["status"], "Succeeded");

    let r = revert_of(&h, &first).await;
    advance(&h, 3600 + 60).await;
    let ended = revert_ended(&h.http, &h.gateway, &h.admin_key, r["id"].as_str().unwrap()).await;
    assert_eq!(ended["status"], "Skipped", "{ended}");
    let reason = ended["reason"].as_str().unwrap();
    assert!(reason.contains(second["operation_id"].as_str().unwrap()) && reason.contains("newer"), "{reason}");
    assert!(isolated(&h, &t, &m).await, "the newer isolation stands");
    assert_eq!(h.count_actions(&t, "Unisolate", &m).await, 1, "only the manual release");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_extend_and_refusals() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let machines = h.online_machines(&t).await;
    let (a, b) = (machines[2]["id"].as_str().unwrap(), machines[3]["id"].as_str().unwrap());

    // No inverse: 400 naming the field; a bad duration too. Nothing is accepted.
    let (s, e) = h.native_mde(&t, "RunAntivirusScan", json!({ "deviceIds": [a], "revertAfter": "PT1H" })).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("revertAfter")), "{e}");
    let (s, e) = h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [a], "revertAfter": "tomorrow" })).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("revertAfter")), "{e}");
    // The seed's shape takes it too.
    let (s, body) = h.mde(&t, "IsolateDevice", json!({ "deviceIds": a, "revertAfter": "PT2H" })).await;
    assert_eq!(s, 200, "{body}");
    let op_a = body["operationId"].as_str().unwrap().to_string();
    let (_, body) = h.native_mde(&t, "IsolateDevice", json!({ "deviceIds": [b], "revertAfter": "PT1H" })).await;
    let op_b = body["operation_id"].as_str().unwrap().to_string();
    h.wait_operation(&op_a).await;
    h.wait_operation(&op_b).await;
    let (ra, rb) = (revert_of(&h, &op_a).await, revert_of(&h, &op_b).await);
    let (ida, idb) = (ra["id"].as_str().unwrap(), rb["id"].as_str().unwrap());

    let (s, c) = post(&h, &format!("/v1/reverts/{ida}/cancel"), json!({})).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("Cancelled")), "{c}");
    let (s, again) = post(&h, &format!("/v1/reverts/{ida}/cancel"), json!({})).await;
    assert_eq!(s, 409, "{again}");
    let (s, x) = post(&h, &format!("/v1/reverts/{idb}/extend"), json!({ "by": "PT2H" })).await;
    assert_eq!(s, 200, "{x}");
    let (s, e) = post(&h, &format!("/v1/reverts/{idb}/extend"), json!({ "by": "later" })).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("by")), "{e}");
    let (s, _) = h.get("/v1/reverts/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(s, 404);

    // Past the first due time but before the extended one: nothing fires.
    advance(&h, 2 * 3600 + 60).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(revert_of(&h, &op_b).await["status"], "Scheduled");
    assert!(isolated(&h, &t, a).await && isolated(&h, &t, b).await);
    advance(&h, 3600).await;
    let ended = revert_ended(&h.http, &h.gateway, &h.admin_key, idb).await;
    assert_eq!(ended["status"], "Fired", "{ended}");
    h.wait_operation(ended["revert_operation_id"].as_str().unwrap()).await;
    assert!(!isolated(&h, &t, b).await && isolated(&h, &t, a).await, "b released, cancelled a still isolated");
    let (_, list) = h.get("/v1/reverts?status=Cancelled").await;
    assert_eq!(list["count"], 1);
}

/// The acceptance test: the time box survives a kill -9 of the gateway and fires on time, in
/// sandbox time, from the restarted process.
#[tokio::test(flavor = "multi_thread")]
async fn revert_after_fires_after_a_restart_in_between() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = h.online_machines(&t).await[4]["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[tracker]\npoll_seconds = 0.5\n\n[clock]\nfollow = \"{}/_sandbox/clock\"\n",
        h.process_config(),
        h.sandbox.base_url()
    );
    let config_path = dir.path().join("riposte.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");
    let key = "rk_revert_test_admin_key_0123456789abcdef";
    let mut gw = GatewayProcess::spawn(&config_path, &data, free_port(), key);
    gw.ready(&h.http).await;
    let resp = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/MDE/IsolateDevice", gw.url))
        .header("x-api-key", key)
        .json(&json!({ "deviceIds": [m], "revertAfter": "PT4H" }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let op = body["operation_id"].as_str().expect("an operation").to_string();
    let list: Value = h
        .http
        .get(format!("{}/v1/reverts?operation={op}", gw.url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["reverts"][0]["id"].as_str().expect("a scheduled revert").to_string();
    for _ in 0..100 {
        if isolated(&h, &t, &m).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(isolated(&h, &t, &m).await);
    gw.kill();

    // While the gateway is down, four hours pass in the sandbox.
    advance(&h, 4 * 3600 + 60).await;
    let again = GatewayProcess::spawn(&config_path, &data, free_port(), key);
    again.ready(&h.http).await;
    let ended = revert_ended(&h.http, &again.url, key, &id).await;
    assert_eq!(ended["status"], "Fired", "{ended}");
    for _ in 0..100 {
        if !isolated(&h, &t, &m).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!isolated(&h, &t, &m).await, "released after the restart");
    assert_eq!(h.count_actions(&t, "Unisolate", &m).await, 1, "exactly once");
}
