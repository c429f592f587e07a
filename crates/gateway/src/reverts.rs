//! `/v1/reverts`: the scheduled inverses of time-boxed actions (`revertAfter`). List, read,
//! cancel, extend. The engine holds the tenant scope and the rules (`engine::reverts`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{JsonObject, Path, Query};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use store::{RevertFilter, TenantId, revert_status};

/// `GET /v1/reverts?tenant=&status=&operation=&limit=`: newest first, within the caller's scope.
pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let status = query
        .get("status")
        .map(|s| {
            revert_status::ALL.iter().find(|k| k.eq_ignore_ascii_case(s)).map(|k| k.to_string()).ok_or_else(|| {
                ApiError::bad_request(
                    "status",
                    format!("'{s}' is not a revert status"),
                    format!("one of {}", revert_status::ALL.join(", ")),
                )
            })
        })
        .transpose()?;
    let operation_id = query.get("operation").map(|o| parse_id("operation", o)).transpose()?;
    let limit = match query.get("limit") {
        Some(l) => l.parse::<i64>().ok().filter(|l| (1..=10_000).contains(l)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 10000"), "e.g. limit=100")
        })?,
        None => 100,
    };
    let filter = RevertFilter {
        tenants: query.get("tenant").map(|t| vec![TenantId::new(t)]).unwrap_or_default(),
        status,
        operation_id,
        limit,
    };
    let reverts = state.engine.list_reverts(&principal, filter).await?;
    Ok(Json(json!({ "count": reverts.len(), "reverts": reverts })))
}

/// `GET /v1/reverts/{id}`
pub async fn get(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    Ok(Json(json!(state.engine.revert_for(&principal, id).await?)))
}

/// `POST /v1/reverts/{id}/cancel`: the original action stays in effect.
pub async fn cancel(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    Ok(Json(json!(state.engine.cancel_revert(&principal, id).await?)))
}

/// `POST /v1/reverts/{id}/extend` `{"by": "PT2H" | seconds}` or `{"until": RFC 3339}`.
pub async fn extend(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("id", &id)?;
    let ext = match (body.get("by"), body.get("until")) {
        (Some(by), None) => engine::Extension::By(engine::parse_revert_after(by).map_err(|e| match e {
            engine::EngineError::InvalidParam(mut p) => {
                p.field = "by".into();
                ApiError::from(engine::EngineError::InvalidParam(p))
            }
            other => ApiError::from(other),
        })?),
        (None, Some(Value::String(t))) => engine::Extension::Until(
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(|_| {
                ApiError::bad_request("until", format!("'{t}' is not an RFC 3339 time"), "e.g. 2026-12-08T09:00:00Z")
            })?,
        ),
        (None, Some(other)) => {
            return Err(ApiError::bad_request(
                "until",
                format!("{other} is not an RFC 3339 time"),
                "a string such as 2026-12-08T09:00:00Z",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "by",
                "give exactly one of 'by' (a duration to add) or 'until' (the new due time)",
                "e.g. {\"by\": \"PT2H\"} or {\"until\": \"2026-12-08T09:00:00Z\"}",
            ));
        }
    };
    Ok(Json(json!(state.engine.extend_revert(&principal, id, ext).await?)))
}

fn parse_id(field: &str, s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s).map_err(|_| ApiError::bad_request(field, format!("'{s}' is not an id"), "ids are UUIDs"))
}
