//! schemathesis against the live gateway (issue 15 §1: "Schemathesis found 48 mismatches"):
//! the OpenAPI document the gateway serves is the contract, and every generated request's
//! answer must keep it. A harness gateway + sandbox (wired as `riposte up` wires them) is
//! started, and the `st` CLI (`RIPOSTE_SCHEMATHESIS`, installed into the test venv by
//! `scripts/test`) runs every operation with the sandbox's real tenant ids and a real admin key,
//! bounded by examples per operation and a time budget. Failing on any 5xx, undocumented
//! status, wrong content type or body that breaks the response schema. A missing binary fails
//! the test saying how to install it: it never skips.

use crate::common::*;
use std::path::PathBuf;

const INSTALL: &str = "the schemathesis test needs the `st` CLI of schemathesis: run `scripts/test` (it installs \
     schemathesis into its venv and sets RIPOSTE_SCHEMATHESIS)";

/// The checks that must hold for every answer.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Cases per operation and the whole run's budget: a few minutes on CI's two cores.
const MAX_EXAMPLES: &str = "4";
const MAX_TIME_SECS: &str = "240";

fn schemathesis_binary() -> PathBuf {
    let st = PathBuf::from(std::env::var("RIPOSTE_SCHEMATHESIS").unwrap_or_else(|_| "st".into()));
    let runs = std::process::Command::new(&st).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(runs, "`{} --version` does not run\n{INSTALL}", st.display());
    st
}

/// The project settings: real tenant ids wherever a route names a tenant (path or query), so
/// requests reach the engine, the sandbox and back instead of stopping at "unknown tenant".
/// The catalog's unsupported actions (deprecated in the document) answer 501 by design, naming
/// the nearest real action: for those operations alone 501 is an expected status; any other
/// 5xx still fails, on them as everywhere.
fn config(tenants: &[String], unsupported: &[String]) -> String {
    let ids: Vec<String> = unsupported.iter().map(|id| format!("\"{id}\"")).collect();
    format!(
        "[parameters]\n\"path.tenantId\" = \"{t0}\"\n\"query.tenant\" = \"{t0}\"\n\"query.tenant_id\" = \"{t1}\"\n\n\
         [[operations]]\ninclude-operation-id = [{ids}]\n\
         checks = {{ not_a_server_error = {{ expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"501\"] }} }}\n",
        t0 = tenants[0],
        t1 = tenants[1],
        ids = ids.join(", "),
    )
}

/// The operation ids the document marks deprecated (the unsupported actions).
fn deprecated_operations(doc: &serde_json::Value) -> Vec<String> {
    let mut ids = vec![];
    for item in doc["paths"].as_object().into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            if op["deprecated"] == true {
                ids.push(op["operationId"].as_str().expect("an operationId").to_string());
            }
        }
    }
    ids
}

/// The operations schemathesis's "Authentication failed" warning lists (only 401/403 answers).
fn auth_only_operations(output: &str) -> Vec<String> {
    let Some(start) = output.lines().position(|l| l.starts_with("Authentication failed")) else { return vec![] };
    output
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with("💡"))
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(String::from)
        .collect()
}

/// `(tests, failures + errors)` summed over a JUnit report's test suites.
fn junit_counts(xml: &str) -> (u64, u64) {
    let attr = |tag: &str, name: &str| -> u64 {
        let needle = format!("{name}=\"");
        tag.split(&needle).nth(1).and_then(|rest| rest.split('"').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let mut tests = 0;
    let mut bad = 0;
    for suite in xml.split("<testsuite ").skip(1) {
        let tag = suite.split('>').next().unwrap_or("");
        tests += attr(tag, "tests");
        bad += attr(tag, "failures") + attr(tag, "errors");
    }
    (tests, bad)
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failures() {
    let st = schemathesis_binary();
    let h = Harness::start(2).await;
    let tenants = vec![h.tenant(0), h.tenant(1)];
    let dir = h.dir.path().join("schemathesis");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, doc) = h.get("/v1/openapi.json").await;
    let unsupported = deprecated_operations(&doc);
    assert!(!unsupported.is_empty(), "the catalog's unsupported actions are deprecated operations");
    let config_path = dir.join("schemathesis.toml");
    std::fs::write(&config_path, config(&tenants, &unsupported)).unwrap();
    let junit = dir.join("junit.xml");

    let output = tokio::process::Command::new(&st)
        .arg("--no-color")
        .arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(format!("{}/v1/openapi.json", h.gateway))
        .args(["--checks", CHECKS])
        // The key in every place the document's security schemes name, so generated junk in one
        // of them (x-functions-key wins over x-api-key) cannot stop a request at authentication.
        .args(["--header", &format!("x-functions-key: {}", h.admin_key)])
        .args(["--header", &format!("x-api-key: {}", h.admin_key)])
        .args(["--header", &format!("Authorization: Bearer {}", h.admin_key)])
        .args(["--max-examples", MAX_EXAMPLES, "--max-time", MAX_TIME_SECS])
        .args(["--phases", "examples,coverage,fuzzing", "--seed", "15"])
        // One worker: schemathesis 4.32.5's coverage phase raises internal KeyErrors (not findings)
        // when several workers generate cases for the same schema at once.
        .args(["--request-timeout", "60", "--workers", "1"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&dir)
        .arg("--report-junit-path")
        .arg(&junit)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running {}: {e}\n{INSTALL}", st.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(&junit)
        .unwrap_or_else(|e| panic!("no JUnit report at {} ({e})\n{stdout}\n{stderr}", junit.display()));
    let (tests, bad) = junit_counts(&report);
    assert!(
        output.status.success() && bad == 0,
        "schemathesis found {bad} failing operations (exit {:?})\n{stdout}\n{stderr}",
        output.status.code()
    );
    // A run whose requests stopped at authentication tested nothing behind it. The one
    // exception: a download link is its own authority, and a generated token is never valid.
    let refused = auth_only_operations(&stdout);
    assert!(
        refused.iter().all(|op| op == "GET /v1/downloads/{token}"),
        "operations answered only 401/403: {refused:?}\n{stdout}"
    );
    // Every action of the catalog is an operation: a run that reached only a few tested nothing.
    let documented = doc["paths"].as_object().map_or(0, |p| p.len()) as u64;
    assert!(tests >= documented, "schemathesis ran {tests} operations of {documented} paths\n{stdout}");
}

#[test]
fn auth_only_operations_are_read_from_the_warning() {
    let out = "WARNINGS\n\nAuthentication failed: 2 operations returned only 401/403 responses\n\n403 Forbidden (1 operation):\n  - GET /v1/downloads/{token}\n401 Unauthorized (1 operation):\n  - POST /v1/jobs\n\n💡 Ensure valid\n\nMissing test data:\n  - GET /x\n";
    assert_eq!(auth_only_operations(out), ["GET /v1/downloads/{token}", "POST /v1/jobs"]);
    assert!(auth_only_operations("no warnings").is_empty());
}

#[test]
fn junit_counts_read_failures_and_errors() {
    let xml = r#"<testsuites><testsuite name="a" tests="3" failures="1" errors="0"><testcase/></testsuite>
        <testsuite name="b" tests="2" failures="0" errors="2"></testsuite></testsuites>"#;
    assert_eq!(junit_counts(xml), (5, 3));
}
