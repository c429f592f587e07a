//! Regressions for the defects a probe found (issue 15 §1): each test replays what the probe
//! sent and asserts the answer and that the process is still serving.

use crate::common::*;
use serde_json::{Value, json};

async fn hunt(h: &Harness, body: Value) -> (u16, Value) {
    let resp = h
        .http
        .post(format!("{}/v1/hunt", h.gateway))
        .header("x-api-key", &h.admin_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The queries that overflowed the stack (sizes as the probe sent them: ~16 KB).
fn hunt_killers() -> Vec<(&'static str, String)> {
    let chain = |head: &str, link: &str, n: usize| format!("{head}{}", link.repeat(n));
    vec![
        ("plus chain", format!("DeviceInfo | extend x = {}", chain("1", "+1", 8_000))),
        ("and chain", format!("DeviceInfo | where {}", chain("true", " and true", 3_000))),
        ("or chain", format!("DeviceInfo | where {}", chain("false", " or false", 3_000))),
        ("mul chain", format!("DeviceInfo | extend x = {}", chain("1", "*1", 8_000))),
        ("member chain", format!("DeviceInfo | extend x = dynamic({{}}){}", ".a".repeat(8_000))),
        ("index chain", format!("DeviceInfo | extend x = dynamic([]){}", "[0]".repeat(5_000))),
        ("recursive function", "let f = () { f() }; DeviceInfo | extend x = f()".to_string()),
    ]
}

/// Every hunt killer answers 400 naming the limit, through the gateway (where `riposte up`
/// runs the sandbox in the same process) and through the sandbox's own hunting API; a normal
/// hunt still answers afterwards. A stack overflow would abort this whole test binary.
#[tokio::test(flavor = "multi_thread")]
async fn hunt_killer_queries_answer_400_and_the_process_lives() {
    let h = Harness::start(1).await;
    let tenant = h.tenant(0);
    let mde = Mde::connect(&h, &tenant).await;
    for (name, query) in hunt_killers() {
        let (status, body) = hunt(&h, json!({ "query": query, "tenants": [tenant] })).await;
        assert_eq!(status, 400, "{name} through the gateway: {body}");
        let text = body.to_string();
        assert!(text.contains("limit is"), "{name}: the answer names the limit: {text}");

        let resp = h
            .http
            .post(format!("{}/api/advancedqueries/run", mde.base))
            .bearer_auth(&mde.token)
            .json(&json!({ "Query": query }))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{name} in the sandbox: {body}");
        assert!(body.to_string().contains("limit is"), "{name}: {body}");
    }
    let (status, body) = hunt(&h, json!({ "query": "DeviceInfo | take 3", "tenants": [tenant] })).await;
    assert_eq!(status, 200, "the process still serves hunts: {body}");
    assert_eq!(body["rowCount"], 3);
}

/// A hunt no tenant answered is not a 200 with no rows: 502 with each tenant's error.
#[tokio::test(flavor = "multi_thread")]
async fn a_hunt_that_fails_in_every_tenant_is_a_502_with_the_tenants() {
    let h = Harness::start(2).await;
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/advancedqueries", "status": 403 })).await;
    let (status, body) = hunt(&h, json!({ "query": "DeviceInfo | take 1", "tenants": "all" })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "HuntFailed", "{body}");
    let tenants = body["error"]["tenants"].as_array().expect("per-tenant detail");
    assert_eq!(tenants.len(), 2, "{body}");
    for t in tenants {
        assert_eq!(t["status"], "failed", "{t}");
        assert!(t["error"]["code"].is_string(), "{t}");
    }
    // The run is still in the history, as failed.
    let (_, history) = h.get("/v1/hunt/history?limit=1").await;
    assert_eq!(history["runs"][0]["status"], "failed", "{history}");
}

/// Every tenant throttled: 429 with the Retry-After Microsoft gave and each tenant's status.
#[tokio::test(flavor = "multi_thread")]
async fn a_hunt_throttled_in_every_tenant_is_a_429() {
    let h = Harness::start(2).await;
    // Retry-After above the client's longest wait: upstream gives up at once.
    h.sandbox_admin("faults", json!({ "path_prefix": "/api/advancedqueries", "status": 429, "retry_after": 600 }))
        .await;
    let resp = h
        .http
        .post(format!("{}/v1/hunt", h.gateway))
        .header("x-api-key", &h.admin_key)
        .json(&json!({ "query": "DeviceInfo | take 1", "tenants": "all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("600"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "HuntThrottled", "{body}");
    let tenants = body["error"]["tenants"].as_array().unwrap();
    assert!(tenants.iter().all(|t| t["status"] == "throttled"), "{body}");
}

/// The attacker's view of the audit chain: the SQLite file, opened directly.
async fn tamper(h: &Harness) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}", riposte::app::db_path(h.dir.path()).display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("the database opens");
    for drop in ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"] {
        sqlx::query(drop).execute(&pool).await.unwrap();
    }
    pool
}

/// seq, at, operation_id, kind, principal, tenant, product, action of an audit row.
type HeadColumns = (i64, String, Option<String>, String, String, Option<String>, Option<String>, Option<String>);

/// The unkeyed (pre-issue-15) hash of a row: sha256 over a domain tag and the length-prefixed
/// columns, as `store::chain` computed it before keys.
fn unkeyed_hash(row: &[(&str, Option<String>)]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"riposte-audit-v1\n");
    for (name, value) in row {
        h.update(name.as_bytes());
        match value {
            None => h.update(b"=-\n"),
            Some(v) => {
                h.update(format!("={}:", v.len()).as_bytes());
                h.update(v.as_bytes());
                h.update(b"\n");
            }
        }
    }
    hex::encode(h.finalize())
}

/// Some audited activity (a hunt: an attempt and an outcome record), then an anchor, as the
/// periodic anchoring task writes it.
async fn audited_activity(h: &Harness) -> store::Store {
    let (status, body) = hunt(h, json!({ "query": "DeviceInfo | take 1", "tenants": [h.tenant(0)] })).await;
    assert_eq!(status, 200, "{body}");
    let store = riposte::app::open_store(h.dir.path()).await.unwrap();
    riposte::audit_anchor::anchor_head(&store, &riposte::audit_anchor::anchor_path(h.dir.path())).await.unwrap();
    let report = riposte::audit_anchor::verify(&store, h.dir.path()).await.unwrap();
    assert!(report.ok && report.rows >= 2, "the untouched chain verifies: {:?}", report.problems);
    assert!(h.dir.path().join("audit.key").exists(), "the key lives outside the database");
    store
}

/// A forger rewrites a record and recomputes the chain forward with the old unkeyed algorithm,
/// head included: `audit verify` fails (every hash is an HMAC now), and the anchor disagrees.
#[tokio::test(flavor = "multi_thread")]
async fn a_forward_recomputed_audit_chain_fails_verify() {
    let h = Harness::start(1).await;
    let store = audited_activity(&h).await;
    let db = tamper(&h).await;
    let rows: Vec<HeadColumns> = sqlx::query_as(
        "SELECT seq, at, operation_id, kind, principal, tenant, product, action FROM audit_log ORDER BY seq",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let mut prev = "0".repeat(64);
    for (seq, at, op, kind, _principal, tenant, product, action) in rows {
        let rest: (String, Option<String>, String, Option<i64>, String) = sqlx::query_as(
            "SELECT params, outcome, upstream_request_ids, duration_ms, detail FROM audit_log WHERE seq = $1",
        )
        .bind(seq)
        .fetch_one(&db)
        .await
        .unwrap();
        let principal = "mallory".to_string();
        let hash = unkeyed_hash(&[
            ("prev_hash", Some(prev.clone())),
            ("seq", Some(seq.to_string())),
            ("at", Some(at)),
            ("operation_id", op),
            ("kind", Some(kind)),
            ("principal", Some(principal.clone())),
            ("tenant", tenant),
            ("product", product),
            ("action", action),
            ("params", Some(rest.0)),
            ("outcome", rest.1),
            ("upstream_request_ids", Some(rest.2)),
            ("duration_ms", rest.3.map(|d| d.to_string())),
            ("detail", Some(rest.4)),
        ]);
        sqlx::query("UPDATE audit_log SET principal = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(&principal)
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&db)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev).execute(&db).await.unwrap();

    let report = riposte::audit_anchor::verify(&store, h.dir.path()).await.unwrap();
    assert!(!report.ok, "a forward-recomputed chain must not verify");
    assert!(report.problems.iter().any(|p| p.contains("hash mismatch")), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.contains("anchor mismatch")), "{:?}", report.problems);

    // Marking the chain unkeyed as well, to have it re-keyed at the next start, is refused:
    // the anchor says the chain was keyed.
    sqlx::query("UPDATE audit_head SET keyed = 0 WHERE id = 1").execute(&db).await.unwrap();
    let err = riposte::app::open_store(h.dir.path()).await.expect_err("no laundering re-key");
    assert!(format!("{err:#}").contains("was rewritten"), "{err:#}");
}

/// A forger wipes the log and resets the head to genesis. The rows alone look like an empty,
/// intact chain; the anchor outside the database says otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_audit_chain_with_a_reset_head_fails_against_the_anchor() {
    let h = Harness::start(1).await;
    let store = audited_activity(&h).await;
    let db = tamper(&h).await;
    sqlx::query("DELETE FROM audit_log").execute(&db).await.unwrap();
    sqlx::query("UPDATE audit_head SET seq = 0, hash = $1 WHERE id = 1")
        .bind("0".repeat(64))
        .execute(&db)
        .await
        .unwrap();

    assert!(store.verify_audit().await.unwrap().ok, "the rows alone cannot tell (this is why the anchor exists)");
    let report = riposte::audit_anchor::verify(&store, h.dir.path()).await.unwrap();
    assert!(!report.ok);
    assert!(report.problems.iter().any(|p| p.contains("rows wiped or head reset")), "{:?}", report.problems);
}

