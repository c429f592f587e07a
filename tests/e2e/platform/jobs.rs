//! Bulk jobs: a job over 3 tenants with its effects in the sandbox, its undo, pause / resume /
//! cancel / retry, refusals naming the field, interactive actions overtaking bulk items, and a
//! gateway killed with `kill -9` mid-job that, restarted, does every item exactly once.

use super::durability::{GatewayProcess, free_port};
use crate::common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Where the gateway under test keeps its state: the suite's shared bodies run on both back
/// ends (issue 12 §4), SQLite here and PostgreSQL in `replicas_jobs.rs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A harness whose gateway keeps its state in this back end (a fresh PostgreSQL database).
    pub(super) async fn start(self, tenants: usize, tweak: impl FnOnce(&mut riposte::app::GatewaySettings)) -> Harness {
        let url = match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(store::pg_cluster::PgCluster::shared().fresh_database().await),
        };
        let h = Harness::start_with(tenants, |s| {
            s.store_url = url;
            tweak(s);
        })
        .await;
        let expected = match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(h.engine.store().backend_name(), expected);
        h
    }

    /// The `[store]` section of a `riposte serve` config for this back end (a fresh database).
    async fn store_section(self) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => {
                let url = store::pg_cluster::PgCluster::shared().fresh_database().await;
                format!("\n[store]\nurl = \"{url}\"\n")
            }
        }
    }
}

async fn windows_online(h: &Harness, tenant: &str) -> Vec<String> {
    h.online_machines(tenant)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect()
}

async fn post(http: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = http.post(format!("{base}{path}")).header("x-api-key", key).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, base: &str, key: &str, path: &str) -> Value {
    http.get(format!("{base}{path}")).header("x-api-key", key).send().await.unwrap().json().await.unwrap()
}

