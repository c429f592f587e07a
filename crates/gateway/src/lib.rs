//! The gateway: HTTP surfaces over one engine.
//!
//! Surfaces translate, the engine decides: every handler turns its request into an
//! `engine::ActionRequest` and renders the `Outcome` (or the error) in its own envelope.
//! Errors become HTTP statuses in exactly one place, [`error::ApiError`]'s `From<EngineError>`.

mod approvals;
pub mod auth;
mod console;
mod doctor;
mod downloads;
mod dryrun;
mod enrichment;
pub mod error;
mod hunt;
mod input;
mod jobs;
mod library;
mod mdr;
mod mdr_actions;
mod mdr_input;
mod mdr_openapi;
mod mdr_status;
mod native;
/// Entra ID access tokens as callers (`[auth.entra]`).
pub mod oidc;
pub mod openapi;
mod openapi_errors;
mod product;
mod refusals;
mod reverts;
mod seed;
mod service;
mod unknown_params;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use engine::{Engine, Outcome};
use error::ApiError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    surface: String,
    status: String,
}

/// Latency is labelled by the matched route template (`/v1/operations/{id}`), never the raw
/// path, so the number of series stays bounded whatever callers send.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The route label of requests no route matched (the 404 fallback).
const UNMATCHED_ROUTE: &str = "unmatched";

/// Gateway request metrics.
pub struct GatewayMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Default for GatewayMetrics {
    fn default() -> GatewayMetrics {
        GatewayMetrics { requests: Family::default(), latency: Family::new_with_constructor(latency_histogram) }
    }
}

/// 1 ms to ~16 s, doubling: a cached read answers in milliseconds, an action waits up to the
/// `Prefer: wait` the caller asked for.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl GatewayMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("riposte_http_requests", "HTTP requests by surface and status", self.requests.clone());
        registry.register_with_unit(
            "riposte_http_request_duration",
            "HTTP request latency by method and matched route template",
            prometheus_client::registry::Unit::Seconds,
            self.latency.clone(),
        );
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub registry: Arc<Registry>,
    pub metrics: Arc<GatewayMetrics>,
    /// Entra ID token validation, when `[auth.entra]` is configured (`oidc.rs`).
    pub entra: Option<Arc<oidc::EntraAuth>>,
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
        .route("/v1/tenants/{tenant}/doctor", get(doctor::tenant))
        .route("/v1/approvals", get(approvals::list))
        .route("/v1/approvals/policy", get(approvals::policy))
        .route("/v1/approvals/{id}", get(approvals::get))
        .route("/v1/approvals/{id}/approve", post(approvals::approve))
        .route("/v1/approvals/{id}/reject", post(approvals::reject))
        .route("/v1/jobs", get(jobs::list).post(jobs::create))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/jobs/{id}/items", get(jobs::items))
        .route("/v1/jobs/{id}/{verb}", post(jobs::verb))
        .route("/v1/reverts", get(reverts::list))
        .route("/v1/reverts/{id}", get(reverts::get))
        .route("/v1/reverts/{id}/cancel", post(reverts::cancel))
        .route("/v1/reverts/{id}/extend", post(reverts::extend))
        .route("/v1/hunt", post(hunt::hunt))
        .route("/v1/hunt/history", get(hunt::history))
        .route("/v1/queries", get(hunt::list).post(hunt::save))
        .route("/v1/queries/{name}", get(hunt::get).delete(hunt::delete))
        .route("/v1/queries/{name}/run", post(hunt::run_saved))
        .route("/v1/enrichment/lookups", get(enrichment::lookups))
        .route("/v1/enrichment/status", get(enrichment::status))
        .route("/v1/library", get(library::list).post(library::upload))
        .route("/v1/library/{name}", get(library::get_one).delete(library::delete))
        .route("/v1/downloads/{token}", get(downloads::download))
        .route("/api/v1/mdr/isolate", post(mdr::isolate))
        .route("/api/v1/mdr/block-ip", post(mdr::block_ip))
        .route("/api/v1/mdr/disable-user", post(mdr::disable_user))
        .route("/api/v1/mdr/quarantine-email", post(mdr::quarantine_email))
        .route("/api/v1/mdr/actions", get(mdr_actions::actions))
        .route("/api/v1/mdr/status", get(mdr_status::status))
        .route("/api/{route}", any(seed::handle))
        .route("/", get(console::page))
        .route("/console/{file}", get(console::asset))
        .route("/v1/me", get(console::me))
        .route("/v1/typeahead", get(console::typeahead))
        .route("/v1/audit/verify", get(console::audit_verify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(json_error_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), refusals::audit_refusals))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such route").hint("GET /v1/openapi.json lists the routes")
}

/// A known route called with a method it does not take. axum adds the `Allow` header.
async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "this route does not take that method")
        .hint("the Allow header lists the methods it takes; GET /v1/openapi.json lists the routes")
}

/// The safety net: an error answered by something other than our handlers (a tower layer's
/// 413, an extractor's plain-text rejection) gets the native JSON body too, keeping its status
/// and headers. Error responses that already carry JSON pass untouched.
async fn json_error_bodies(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&resp) {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    let replacement = error::for_status(status).into_response();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let (new_parts, body) = replacement.into_parts();
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, body)
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
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
    let route = RouteLabels {
        method: req.method().as_str().to_string(),
        route: req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_string(),
    };
    let started = Instant::now();
    let resp = next.run(req).await;
    state.metrics.latency.get_or_create(&route).observe(started.elapsed().as_secs_f64());
    state.metrics.requests.get_or_create(&RequestLabels { surface, status: resp.status().as_u16().to_string() }).inc();
    resp
}

/// The seed's envelope, with real HTTP statuses.
pub(crate) fn respond_seed(
    _state: &AppState,
    call: &seed::SeedCall,
    result: Result<Outcome, ApiError>,
    started: Instant,
) -> Response {
    let timestamp =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
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
            e.add_retry_after(&mut resp);
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, Bytes, to_bytes};
    use tower::ServiceExt;

    /// A tower layer's own refusal (here tower-http's body limit, plain text) reaches the caller
    /// as the native JSON envelope with its status.
    #[tokio::test]
    async fn layer_refusals_get_the_json_envelope() {
        let app = Router::new()
            .route("/upload", post(|body: Bytes| async move { body.len().to_string() }))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(8))
            .layer(middleware::from_fn(json_error_bodies));
        let req = Request::post("/upload").body(Body::from(vec![b'x'; 64])).expect("a request");
        let resp = app.oneshot(req).await.expect("an answer");
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(resp.into_body(), 4096).await.expect("a body")).expect("JSON");
        assert_eq!(body["error"]["code"], "PayloadTooLarge");
    }
}
