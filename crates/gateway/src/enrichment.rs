//! `/v1/enrichment`: the enrichment scanner's lookup history and status (seed 003).
//!
//! The history is read from the store, so it answers whether or not this process runs the
//! scanner; the live status (lag, providers, cache hit rate) comes from the running scanner,
//! which `riposte up` / `serve` hand to the router as an `Extension`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct LookupQuery {
    hash: Option<String>,
}

/// `GET /v1/enrichment/lookups?hash=` — the stored verdict of a hash and every lookup made of it.
pub(crate) async fn lookups(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Value>, ApiError> {
    let raw = q.hash.unwrap_or_default();
    let hash = enrich::FileHash::guess(&raw).ok_or_else(|| {
        ApiError::bad_request(
            "hash",
            format!("`{raw}` is not an MD5, SHA1 or SHA256"),
            "send 32, 40 or 64 hex digits, e.g. ?hash=d481dfae3461afc11d7441b5b83c8411e079ace8",
        )
    })?;
    let store = state.engine.store();
    let current = store.lookups(std::slice::from_ref(&hash.value)).await?.into_iter().next();
    let history = store.lookup_log(&hash.value).await?;
    Ok(Json(json!({"hash": hash.value, "kind": hash.kind, "current": current, "lookups": history})))
}

/// `GET /v1/enrichment/status` — consumer lag, lookups per provider, cache hit rate, quota left,
/// write-backs and dead letters.
pub(crate) async fn status(
    State(state): State<AppState>,
    _caller: Caller,
    scanner: Option<Extension<Arc<enrich::Scanner>>>,
) -> Result<Json<Value>, ApiError> {
    match scanner {
        Some(Extension(s)) => {
            let st = s.status().await.map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "EnrichmentStatusFailed", e.to_string())
            })?;
            Ok(Json(json!({"running": true, "status": st})))
        }
        None => {
            let counts = state.engine.store().enrichment_counts().await?;
            Ok(Json(json!({"running": false, "counts": counts})))
        }
    }
}
