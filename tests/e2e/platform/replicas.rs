//! Two `riposte serve` replicas on one PostgreSQL database (issue 12 §4).
//!
//! * They drain one bulk job of 600 items over 3 tenants together, with no item run twice and no
//!   budget window overrun; then one replica is killed with `kill -9` mid-job and the other takes
//!   over its items and its operations in flight and finishes the job. Each item isolates one of
//!   its tenant's machines with a comment naming the item (machine actions complete at once, so a
//!   machine can be isolated again by a later item): the sandbox's machine actions show each
//!   item's effect exactly once. The budget binds (more calls per tenant than one window admits)
//!   and the sandbox, which answers 429 past its limits, never had to.
//! * Interactive actions sent to both replicas at once stay within the tenant's budget between
//!   them (budget windows in the database, `store::budget_windows`).

use crate::common::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A replica in its own process (its own data directory), so the test can SIGKILL it.
pub(super) struct Replica {
    child: Child,
    pub(super) url: String,
}

impl Replica {
    fn spawn(config: &Path, data: &Path, audit_key: &Path, admin_key: &str) -> Replica {
        let port = super::durability::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["serve", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RIPOSTE_ADMIN_KEY", admin_key)
            // One audit chain, so one key for every replica.
            .env("RIPOSTE_AUDIT_KEY_FILE", audit_key)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riposte serve starts");
        Replica { child, url: format!("http://127.0.0.1:{port}") }
    }

    pub(super) async fn ready(&self, http: &reqwest::Client) {
        for _ in 0..300 {
            if http.get(format!("{}/healthz", self.url)).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("replica {} did not come up", self.url);
    }

    pub(super) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the replica");
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One PostgreSQL database and the configuration every replica of a test shares.
pub(super) struct Cluster {
    dir: tempfile::TempDir,
    config: PathBuf,
    audit_key: PathBuf,
    /// The database, for checks the API does not show (leases).
    pub(super) url: String,
    pub(super) key: &'static str,
}

impl Cluster {
    /// A fresh database and a configuration pointing every cloud at the harness's sandbox, with
    /// `extra` TOML appended (`[budgets]`, `[tracker]`).
    pub(super) async fn new(h: &Harness, extra: &str) -> Cluster {
        let url = store::pg_cluster::PgCluster::shared().fresh_database().await;
        let dir = tempfile::tempdir().unwrap();
        let config = format!("{}\n[store]\nurl = \"{url}\"\n\n{extra}\n", h.process_config());
        let config_path = dir.path().join("riposte.toml");
        std::fs::write(&config_path, config).unwrap();
        let audit_key = dir.path().join("audit.key");
        Cluster { config: config_path, audit_key, dir, url, key: "rk_replicas_test_admin_key_0123456789abcdef" }
    }

    /// Starts a replica named `name` (its data directory) and waits until it answers.
    pub(super) async fn replica(&self, h: &Harness, name: &str) -> Replica {
        let r = Replica::spawn(&self.config, &self.dir.path().join(name), &self.audit_key, self.key);
        r.ready(&h.http).await;
        r
    }
}

async fn get(h: &Harness, base: &str, key: &str, path: &str) -> Value {
    h.http.get(format!("{base}{path}")).header("x-api-key", key).send().await.unwrap().json().await.unwrap()
}

/// Online Windows machines of a tenant (isolation works on each).
async fn windows_online(h: &Harness, tenant: &str) -> Vec<String> {
    h.online_machines(tenant)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect()
}

/// MDE calls per tenant per minute, in the sandbox and in the replicas' budgets alike (the hour
/// is 15 times that). 200 items per tenant need more than one window.
const PER_MINUTE: u64 = 150;
const ITEMS_PER_TENANT: usize = 200;

/// The item number an isolation's comment names (`replicas item 17;` + the engine's marker).
fn item_of(action: &Value) -> Option<usize> {
    let comment = action["requestorComment"].as_str()?;
    comment.strip_prefix("replicas item ")?.split(';').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_on_postgres_drain_600_items_and_one_survives_a_kill_9() {
    let h = Harness::start(3).await;
    h.sandbox_admin(
        "settings",
        json!({
            "action_pending_seconds": 0, "action_run_seconds": 0,
            "mde_per_minute": PER_MINUTE, "mde_per_hour": PER_MINUTE * 15,
        }),
    )
    .await;
    let cluster =
        Cluster::new(&h, &format!("[tracker]\npoll_seconds = 5.0\n\n[budgets]\nmde_per_minute = {PER_MINUTE}\n")).await;
    let key = cluster.key;
    let mut a = cluster.replica(&h, "a").await;
    let b = cluster.replica(&h, "b").await;

    let mut targets = Vec::new();
    for i in 0..3 {
        let t = h.tenant(i);
        let machines = windows_online(&h, &t).await;
        assert!(machines.len() >= 16, "a machine per item on its way: {}", machines.len());
        for k in 0..ITEMS_PER_TENANT {
            let n = targets.len();
            targets.push(json!({
                "tenant": t, "deviceIds": [machines[k % machines.len()]], "comment": format!("replicas item {n};"),
            }));
        }
    }
    let total = targets.len();
    assert_eq!(total, 600);
    // Each isolate POST takes 0.6 s upstream (under the budgets' 1 s guard for latency before
    // Microsoft counts a call; 16 items per tenant at a time on a replica), so the
    // kill lands with items in flight.
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/machines/", "method": "POST", "delay_ms": 600 })).await;
    let created = h
        .http
        .post(format!("{}/v1/jobs", a.url))
        .header("x-api-key", key)
        .json(&json!({ "product": "MDE", "action": "IsolateDevice", "targets": targets }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let job: Value = created.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    // The database itself says which replica leased each item (the API does not show leases).
    let db = store::Store::open_postgres(&cluster.url).await.unwrap();
    let job_id: uuid::Uuid = id.parse().unwrap();

    // Both replicas take items (tenant leases split the tenants); kill A once work is done on both.
    let mut owners_seen: HashMap<String, String> = HashMap::new();
    let mut at_kill = Value::Null;
    for _ in 0..600 {
        at_kill = get(&h, &b.url, key, &format!("/v1/jobs/{id}")).await;
        for item in db.job_items(job_id, None, 0, 10_000).await.unwrap() {
            if let Some(owner) = item.lease_owner {
                owners_seen.insert(owner, item.tenant);
            }
        }
        let done = at_kill["counts"]["Succeeded"].as_i64().unwrap_or(0);
        if owners_seen.len() >= 2 && done >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(owners_seen.len() >= 2, "both replicas ran items: {owners_seen:?} {at_kill}");
    a.kill();
    let done_at_kill = at_kill["counts"]["Succeeded"].as_i64().unwrap_or(0);
    assert!(done_at_kill < total as i64, "the kill landed mid-job: {at_kill}");

    // B alone finishes: A's items come back when their leases run out, its operations in flight
    // when its heartbeat does.
    let mut ended = Value::Null;
    for _ in 0..3000 {
        ended = get(&h, &b.url, key, &format!("/v1/jobs/{id}")).await;
        if !matches!(ended["state"].as_str(), Some("Running" | "Paused")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if ended["state"] != "Succeeded" {
        let failed = get(&h, &b.url, key, &format!("/v1/jobs/{id}/items?state=Failed")).await;
        panic!("the job did not succeed: {ended}\nfailed items: {failed}");
    }
    assert_eq!(ended["counts"]["Succeeded"].as_u64(), Some(total as u64), "{ended}");

    // Exactly once upstream: one isolation naming each item, none twice.
    let mut per_item: HashMap<usize, usize> = HashMap::new();
    for i in 0..3 {
        for act in h.machine_actions(&h.tenant(i)).await {
            if act["type"] == "Isolate"
                && let Some(n) = item_of(&act)
            {
                *per_item.entry(n).or_default() += 1;
            }
        }
    }
    assert_eq!(per_item.len(), total, "every item's isolation is in the sandbox");
    let twice: Vec<_> = per_item.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "items isolated more than once: {twice:?}");
    // No budget window overrun: the sandbox counts every 429 it answered past its limits, and the
    // budget did bind (each tenant made more calls than one window admits).
    let stats = h.sandbox_stats().await;
    assert_eq!(stats["throttled_total"], 0, "a tenant went over its budget: {}", stats["throttled"]);
    for i in 0..3 {
        let calls = stats["api_calls"][h.tenant(i)]["mde"].as_u64().unwrap_or(0);
        assert!(calls > PER_MINUTE, "tenant {i} made {calls} MDE calls, within one window");
    }
}

/// Interactive actions are not job items: they run on whichever replica the caller reached. Sent
/// to both replicas at once for one tenant, they are admitted against one budget between them
/// (windows in the database), not one budget each.
#[tokio::test(flavor = "multi_thread")]
async fn interactive_actions_on_two_replicas_share_one_tenant_budget() {
    const BUDGET: u64 = 20;
    let h = Harness::start(1).await;
    h.sandbox_admin("settings", json!({ "mde_per_minute": BUDGET, "mde_per_hour": 1500 })).await;
    let cluster = Cluster::new(&h, &format!("[budgets]\nmde_per_minute = {BUDGET}\n")).await;
    let (a, b) = (cluster.replica(&h, "a").await, cluster.replica(&h, "b").await);
    let t = h.tenant(0);
    let machines = windows_online(&h, &t).await;

    // 15 reads on each replica at once: each alone is within the budget, the two together are not.
    let mut calls = Vec::new();
    for i in 0..30 {
        let base = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let req = h
            .http
            .post(format!("{base}/v1/tenants/{t}/actions/MDE/GetDeviceInfo"))
            .header("x-api-key", cluster.key)
            // A read nobody waits for past this is cancelled before it is sent (429 to us).
            .header("Prefer", "wait=5")
            .json(&json!({ "deviceId": machines[i % machines.len()] }));
        calls.push(tokio::spawn(async move { req.send().await.unwrap().status().as_u16() }));
    }
    let mut answered: HashMap<u16, u64> = HashMap::new();
    for c in calls {
        *answered.entry(c.await.unwrap()).or_default() += 1;
    }
    let ok = answered.get(&200).copied().unwrap_or(0);
    assert_eq!(ok + answered.get(&429).copied().unwrap_or(0), 30, "answers: {answered:?}");
    assert!((BUDGET / 2..=BUDGET).contains(&ok), "one budget of {BUDGET} between the replicas: {answered:?}");
    let stats = h.sandbox_stats().await;
    assert_eq!(stats["throttled_total"], 0, "the sandbox saw the tenant over its limit: {}", stats["throttled"]);
    let sent = stats["api_calls"][&t]["mde"].as_u64().unwrap_or(0);
    assert!(sent <= BUDGET, "{sent} MDE calls reached the sandbox within a minute, over {BUDGET}");
}
