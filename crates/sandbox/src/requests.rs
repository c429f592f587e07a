//! `/_sandbox/requests`: the request log. Every request the emulated APIs receive (not the
//! `/_sandbox` control surface, not the identity platform's token and discovery endpoints, which
//! `/_sandbox/stats` counts as `token_requests`) is written down in arrival order: method, path, query, and the
//! tenant when a bearer token names one. Tests use it to assert what a client sent, or that it
//! sent nothing (a dry run). Bounded: the newest [`KEPT`] entries; `total` counts them all.
//!
//! | Method | Path | Result |
//! |---|---|---|
//! | GET | `/_sandbox/requests?since=N&method=POST` | `{total, requests: [{seq, method, path, query, tenant}]}`, entries with `seq > N` |
//! | DELETE | `/_sandbox/requests` | empties the log (`total` keeps counting) |

use std::collections::VecDeque;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;

/// Entries kept.
pub const KEPT: usize = 10_000;

/// One request as received.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The `tid` of the bearer token, when there is one.
    pub tenant: Option<String>,
}

/// The log kept in the sandbox's state.
#[derive(Default)]
pub struct RequestLog {
    total: u64,
    entries: VecDeque<Logged>,
}

impl RequestLog {
    fn push(&mut self, method: String, path: String, query: Option<String>, tenant: Option<String>) {
        self.total += 1;
        if self.entries.len() == KEPT {
            self.entries.pop_front();
        }
        self.entries.push_back(Logged { seq: self.total, method, path, query, tenant });
    }
}

/// Middleware: log every request outside `/_sandbox`.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/_sandbox") && !identity_platform(&path) {
        let tenant = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .and_then(token_tenant);
        let query = req.uri().query().map(str::to_owned);
        state.requests.lock().push(req.method().to_string(), path, query, tenant);
    }
    next.run(req).await
}

/// Entra's token, metadata and key endpoints (`login.rs`).
fn identity_platform(path: &str) -> bool {
    path.contains("/oauth2/") || path.contains("/.well-known/") || path.contains("/discovery/")
}

/// The `tid` claim of a JWT (unverified: only for the log).
fn token_tenant(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("tid").and_then(Value::as_str).map(str::to_owned)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/_sandbox/requests", get(list).delete(clear))
}

async fn list(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let params = Params::parse(uri.query());
    let since: u64 = params.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let method = params.get("method").map(str::to_ascii_uppercase);
    let log = state.requests.lock();
    let entries: Vec<&Logged> =
        log.entries.iter().filter(|e| e.seq > since && method.as_deref().is_none_or(|m| e.method == m)).collect();
    json_response(StatusCode::OK, json!({ "total": log.total, "requests": entries }))
}

async fn clear(State(state): State<AppState>) -> Response {
    let mut log = state.requests.lock();
    log.entries.clear();
    json_response(StatusCode::OK, json!({ "total": log.total }))
}
