//! The PostgreSQL back end: several `riposte serve` replicas sharing one database.
//!
//! Same schema text forms and the same behaviour as `sqlite` (the store tests run on both).
//! Where SQLite takes its single write lock up front (`BEGIN IMMEDIATE`), PostgreSQL locks rows:
//! every audit append locks the `audit_head` row (`SELECT … FOR UPDATE`) in the transaction that
//! writes the record, so appends from every replica queue on it and the chain stays one chain;
//! read-modify-writes lock the row they read. Commits are durable (`synchronous_commit` is left
//! at its default, `on`): a step is on disk before the caller acts on it.

pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod audit_keyed;
pub(crate) mod budget_windows;
pub(crate) mod enrichment;
pub(crate) mod jobs;
mod journal;
mod keys;
mod operations;
mod queries;
pub(crate) mod replicas;
pub(crate) mod reverts;

pub(crate) use audit::{append_audit, query_audit, verify_audit};
pub(crate) use journal::commit_batch;
pub(crate) use keys::{create_key, get_setting, key_by_hash, list_keys, revoke_key, set_setting};
pub(crate) use operations::{
    get_operation, insert_operation, list_operations, operation_by_idempotency, operations_in_status,
};
pub(crate) use queries::{
    delete_saved_query, list_saved_queries, query_runs, record_query_run, save_query, saved_query,
};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Decode, Postgres, Row, Transaction, Type};

use crate::StoreError;

/// Migrations compiled into the binary; the mirror of `migrations/sqlite`, number for number.
/// sqlx takes an advisory lock while migrating, so replicas starting together migrate once.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per replica. Appends queue on one row lock, so more would only wait.
const POOL_SIZE: u32 = 8;

/// How long a request waits for a free connection before failing (the database is down or
/// every connection is stuck).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to `url` (`postgres://user:password@host:port/db`, or `?host=/socket/dir`) and
/// brings the schema up to date.
pub(crate) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name("riposte");
    let pool =
        PgPoolOptions::new().max_connections(POOL_SIZE).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Starts a write transaction. Unlike SQLite's, it takes no lock up front: each statement that
/// reads what it will change locks its rows (`FOR UPDATE`).
pub(crate) async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, StoreError> {
    Ok(pool.begin().await?)
}

/// Reads a column; a value of the wrong type means the row was not written by us.
pub(crate) fn col<'r, T>(row: &'r PgRow, name: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(name).map_err(|e| StoreError::corrupt(format!("column {name}"), e))
}

/// Whether a database error names `needle` in its message or constraint (PostgreSQL names the
/// unique index; ours carry their column names).
pub(crate) fn error_mentions(e: &sqlx::Error, needle: &str) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.message().contains(needle) || d.constraint().is_some_and(|c| c.contains(needle)))
}
