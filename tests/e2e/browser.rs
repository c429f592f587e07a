//! The console in a real browser (issue 13 §3): `tests/browser/console_scenarios.py` drives
//! Debian's `chromium` through Playwright for Python against this harness's gateway and sandbox
//! (wired as `riposte up` wires them) and asserts each scenario's effect in the sandbox. This
//! test starts them, runs the script and fails with its output when any scenario fails.
//!
//! Needs Playwright in a Python (`RIPOSTE_BROWSER_PYTHON`, set by `scripts/test`, which installs
//! it into the test venv) and Chromium (`RIPOSTE_CHROMIUM`, default `/usr/bin/chromium`, which
//! `scripts/test` installs with apt). Missing either fails the test saying how to install it:
//! it never skips. Screenshots go to `{target}/browser-screenshots/`.

use crate::common::*;
use serde_json::json;
use std::path::PathBuf;

const INSTALL: &str = "the browser tests need Playwright for Python and Debian's chromium: run `scripts/test` \
     (it installs chromium with apt and playwright into its venv, and sets RIPOSTE_BROWSER_PYTHON and RIPOSTE_CHROMIUM)";

/// A key of `role` for `tenants` (empty: every tenant).
async fn key(h: &Harness, name: &str, role: &str, tenants: Vec<String>) -> String {
    let key = gateway::auth::generate_key();
    let new = store::NewKey { name: name.into(), role: role.into(), tenants, key_hash: gateway::auth::hash_key(&key) };
    h.engine.store().create_key(new).await.unwrap();
    key
}

fn screenshots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is {target}/tmp.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(|t| t.join("browser-screenshots")).unwrap_or(tmp)
}

#[tokio::test(flavor = "multi_thread")]
async fn console_scenarios_in_chromium() {
    let python = std::env::var("RIPOSTE_BROWSER_PYTHON").unwrap_or_else(|_| "python3".into());
    let chromium = std::env::var("RIPOSTE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).exists(), "no chromium at {chromium}\n{INSTALL}");
    let has_playwright = std::process::Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(has_playwright, "{python} cannot import playwright\n{INSTALL}");

    let h = Harness::start(2).await;
    let (t0, t1) = (h.tenant(0), h.tenant(1));
    let config = json!({
        "gateway": h.gateway,
        "sandbox": h.sandbox.base_url(),
        "chromium": chromium,
        "screenshots": screenshots_dir(),
        "tenants": [t0, t1],
        "keys": {
            "admin": h.admin_key,
            "responder": key(&h, "analyst", "responder", vec![]).await,
            "reader": key(&h, "auditor", "reader", vec![t0.clone()]).await,
        },
    });
    let path = h.dir.path().join("browser.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console_scenarios.py");
    let output = tokio::process::Command::new(&python).arg(&script).arg(&path).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "browser scenarios failed:\n{stdout}\n{stderr}");
}
