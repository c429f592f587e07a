//! Service endpoints: liveness, readiness (store + each cloud's token endpoint) and metrics.
//!
//! Without a key, `/readyz` says only up or down: its detail names every tenant, the app's
//! client and upstream error text, which is reconnaissance for whoever can reach the port
//! (issue 15). The detail and `/metrics` need a key (any role; Prometheus sends it as
//! `Authorization: Bearer`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Ready when the store answers and every tenant can authenticate to every API family configured
/// for it (its cloud's hosts and per-tenant hosts, as far as its credential serves them).
pub async fn readyz(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Response {
    let store_ok = state.engine.store().get_setting("readyz-probe").await.is_ok();
    let mut checks = vec![json!({ "name": "store", "ok": store_ok })];
    let mut ok = store_ok;
    let upstream = state.engine.upstream();
    for creds in state.engine.tenants().all() {
        for api in upstream.configured_apis(creds) {
            let res = upstream.check_token(creds, api).await;
            ok &= res.is_ok();
            checks.push(json!({
                "name": format!("token:{}:{:?}", creds.tenant_id, api),
                "ok": res.is_ok(),
                "error": res.err().map(|e| e.to_string()),
            }));
        }
    }
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if ok { "ready" } else { "not ready" };
    match caller {
        Ok(_) => (code, Json(json!({ "status": status, "checks": checks }))).into_response(),
        Err(_) => (code, Json(json!({ "status": status }))).into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>, _caller: Caller) -> Response {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &state.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics encoding failed: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], out).into_response()
}
