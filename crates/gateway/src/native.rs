//! Native surface under `/v1`: JSON in, JSON out, errors as `{"error": {...}}`.
//!
//! Handlers translate only: `Caller` authenticates before they run, `ApiError` renders every
//! refusal, and the engine applies the tenant-scope rules (`Engine::operation_for`,
//! `Engine::audit`, `Engine::list_operations`, `Engine::visible_tenants`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{JsonObject, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use catalog::Product;
use engine::ActionRequest;
use serde_json::{Value, json};
use store::{AuditFilter, TenantId};

/// `POST /v1/tenants/{tenantId}/actions/{product}/{action}`
pub async fn run_action(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((tenant, product, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    query: Query,
    JsonObject(params): JsonObject,
) -> Result<Response, ApiError> {
    let product = crate::product::parse_product(&product)?;
    crate::unknown_params::check_native(product, &action, &params)?;
    let idempotency_key = crate::input::idempotency_key(&headers)?;
    let wait = crate::input::wait_preference(&headers, None)?;
    let reveal = crate::input::reveal_requested(&headers);
    let req =
        ActionRequest { tenant, product: Some(product), action, params, principal, idempotency_key, wait, reveal };
    if crate::dryrun::requested(&query)? {
        return Ok(crate::dryrun::native(state.engine.dry_run(req).await?));
    }
    let outcome = state.engine.execute(req).await?;
    // Terminal: 200. Still queued, running or tracked upstream after the wait: 202 and where to
    // follow it.
    let code = if outcome.is_terminal() { StatusCode::OK } else { StatusCode::ACCEPTED };
    let location = format!("/v1/operations/{}", outcome.operation_id);
    Ok((code, [("location", location)], Json(json!(outcome))).into_response())
}

/// `GET /v1/operations?tenant=&product=&action=&state=&since=&limit=&before=`: newest first,
/// within the caller's tenant scope; `nextBefore` pages on.
pub async fn operations(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let filter = store::OperationFilter {
        tenant: query.get("tenant").map(TenantId::new),
        tenants: vec![],
        product: parse_product(query.get("product"))?,
        action: query.get("action").map(String::from),
        status: parse_state(query.get("state").or_else(|| query.get("status")))?,
        before: parse_before(query.get("before"))?,
        since: parse_since(query.get("since"))?,
        limit: parse_limit(query.get("limit"), 100)?,
    };
    let limit = filter.limit;
    let ops = state.engine.list_operations(&principal, filter).await?;
    let next = (ops.len() as i64 == limit).then(|| ops.last().map(|o| o.id)).flatten();
    Ok(Json(json!({ "count": ops.len(), "operations": ops, "nextBefore": next })))
}

fn parse_state(s: Option<&str>) -> Result<Option<engine::OpState>, ApiError> {
    s.map(|s| {
        engine::OpState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "state",
                format!("'{s}' is not an operation state"),
                "one of AwaitingApproval, Queued, Running, InProgress, Succeeded, PartiallySucceeded, Failed, Cancelled, Unknown, Rejected, Expired",
            )
        })
    })
    .transpose()
}

fn parse_product(p: Option<&str>) -> Result<Option<String>, ApiError> {
    p.map(|p| {
        Product::parse(p)
            .map(|p| p.key().to_string())
            .ok_or_else(|| ApiError::bad_request("product", format!("unknown product '{p}'"), "e.g. product=MDE"))
    })
    .transpose()
}

fn parse_before(b: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    b.map(|b| {
        uuid::Uuid::parse_str(b).map_err(|_| {
            ApiError::bad_request(
                "before",
                format!("'{b}' is not an operation id"),
                "pass the nextBefore of the previous page",
            )
        })
    })
    .transpose()
}

fn parse_since(since: Option<&str>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    since
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|_| {
                ApiError::bad_request(
                    "since",
                    format!("'{s}' is not an RFC 3339 time"),
                    "e.g. since=2026-11-23T00:00:00Z",
                )
            })
        })
        .transpose()
}

fn parse_limit(limit: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match limit {
        Some(l) => l.parse::<i64>().ok().filter(|l| (1..=10_000).contains(l)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 10000"), "e.g. limit=100")
        }),
        None => Ok(default),
    }
}

/// `GET /v1/operations/{id}`
pub async fn operation(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| {
        ApiError::bad_request("id", format!("'{id}' is not an operation id"), "operation ids are UUIDs")
    })?;
    let op = state.engine.operation_for(&principal, id).await?;
    Ok(Json(json!(op)))
}

/// `GET /v1/catalog`: every action, supported or not, with its reason.
pub async fn catalog_list(_: Caller) -> Json<Value> {
    Json(Value::Array(catalog::all().map(|a| a.summary_json()).collect()))
}

/// `GET /v1/tenants`: the configured tenant ids the key may use (never credentials).
pub async fn tenants(State(state): State<AppState>, Caller(principal): Caller) -> Json<Value> {
    Json(json!({ "tenants": state.engine.visible_tenants(&principal) }))
}

/// `GET /v1/audit?tenant=&action=&since=&limit=`; the engine holds scoped keys to their tenants.
pub async fn audit(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let filter = AuditFilter {
        tenant: query.get("tenant").map(TenantId::new),
        action: query.get("action").map(String::from),
        operation_id: None,
        since: parse_since(query.get("since"))?,
        limit: parse_limit(query.get("limit"), 1000)?,
    };
    let records = state.engine.audit(&principal, filter).await?;
    Ok(Json(json!({ "count": records.len(), "records": records })))
}
