//! Native surface under `/v1`: JSON in, JSON out, errors as `{"error": {...}}`.

use crate::error::ApiError;
use crate::input::{json_object, query_pairs};
use crate::{json_error, AppState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use catalog::Product;
use engine::ActionRequest;
use serde_json::{json, Value};
use store::AuditFilter;

/// `POST /v1/tenants/{tenantId}/actions/{product}/{action}`
pub async fn run_action(
    State(state): State<AppState>,
    Path((tenant, product, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        let product = crate::product::parse_product(&product)?;
        let params = json_object(body).await?;
        let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from);
        let wait = crate::input::wait_preference(&headers, None)?;
        let req = ActionRequest { tenant, product: Some(product), action, params, principal, idempotency_key, wait };
        state.engine.execute(req).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(outcome) => {
            // Terminal: 200. Still queued, running or tracked upstream after the wait: 202 and
            // where to follow it (RFC 7240's Preference-Applied says the wait was honoured).
            let code = if outcome.is_terminal() { StatusCode::OK } else { StatusCode::ACCEPTED };
            let location = format!("/v1/operations/{}", outcome.operation_id);
            (code, [("location", location)], Json(json!(outcome))).into_response()
        }
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/operations?tenant=&product=&action=&state=&since=&limit=&before=`: newest first,
/// within the caller's tenant scope; `nextBefore` pages on.
pub async fn operations(State(state): State<AppState>, crate::auth::Caller(principal): crate::auth::Caller, uri: Uri) -> Response {
    let query = query_pairs(&uri);
    let result = async {
        let get = |k: &str| query.iter().find(|(q, _)| q.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        let state_filter = match get("state").or_else(|| get("status")) {
            Some(s) => Some(
                engine::OpState::parse(&s)
                    .ok_or_else(|| {
                        ApiError::bad_request("state", format!("'{s}' is not an operation state"), "one of Queued, Running, InProgress, Succeeded, PartiallySucceeded, Failed, Cancelled, Unknown")
                    })?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let product = match get("product") {
            Some(p) => Some(Product::parse(&p).ok_or_else(|| ApiError::bad_request("product", format!("unknown product '{p}'"), "e.g. product=MDE"))?.key().to_string()),
            None => None,
        };
        let before = match get("before") {
            Some(b) => Some(uuid::Uuid::parse_str(&b).map_err(|_| ApiError::bad_request("before", format!("'{b}' is not an operation id"), "pass the nextBefore of the previous page"))?),
            None => None,
        };
        let filter = store::OperationFilter {
            tenant: get("tenant"),
            tenants: vec![],
            product,
            action: get("action"),
            status: state_filter,
            before,
            since: parse_since(get("since"))?,
            limit: parse_limit(get("limit"), 100)?,
        };
        let limit = filter.limit;
        let ops = state.engine.list_operations(&principal, filter).await?;
        let next = (ops.len() as i64 == limit).then(|| ops.last().map(|o| o.id)).flatten();
        Ok::<_, ApiError>(json!({ "count": ops.len(), "operations": ops, "nextBefore": next }))
    }
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

fn parse_since(since: Option<String>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    since
        .map(|s| {
            time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::bad_request("since", format!("'{s}' is not an RFC 3339 time"), "e.g. since=2026-11-23T00:00:00Z"))
        })
        .transpose()
}

fn parse_limit(limit: Option<String>, default: i64) -> Result<i64, ApiError> {
    match limit {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=10_000).contains(l))
            .ok_or_else(|| ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 10000"), "e.g. limit=100")),
        None => Ok(default),
    }
}

/// `GET /v1/operations/{id}`
pub async fn operation(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        let id = uuid::Uuid::parse_str(&id)
            .map_err(|_| ApiError::bad_request("id", format!("'{id}' is not an operation id"), "operation ids are UUIDs"))?;
        let op = state.engine.operation(id).await?;
        if !principal.may_access(&op.tenant) {
            return Err(ApiError::from(engine::EngineError::OperationNotFound(id.to_string())));
        }
        Ok(op)
    }
    .await;
    match result {
        Ok(op) => Json(json!(op)).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/catalog`: every action, supported or not, with its reason.
pub async fn catalog_list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    match crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await {
        Ok(_) => Json(Value::Array(catalog::all().map(|a| a.summary_json()).collect())).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/tenants`: the configured tenant ids the key may use (never credentials).
pub async fn tenants(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    match crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await {
        Ok(p) => {
            let ids: Vec<&str> = state.engine.tenants().ids().filter(|t| p.may_access(t)).collect();
            Json(json!({ "tenants": ids })).into_response()
        }
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/audit?tenant=&action=&since=&limit=`; scoped keys see only their tenants.
pub async fn audit(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(&uri);
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query).await?;
        let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
        let since = parse_since(get("since"))?;
        let limit = parse_limit(get("limit"), 1000)?;
        let tenant = get("tenant");
        if !principal.tenants.is_empty() {
            match &tenant {
                Some(t) if principal.may_access(t) => {}
                _ => {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", "a tenant-scoped key must name one of its tenants")
                        .field("tenant"))
                }
            }
        }
        let filter = AuditFilter { tenant, action: get("action"), operation_id: None, since, limit };
        state.engine.store().query_audit(filter).await.map_err(ApiError::internal)
    }
    .await;
    match result {
        Ok(records) => Json(json!({ "count": records.len(), "records": records })).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}