/// Poll the job until it has ended (or `secs` pass).
async fn job_ended(http: &reqwest::Client, base: &str, key: &str, id: &str, secs: u64) -> Value {
    let mut job = Value::Null;
    for _ in 0..secs * 10 {
        job = get(http, base, key, &format!("/v1/jobs/{id}")).await;
        if !matches!(job["state"].as_str(), Some("Running" | "Paused")) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end: {job}");
}

/// Every operation of the job's items reached a terminal state (machine actions tracked to the end).
async fn items_settled(h: &Harness, job: &str) -> Vec<Value> {
    let items = get(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{job}/items")).await;
    let items = items["items"].as_array().cloned().unwrap();
    for item in &items {
        let op = h.wait_operation(item["operation_id"].as_str().expect("an operation per item")).await;
        assert_eq!(op["status"], "Succeeded", "{op}");
    }
    items
}

fn isolated(state: &Value, machine: &str) -> bool {
    state["machines"].as_array().unwrap().iter().any(|m| m["id"] == machine && m["isolated"] == true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_over_three_tenants_isolates_every_target_and_its_undo_restores_them() {
    job_over_three_tenants_and_its_undo(Backend::Sqlite).await;
}

pub(super) async fn job_over_three_tenants_and_its_undo(b: Backend) {
    let h = b.start(3, |_| {}).await;
    let mut targets = Vec::new();
    let mut chosen: Vec<(String, String)> = Vec::new();
    for i in 0..3 {
        let t = h.tenant(i);
        for m in windows_online(&h, &t).await.into_iter().take(3) {
            targets.push(json!({ "tenant": t, "deviceIds": [m] }));
            chosen.push((t.clone(), m));
        }
    }
    let body = json!({ "name": "contain", "product": "MDE", "action": "IsolateDevice", "params": { "comment": "bulk e2e" }, "targets": targets });
    let (s, job) = post(&h.http, &h.gateway, &h.admin_key, "/v1/jobs", body).await;
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["total"], 9);
    let id = job["id"].as_str().unwrap().to_string();
    let done = job_ended(&h.http, &h.gateway, &h.admin_key, &id, 60).await;
    assert_eq!(done["state"], "Succeeded", "{done}");
    assert_eq!(done["counts"]["Succeeded"], 9, "{done}");
    assert_eq!(done["tenants"].as_object().unwrap().len(), 3, "{done}");
    assert!(done["throughput_per_second"].as_f64().unwrap() > 0.0, "{done}");
    items_settled(&h, &id).await;
    for (t, m) in &chosen {
        assert!(isolated(&h.state(t).await, m), "{m} isolated in the sandbox");
        assert_eq!(h.count_actions(t, "Isolate", m).await, 1, "exactly one isolation of {m}");
    }

    // Undo: each succeeded item's inverse, as a job of its own.
    let (s, undo) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/undo"), json!({})).await;
    assert_eq!(s, 201, "{undo}");
    assert_eq!((undo["action"].as_str(), undo["undo_of"].as_str()), (Some("UnisolateDevice"), Some(id.as_str())));
    let undo_id = undo["id"].as_str().unwrap().to_string();
    let undone = job_ended(&h.http, &h.gateway, &h.admin_key, &undo_id, 60).await;
    assert_eq!(undone["state"], "Succeeded", "{undone}");
    items_settled(&h, &undo_id).await;
    for (t, m) in &chosen {
        assert!(!isolated(&h.state(t).await, m), "{m} released by the undo");
        assert_eq!(h.count_actions(t, "Unisolate", m).await, 1);
    }
    let (_, audit) = h.get("/v1/audit?limit=10000").await;
    let kinds: Vec<&str> = audit["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(kinds.contains(&"job_created") && kinds.contains(&"job_completed"), "{kinds:?}");
    let (s, verify) = h.get("/v1/audit/verify").await;
    assert_eq!(s, 200, "{verify}");
    let (_, list) = h.get("/v1/jobs").await;
    assert_eq!(list["count"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_field_and_nothing_is_written() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    let cases = [
        (json!({ "action": "IsolateDevice", "targets": [{ "tenant": t, "deviceIds": [m] }] }), "product"),
        (json!({ "product": "MDE", "targets": [{ "tenant": t, "deviceIds": [m] }] }), "action"),
        (json!({ "product": "MDE", "action": "IsolateDevice" }), "targets"),
        (
            json!({ "product": "MDE", "action": "IsolateDevice", "targets": [{ "deviceIds": [m] }] }),
            "targets[0].tenant",
        ),
        (
            json!({ "product": "MDE", "action": "IsolateDevice", "targets": [{ "tenant": "nope", "deviceIds": [m] }] }),
            "targets[0].tenant",
        ),
        (
            json!({ "product": "MDE", "action": "IsolateDevice", "targets": [{ "tenant": t, "deviceIds": [m] }, { "tenant": t, "isolationType": "Sideways", "deviceIds": [m] }] }),
            "targets[1].isolationType",
        ),
        (
            json!({ "product": "MDE", "action": "RunAntivirusScan", "revertAfter": "PT1H", "targets": [{ "tenant": t, "deviceIds": [m] }] }),
            "revertAfter",
        ),
        (json!({ "product": "MDE", "action": "IsolateDevice", "tenants": "all", "filter": "" }), "filter"),
    ];
    for (body, field) in cases {
        let (s, e) = post(&h.http, &h.gateway, &h.admin_key, "/v1/jobs", body.clone()).await;
        assert_eq!(s, 400, "{body} -> {e}");
        assert_eq!(e["error"]["field"], field, "{body} -> {e}");
    }
    let (_, list) = h.get("/v1/jobs").await;
    assert_eq!(list["count"], 0);
    let (s, _) = h.get("/v1/jobs/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(s, 404);
}

/// A filter selects the targets: every online Windows machine of each tenant the filter names.
#[tokio::test(flavor = "multi_thread")]
async fn a_filter_selects_machines_in_every_tenant_and_a_paused_job_waits_until_resumed() {
    filter_and_pause(Backend::Sqlite).await;
}

pub(super) async fn filter_and_pause(b: Backend) {
    let h = b.start(2, |_| {}).await;
    // Each scan takes a while upstream, so the pause always lands before the job could end.
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/machines/", "method": "POST", "delay_ms": 1_500 })).await;
    let (s, job) = post(
        &h.http,
        &h.gateway,
        &h.admin_key,
        "/v1/jobs",
        json!({ "product": "MDE", "action": "RunAntivirusScan", "tenants": "all", "filter": "healthStatus eq 'Active'", "priority": 5 }),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let (s, paused) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/pause"), json!({})).await;
    assert_eq!(s, 200, "{paused}");
    let total = paused["total"].as_i64().unwrap();
    let mut expected = 0;
    for i in 0..2 {
        let state = h.state(&h.tenant(i)).await;
        expected +=
            state["machines"].as_array().unwrap().iter().filter(|m| m["healthStatus"] == "Active").count() as i64;
    }
    assert_eq!(total, expected, "one item per selected machine");
    let (s, again) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/pause"), json!({})).await;
    assert_eq!(s, 409, "{again}");
    // Items already on their way end; nothing more starts, and the job stays paused even when
    // its last item ended while it was (it ends on resume).
    let mut view = Value::Null;
    for _ in 0..300 {
        view = get(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}")).await;
        if view["counts"]["Running"].as_i64().unwrap_or(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["counts"]["Running"].as_i64().unwrap_or(0), 0, "claimed items end while paused: {view}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let still = get(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}")).await;
    assert_eq!(still["state"], "Paused", "{still}");
    assert_eq!(still["counts"], view["counts"], "nothing starts while paused");
    let (s, _) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/resume"), json!({})).await;
    assert_eq!(s, 200);
    let ended = job_ended(&h.http, &h.gateway, &h.admin_key, &id, 90).await;
    let counts = &ended["counts"];
    assert_eq!(
        counts["Succeeded"].as_i64().unwrap_or(0) + counts["Failed"].as_i64().unwrap_or(0),
        total,
        "every item ended: {ended}"
    );
    // Offline machines keep their scans pending; the rest ran.
    assert!(counts["Succeeded"].as_i64().unwrap_or(0) > 0, "{ended}");
    let (s, e) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/undo"), json!({})).await;
    assert_eq!(s, 409, "a scan has no inverse: {e}");
    let (s, c) = post(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(s, 409, "an ended job cannot be cancelled: {c}");
}

/// An interactive action is never queued behind a job's items for the same tenant and budget.
#[tokio::test(flavor = "multi_thread")]
async fn an_interactive_action_overtakes_a_big_job_of_the_same_tenant() {
    interactive_overtakes_a_big_job(Backend::Sqlite).await;
}

pub(super) async fn interactive_overtakes_a_big_job(b: Backend) {
    // MDE's budget at 20 calls per 2 s, so 100 bulk reads take about 10 s.
    let h = b
        .start(1, |s| {
            s.budgets = Some(upstream::Budgets {
                mde: vec![upstream::Rate::new(20, Duration::from_secs(2))],
                ..Default::default()
            });
        })
        .await;
    // The gateway's budget is the bound here, not the sandbox's 100 a minute.
    h.sandbox_admin("limits", json!({ "mde_per_minute": 100_000, "mde_per_hour": 1_000_000 })).await;
    let t = h.tenant(0);
    let machines: Vec<String> = h.state(&t).await["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect();
    let targets: Vec<Value> =
        (0..100).map(|i| json!({ "tenant": t, "deviceId": machines[i % machines.len()] })).collect();
    let (s, job) = post(
        &h.http,
        &h.gateway,
        &h.admin_key,
        "/v1/jobs",
        json!({ "product": "MDE", "action": "GetDeviceInfo", "targets": targets }),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, one) = h.native_mde(&t, "GetDeviceInfo", json!({ "deviceId": machines[0] })).await;
    assert_eq!(s, 200, "{one}");
    let view = get(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}")).await;
    let open = view["counts"]["Pending"].as_i64().unwrap_or(0) + view["counts"]["Running"].as_i64().unwrap_or(0);
    // The items already on their way yielded the budget to it (upstream::budget::as_bulk).
    assert!(open >= 40, "the interactive read did not wait for the job's items: {view}");
    let ended = job_ended(&h.http, &h.gateway, &h.admin_key, &id, 60).await;
    assert_eq!(ended["state"], "Succeeded", "{ended}");
}

/// The acceptance test: kill -9 during a bulk job (SQLite); after restart every item is done
/// exactly once and the job completes.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_bulk_job_then_every_item_exactly_once() {
    kill_9_mid_job(Backend::Sqlite).await;
}

pub(super) async fn kill_9_mid_job(b: Backend) {
    let h = Harness::start(3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{}\n[tracker]\npoll_seconds = 1.0\n{}", h.process_config(), b.store_section().await);
    let config_path = dir.path().join("riposte.toml");
    std::fs::write(&config_path, config).unwrap();
    let data = dir.path().join("data");
    let key = "rk_jobs_kill_test_admin_key_0123456789abcdef";
    let mut gw = GatewayProcess::spawn(&config_path, &data, free_port(), key);
    gw.ready(&h.http).await;

    let mut targets = Vec::new();
    for i in 0..3 {
        let t = h.tenant(i);
        for m in windows_online(&h, &t).await {
            targets.push(json!({ "tenant": t, "deviceIds": [m] }));
        }
    }
    let total = targets.len();
    assert!(total >= 12, "enough machines: {total}");
    // The first four isolate POSTs take 800 ms upstream; every later one hangs until the gateway
    // dies. So the kill lands mid-job with calls in flight, however many items run at once.
    h.sandbox_admin(
        "faults",
        json!([
            { "path_prefix": "/api/machines/", "method": "POST", "delay_ms": 800, "count": 4 },
            { "path_prefix": "/api/machines/", "method": "POST", "delay_ms": 600_000 },
        ]),
    )
    .await;
    let (s, job) = post(
        &h.http,
        &gw.url,
        key,
        "/v1/jobs",
        json!({ "product": "MDE", "action": "IsolateDevice", "params": { "comment": "kill -9 job" }, "targets": targets }),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let mut at_kill = Value::Null;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        at_kill = get(&h.http, &gw.url, key, &format!("/v1/jobs/{id}")).await;
        if at_kill["counts"]["Succeeded"].as_i64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    gw.kill();
    let done_at_kill = at_kill["counts"]["Succeeded"].as_i64().unwrap_or(0);
    assert!(done_at_kill >= 2, "the job made progress before the kill: {at_kill}");
    assert!(done_at_kill < total as i64, "the kill landed mid-job: {at_kill}");
    // The hanging calls died with the gateway; the restarted one is answered at once.
    let cleared = h.http.delete(format!("{}/_sandbox/faults", h.sandbox.base_url())).send().await.unwrap();
    assert!(cleared.status().is_success(), "clearing the faults: {}", cleared.status());

    // The same data directory, so the same replica id: it reclaims its own leftovers at once.
    let again = GatewayProcess::spawn(&config_path, &data, free_port(), key);
    again.ready(&h.http).await;
    let ended = job_ended(&h.http, &again.url, key, &id, 120).await;
    assert_eq!(ended["state"], "Succeeded", "{ended}");
    assert_eq!(ended["counts"]["Succeeded"].as_u64(), Some(total as u64), "{ended}");

    // Exactly once upstream: one Isolate per target machine, none twice.
    let mut per_machine: HashMap<String, usize> = HashMap::new();
    for i in 0..3 {
        for a in h.machine_actions(&h.tenant(i)).await {
            if a["type"] == "Isolate" && a["requestorComment"].as_str().is_some_and(|c| c.starts_with("kill -9 job")) {
                *per_machine.entry(a["machineId"].as_str().unwrap().to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(per_machine.len(), total, "every target isolated: {per_machine:?}");
    assert!(per_machine.values().all(|n| *n == 1), "no target isolated twice: {per_machine:?}");
}

/// The seed's bulk form: an isolation of more devices than a request runs inline (10) is a job,
/// answered 202 with its id and status link in the seed's envelope; every device is isolated in
/// the sandbox, once, and the job completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_seed_bulk_isolation_becomes_a_job_that_isolates_every_device() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let devices: Vec<String> = windows_online(&h, &t).await.into_iter().take(12).collect();
    assert_eq!(devices.len(), 12, "the sandbox tenant has 12 online Windows machines");
    let (s, body) = h
        .seed(
            "DefenderXDRMDEWorker",
            json!({ "action": "IsolateDevice", "tenantId": t, "parameters": { "deviceIds": devices.join(","), "comment": "seed bulk e2e" } }),
        )
        .await;
    assert_eq!(s, 202, "{body}");
    // The seed's envelope, plus the job and where to follow it (Azure Functions' status URLs).
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["action"], "IsolateDevice", "{body}");
    assert_eq!(body["tenantId"], t.as_str(), "{body}");
    assert!(body["correlationId"].is_string() && body["timestamp"].is_string(), "{body}");
    let id = body["jobId"].as_str().expect("the job's id").to_string();
    assert_eq!(body["statusQueryGetUri"], format!("/v1/jobs/{id}"), "{body}");
    assert_eq!(body["data"]["total"], 12, "{body}");
    let done = job_ended(&h.http, &h.gateway, &h.admin_key, &id, 60).await;
    assert_eq!(done["state"], "Succeeded", "{done}");
    assert_eq!(done["counts"]["Succeeded"], 12, "{done}");
    let items = items_settled(&h, &id).await;
    assert_eq!(items.len(), 12);
    let state = h.state(&t).await;
    for m in &devices {
        assert!(isolated(&state, m), "{m} is not isolated");
        assert_eq!(h.count_actions(&t, "Isolate", m).await, 1, "{m} isolated once");
    }
    // A short list still runs inline, as one operation answered per device.
    let few: Vec<String> = h
        .online_machines(&t)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
        .filter_map(|m| m["id"].as_str().map(String::from))
        .filter(|m| !devices.contains(m))
        .take(2)
        .collect();
    let (s, body) = h.mde(&t, "RestrictAppExecution", json!({ "deviceIds": few })).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("jobId").is_none(), "{body}");
}

/// An interactive isolate during a 500-item job of the same tenant and budget takes the next
/// free budget slot: it is done within a couple of the budget's windows, while the job needs
/// about fifty.
#[tokio::test(flavor = "multi_thread")]
async fn an_interactive_isolate_overtakes_a_500_item_job_within_a_couple_of_slots() {
    // MDE's budget at 20 calls per second: the job's 500 reads take about 25 s.
    let h = Harness::start_with(1, |s| {
        s.budgets = Some(upstream::Budgets {
            mde: vec![upstream::Rate::new(20, Duration::from_secs(1))],
            ..Default::default()
        });
    })
    .await;
    h.sandbox_admin("limits", json!({ "mde_per_minute": 100_000, "mde_per_hour": 1_000_000 })).await;
    let t = h.tenant(0);
    let machines = windows_online(&h, &t).await;
    let targets: Vec<Value> =
        (0..500).map(|i| json!({ "tenant": t, "deviceId": machines[i % machines.len()] })).collect();
    let (s, job) = post(
        &h.http,
        &h.gateway,
        &h.admin_key,
        "/v1/jobs",
        json!({ "product": "MDE", "action": "GetDeviceInfo", "targets": targets }),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    // Let the job fill its allowance and saturate the window.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let target = machines[0].clone();
    let started = std::time::Instant::now();
    let call = {
        let (http, key) = (h.http.clone(), h.admin_key.clone());
        let path = format!("/v1/tenants/{t}/actions/MDE/IsolateDevice");
        let (base, body) = (h.gateway.clone(), json!({ "deviceIds": [target], "comment": "interactive" }));
        tokio::spawn(async move { post(&http, &base, &key, &path, body).await })
    };
    // When the isolation reached Microsoft (the sandbox), not when its tracking ended.
    while h.count_actions(&t, "Isolate", &target).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the interactive isolate never reached the sandbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    let view = get(&h.http, &h.gateway, &h.admin_key, &format!("/v1/jobs/{id}")).await;
    let open = view["counts"]["Pending"].as_i64().unwrap_or(0) + view["counts"]["Running"].as_i64().unwrap_or(0);
    assert!(open >= 300, "the job was nearly done, so this proves nothing: {view}");
    // Two windows of the budget at most; behind the job it would have been ~20 s.
    assert!(took < Duration::from_millis(2500), "the interactive isolate waited {took:?} behind the job's items");
    let (s, one) = call.await.unwrap();
    assert!(s == 200 || s == 202, "{one}");
    let ended = job_ended(&h.http, &h.gateway, &h.admin_key, &id, 90).await;
    assert_eq!(ended["state"], "Succeeded", "{ended}");
}
