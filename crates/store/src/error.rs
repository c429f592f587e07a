//! The one error type of the store. The gateway maps it to HTTP once:
//! `Conflict` -> 409, `NotFound` -> 404, `Db`/`Corrupt` -> 500.

/// What went wrong in the store, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (duplicate key name, idempotency key, operation id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row the caller wanted to change does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed (I/O, locking, migration, connection).
    #[error("database error: {0}")]
    Db(String),
    /// A stored value could not be decoded: someone or something wrote a bad row.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Db(format!("migration failed: {e}"))
    }
}

/// Turns a unique-constraint violation into `Conflict(what)`, anything else into `Db`.
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    let unique = e
        .as_database_error()
        .is_some_and(|d| d.is_unique_violation());
    if unique {
        StoreError::Conflict(what())
    } else {
        StoreError::from(e)
    }
}
