//! Coverage of the end-to-end suite, read from its own audit: every supported action of the
//! catalog must have run to a successful outcome at least once during the last e2e run.
//!
//! Each e2e harness keeps its data directory under `{CARGO_TARGET_TMPDIR}/e2e-runs/{run}/`
//! (`tests/e2e/common/mod.rs`). Cargo runs test binaries one after another in name order, so this
//! binary (`e2e_coverage`) reads the audit of the `e2e` run that just finished. A new action
//! without an end-to-end test that makes it succeed fails here, by name: no list to keep.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The newest run folder of the e2e suite (or `RIPOSTE_E2E_RUN`, to check a given run).
fn latest_run() -> Option<PathBuf> {
    if let Some(run) = std::env::var_os("RIPOSTE_E2E_RUN") {
        return Some(PathBuf::from(run));
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-runs");
    let mut runs: Vec<PathBuf> =
        std::fs::read_dir(root).ok()?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    runs.sort();
    runs.pop()
}

/// `(product, action)` of every operation that reached Succeeded or PartiallySucceeded.
async fn succeeded_in(db_dir: &Path) -> BTreeSet<(String, String)> {
    let path = db_dir.join("riposte.db");
    let mut done = BTreeSet::new();
    if !path.exists() {
        return done;
    }
    let store = store::Store::open_sqlite(&path).await.expect("an e2e harness database opens");
    let filter = store::AuditFilter { limit: 10_000, ..Default::default() };
    for record in store.query_audit(filter).await.expect("its audit reads") {
        let succeeded = matches!(record.outcome.as_deref(), Some("Succeeded" | "PartiallySucceeded"));
        if let (true, Some(product), Some(action)) = (succeeded, record.product, record.action) {
            done.insert((product, action));
        }
    }
    store.close().await;
    done
}

#[tokio::test]
async fn every_supported_action_succeeded_during_the_e2e_run() {
    let run =
        latest_run().expect("no e2e run found: run `cargo test --test e2e` (cargo test --workspace runs it first)");
    let mut succeeded = BTreeSet::new();
    let mut harnesses = 0;
    for dir in std::fs::read_dir(&run).expect("the run folder").flatten() {
        harnesses += 1;
        succeeded.extend(succeeded_in(&dir.path()).await);
    }
    assert!(
        harnesses >= 10,
        "the run at {} holds only {harnesses} harnesses: was the e2e suite filtered?",
        run.display()
    );
    let missing: Vec<String> = catalog::all()
        .filter(|spec| spec.is_supported())
        .filter(|spec| !succeeded.contains(&(spec.product.key().to_string(), spec.name.to_string())))
        .map(|spec| format!("{}/{}", spec.product.key(), spec.name))
        .collect();
    assert!(
        missing.is_empty(),
        "{} supported actions never succeeded in the e2e run at {}: {missing:?}\nadd an end-to-end test that runs each to its effect",
        missing.len(),
        run.display()
    );
}
