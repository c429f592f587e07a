//! Hunting end to end: gateway + sandbox over sockets. Cross-tenant hunts (rows labelled by
//! tenant, a throttled tenant reported while the others answer), seed 004's built-in queries,
//! the seed's RunQuery passthrough, saved queries with versions, the run history, scope and bad
//! input. Effects are checked in the sandbox (its own hunting API answers the same rows) and in
//! Riposte's audit.

use crate::common::*;
use serde_json::{Value, json};
use std::process::Command;

/// Rows every sandbox tenant has (the sandbox seeds DeviceProcessEvents for each tenant).
const EVERY_TENANT_QUERY: &str = "DeviceProcessEvents | take 5";

async fn post(h: &Harness, path: &str, key: &str, body: Value) -> (u16, Value) {
    let resp = h.http.post(format!("{}{path}", h.gateway)).header("x-api-key", key).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn hunt(h: &Harness, body: Value) -> (u16, Value) {
    post(h, "/v1/hunt", &h.admin_key.clone(), body).await
}

/// A key with a role and tenant scope, created as `riposte keys create` does.
async fn key(h: &Harness, name: &str, role: &str, tenants: Vec<String>) -> String {
    let key = gateway::auth::generate_key();
    h.engine
        .store()
        .create_key(store::NewKey {
            name: name.into(),
            role: role.into(),
            tenants,
            key_hash: gateway::auth::hash_key(&key),
        })
        .await
        .unwrap();
    key
}

/// The sandbox's own answer for a query in one tenant, straight from its MDE hunting API with
/// the tenant's credentials: the upstream effect a hunt through Riposte must reproduce.
async fn sandbox_hunt(h: &Harness, tenant: &str, query: &str) -> (u16, Value) {
    let mde = Mde::connect(h, tenant).await;
    let resp = h
        .http
        .post(format!("{}/api/advancedqueries/run", mde.base))
        .bearer_auth(&mde.token)
        .json(&json!({ "Query": query }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn rows_of<'a>(v: &'a Value, tenant: &str) -> Vec<&'a Value> {
    v["rows"].as_array().unwrap().iter().filter(|r| r["TenantId"] == tenant).collect()
}

/// One query over three tenants: every tenant's rows come back labelled with its TenantId, the
/// schema leads with TenantId, each tenant reports success, and the rows are the sandbox's own.
#[tokio::test(flavor = "multi_thread")]
async fn a_query_over_three_tenants_returns_each_tenants_rows() {
    let h = Harness::start(3).await;
    let tenants: Vec<String> = (0..3).map(|i| h.tenant(i)).collect();
    let (status, body) = hunt(&h, json!({ "query": EVERY_TENANT_QUERY, "tenants": tenants })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schema"][0], json!({ "name": "TenantId", "type": "String" }));
    assert_eq!(body["partial"], false);
    assert_eq!(body["status"], "succeeded");
    for t in &tenants {
        let rows = rows_of(&body, t);
        let (s, direct) = sandbox_hunt(&h, t, EVERY_TENANT_QUERY).await;
        assert_eq!(s, 200, "{direct}");
        let expected = direct["Results"].as_array().unwrap();
        assert!(!expected.is_empty(), "the sandbox has rows for {t}");
        assert_eq!(rows.len(), expected.len(), "tenant {t}: {body}");
        for (got, want) in rows.iter().zip(expected) {
            for (k, v) in want.as_object().unwrap() {
                assert_eq!(&got[k.as_str()], v, "tenant {t}, column {k}");
            }
        }
        let status = body["tenants"].as_array().unwrap().iter().find(|s| s["tenantId"] == t.as_str()).unwrap();
        assert_eq!(status["status"], "succeeded");
        assert_eq!(status["rowCount"], expected.len());
    }
    assert_eq!(body["rowCount"], body["rows"].as_array().unwrap().len());

    // Audited per tenant: attempt + outcome, the query text kept, the rows not.
    let (_, audit) = h.get(&format!("/v1/audit?tenant={}&action=RunAdvancedHuntingQuery", tenants[1])).await;
    let records = audit["records"].as_array().unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["attempt", "outcome"], "{audit}");
    assert!(records.iter().all(|r| r["params"]["query"] == EVERY_TENANT_QUERY && r["operation_id"] == body["runId"]));
    assert_eq!(records[1]["outcome"], "Succeeded");
    assert!(!records[1].to_string().contains("\"Results\""), "rows are never audited");
    assert!(h.engine.store().verify_audit().await.unwrap().ok);
}

/// A 429 injected for one tenant's hunting route: that tenant is reported throttled (with the
/// Retry-After Microsoft gave), the other tenants' rows still come back, `partial` is true.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_tenant_is_reported_and_the_others_still_answer() {
    let h = Harness::start(3).await;
    let throttled = h.tenant(1);
    // Retry-After above the client's longest wait (120 s): upstream gives up at once, no sleeping.
    h.sandbox_admin(
        "faults",
        json!({ "path_prefix": "/api/advancedqueries", "status": 429, "tenant": throttled, "retry_after": 600 }),
    )
    .await;
    let (status, body) = hunt(&h, json!({ "query": EVERY_TENANT_QUERY, "tenants": "all" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["partial"], true);
    assert_eq!(body["status"], "partial");
    let statuses = body["tenants"].as_array().unwrap();
    assert_eq!(statuses.len(), 3);
    for s in statuses {
        if s["tenantId"] == throttled.as_str() {
            assert_eq!(s["status"], "throttled", "{s}");
            assert_eq!(s["rowCount"], 0);
            assert_eq!(s["retryAfterSeconds"], 600, "{s}");
            assert_eq!(s["error"]["code"], "Throttled");
        } else {
            assert_eq!(s["status"], "succeeded", "{s}");
            assert!(s["rowCount"].as_u64().unwrap() > 0);
        }
    }
    assert!(rows_of(&body, &throttled).is_empty());
    assert!(!rows_of(&body, &h.tenant(0)).is_empty() && !rows_of(&body, &h.tenant(2)).is_empty());
    assert!(h.sandbox_stats().await["faults_injected"].as_u64().unwrap() >= 1);

    // The history says so too.
    let (_, history) = h.get("/v1/hunt/history?limit=1").await;
    let run = &history["runs"][0];
    assert_eq!(run["id"], body["runId"]);
    assert_eq!(run["status"], "partial");
    let parts = run["tenants"].as_array().unwrap();
    assert_eq!(parts.iter().filter(|p| p["status"] == "throttled").count(), 1, "{run}");
}

/// Seed 004's queries ship as built-ins: through Riposte they find the attacker pod's commands,
/// the victim pod's php-fpm children, and their correlation.
#[tokio::test(flavor = "multi_thread")]
async fn seed_004_built_in_queries_return_the_attacker_and_victim_rows() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, list) = h.get("/v1/queries").await;
    assert_eq!(status, 200, "{list}");
    let builtins: Vec<&str> = list["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["builtin"] == true)
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(builtins, ["mdc-simulation-attacker", "mdc-simulation-victim", "mdc-simulation-correlation"]);

    let (status, attacker) = hunt(&h, json!({ "saved": "mdc-simulation-attacker", "tenants": [t] })).await;
    assert_eq!(status, 200, "{attacker}");
    assert_eq!(attacker["savedQuery"], json!({ "name": "mdc-simulation-attacker", "version": 1 }));
    let rows = attacker["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{attacker}");
    for r in rows {
        assert_eq!(r["KubernetesNamespace"], "mdc-simulation");
        assert!(r["KubernetesPodName"].as_str().unwrap().contains("attacker"), "{r}");
    }

    let (status, victim) = hunt(&h, json!({ "saved": "mdc-simulation-victim", "tenants": [t] })).await;
    assert_eq!(status, 200, "{victim}");
    let rows = victim["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{victim}");
    assert!(rows.iter().all(|r| r["KubernetesPodName"].as_str().unwrap().contains("victim")));
    assert!(rows.iter().any(|r| r["ParentProcessName"] == "php-fpm"), "{victim}");

    let (status, joined) = hunt(&h, json!({ "saved": "mdc-simulation-correlation", "tenants": [t] })).await;
    assert_eq!(status, 200, "{joined}");
    let rows = joined["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{joined}");
    for r in rows {
        assert!(r["AttackerCommandLine"].as_str().unwrap().contains("ws.php"), "{r}");
        assert!(r["TargetURL"].as_str().unwrap().contains(r["VictimPodName"].as_str().unwrap()), "{r}");
    }
    // The same built-in through the seed surface, as the RunSavedQuery action.
    let (status, seed) = h.mde(&t, "RunSavedQuery", json!({ "queryName": "mdc-simulation-attacker" })).await;
    assert_eq!(status, 200, "{seed}");
    assert_eq!(seed["data"]["rowCount"], attacker["rowCount"]);
}

/// The seed worker's RunQuery (and its orchestrator spelling) pass through to MDE's advanced
/// hunting API and return `{Schema, Results}` as Microsoft does.
#[tokio::test(flavor = "multi_thread")]
async fn run_query_passthrough_through_the_seed_worker_returns_rows() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = h.mde(&t, "RunQuery", json!({ "query": EVERY_TENANT_QUERY })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"], "RunAdvancedHuntingQuery");
    let results = body["data"]["Results"].as_array().expect("MDE's Results");
    let (_, direct) = sandbox_hunt(&h, &t, EVERY_TENANT_QUERY).await;
    assert_eq!(results, direct["Results"].as_array().unwrap());
    assert!(body["data"]["Schema"].as_array().is_some_and(|s| !s.is_empty()));

    let (status, orch) = h
        .seed("Gateway", json!({ "service": "MDE", "action": "AdvancedHuntingRunQuery", "tenantId": t, "huntQuery": EVERY_TENANT_QUERY }))
        .await;
    assert_eq!(status, 200, "{orch}");
    assert_eq!(orch["data"]["Results"].as_array().unwrap().len(), results.len());
}

/// SaveQuery twice keeps two versions; GetQueryHistory lists the runs with who, row counts,
/// status and duration; old versions stay runnable; a reader may hunt and save but not delete.
#[tokio::test(flavor = "multi_thread")]
async fn saved_queries_are_versioned_and_history_lists_runs() {
    let h = Harness::start(2).await;
    let t = h.tenant(0);
    let v1 = "DeviceProcessEvents | take 1";
    let v2 = "DeviceProcessEvents | take 2";
    let (s1, first) =
        h.mde(&t, "SaveQuery", json!({ "queryName": "recent processes", "query": v1, "description": "first" })).await;
    assert_eq!(s1, 200, "{first}");
    assert_eq!(first["data"]["latest"], 1);
    let (s2, second) = h.mde(&t, "SaveQuery", json!({ "queryName": "Recent Processes", "Query": v2 })).await;
    assert_eq!(s2, 200, "{second}");
    assert_eq!(second["data"]["latest"], 2);
    let (_, stored) = h.get("/v1/queries/recent%20processes").await;
    let versions = stored["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{stored}");
    assert_eq!((versions[0]["query"].as_str(), versions[1]["query"].as_str()), (Some(v1), Some(v2)));
    assert_eq!(versions[1]["author"], "admin");

    // Run the latest (2 rows) and version 1 (1 row) through the native route.
    let reader = key(&h, "hunter", "reader", vec![]).await;
    let (s, latest) = post(&h, "/v1/queries/recent processes/run", &reader, json!({ "tenants": [t] })).await;
    assert_eq!(s, 200, "{latest}");
    assert_eq!((latest["rowCount"].as_u64(), latest["savedQuery"]["version"].as_i64()), (Some(2), Some(2)));
    let (s, old) = post(&h, "/v1/queries/recent processes/run", &reader, json!({ "tenants": [t], "version": 1 })).await;
    assert_eq!(s, 200, "{old}");
    assert_eq!(old["rowCount"], 1);
    let (s, _) = h.mde(&t, "RunQuery", json!({ "query": v1 })).await;
    assert_eq!(s, 200);

    let (status, history) = h.mde(&t, "GetQueryHistory", json!({})).await;
    assert_eq!(status, 200, "{history}");
    let runs = history["data"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{history}");
    assert_eq!(runs[0]["source"], "action", "newest first: the RunQuery");
    assert_eq!(runs[0]["query"], v1);
    assert_eq!(runs[0]["rowCount"], 1);
    assert_eq!((runs[1]["queryName"].as_str(), runs[1]["queryVersion"].as_i64()), (Some("recent processes"), Some(1)));
    assert_eq!(runs[2]["principal"], "hunter");
    for r in runs {
        assert_eq!(r["status"], "succeeded", "{r}");
        assert!(r["durationMs"].as_i64().is_some() && r["startedAt"].is_string(), "{r}");
        assert_eq!(r["tenants"][0]["tenant"], t.as_str());
    }
    let (_, named) = h.mde(&t, "GetQueryHistory", json!({ "queryName": "RECENT PROCESSES" })).await;
    assert_eq!(named["data"]["count"], 2);
    // The other tenant saw none of it.
    let (_, other) = h.mde(&h.tenant(1), "GetQueryHistory", json!({})).await;
    assert_eq!(other["data"]["count"], 0, "{other}");

    // Deleting needs more than a reader; built-ins are read-only.
    let del = |key: String| {
        let url = format!("{}/v1/queries/recent%20processes", h.gateway);
        let http = h.http.clone();
        async move { http.delete(url).header("x-api-key", key).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(del(reader.clone()).await, 403);
    assert_eq!(del(h.admin_key.clone()).await, 204);
    assert_eq!(h.get("/v1/queries/recent%20processes").await.0, 404);
    let (s, e) = h.mde(&t, "SaveQuery", json!({ "queryName": "mdc-simulation-attacker", "query": v1 })).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("queryName")), "{e}");
    let (s, e) = post(&h, "/v1/queries", &reader, json!({ "name": "bad/name", "query": v1 })).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("name")), "{e}");
    let (s, e) = post(&h, "/v1/queries", &reader, json!({ "name": "readers-may-save", "query": v1 })).await;
    assert_eq!((s, e["latest"].as_i64(), e["builtin"].as_bool()), (201, Some(1), Some(false)), "{e}");
}

/// Tenant scope: `"all"` means the key's tenants; naming another is a 403.
#[tokio::test(flavor = "multi_thread")]
async fn hunts_respect_the_keys_tenant_scope() {
    let h = Harness::start(3).await;
    let mine = h.tenant(2);
    let scoped = key(&h, "scoped-reader", "reader", vec![mine.clone()]).await;
    let (s, body) = post(&h, "/v1/hunt", &scoped, json!({ "query": EVERY_TENANT_QUERY, "tenants": "all" })).await;
    assert_eq!(s, 200, "{body}");
    let tenants: Vec<&str> =
        body["tenants"].as_array().unwrap().iter().map(|t| t["tenantId"].as_str().unwrap()).collect();
    assert_eq!(tenants, [mine.as_str()]);
    assert!(body["rows"].as_array().unwrap().iter().all(|r| r["TenantId"] == mine.as_str()));
    let (s, body) =
        post(&h, "/v1/hunt", &scoped, json!({ "query": EVERY_TENANT_QUERY, "tenants": [mine, h.tenant(0)] })).await;
    assert_eq!(s, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(&h.tenant(0)));
    // The hunting routes and actions are described in the OpenAPI document.
    let (_, api) = h.get("/v1/openapi.json").await;
    for path in [
        "/v1/hunt",
        "/v1/hunt/history",
        "/v1/queries",
        "/v1/queries/{name}",
        "/v1/queries/{name}/run",
        "/v1/tenants/{tenantId}/actions/MDE/RunAdvancedHuntingQuery",
        "/v1/tenants/{tenantId}/actions/MDE/SaveQuery",
    ] {
        assert!(api["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    // Runs that touched tenants outside the scope stay out of the scoped key's history.
    hunt(&h, json!({ "query": EVERY_TENANT_QUERY, "tenants": "all" })).await;
    let resp = h.http.get(format!("{}/v1/hunt/history", h.gateway)).header("x-api-key", &scoped).send().await.unwrap();
    let history: Value = resp.json().await.unwrap();
    assert_eq!(history["count"], 1, "{history}");
}

/// Bad input answers 400 naming the field; a KQL syntax error is Microsoft's 400, passed through.
#[tokio::test(flavor = "multi_thread")]
async fn bad_hunting_input_names_the_field_and_syntax_errors_pass_through() {
    let h = Harness::start(2).await;
    let t = h.tenant(0);
    let cases = [
        (json!({ "tenants": "all" }), "query"),
        (json!({ "query": "   ", "tenants": "all" }), "query"),
        (json!({ "query": EVERY_TENANT_QUERY, "tenants": [] }), "tenants"),
        (json!({ "query": EVERY_TENANT_QUERY, "tenants": 7 }), "tenants"),
        (json!({ "query": EVERY_TENANT_QUERY, "tenants": ["no-such-tenant"] }), "tenants"),
        (json!({ "query": EVERY_TENANT_QUERY, "timespan": "last week" }), "timespan"),
        (json!({ "saved": "no such query" }), "saved"),
        (json!({ "query": "x".repeat(100_001) }), "query"),
        (json!({ "query": EVERY_TENANT_QUERY, "tenant": t }), "tenant"),
        (json!({ "query": 42 }), "query"),
    ];
    for (body, field) in cases {
        let (status, answer) = hunt(&h, body.clone()).await;
        assert_eq!(status, 400, "{body:.80}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(answer["error"]["hint"].is_string(), "{answer}");
    }
    let (status, answer) = h.mde(&t, "RunQuery", json!({})).await;
    assert_eq!((status, answer["error"]["field"].as_str()), (400, Some("query")), "{answer}");

    let bad_kql = "DeviceProcessEvents | where (";
    let (direct_status, direct) = sandbox_hunt(&h, &t, bad_kql).await;
    assert_eq!(direct_status, 400, "{direct}");
    let microsoft = direct["error"]["message"].as_str().unwrap();
    let (status, answer) = hunt(&h, json!({ "query": bad_kql, "tenants": "all" })).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains(microsoft), "{answer} vs {direct}");
    assert_eq!(answer["error"]["code"], direct["error"]["code"]);
    let (status, answer) = h.mde(&t, "RunQuery", json!({ "query": bad_kql })).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains(microsoft), "{answer}");
}

/// `riposte kql conformance` on a tiny corpus prints `parse: N/M`, and `--failures` names the
/// failing record with its first error; an oracle file prints `oracle: K/L`.
#[test]
fn kql_conformance_cli_reports_parse_and_oracle_scores() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    let lines = [
        json!({ "id": "good-1", "query": "DeviceProcessEvents | where FileName == \"cmd.exe\" | take 5", "kusto_syntax_errors": [], "kusto_semantic_errors": [] }),
        json!({ "id": "good-2", "query": "DeviceInfo | summarize count() by OSPlatform", "kusto_syntax_errors": [], "kusto_semantic_errors": [] }),
        json!({ "id": "broken-3", "query": "DeviceInfo | where (", "kusto_syntax_errors": [], "kusto_semantic_errors": [] }),
    ];
    std::fs::write(&corpus, lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")).unwrap();
    let riposte = env!("CARGO_BIN_EXE_riposte");
    let out = Command::new(riposte).args(["kql", "conformance"]).arg(&corpus).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("parse: 2/3")), "{text}");
    assert!(!text.contains("broken-3"), "failures are listed only on request: {text}");
    let out = Command::new(riposte).args(["kql", "conformance", "--failures"]).arg(&corpus).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let failing: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("FAIL")).collect();
    assert_eq!(failing.len(), 1, "{text}");
    assert!(failing[0].contains("broken-3") && failing[0].contains("parse"), "{text}");

    let oracle = dir.path().join("oracle.jsonl");
    let record = json!({ "id": "o-1", "kql": "datatable(x:long)[5,3,8] | where x > 4 | order by x asc",
        "kusto_columns": ["x:Int"], "kusto_row_count": 2, "kusto_rows": ["(5,)", "(8,)"] });
    std::fs::write(&oracle, record.to_string()).unwrap();
    let out = Command::new(riposte).args(["kql", "conformance"]).arg(&oracle).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("oracle: ") && l.contains("/1")), "{text}");
}

