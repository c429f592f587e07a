//! The gateway: HTTP surfaces over one engine.
//!
//! Surfaces translate, the engine decides: every handler turns its request into an
//! `engine::ActionRequest` and renders the `Outcome` (or the error) in its own envelope.
//! Errors become HTTP statuses in exactly one place, [`error::ApiError`]'s `From<EngineError>`.

pub mod auth;
mod console;
mod downloads;
pub mod error;
mod hunt;
mod input;
mod library;
mod native;
mod product;
pub mod openapi;
mod seed;
mod service;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use engine::{Engine, Outcome};
use error::ApiError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    surface: String,
    status: String,
}

/// Gateway request metrics.
#[derive(Default)]
pub struct GatewayMetrics {
    requests: Family<RequestLabels, Counter>,
}

impl GatewayMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("riposte_http_requests", "HTTP requests by surface and status", self.requests.clone());
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub registry: Arc<Registry>,
    pub metrics: Arc<GatewayMetrics>,
}

/// Every route of the gateway.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
        .route("/v1/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/v1/catalog", get(native::catalog_list))
        .route("/v1/tenants", get(native::tenants))
        .route("/v1/audit", get(native::audit))
        .route("/v1/operations", get(native::operations))
        .route("/v1/operations/{id}", get(native::operation))
        .route("/v1/tenants/{tenant}/actions/{product}/{action}", post(native::run_action))
        .route("/v1/hunt", post(hunt::hunt))
        .route("/v1/hunt/history", get(hunt::history))
        .route("/v1/queries", get(hunt::list).post(hunt::save))
        .route("/v1/queries/{name}", get(hunt::get).delete(hunt::delete))
        .route("/v1/queries/{name}/run", post(hunt::run_saved))
        .route("/v1/library", get(library::list).post(library::upload))
        .route("/v1/library/{name}", get(library::get_one).delete(library::delete))
        .route("/v1/downloads/{token}", get(downloads::download))
        .route("/api/{route}", any(seed::handle))
        .route("/", get(console::page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

async fn not_found() -> Response {
    let err = ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such route").hint("GET /v1/openapi.json lists the routes");
    (err.status, Json(json!({ "error": err.body() }))).into_response()
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let surface = if path.starts_with("/api/") {
        "seed"
    } else if path.starts_with("/v1/") {
        "native"
    } else {
        "service"
    };
    let surface = surface.to_string();
    let resp = next.run(req).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels { surface, status: resp.status().as_u16().to_string() })
        .inc();
    resp
}

/// The native error envelope `{"error": {...}}`.
pub(crate) fn json_error(_state: &AppState, _surface: &str, e: ApiError) -> Response {
    let mut resp = (e.status, Json(json!({ "error": e.body() }))).into_response();
    add_retry_after(&mut resp, &e);
    resp
}

fn add_retry_after(resp: &mut Response, e: &ApiError) {
    if let Some(d) = e.retry_after {
        if let Ok(v) = HeaderValue::from_str(&d.as_secs().max(1).to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
    }
}

/// The seed's envelope, with real HTTP statuses.
pub(crate) fn respond_seed(
    _state: &AppState,
    call: &seed::SeedCall,
    result: Result<Outcome, ApiError>,
    started: Instant,
) -> Response {
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(o) => {
            let body = json!({
                "success": true,
                "action": o.action,
                "service": o.product.key(),
                "tenantId": o.tenant,
                "correlationId": call.correlation_id,
                "timestamp": timestamp,
                "durationMs": duration_ms,
                "operationId": o.operation_id,
                "status": o.status,
                "replayed": o.replayed,
                "data": o.data,
            });
            if o.is_terminal() {
                return (StatusCode::OK, Json(body)).into_response();
            }
            // Accepted and still under way after the wait: 202, and where to follow it.
            let link = format!("/v1/operations/{}", o.operation_id);
            let mut body = body;
            body["operationUrl"] = link.clone().into();
            (StatusCode::ACCEPTED, [("location", link)], Json(body)).into_response()
        }
        Err(e) => {
            let body = json!({
                "success": false,
                "action": call.action,
                "service": call.service,
                "tenantId": call.tenant,
                "correlationId": call.correlation_id,
                "timestamp": timestamp,
                "durationMs": duration_ms,
                "error": e.body(),
            });
            let mut resp = (e.status, Json(body)).into_response();
            add_retry_after(&mut resp, &e);
            resp
        }
    }
}
