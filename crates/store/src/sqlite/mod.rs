//! The SQLite back end: the embedded default, nothing to install.
//!
//! SQL here uses `$N` placeholders and `ON CONFLICT`, which PostgreSQL accepts unchanged, so a
//! future `postgres` module can mostly copy these statements. Every multi-statement write runs
//! in a `BEGIN IMMEDIATE` transaction: it takes SQLite's single write lock up front, so a
//! read-then-write never fails half way with `SQLITE_BUSY` when another writer got there first.

pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod audit_keyed;
pub(crate) mod budget_windows;
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

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Decode, Row, Sqlite, Transaction, Type};

use crate::StoreError;

/// Migrations compiled into the binary, so `riposte` needs no files next to it.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the lock before giving up; covers a CLI and a server sharing a file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections for a file database: WAL lets readers run beside the single writer.
const FILE_POOL_SIZE: u32 = 4;

fn file_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL, not NORMAL: a committed operation must survive power loss (durable before irreversible).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
}

/// The group commit's own connection to an opened database file (a pool of exactly one, kept
/// open). Taking whichever pooled connection was idle, a batch found a page cache that other
/// connections' commits had made stale and read its pages again (about ten `pread`s per write
/// under load); one connection writing every batch keeps the pages it writes in its cache.
pub(crate) async fn open_committer(path: &Path) -> Result<SqlitePool, StoreError> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_with(file_options(path))
        .await?)
}

/// Opens (creating if needed) a database file and brings its schema up to date.
pub(crate) async fn open_file(path: &Path) -> Result<SqlitePool, StoreError> {
    create_parent_dir(path).await?;
    let options = file_options(path);
    let pool = SqlitePoolOptions::new()
        .max_connections(FILE_POOL_SIZE)
        // A connection to a local file does not go stale: no ping (a round trip to the
        // connection's thread) before every statement. A broken one fails its statement.
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Copies the WAL back into the database file. The group commit calls it after answering a
/// batch's callers, still holding the writer lock, so the next commit starts the WAL from its
/// beginning; SQLite's own checkpoint (every 1,000 pages) runs inside a commit, before its
/// callers are answered, and made about every hundredth read wait for the database file's
/// fsync. PASSIVE: it waits for no reader, and what it cannot copy now it copies next time. A
/// failure is only logged: the WAL grows until a later checkpoint succeeds.
pub(crate) async fn checkpoint(pool: &SqlitePool) {
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await {
        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
    }
}

/// Opens a private in-memory database for tests.
///
/// One connection that never expires: every connection to `:memory:` would otherwise be a
/// separate, empty database, and the data would vanish when the pool recycled it.
pub(crate) async fn open_memory() -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.busy_timeout(BUSY_TIMEOUT).foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

async fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| StoreError::Io { path: dir.display().to_string(), source }),
        _ => Ok(()),
    }
}

/// Starts a write transaction holding the database write lock from its first statement.
pub(crate) async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Reads a column; a value of the wrong type means the row was not written by us.
pub(crate) fn col<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(name).map_err(|e| StoreError::corrupt(format!("column {name}"), e))
}

/// Whether a database error message names `needle` (a column or index of a unique constraint).
pub(crate) fn error_mentions(e: &sqlx::Error, needle: &str) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.message().contains(needle) || d.constraint().is_some_and(|c| c.contains(needle)))
}
