//! Approvals by policy (issue 15 §2): an isolation of a tier-0-tagged device waits, the requester
//! cannot approve it, a second key with the approver role does, and it runs; a bulk job over the
//! policy's threshold waits and is rejected with a reason (no item runs); an undecided request
//! expires in sandbox time; break-glass runs a held action at once, loudly; the policy file
//! reloads on change and a bad file keeps the previous policy.

use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A policy file in its own folder (the harness reads it at start and watches it).
fn policy_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a folder for the policy");
    let path = dir.path().join("approvals.toml");
    std::fs::write(&path, text).expect("the policy written");
    (dir, path)
}

async fn start(tenants: usize, policy: &Path) -> Harness {
    let policy = policy.to_path_buf();
    Harness::start_with(tenants, move |s| s.approvals_policy = Some(policy)).await
}

/// A key of `role` (all tenants).
async fn key(h: &Harness, name: &str, role: &str) -> String {
    let key = gateway::auth::generate_key();
    let new = store::NewKey {
        name: name.into(),
        role: role.into(),
        tenants: vec![],
        key_hash: gateway::auth::hash_key(&key),
    };
    h.engine.store().create_key(new).await.unwrap();
    key
}

async fn call(h: &Harness, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = h.http.request(method, format!("{}{path}", h.gateway)).header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn post(h: &Harness, path: &str, key: &str, body: Value) -> (u16, Value) {
    call(h, reqwest::Method::POST, path, key, Some(body)).await
}

async fn get(h: &Harness, path: &str, key: &str) -> Value {
    call(h, reqwest::Method::GET, path, key, None).await.1
}

async fn isolate(h: &Harness, tenant: &str, machine: &str, key: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({ "deviceIds": [machine], "comment": "approvals e2e", "isolationType": "Full" });
    merge(&mut body, extra);
    post(h, &format!("/v1/tenants/{tenant}/actions/MDE/IsolateDevice"), key, body).await
}

/// Online Windows machines of the tenant (their isolations complete).
async fn windows_online(h: &Harness, tenant: &str) -> Vec<String> {
    h.online_machines(tenant)
        .await
        .iter()
        .filter(|m| m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
        .filter_map(|m| m["id"].as_str().map(String::from))
        .collect()
}

/// Every audit record of the operation (or job), oldest first.
async fn audit_of(h: &Harness, subject: &str) -> Vec<Value> {
    let all = get(h, "/v1/audit?limit=10000", &h.admin_key).await;
    all["records"].as_array().unwrap().iter().filter(|r| r["operation_id"] == subject).cloned().collect()
}

fn kinds(records: &[Value]) -> Vec<String> {
    records.iter().filter_map(|r| r["kind"].as_str().map(String::from)).collect()
}

/// GET `path` (admin key) until `done` says yes (up to `secs`), returning the last answer.
async fn eventually(h: &Harness, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..secs * 10 {
        last = get(h, path, &h.admin_key).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path}: condition not met within {secs} s; last answer: {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tier0_device_isolation_waits_for_a_second_key_then_runs() {
    let (_dir, policy) = policy_file("approver_roles = [\"admin\"]\n\n[tier0.devices]\ntags = [\"tier-0\"]\n");
    let h = start(1, &policy).await;
    let t = h.tenant(0);
    let machines = windows_online(&h, &t).await;
    let (tier0, ordinary) = (machines[0].clone(), machines[1].clone());
    // An operator tags the domain controller in MDE (Add or Remove Tag).
    let mde = Mde::connect(&h, &t).await;
    let tagged = h
        .http
        .post(format!("{}/api/machines/{tier0}/tags", mde.base))
        .bearer_auth(&mde.token)
        .json(&json!({ "Value": "tier-0", "Action": "Add" }))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status().as_u16(), 200);
    let tagged: Value = tagged.json().await.unwrap();
    assert!(tagged["machineTags"].as_array().unwrap().contains(&json!("tier-0")), "{tagged}");

    // Alice may approve others' requests (admin), never her own.
    let alice = key(&h, "alice", "admin").await;
    let carol = key(&h, "carol", "responder").await;
    let bob = key(&h, "bob", "admin").await;

    // An ordinary device is not held.
    let (s, free) = isolate(&h, &t, &ordinary, &alice, json!({})).await;
    assert!(s == 200 || s == 202, "{free}");
    assert_ne!(free["status"], "AwaitingApproval", "{free}");

    // The tier-0 device is: 202, the operation AwaitingApproval, and a link to its approval.
    let (s, held) = isolate(&h, &t, &tier0, &alice, json!({})).await;
    assert_eq!(s, 202, "{held}");
    assert_eq!(held["status"], "AwaitingApproval", "{held}");
    let op = held["operation_id"].as_str().unwrap().to_string();
    let href = held["data"]["approval"]["href"].as_str().expect("the approval's link").to_string();
    let reasons = held["data"]["approval"]["reasons"].to_string();
    assert!(reasons.contains("tier0.devices") && reasons.contains("tier-0"), "{reasons}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(h.count_actions(&t, "Isolate", &tier0).await, 0, "nothing is sent upstream before approval");
    assert_eq!(get(&h, &format!("/v1/operations/{op}"), &alice).await["status"], "AwaitingApproval");
    let pending = get(&h, "/v1/approvals?status=Pending", &bob).await;
    assert_eq!(pending["count"], 1, "{pending}");
    assert_eq!(pending["approvals"][0]["href"], href.as_str());

    // The requester cannot approve it; nor can a key whose role is not an approver's.
    let (s, refused) = post(&h, &format!("{href}/approve"), &alice, json!({ "reason": "me, myself" })).await;
    assert_eq!(s, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("requested this"), "{refused}");
    let (s, refused) = post(&h, &format!("{href}/approve"), &carol, json!({ "reason": "looks fine" })).await;
    assert_eq!(s, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("approver_roles"), "{refused}");
    let (s, refused) = post(&h, &format!("{href}/approve"), &bob, json!({ "reason": "  " })).await;
    assert_eq!((s, refused["error"]["field"].as_str()), (400, Some("reason")), "{refused}");
    assert_eq!(h.count_actions(&t, "Isolate", &tier0).await, 0);

    // A second key with the approver role approves: the isolation runs and succeeds upstream.
    let (s, approved) = post(&h, &format!("{href}/approve"), &bob, json!({ "reason": "INC-7: DC beaconing" })).await;
    assert_eq!(s, 200, "{approved}");
    assert_eq!((approved["status"].as_str(), approved["decided_by"].as_str()), (Some("Approved"), Some("bob")));
    let done = h.wait_operation(&op).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(h.count_actions(&t, "Isolate", &tier0).await, 1);
    let action = h.machine_actions(&t).await.into_iter().find(|a| a["machineId"] == tier0.as_str()).unwrap();
    assert_eq!(action["status"], "Succeeded", "{action}");
    let state = h.state(&t).await;
    let m = state["machines"].as_array().unwrap().iter().find(|m| m["id"] == tier0.as_str()).unwrap().clone();
    assert_eq!(m["isolated"], true);

    // Deciding twice is a conflict; the chain holds who asked, who approved and why.
    let (s, _) = post(&h, &format!("{href}/reject"), &bob, json!({ "reason": "changed my mind" })).await;
    assert_eq!(s, 409);
    let records = audit_of(&h, &op).await;
    let k = kinds(&records);
    assert_eq!(&k[..3], ["attempt", "approval_requested", "approved"], "{k:?}");
    assert!(k.contains(&"outcome".to_string()), "{k:?}");
    let approved = records.iter().find(|r| r["kind"] == "approved").unwrap();
    assert_eq!(
        (approved["principal"].as_str(), approved["detail"]["reason"].as_str()),
        (Some("bob"), Some("INC-7: DC beaconing"))
    );
    assert_eq!(records.iter().find(|r| r["kind"] == "approval_requested").unwrap()["principal"], "alice");
    assert_eq!(get(&h, "/v1/audit/verify", &h.admin_key).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_job_over_the_threshold_waits_and_is_rejected_with_a_reason() {
    let (_dir, policy) = policy_file("[blast_radius]\nmax_targets = 3\nmax_job_tenants = 1\n");
    let h = start(2, &policy).await;
    let alice = key(&h, "alice", "responder").await;
    let bob = key(&h, "bob", "admin").await;
    let mut targets = Vec::new();
    let mut chosen = Vec::new();
    for i in 0..2 {
        let t = h.tenant(i);
        for m in windows_online(&h, &t).await.into_iter().take(2) {
            targets.push(json!({ "tenant": t, "deviceIds": [m] }));
            chosen.push((t.clone(), m));
        }
    }
    let body = json!({ "name": "too wide", "product": "MDE", "action": "IsolateDevice", "params": { "comment": "bulk approvals e2e" }, "targets": targets });
    let (s, job) = post(&h, "/v1/jobs", &alice, body).await;
    assert_eq!(s, 202, "{job}");
    assert_eq!(job["state"], "AwaitingApproval", "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let href = job["approval"]["href"].as_str().expect("the approval").to_string();
    let rules: Vec<&str> =
        job["approval"]["reasons"].as_array().unwrap().iter().filter_map(|r| r["rule"].as_str()).collect();
    assert_eq!(rules, ["blast_radius.max_targets", "blast_radius.max_job_tenants"], "{job}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let items = get(&h, &format!("/v1/jobs/{id}/items"), &alice).await;
    assert!(
        items["items"].as_array().unwrap().iter().all(|i| i["state"] == "Pending" && i["operation_id"].is_null()),
        "{items}"
    );

    let (s, refused) = post(&h, &format!("{href}/reject"), &bob, json!({})).await;
    assert_eq!((s, refused["error"]["field"].as_str()), (400, Some("reason")), "{refused}");
    let reason = "CHG-42: scope is wrong, one tenant at a time";
    let (s, rejected) = post(&h, &format!("{href}/reject"), &bob, json!({ "reason": reason })).await;
    assert_eq!(s, 200, "{rejected}");
    assert_eq!(rejected["status"], "Rejected");

    let view = get(&h, &format!("/v1/jobs/{id}"), &alice).await;
    assert_eq!(view["state"], "Rejected", "{view}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let items = get(&h, &format!("/v1/jobs/{id}/items"), &alice).await;
    let items = items["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i["state"] == "Cancelled" && i["operation_id"].is_null()), "no item ran: {items:?}");
    for (t, m) in &chosen {
        assert_eq!(h.count_actions(t, "Isolate", m).await, 0, "{m} was never isolated");
    }
    let records = audit_of(&h, &id).await;
    let rejected = records.iter().find(|r| r["kind"] == "rejected").expect("a rejected record");
    assert_eq!((rejected["principal"].as_str(), rejected["detail"]["reason"].as_str()), (Some("bob"), Some(reason)));
    assert!(kinds(&records).contains(&"approval_requested".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undecided_request_expires_in_sandbox_time_and_never_runs() {
    let (_dir, policy) =
        policy_file("expires_after = \"PT1H\"\n\n[[rules]]\nname = \"isolation\"\nactions = [\"IsolateDevice\"]\n");
    let h = start(1, &policy).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    let alice = key(&h, "alice", "responder").await;
    let (s, held) = isolate(&h, &t, &m, &alice, json!({})).await;
    assert_eq!(s, 202, "{held}");
    let op = held["operation_id"].as_str().unwrap().to_string();
    let href = held["data"]["approval"]["href"].as_str().unwrap().to_string();
    // Half an hour later it still waits; two hours later it has expired.
    h.sandbox_admin("clock", json!({ "advance_seconds": 1800 })).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get(&h, &href, &h.admin_key).await["status"], "Pending");
    h.sandbox_admin("clock", json!({ "advance_seconds": 5400 })).await;
    let expired = eventually(&h, &href, 10, |a| a["status"] == "Expired").await;
    assert_eq!(expired["decided_by"], "riposte", "{expired}");
    assert_eq!(get(&h, &format!("/v1/operations/{op}"), &alice).await["status"], "Expired");
    let (s, late) = post(&h, &format!("{href}/approve"), &h.admin_key, json!({ "reason": "sorry, was away" })).await;
    assert_eq!(s, 409, "{late}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.count_actions(&t, "Isolate", &m).await, 0);
    assert!(kinds(&audit_of(&h, &op).await).contains(&"approval_expired".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_runs_a_held_action_at_once_and_loudly() {
    let (_dir, policy) = policy_file("[[rules]]\nname = \"isolation\"\nactions = [\"IsolateDevice\"]\n");
    let h = start(1, &policy).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    let alice = key(&h, "alice", "responder").await;
    let glass = json!({ "breakGlass": { "justification": "ransomware spreading from this host; CISO on the bridge" } });
    let (s, refused) = isolate(&h, &t, &m, &alice, glass.clone()).await;
    assert_eq!(s, 403, "only an admin breaks the glass: {refused}");
    let (s, refused) = isolate(&h, &t, &m, &h.admin_key, json!({ "breakGlass": { "justification": "" } })).await;
    assert_eq!((s, refused["error"]["field"].as_str()), (400, Some("breakGlass.justification")), "{refused}");
    assert_eq!(h.count_actions(&t, "Isolate", &m).await, 0);

    let (s, ran) = isolate(&h, &t, &m, &h.admin_key, glass).await;
    assert!(s == 200 || s == 202, "{ran}");
    let op = ran["operation_id"].as_str().unwrap().to_string();
    assert_eq!(h.wait_operation(&op).await["status"], "Succeeded");
    assert_eq!(h.count_actions(&t, "Isolate", &m).await, 1);
    let records = audit_of(&h, &op).await;
    let bg = records.iter().find(|r| r["kind"] == "break_glass").expect("a break_glass record");
    assert_eq!(bg["principal"], "admin");
    assert!(bg["detail"]["justification"].as_str().unwrap().contains("CISO"), "{bg}");
    assert_eq!(bg["detail"]["reasons"][0]["rule"], "rules.isolation", "{bg}");
    let metrics = h
        .http
        .get(format!("{}/metrics", h.gateway))
        .header("x-api-key", &h.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("riposte_approvals_total{event=\"break_glass\"} 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_reloads_on_change_and_a_bad_file_keeps_the_previous_one() {
    let (_dir, policy) = policy_file("[[rules]]\nname = \"scans\"\nactions = [\"RunAntiVirusScan\"]\n");
    let h = start(1, &policy).await;
    let t = h.tenant(0);
    let machines = windows_online(&h, &t).await;
    let (s, free) = isolate(&h, &t, &machines[0], &h.admin_key, json!({})).await;
    assert!((s == 200 || s == 202) && free["status"] != "AwaitingApproval", "{free}");

    std::fs::write(&policy, "[[rules]]\nname = \"isolation\"\nactions = [\"IsolateDevice\"]\n").unwrap();
    eventually(&h, "/v1/approvals/policy", 10, |p| p["rules"][0]["name"] == "isolation").await;
    let (s, held) = isolate(&h, &t, &machines[1], &h.admin_key, json!({})).await;
    assert_eq!((s, held["status"].as_str()), (202, Some("AwaitingApproval")), "{held}");

    std::fs::write(&policy, "[[rules]]\nrisk = [\"dangerous\"]\n").unwrap();
    let refused = eventually(&h, "/v1/approvals/policy", 10, |p| !p["source"]["error"].is_null()).await;
    assert!(refused["source"]["error"].as_str().unwrap().contains("rules[0].risk"), "{refused}");
    assert_eq!(refused["rules"][0]["name"], "isolation", "the previous policy stays: {refused}");
    let (s, held) = isolate(&h, &t, &machines[2], &h.admin_key, json!({})).await;
    assert_eq!((s, held["status"].as_str()), (202, Some("AwaitingApproval")), "{held}");
}

const BROWSER_INSTALL: &str = "the browser test needs Playwright for Python and Debian's chromium: run `scripts/test` \
     (it installs chromium with apt and playwright into its venv, and sets RIPOSTE_BROWSER_PYTHON and RIPOSTE_CHROMIUM)";

#[tokio::test(flavor = "multi_thread")]
async fn the_console_decides_a_held_isolation_in_chromium() {
    let python = std::env::var("RIPOSTE_BROWSER_PYTHON").unwrap_or_else(|_| "python3".into());
    let chromium = std::env::var("RIPOSTE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "no chromium at {chromium}\n{BROWSER_INSTALL}");
    let has_playwright = std::process::Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(has_playwright, "{python} cannot import playwright\n{BROWSER_INSTALL}");

    let (_dir, policy) = policy_file("[tier0.devices]\ntags = [\"tier-0\"]\n");
    let h = start(1, &policy).await;
    let t = h.tenant(0);
    let m = windows_online(&h, &t).await[0].clone();
    let mde = Mde::connect(&h, &t).await;
    let tagged = h
        .http
        .post(format!("{}/api/machines/{m}/tags", mde.base))
        .bearer_auth(&mde.token)
        .json(&json!({ "Value": "tier-0", "Action": "Add" }))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status().as_u16(), 200);
    let requester = key(&h, "alice", "admin").await;
    let approver = key(&h, "bob", "admin").await;
    let (s, held) = isolate(&h, &t, &m, &requester, json!({})).await;
    assert_eq!(s, 202, "{held}");
    let config = json!({
        "gateway": h.gateway,
        "sandbox": h.sandbox.base_url(),
        "chromium": chromium,
        "screenshots": PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots"),
        "tenant": t,
        "machine": m,
        "approval": held["data"]["approval"]["id"],
        "keys": { "requester": requester, "approver": approver },
    });
    let path = h.dir.path().join("approvals-browser.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/approvals_scenario.py");
    let output = tokio::process::Command::new(&python).arg(&script).arg(&path).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the approvals page failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let op = held["operation_id"].as_str().unwrap();
    assert_eq!(h.wait_operation(op).await["status"], "Succeeded");
    let approved = audit_of(&h, op).await.into_iter().find(|r| r["kind"] == "approved").expect("approved in the chain");
    assert_eq!(approved["principal"], "bob");
}
