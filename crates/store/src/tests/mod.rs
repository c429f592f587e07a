//! Store tests against real databases: each test runs on SQLite (in memory or in a temporary
//! file) and on PostgreSQL (a fresh database in the process's private cluster, see
//! `crate::pg_cluster`), through [`on_both_backends!`]. The same assertions hold on both.

use serde_json::json;
use sqlx::sqlite::SqlitePool;

use crate::pg_cluster::PgCluster;
use crate::{Backend, NewAuditEvent, NewOperation, Store};

/// Generates, for each named `async fn name(kind: Kind)` of the file, a `sqlite::name` and a
/// `postgres::name` test (multi-threaded, so concurrency tests race for real on both).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::tests::Kind::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::tests::Kind::Postgres).await
                }
            )*
        }
    };
}

mod approvals;
mod audit;
mod audit_keyed;
mod budget_windows;
mod group_commit;
mod jobs;
mod keys;
mod operations;
mod persistence;
mod replicas;

/// The back end a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// One test's database, which can be opened again (a restart, or a second process/replica).
pub(crate) enum TestDb {
    Sqlite { path: std::path::PathBuf, _dir: tempfile::TempDir },
    Postgres { url: String },
}

impl TestDb {
    /// A fresh database: a file in a temporary directory, or a new database in the cluster.
    pub(crate) async fn new(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                TestDb::Sqlite { path: dir.path().join("nested/dir/riposte.db"), _dir: dir }
            }
            Kind::Postgres => TestDb::Postgres { url: PgCluster::shared().fresh_database().await },
        }
    }

    /// A new `Store` on this database, sharing nothing in-process with earlier ones.
    pub(crate) async fn open(&self) -> Store {
        match self {
            TestDb::Sqlite { path, .. } => Store::open_sqlite(path).await.expect("open file store"),
            TestDb::Postgres { url } => Store::open_postgres(url).await.expect("open postgres store"),
        }
    }
}

/// The quickest fresh store of a kind: in memory for SQLite, a new database for PostgreSQL.
async fn store(kind: Kind) -> Store {
    match kind {
        Kind::Sqlite => Store::in_memory().await.expect("in-memory store"),
        Kind::Postgres => TestDb::new(kind).await.open().await,
    }
}

/// A store on a durable database (a file for SQLite), with the handle to open it again.
async fn file_store(kind: Kind) -> (Store, TestDb) {
    let db = TestDb::new(kind).await;
    (db.open().await, db)
}

/// Raw SQLite access for SQLite-only checks (pragmas).
fn pool(store: &Store) -> &SqlitePool {
    match &store.backend {
        Backend::Sqlite(p) => p,
        Backend::Postgres(_) => panic!("a SQLite-only test got a PostgreSQL store"),
    }
}

/// Runs one raw statement, as an attacker with database access would; the rows it changed.
async fn exec(store: &Store, sql: &'static str) -> Result<u64, sqlx::Error> {
    match &store.backend {
        Backend::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|d| d.rows_affected()),
        Backend::Postgres(p) => sqlx::query(sql).execute(p).await.map(|d| d.rows_affected()),
    }
}

/// Drops the append-only triggers of `audit_log` (each dialect's statement).
async fn drop_audit_guards(store: &Store) {
    let statements: [&'static str; 2] = match &store.backend {
        Backend::Sqlite(_) => {
            ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"]
        }
        Backend::Postgres(_) => [
            "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log",
            "DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log",
        ],
    };
    for sql in statements {
        exec(store, sql).await.expect("drop trigger");
    }
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
