//! The engine's typed errors. The gateway maps each to an HTTP status exactly once.

use catalog::{ParamError, Product};
use serde_json::Value;
use std::time::Duration;

/// Clone, because the executor hands one outcome to every caller waiting on an operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("tenant '{0}' is not configured in this gateway")]
    UnknownTenant(String),
    #[error("unknown action '{name}'")]
    UnknownAction { name: String, product: Option<Product>, close: Vec<String> },
    #[error("action '{name}' exists in several products ({products}); say which with 'service'")]
    AmbiguousAction { name: String, products: String },
    #[error("{0}")]
    InvalidParam(ParamError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{action} is not supported: {reason}")]
    Unsupported { action: String, reason: String, nearest: Option<String> },
    /// An equivalent action is already pending upstream for this target.
    #[error("{message}")]
    PendingConflict { message: String, pending: Option<Value> },
    /// Microsoft answered with an error that describes the request (4xx other than auth/throttle).
    #[error("{code}: {message}")]
    UpstreamRejected { status: u16, code: String, message: String, request_id: Option<String> },
    /// Microsoft failed, or refused our credentials: not the caller's fault.
    #[error("upstream failure {code}: {message}")]
    UpstreamFailed { status: u16, code: String, message: String, request_id: Option<String> },
    /// An idempotency key reused with a different request.
    #[error("idempotency key '{key}' was already used for a different request ({action}, operation {operation})")]
    IdempotencyMismatch { key: String, operation: String, action: String },
    /// A read could not be admitted by the tenant's rate budget before the caller's wait ended;
    /// it was cancelled, since nobody is left to read its answer.
    #[error("the read could not run within the tenant's rate budget before the wait ended; it was cancelled")]
    NotAdmitted { retry_after: Duration },
    /// Microsoft accepted the action, but reading the target back did not show its effect
    /// within the bound (`catalog::verify`). The audit keeps what was read.
    #[error(
        "{action} was accepted by Microsoft, but its effect did not show within {within_secs} s of reading the target back"
    )]
    NotVerified { action: String, within_secs: u64, read: Value },
    #[error("upstream still throttling after retries")]
    Throttled { retry_after: Option<Duration> },
    #[error("upstream timed out")]
    UpstreamTimeout,
    /// A hunt no tenant answered, though Microsoft did not reject the query itself: a bad day
    /// upstream, not an empty result. `tenants` is each tenant's status (the hunt's own shape).
    #[error("the hunt failed in every tenant ({count} of {count}); see tenants")]
    HuntFailed { count: usize, all_throttled: bool, retry_after: Option<Duration>, tenants: Value },
    #[error("operation {0} not found")]
    OperationNotFound(String),
    /// Something else the caller named does not exist (a revert, a job), or is out of scope.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (cancel a revert that already fired).
    #[error("{0}")]
    Conflict(String),
    /// The file library refused or failed (bad name, unknown file, too large, storage).
    #[error("{0}")]
    Library(#[from] library::LibraryError),
    /// The store failed; the cause stays reachable through `source()` (an `Arc`, because
    /// engine errors are cloned to every waiter).
    #[error("store: {0}")]
    Store(#[source] std::sync::Arc<store::StoreError>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<store::StoreError> for EngineError {
    fn from(e: store::StoreError) -> Self {
        EngineError::Store(std::sync::Arc::new(e))
    }
}

impl From<ParamError> for EngineError {
    fn from(e: ParamError) -> Self {
        EngineError::InvalidParam(e)
    }
}

impl From<upstream::UpstreamError> for EngineError {
    fn from(e: upstream::UpstreamError) -> Self {
        use upstream::UpstreamError as U;
        match e {
            U::Api { status, code, message, request_id } => match status {
                401 | 403 => EngineError::UpstreamFailed { status, code, message, request_id },
                400..=499 => EngineError::UpstreamRejected { status, code, message, request_id },
                _ => EngineError::UpstreamFailed { status, code, message, request_id },
            },
            U::Throttled { retry_after, .. } => EngineError::Throttled { retry_after },
            U::Auth { code, message } => EngineError::UpstreamFailed { status: 401, code, message, request_id: None },
            U::Timeout => EngineError::UpstreamTimeout,
            other => EngineError::UpstreamFailed {
                status: 502,
                code: "UpstreamUnavailable".into(),
                message: other.to_string(),
                request_id: None,
            },
        }
    }
}