/// Verifying a keyed chain without its key fails rather than passing on unkeyed hashes.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyed_chain_does_not_verify_without_its_key() {
    let h = Harness::start(1).await;
    audited_activity(&h).await;
    let unkeyed = store::Store::open_sqlite(&riposte::app::db_path(h.dir.path())).await.unwrap();
    let report = unkeyed.verify_audit().await.unwrap();
    assert!(!report.ok, "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.contains("verify it with its key")), "{:?}", report.problems);
}

/// A second `riposte up` on a data directory in use fails at once, naming the holder, and
/// leaves the first one's `sandbox.json` as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_riposte_up_on_the_same_data_directory_fails_before_touching_it() {
    use std::io::BufRead;
    let dir = tempfile::Builder::new().prefix("up-twice-").tempdir_in(run_dir()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(["up", "--tenants", "1", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    let up = lines.by_ref().take(50).map_while(Result::ok).any(|l| l.contains("Riposte is up"));
    let _reader = std::thread::spawn(move || lines.for_each(drop));
    assert!(up, "the first riposte up starts");
    let describe = dir.path().join("sandbox.json");
    let before = std::fs::read(&describe).unwrap();

    let second = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(["up", "--tenants", "1", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("is in use by another riposte"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "the error names the holder: {err}");
    assert_eq!(std::fs::read(&describe).unwrap(), before, "sandbox.json untouched");
}

/// Without a key, `/readyz` says only up or down (no tenant ids, client ids or upstream error
/// text) and `/metrics` is refused; with a key both answer in full.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_detail_and_metrics_need_a_key() {
    let h = Harness::start(1).await;
    let tenant = h.tenant(0);
    let client_id = h.sandbox.describe().tenants[0].client_id.clone();

    // A dependency down (the tenant's token endpoint failing): still visible without a key, as
    // a 503 that names nothing. (Before any token is cached, so the check really asks.)
    h.sandbox_admin("faults", json!({ "path_prefix": format!("/{tenant}/oauth2"), "status": 400 })).await;
    let resp = h.http.get(format!("{}/readyz", h.gateway)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let text = resp.text().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({ "status": "not ready" }));
    assert!(!text.contains(&tenant), "{text}");
    let (status, detail) = h.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(
        detail["checks"].as_array().unwrap().iter().any(|c| c["ok"] == false && c["error"].is_string()),
        "{detail}"
    );
    h.http.delete(format!("{}/_sandbox/faults", h.sandbox.base_url())).send().await.unwrap();

    let resp = h.http.get(format!("{}/readyz", h.gateway)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body, json!({ "status": "ready" }), "only up or down without a key");
    assert!(!text.contains(&tenant) && !text.contains(&client_id), "{text}");

    let (status, detail) = h.get("/readyz").await;
    assert_eq!(status, 200);
    let checks = detail["checks"].as_array().expect("checks with a key");
    assert!(checks.iter().any(|c| c["name"].as_str().unwrap_or("").contains(&tenant)), "{detail}");

    let resp = h.http.get(format!("{}/metrics", h.gateway)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401, "metrics without a key");
    let resp = h.http.get(format!("{}/metrics", h.gateway)).bearer_auth(&h.admin_key).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("riposte_http_requests"));
}

fn riposte_cli(args: &[&str], data: &std::path::Path) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("RIPOSTE_ADMIN_KEY")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The admin key is an ordinary key named `admin`: a legacy setting moves into it (the key
/// the operator holds keeps working), it is listed, rotated (the old secret stops working) and
/// revocable only while another admin key remains; a restart does not bring it back.
#[tokio::test(flavor = "multi_thread")]
async fn the_admin_key_is_an_ordinary_key_listed_rotated_and_revocable() {
    let dir = tempfile::Builder::new().prefix("admin-key-").tempdir_in(run_dir()).unwrap();
    let legacy = gateway::auth::generate_key();
    {
        let store = riposte::app::open_store(dir.path()).await.unwrap();
        store.set_setting(gateway::auth::ADMIN_KEY_SETTING, &gateway::auth::hash_key(&legacy)).await.unwrap();
        let admin = riposte::app::ensure_admin_key(&store).await.unwrap();
        assert!(matches!(admin, riposte::app::AdminKey::Existing), "the legacy key is kept, not replaced");
        let found = store.key_by_hash(&gateway::auth::hash_key(&legacy)).await.unwrap().expect("an ordinary key");
        assert_eq!((found.name.as_str(), found.role.as_str()), ("admin", "admin"));
        assert_eq!(store.get_setting(gateway::auth::ADMIN_KEY_SETTING).await.unwrap().as_deref(), Some(""));
    }
    let (ok, list, _) = riposte_cli(&["keys", "list"], dir.path());
    assert!(ok && list.lines().any(|l| l.starts_with("admin ") && l.contains("active")), "{list}");

    let (ok, out, err) = riposte_cli(&["keys", "rotate", "admin"], dir.path());
    assert!(ok, "{err}");
    let rotated = out.trim().to_string();
    let (ok, _, err) = riposte_cli(&["keys", "revoke", "--name", "admin"], dir.path());
    assert!(!ok && err.contains("last active admin key"), "{err}");
    let (ok, _, err) = riposte_cli(&["keys", "create", "--name", "second-admin", "--role", "admin"], dir.path());
    assert!(ok, "{err}");
    let (ok, _, err) = riposte_cli(&["keys", "revoke", "--name", "admin"], dir.path());
    assert!(ok, "another admin remains: {err}");

    let store = riposte::app::open_store(dir.path()).await.unwrap();
    assert!(store.key_by_hash(&gateway::auth::hash_key(&legacy)).await.unwrap().is_none(), "rotated away");
    assert!(store.key_by_hash(&gateway::auth::hash_key(&rotated)).await.unwrap().is_none(), "revoked");
    let again = riposte::app::ensure_admin_key(&store).await.unwrap();
    assert!(matches!(again, riposte::app::AdminKey::Existing), "a revoked admin is not regenerated");
    let kinds: Vec<String> = store
        .query_audit(store::AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind.to_string())
        .collect();
    assert!(kinds.contains(&"key_rotated".to_string()) && kinds.contains(&"key_revoked".to_string()), "{kinds:?}");
}

/// A gateway listener (`riposte::server`, as `up` and `serve` run it) with tight limits,
/// serving a router with a fast and a slow route.
async fn limited_listener(limits: riposte::server::ServerLimits) -> std::net::SocketAddr {
    let router = axum::Router::new().route("/fast", axum::routing::get(|| async { "ok" })).route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(riposte::server::serve(router, listener, limits, std::future::pending()));
    addr
}

/// Reads until the server closes the connection (or `within` passes); returns what was read
/// and how long the connection lived.
async fn read_until_closed(
    s: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> (String, std::time::Duration) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection was still open after {within:?}: {}", String::from_utf8_lossy(&got)),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), started.elapsed())
}

/// A client that never finishes its headers is cut off at the header-read timeout; a silent
/// keep-alive connection at the idle timeout; a request not answered in time gets a 408.
#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_clients_are_cut_off_at_the_configured_timeouts() {
    use tokio::io::AsyncWriteExt;
    let limits = riposte::server::ServerLimits {
        header_read_timeout_secs: 1.0,
        idle_timeout_secs: 1.5,
        request_timeout_secs: 1.0,
        max_connections_per_ip: 16,
    };
    let addr = limited_listener(limits).await;

    let mut slowloris = tokio::net::TcpStream::connect(addr).await.unwrap();
    slowloris.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let (_, lived) = read_until_closed(&mut slowloris, std::time::Duration::from_secs(5)).await;
    assert!(lived >= std::time::Duration::from_millis(900), "not before the timeout: {lived:?}");

    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, lived) = read_until_closed(&mut idle, std::time::Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer}");
    assert!(lived >= std::time::Duration::from_millis(900), "kept alive for a while first: {lived:?}");

    let resp = reqwest::get(format!("http://{addr}/slow")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 408);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RequestTimeout", "{body}");
}

/// The per-IP cap refuses the N+1st connection from one address (503, closed) and admits a
/// new one once a slot is free.
#[tokio::test(flavor = "multi_thread")]
async fn the_per_ip_cap_refuses_the_connection_over_it() {
    use tokio::io::AsyncWriteExt;
    let limits = riposte::server::ServerLimits { max_connections_per_ip: 3, ..Default::default() };
    let addr = limited_listener(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // The accept loop counts connections as it accepts them: let it see the three.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (answer, _) = read_until_closed(&mut fourth, std::time::Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("TooManyConnections"), "{answer}");

    drop(held.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut again = tokio::net::TcpStream::connect(addr).await.unwrap();
    again.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let (answer, _) = read_until_closed(&mut again, std::time::Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "a freed slot admits a new connection: {answer}");
}

/// Refused attempts are audit records: who (the key's name, or a prefix of an unknown key),
/// the action, the tenant and the reason; the presented key never appears.
#[tokio::test(flavor = "multi_thread")]
async fn refused_attempts_are_audited() {
    let h = Harness::start(1).await;
    let tenant = h.tenant(0);
    let machine = h.online_machines(&tenant).await[0]["id"].as_str().unwrap().to_string();
    let action_url = format!("{}/v1/tenants/{tenant}/actions/mde/IsolateDevice", h.gateway);
    let body = json!({ "machineId": machine, "comment": "probe" });

    let bogus = gateway::auth::generate_key();
    let resp = h.http.post(&action_url).header("x-api-key", &bogus).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let reader = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: "probe-reader".into(),
            role: "reader".into(),
            tenants: vec![],
            key_hash: gateway::auth::hash_key(&reader),
        })
        .await
        .unwrap();
    let resp = h.http.post(&action_url).header("x-api-key", &reader).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    let (status, _) = h
        .seed_with_key("DefenderXDRMDEWorker", json!({ "action": "Isolate Device", "tenantId": tenant }), &bogus)
        .await;
    assert_eq!(status, 401);

    let records = h.engine.store().query_audit(store::AuditFilter::default()).await.unwrap();
    let refused: Vec<_> = records.iter().filter(|r| r.kind.as_str() == "refused").collect();
    let prefix = format!("key:{}…", &bogus[..8]);
    let unauthenticated = refused
        .iter()
        .find(|r| r.principal == prefix && r.action.as_deref() == Some("IsolateDevice"))
        .expect("the 401 on the native route is audited");
    assert_eq!(unauthenticated.tenant.as_deref(), Some(tenant.as_str()));
    assert_eq!(unauthenticated.detail["status"], 401);
    assert!(unauthenticated.detail["reason"]["message"].as_str().unwrap().contains("not valid"));
    let forbidden = refused.iter().find(|r| r.principal == "probe-reader").expect("the 403 is audited");
    assert_eq!(forbidden.detail["status"], 403);
    assert!(forbidden.detail["reason"]["message"].as_str().unwrap().contains("reader"), "{:?}", forbidden.detail);
    assert!(
        refused.iter().any(|r| r.principal == prefix && r.action.as_deref() == Some("Isolate Device")),
        "the seed route's refusal names the action from its body: {refused:?}"
    );
    let all = serde_json::to_string(&records).unwrap();
    assert!(!all.contains(&bogus) && !all.contains(&reader), "keys never reach the audit");
    assert!(riposte::audit_anchor::verify(h.engine.store(), h.dir.path()).await.unwrap().ok, "still one chain");
}

/// `isolationTyp: "Selective"` (the probe's typo) is a 400 naming the key and the parameter it
/// resembles, on the native and the seed route, and nothing is isolated; a seed key unlike any
/// parameter is ignored and listed in `warnings`.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_parameters_are_named_and_typos_refused() {
    let h = Harness::start(1).await;
    let tenant = h.tenant(0);
    let machine = h.online_machines(&tenant).await[0]["id"].as_str().unwrap().to_string();

    let (status, body) = h
        .native_mde(
            &tenant,
            "IsolateDevice",
            json!({ "deviceIds": machine, "comment": "probe", "isolationTyp": "Selective" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "isolationTyp", "{body}");
    assert_eq!(body["error"]["code"], "UnknownParameter", "{body}");
    assert!(body["error"]["hint"].as_str().unwrap().contains("isolationType"), "{body}");
    let (status, body) = h
        .native_mde(&tenant, "IsolateDevice", json!({ "deviceIds": machine, "comment": "probe", "ticket": "INC-1" }))
        .await;
    assert_eq!(status, 400, "native routes refuse any unknown key: {body}");
    assert_eq!(body["error"]["field"], "ticket");

    let (status, body) =
        h.mde(&tenant, "IsolateDevice", json!({ "deviceIds": machine, "isolationTyp": "Selective" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("isolationTyp") && body.to_string().contains("isolationType"), "{body}");
    assert_eq!(h.count_actions(&tenant, "Isolate", &machine).await, 0, "nothing was isolated");

    let (status, body) = h
        .mde(
            &tenant,
            "IsolateDevice",
            json!({ "deviceIds": machine, "isolationType": "Selective", "ticketReference": "INC-1" }),
        )
        .await;
    assert!(status == 200 || status == 202, "{body}");
    let warnings = body["warnings"].as_array().expect("warnings");
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("ticketReference")), "{body}");
    let isolation = h.machine_actions(&tenant).await.into_iter().find(|a| a["machineId"] == machine.as_str());
    let isolation = isolation.expect("the isolation ran");
    assert_eq!(isolation["type"], "Isolate");
    assert!(isolation.to_string().contains("Selective"), "the declared parameter was honoured: {isolation}");
}