/// `riposte kql bench` runs every bench query (`hunt::bench::queries`) over generated rows and
/// reports them as JSON; without `--duckdb` it says why DuckDB was left out.
#[test]
fn kql_bench_cli_reports_every_query() {
    let out = Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(["kql", "bench", "--rows", "2000", "--iterations", "1", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["rows"], 2000);
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), hunt::bench::queries(0).len(), "{report}");
    assert!(queries.len() >= 7, "the two hunting-shaped queries are in the bench: {report}");
    for q in queries {
        assert!(q["kql_error"].is_null(), "{q}");
        assert!(q["kql_rows_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{q}");
    }
    assert!(report["duckdb"].is_null());
    assert!(report["duckdb_note"].as_str().unwrap().contains("--duckdb"));
}

/// With a timespan the hunt goes through Graph's runHuntingQuery (MDE's legacy API has none):
/// every tenant answers, the audit names the Graph action, and a window in the future finds
/// nothing while the open one finds the rows.
#[tokio::test(flavor = "multi_thread")]
async fn a_timespan_hunts_through_graph() {
    let h = Harness::start(2).await;
    let query = "DeviceProcessEvents | summarize n = count()";
    let (status, body) = hunt(&h, json!({ "query": query, "tenants": "all", "timespan": "P30D" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"], "RunHuntingQuery");
    for i in 0..2 {
        let rows = rows_of(&body, &h.tenant(i));
        assert_eq!(rows.len(), 1, "{body}");
        assert!(rows[0]["n"].as_i64().unwrap() > 0, "{body}");
    }
    let (status, empty) =
        hunt(&h, json!({ "query": query, "tenants": "all", "timespan": "2099-01-01T00:00:00Z/2099-01-02T00:00:00Z" }))
            .await;
    assert_eq!(status, 200, "{empty}");
    assert!(rows_of(&empty, &h.tenant(0)).iter().all(|r| r["n"] == 0), "{empty}");
    let (_, audit) = h.get(&format!("/v1/audit?tenant={}&action=RunHuntingQuery", h.tenant(1))).await;
    assert_eq!(audit["count"], 4, "{audit}");
    assert!(audit["records"].as_array().unwrap().iter().all(|r| r["params"]["timespan"].is_string()));
}

/// `riposte hunt` against a running gateway prints the merged table and each tenant's status.
#[tokio::test(flavor = "multi_thread")]
async fn riposte_hunt_cli_prints_the_merged_table_and_tenant_status() {
    let h = Harness::start(2).await;
    let run = |args: Vec<String>| {
        let (url, key) = (h.gateway.clone(), h.admin_key.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_riposte"))
                .arg("hunt")
                .args(args)
                .env("RIPOSTE_URL", url)
                .env("RIPOSTE_KEY", key)
                .env_remove("RUST_BACKTRACE")
                .output()
                .unwrap()
        })
    };
    let out =
        run(vec!["-q".into(), "DeviceProcessEvents | take 2".into(), "--tenants".into(), "all".into()]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap().starts_with("TenantId"), "{text}");
    for i in 0..2 {
        let t = h.tenant(i);
        assert_eq!(text.lines().filter(|l| l.starts_with(&t)).count(), 3, "2 rows + 1 status line for {t}: {text}");
        assert!(text.lines().any(|l| l.starts_with(&t) && l.contains("succeeded")), "{text}");
    }
    assert!(text.contains("4 rows from 2 tenant(s)"), "{text}");

    let csv = run(vec![
        "--saved".into(),
        "mdc-simulation-attacker".into(),
        "--tenants".into(),
        h.tenant(1),
        "--format".into(),
        "csv".into(),
    ])
    .await
    .unwrap();
    assert!(csv.status.success(), "{}", String::from_utf8_lossy(&csv.stderr));
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(text.starts_with("TenantId,Timestamp,ProcessName,ProcessCommandLine"), "{text}");
    assert!(text.lines().skip(1).all(|l| l.starts_with(&h.tenant(1))), "{text}");
    assert!(String::from_utf8_lossy(&csv.stderr).contains("succeeded"), "status goes to stderr with csv");

    let bad = run(vec!["-q".into(), "DeviceProcessEvents | where (".into()]).await.unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("400 BadRequest: Syntax error"), "{err}");
}
