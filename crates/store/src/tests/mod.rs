//! Store tests against real SQLite databases (in memory and in a temporary file).

mod audit;
mod keys;
mod operations;
mod persistence;

use serde_json::json;
use sqlx::sqlite::SqlitePool;

use crate::{Backend, NewAuditEvent, NewOperation, Store};

/// Raw access for tests that play the attacker with direct SQL.
fn pool(store: &Store) -> &SqlitePool {
    match &store.backend {
        Backend::Sqlite(p) => p,
    }
}

/// A file database in a fresh temporary directory (kept alive by the returned guard).
async fn file_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(&dir.path().join("nested/dir/riposte.db")).await.expect("open file store");
    (store, dir)
}

fn new_op(tenant: &str, action: &str, key: Option<&str>) -> NewOperation {
    NewOperation {
        id: uuid::Uuid::now_v7(),
        tenant: tenant.into(),
        product: "mde".into(),
        action: action.into(),
        params: json!({"deviceId": "abc", "comment": "isolate"}),
        principal: "alice".into(),
        idempotency_key: key.map(Into::into),
        request_hash: None,
        status: "accepted".into(),
    }
}

fn audit_event(tenant: &str, action: &str, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        operation_id: None,
        kind: crate::AuditKind::Attempt,
        principal: "alice".into(),
        tenant: Some(tenant.into()),
        product: Some("mde".into()),
        action: Some(action.into()),
        params: json!({"n": n, "deviceId": "abc"}),
        outcome: None,
        upstream_request_ids: vec![],
        duration_ms: Some(n),
        detail: json!({}),
    }
}
