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
use serde_json::{Map, Value, json};

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

/// Dead letters shown with the status (newest first).
const RECENT_DEAD_LETTERS: i64 = 20;

/// `GET /v1/enrichment/status` — consumer lag, lookups per provider, cache hit rate, quota left,
/// write-backs and dead letters. `counts` and `recentDeadLetters` come from the store (so they
/// answer whether or not this process runs the scanner); `status` is the running scanner's.
pub(crate) async fn status(
    State(state): State<AppState>,
    _caller: Caller,
    scanner: Option<Extension<Arc<enrich::Scanner>>>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    let counts = store.enrichment_counts().await?;
    let dead = store.dead_letters(RECENT_DEAD_LETTERS).await?;
    let mut out = json!({"running": scanner.is_some(), "counts": counts, "recentDeadLetters": dead});
    if let Some(Extension(s)) = scanner {
        let st = s
            .status()
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "EnrichmentStatusFailed", e.to_string()))?;
        out["status"] = serde_json::to_value(st).unwrap_or(Value::Null);
    }
    Ok(Json(out))
}

/// The OpenAPI paths of `/v1/enrichment/*` (wired from `openapi.rs`), with the response shapes
/// a console page reads.
pub(crate) fn openapi_paths(paths: &mut Map<String, Value>) {
    let error = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let time = json!({ "type": "string", "format": "date-time" });
    let stored = json!({ "type": ["object", "null"], "description": "the verdict trusted until expiresAt", "properties": {
        "hash": { "type": "string" }, "kind": { "type": "string", "enum": ["md5", "sha1", "sha256"] },
        "status": { "type": "string", "enum": ["malicious", "suspicious", "known-good", "unknown"] },
        "source": { "type": "string", "description": "the provider that answered (ReversingLabs, VirusTotal, MalwareBazaar, MISP) or none" },
        "verdict": { "type": "object", "properties": {
            "status": { "type": "string" }, "threatName": { "type": ["string", "null"] },
            "detections": { "type": ["object", "null"], "description": "AV engines that detected it of those that scanned it", "properties": { "detected": { "type": "integer" }, "scanned": { "type": "integer" } } },
            "firstSeen": { "type": ["string", "null"] }, "source": { "type": "string" },
            "skipped": { "type": "array", "items": { "type": "string" }, "description": "providers unavailable at the time (quota, back-off, credentials)" } } },
        "lookedUpAt": time, "expiresAt": time } });
    paths.insert("/v1/enrichment/lookups".into(), json!({ "get": {
        "operationId": "enrichmentLookups", "summary": "The lookup history of a file hash: its current verdict and every lookup made", "tags": ["Enrichment"],
        "parameters": [{ "name": "hash", "in": "query", "required": true, "schema": { "type": "string", "pattern": "^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$" },
                         "description": "MD5, SHA1 or SHA256" }],
        "responses": {
            "200": { "description": "The hash, its stored verdict (null when never looked up) and the lookups, oldest first",
                     "content": { "application/json": { "schema": { "type": "object", "properties": {
                         "hash": { "type": "string" }, "kind": { "type": "string" }, "current": stored,
                         "lookups": { "type": "array", "items": { "type": "object", "properties": {
                             "status": { "type": "string" }, "source": { "type": "string" }, "lookedUpAt": time } } } } } } } },
            "400": error("Not an MD5, SHA1 or SHA256 (field hash)"), "401": error("Missing or wrong key") } } }));
    let provider = json!({ "type": "object", "properties": {
        "name": { "type": "string" },
        "limits": { "type": "object", "properties": { "perMinute": { "type": "integer" }, "dailyQuota": { "type": ["integer", "null"] } } },
        "quotaLeft": { "type": ["integer", "null"], "description": "lookups left today; 0 while the provider says its quota is spent; null when unlimited" },
        "condition": { "type": "string", "description": "available, daily quota exhausted, or backing off: <why>" },
        "blockedUntil": { "type": ["string", "null"], "format": "date-time" },
        "calls": { "type": "integer" }, "hashes": { "type": "integer", "description": "lookups answered" },
        "throttled": { "type": "integer", "description": "429s and spent quotas" }, "errors": { "type": "integer" } } });
    let int = json!({ "type": "integer" });
    let counts = json!({ "type": "object", "properties": {
        "hashesKnown": int, "lookupsMade": int, "alerts": int, "alertsPending": int, "writebacks": int, "deadLetters": int } });
    paths.insert("/v1/enrichment/status".into(), json!({ "get": {
        "operationId": "enrichmentStatus", "summary": "The enrichment scanner: consumer lag, providers (lookups, quota left, condition), cache hit rate, write-backs, dead letters", "tags": ["Enrichment"],
        "responses": {
            "200": { "description": "counts and recentDeadLetters always; status when this process runs the scanner",
                     "content": { "application/json": { "schema": { "type": "object", "required": ["running", "counts", "recentDeadLetters"], "properties": {
                         "running": { "type": "boolean" },
                         "counts": counts,
                         "recentDeadLetters": { "type": "array", "items": { "type": "object", "properties": {
                             "id": int, "source": { "type": "string" }, "partition": int, "offset": int,
                             "reason": { "type": "string" }, "payload": { "type": "string" }, "receivedAt": time } } },
                         "status": { "type": "object", "properties": {
                             "source": { "type": "string", "description": "topic / event hub" },
                             "partitions": { "type": "array", "items": { "type": "object", "properties": {
                                 "partition": int, "nextOffset": int, "highWatermark": int, "lag": int } } },
                             "providers": { "type": "array", "items": provider },
                             "cache": { "type": "object", "properties": { "hits": int, "misses": int, "coalesced": int,
                                 "hitRate": { "type": ["number", "null"] } } },
                             "counts": counts,
                             "writebacks": { "type": "object", "description": "alerts by outcome: posted, adopted, unchanged, quiet, failed",
                                 "additionalProperties": { "type": "integer" } },
                             "rechecksPending": { "type": "integer", "description": "alerts written while a provider was unavailable, to check again" } } } } } } } },
            "401": error("Missing or wrong key") } } }));
}
