//! The one error type of the store. The gateway maps it to HTTP once:
//! `Conflict` -> 409, `NotFound` -> 404, everything else -> 500.
//!
//! Causes are kept, not stringified: `Db`, `Migrate`, `Io` and `Corrupt` carry the error that
//! caused them as their `source()`, so the log line (which walks the chain) says why, and a
//! caller can still downcast to `sqlx::Error`. Messages never contain parameter values or keys.

/// Any error a decoder or the database can raise, kept as a cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in the store, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (duplicate key name, idempotency key, operation id).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row the caller wanted to change does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed (I/O, locking, connection).
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The data directory could not be prepared.
    #[error("cannot create directory {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded (someone or something wrote a bad row), or a value
    /// could not be encoded for storage.
    #[error("corrupt data: {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A decoding failure of `what` (e.g. `"operations.params: bad JSON"`) caused by `source`.
    pub(crate) fn corrupt(what: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Corrupt { what: what.into(), source: Some(source.into()) }
    }

    /// A broken invariant with no underlying error (a row missing that must exist).
    pub(crate) fn invariant(what: impl Into<String>) -> StoreError {
        StoreError::Corrupt { what: what.into(), source: None }
    }
}

/// An error and every cause under it, `outer: inner: innermost`: for log lines and reports, which
/// should say why without each layer repeating its cause in its own message.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Turns a unique-constraint violation into `Conflict(what)`, anything else into `Db`.
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    let unique = e.as_database_error().is_some_and(|d| d.is_unique_violation());
    if unique { StoreError::Conflict(what()) } else { StoreError::from(e) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn causes_stay_reachable() {
        let e = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(e.source().is_some_and(|s| s.downcast_ref::<sqlx::Error>().is_some()));
        let bad = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = StoreError::corrupt("operations.params: bad JSON", bad);
        assert_eq!(e.to_string(), "corrupt data: operations.params: bad JSON");
        assert!(e.source().is_some());
        assert!(describe(&e).starts_with("corrupt data: operations.params: bad JSON: EOF"), "{}", describe(&e));
    }
}
