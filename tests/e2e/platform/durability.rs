//! Durable, detached execution: accepted work survives callers that hang up, waits that end, and
//! a gateway killed with `kill -9` in the middle of 50 actions over 3 tenants.
//!
//! Effects are asserted in the sandbox: every accepted action exists there exactly once (found by
//! the `[riposte:{operation}]` marker MDE keeps in the action's comment), and every MDE action
//! carrying a marker has its operation in Riposte.

use crate::common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Windows machines that are online: every machine action is supported and completes there.
async fn windows_online(h: &Harness, tenant: &str) -> Vec<String> {
    h.online_machines(tenant)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect()
}

fn marker(op: &str) -> String {
    format!("[riposte:{op}]")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_that_hangs_up_does_not_cancel_the_action() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    // The isolate takes 5 s upstream; the caller gives up after 1 s.
    h.sandbox_admin(
        "faults",
        json!({ "path_prefix": format!("/api/machines/{m}/isolate"), "method": "POST", "delay_ms": 5000, "count": 1 }),
    )
    .await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let sent = impatient
        .post(format!("{}/api/DefenderXDRMDEWorker", h.gateway))
        .header("x-functions-key", &h.admin_key)
        .json(&json!({ "action": "IsolateDevice", "tenantId": t, "deviceIds": m, "comment": "hang up" }))
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()), "the caller should have timed out");

    // The operation was accepted before the caller left, and completes without it.
    let (status, list) = h.get(&format!("/v1/operations?tenant={t}&action=IsolateDevice")).await;
    assert_eq!(status, 200, "{list}");
    let op_id = list["operations"][0]["id"].as_str().expect("the operation is recorded").to_string();
    let op = h.wait_operation_long(&op_id).await;
    assert_eq!(op["status"], "Succeeded", "{op}");

    let actions = h.machine_actions(&t).await;
    let ours: Vec<&Value> = actions
        .iter()
        .filter(|a| a["requestorComment"].as_str().is_some_and(|c| c.contains(&marker(&op_id))))
        .collect();
    assert_eq!(ours.len(), 1, "exactly one isolate upstream: {ours:?}");
    assert_eq!(ours[0]["type"], "Isolate");
    assert_eq!(ours[0]["machineId"], m.as_str());
    assert_eq!(ours[0]["status"], "Succeeded");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={t}&action=IsolateDevice")).await;
    let kinds: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["operation_id"] == op_id.as_str())
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["attempt", "outcome", "completed"], "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_wait_a_write_answers_202_and_a_replay_is_the_same_operation() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    h.sandbox_admin("faults", json!({ "path_prefix": format!("/api/machines/{m}/restrictCodeExecution"), "method": "POST", "delay_ms": 1500, "count": 1 })).await;
    let body = json!({ "action": "RestrictAppExecution", "tenantId": t, "deviceIds": m, "comment": "wait", "wait": 0 });
    let send = |body: Value| {
        h.http
            .post(format!("{}/api/DefenderXDRMDEWorker", h.gateway))
            .header("x-functions-key", &h.admin_key)
            .header("idempotency-key", "k-202")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 202);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["success"], true);
    assert!(matches!(first["status"].as_str(), Some("Queued" | "Running")), "{first}");
    assert_eq!(first["operationUrl"], location.as_str());

    // The same key and body while it runs: the same operation, never a second action.
    let again: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again["operationId"], first["operationId"]);
    assert_eq!(again["replayed"], true);
    // The same key with another body: 422 naming the key.
    let other =
        send(json!({ "action": "RestrictAppExecution", "tenantId": t, "deviceIds": m, "comment": "different" }))
            .await
            .unwrap();
    assert_eq!(other.status().as_u16(), 422);
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["error"]["field"], "Idempotency-Key", "{other}");

    let op = h.wait_operation_long(first["operationId"].as_str().unwrap()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let (_, listed) = h.get(&location).await;
    assert_eq!(listed["status"], "Succeeded");
    let restricts = h.count_actions(&t, "RestrictCodeExecution", &m).await;
    assert_eq!(restricts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_with_one_key_make_one_operation() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    let body = json!({ "action": "RunAntivirusScan", "tenantId": t, "deviceIds": m, "comment": "race" });
    let sends = (0..8).map(|_| {
        h.http
            .post(format!("{}/api/DefenderXDRMDEWorker", h.gateway))
            .header("x-functions-key", &h.admin_key)
            .header("idempotency-key", "k-race")
            .json(&body)
            .send()
    });
    let answers = futures::future::join_all(sends).await;
    let mut ids = std::collections::BTreeSet::new();
    for a in answers {
        let a = a.unwrap();
        assert!(a.status().is_success(), "{}", a.status());
        let v: Value = a.json().await.unwrap();
        ids.insert(v["operationId"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let scans = h.count_actions(&t, "RunAntiVirusScan", &m).await;
    assert_eq!(scans, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_list_filters_and_pages_within_the_callers_scope() {
    let h = Harness::start(2).await;
    let (t0, t1) = (h.tenant(0), h.tenant(1));
    for t in [&t0, &t1] {
        let (s, _) = h.mde(t, "GetAllDevices", json!({ "top": 1 })).await;
        assert_eq!(s, 200);
        let (s, _) = h.mde(t, "GetAllActions", json!({})).await;
        assert_eq!(s, 200);
    }
    let (s, page) = h.get(&format!("/v1/operations?tenant={t0}&limit=1")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["count"], 1);
    let next = page["nextBefore"].as_str().expect("a next page").to_string();
    let (_, rest) = h.get(&format!("/v1/operations?tenant={t0}&before={next}")).await;
    assert_eq!(rest["count"], 1);
    assert_ne!(rest["operations"][0]["id"], page["operations"][0]["id"]);
    let (_, ok) = h.get("/v1/operations?state=Succeeded&product=MDE&action=GetAllDevices").await;
    assert_eq!(ok["count"], 2);
    let (s, bad) = h.get("/v1/operations?state=Done").await;
    assert_eq!(s, 400);
    assert_eq!(bad["error"]["field"], "state");

    // A key scoped to tenant 1 sees only tenant 1, and may not ask for tenant 0.
    let key = gateway::auth::generate_key();
    let scoped_key = store::NewKey {
        name: "scoped".into(),
        role: "reader".into(),
        tenants: vec![t1.clone()],
        key_hash: gateway::auth::hash_key(&key),
    };
    h.engine.store().create_key(scoped_key).await.unwrap();
    let scoped = |path: String| h.http.get(format!("{}{path}", h.gateway)).header("x-api-key", &key).send();
    let mine: Value = scoped("/v1/operations".into()).await.unwrap().json().await.unwrap();
    assert_eq!(mine["count"], 2, "{mine}");
    assert!(mine["operations"].as_array().unwrap().iter().all(|o| o["tenant"] == t1.as_str()));
    assert_eq!(scoped(format!("/v1/operations?tenant={t0}")).await.unwrap().status().as_u16(), 403);
    assert_eq!(h.http.get(format!("{}/v1/operations", h.gateway)).send().await.unwrap().status().as_u16(), 401);
}

/// A gateway in its own process, so the test can kill it with SIGKILL (the Incident bulk
/// resume test uses it too).
pub(crate) struct GatewayProcess {
    child: Child,
    pub(crate) url: String,
}

impl GatewayProcess {
    pub(crate) fn spawn(
        config: &std::path::Path,
        data: &std::path::Path,
        port: u16,
        admin_key: &str,
    ) -> GatewayProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["serve", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RIPOSTE_ADMIN_KEY", admin_key)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riposte serve starts");
        GatewayProcess { child, url: format!("http://127.0.0.1:{port}") }
    }

    pub(crate) async fn ready(&self, http: &reqwest::Client) {
        for _ in 0..200 {
            if http.get(format!("{}/healthz", self.url)).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the gateway did not come up");
    }

    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the gateway");
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `riposte.toml` in `dir` for a gateway process on the harness's sandbox: its clouds and
/// tenants, the tracker polling every second, PostgreSQL at `store_url` or SQLite.
fn process_config(h: &Harness, dir: &std::path::Path, store_url: Option<&str>) -> std::path::PathBuf {
    let mut config = h.process_config();
    config.push_str("\n[tracker]\npoll_seconds = 1.0\n");
    if let Some(url) = store_url {
        config.push_str(&format!("\n[store]\nurl = \"{url}\"\n"));
    }
    let path = dir.join("riposte.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A restart that interrupted MDE's indicator submit (a create-or-update POST) runs it again:
/// the operation ends `Succeeded` and the indicator exists once, instead of `Unknown` with
/// nothing upstream.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_with_an_indicator_submit_in_flight_then_restart_submits_it() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let dir = tempfile::tempdir().unwrap();
    let config_path = process_config(&h, dir.path(), None);
    let data = dir.path().join("data");
    let port = free_port();
    let key = "rk_kill_test_admin_key_0123456789abcdef";
    let mut gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;
    // The submit hangs upstream until the gateway dies.
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/indicators", "method": "POST", "delay_ms": 600_000 })).await;
    let sha1 = "3395856ce81f2b7382dee72602f798b642f14140";
    let accepted: Value = h
        .http
        .post(format!("{}/v1/tenants/{t}/actions/MDE/AddIndicator", gw.url))
        .header("x-api-key", key)
        .header("prefer", "wait=0")
        .json(&json!({ "indicatorValue": sha1, "indicatorType": "FileSha1", "action": "Block", "title": "kill test" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = accepted["operation_id"].as_str().unwrap_or_else(|| panic!("accepted: {accepted}")).to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    gw.kill();
    let cleared = h.http.delete(format!("{}/_sandbox/faults", h.sandbox.base_url())).send().await.unwrap();
    assert!(cleared.status().is_success());
    assert!(
        !h.state(&t).await["indicators"].as_array().unwrap().iter().any(|i| i["indicatorValue"] == sha1),
        "the kill landed before the submit reached MDE"
    );

    let gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;
    let mut stored = Value::Null;
    for _ in 0..100 {
        let r = h.http.get(format!("{}/v1/operations/{op}", gw.url)).header("x-api-key", key).send().await.unwrap();
        stored = r.json().await.unwrap();
        if engine::status::is_terminal(stored["status"].as_str().unwrap_or("")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored["status"], "Succeeded", "{stored}");
    let indicators = h.state(&t).await["indicators"].clone();
    let ours = indicators.as_array().unwrap().iter().filter(|i| i["indicatorValue"] == sha1).count();
    assert_eq!(ours, 1, "{indicators}");
}

/// The acceptance test of durable execution: kill -9 with 50 actions over 3 tenants in flight.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_with_50_actions_in_flight_then_restart_every_action_exactly_once() {
    kill_9_with_50_actions_in_flight(None).await;
}

/// The same on PostgreSQL (`[store] url`), in the test process's private cluster.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_with_50_actions_in_flight_on_postgres_then_restart_every_action_exactly_once() {
    let url = store::pg_cluster::PgCluster::shared().fresh_database().await;
    kill_9_with_50_actions_in_flight(Some(url)).await;
}

/// Kill -9 a `riposte serve` (SQLite in its data directory, or PostgreSQL at `store_url`) with
/// 50 actions in flight, restart it, and check every accepted action ran exactly once upstream.
async fn kill_9_with_50_actions_in_flight(store_url: Option<String>) {
    let h = Harness::start(3).await;
    let tenants: Vec<String> = (0..3).map(|i| h.tenant(i)).collect();
    let dir = tempfile::tempdir().unwrap();
    let config_path = process_config(&h, dir.path(), store_url.as_deref());
    let data = dir.path().join("data");
    let port = free_port();
    let key = "rk_kill_test_admin_key_0123456789abcdef";
    let mut gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;

    // Every machine action POST takes 800 ms upstream, so the kill lands with calls in flight.
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/machines/", "method": "POST", "delay_ms": 800 })).await;
    // (The rule also slows the restart's own submissions a little; that is fine.)
    let kinds = ["IsolateDevice", "RestrictAppExecution", "RunAntivirusScan", "CollectInvestigationPackage"];
    let mut planned = Vec::new();
    for t in &tenants {
        let machines = windows_online(&h, t).await;
        for m in &machines {
            for k in kinds {
                planned.push((t.clone(), m.clone(), k));
            }
        }
    }
    // 50 actions, spread over the 3 tenants.
    planned.sort_by_key(|(t, m, k)| (m.clone(), *k, t.clone()));
    let mut by_tenant: HashMap<String, Vec<(String, String, &str)>> = HashMap::new();
    for p in planned {
        by_tenant.entry(p.0.clone()).or_default().push(p);
    }
    let mut chosen = Vec::new();
    while chosen.len() < 50 && by_tenant.values().any(|v| !v.is_empty()) {
        for t in &tenants {
            if let Some(p) = by_tenant.get_mut(t).and_then(Vec::pop)
                && chosen.len() < 50
            {
                chosen.push(p);
            }
        }
    }
    assert_eq!(chosen.len(), 50, "the seeded world has enough online Windows machines");

    let sends = chosen.iter().map(|(t, m, k)| {
        h.http
            .post(format!("{}/api/DefenderXDRMDEWorker", gw.url))
            .header("x-functions-key", key)
            .header("prefer", "wait=0")
            .json(&json!({ "action": k, "tenantId": t, "deviceIds": m, "comment": "kill test" }))
            .send()
    });
    let answers = futures::future::join_all(sends).await;
    let mut accepted = Vec::new();
    for a in answers {
        let a = a.expect("the gateway answers before the kill");
        assert!(a.status().is_success(), "{}", a.status());
        let v: Value = a.json().await.unwrap();
        accepted.push(v["operationId"].as_str().unwrap().to_string());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: Value = h
        .http
        .get(format!("{}/v1/operations?limit=1000", gw.url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let open = before["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| matches!(o["status"].as_str(), Some("Queued" | "Running")))
        .count();
    assert!(open > 0, "the kill must land with calls in flight: {before}");
    gw.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let restarted = Instant::now();
    let gw = GatewayProcess::spawn(&config_path, &data, port, key);
    gw.ready(&h.http).await;
    let mut ops: Vec<Value> = Vec::new();
    while restarted.elapsed() < Duration::from_secs(60) {
        let list: Value = h
            .http
            .get(format!("{}/v1/operations?limit=1000", gw.url))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ops = list["operations"].as_array().cloned().unwrap_or_default();
        if ops.len() == 50 && ops.iter().all(|o| engine::status::is_terminal(o["status"].as_str().unwrap_or(""))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(restarted.elapsed() < Duration::from_secs(60), "not every operation was terminal within 60 s: {ops:?}");
    assert_eq!(ops.len(), 50);

    // Every MDE action with a marker, over the three tenants.
    let mut upstream_by_op: HashMap<String, usize> = HashMap::new();
    for t in &tenants {
        for a in h.machine_actions(t).await {
            if let Some(op) = a["requestorComment"]
                .as_str()
                .and_then(|c| c.split("[riposte:").nth(1))
                .and_then(|r| r.split(']').next())
            {
                *upstream_by_op.entry(op.to_string()).or_default() += 1;
            }
        }
    }
    let known: std::collections::HashSet<String> =
        ops.iter().filter_map(|o| o["id"].as_str().map(String::from)).collect();
    for (op, n) in &upstream_by_op {
        assert!(known.contains(op), "MDE has an action of operation {op} that Riposte never recorded");
        assert_eq!(*n, 1, "operation {op} ran {n} times upstream");
    }
    for o in &ops {
        let id = o["id"].as_str().unwrap();
        match o["status"].as_str().unwrap() {
            "Unknown" => {
                assert!(o["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "Unknown without a reason: {o}")
            }
            "Succeeded" => assert_eq!(upstream_by_op.get(id), Some(&1), "{o}"),
            other => panic!("operation {id} ended {other}: {o}"),
        }
    }
    for id in &accepted {
        assert_eq!(upstream_by_op.get(id), Some(&1), "accepted operation {id} must run upstream exactly once");
    }
}
