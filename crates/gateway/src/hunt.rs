//! Hunting on the native surface: cross-tenant hunts, saved queries and the run history.
//!
//! - `POST /v1/hunt` `{query | saved (+version), tenants: [..] | "all", timespan?}` → the merged
//!   table (leading `TenantId`), the schema, per-tenant status, `partial`;
//! - `GET /v1/hunt/history?query=&tenant=&limit=` → runs, newest first;
//! - `GET|POST /v1/queries`, `GET|DELETE /v1/queries/{name}`, `POST /v1/queries/{name}/run`.
//!
//! Handlers only translate; the engine decides (scope, roles, validation, audit).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{JsonObject, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::{HistoryFilter, HuntOutcome};
use serde_json::{Value, json};

/// `POST /v1/hunt`
pub async fn hunt(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<HuntOutcome>, ApiError> {
    Ok(Json(state.engine.hunt(&principal, &body).await?))
}

/// `POST /v1/queries/{name}/run`: the body is a hunt's, with the saved query named by the path.
pub async fn run_saved(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(name): Path<String>,
    JsonObject(mut body): JsonObject,
) -> Result<Json<HuntOutcome>, ApiError> {
    if body.keys().any(|k| k.eq_ignore_ascii_case("query")) {
        return Err(ApiError::bad_request(
            "query",
            "the path names the saved query; the body takes no query",
            "send only tenants, timespan and version",
        ));
    }
    body.retain(|k, _| !k.eq_ignore_ascii_case("saved"));
    body.insert("saved".into(), Value::String(name));
    Ok(Json(state.engine.hunt(&principal, &body).await?))
}

/// `GET /v1/hunt/history?query=NAME&tenant=ID&limit=N`
pub async fn history(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let limit = match query.get("limit") {
        Some(l) => l.parse::<i64>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 1000"), "e.g. limit=50")
        })?,
        None => 100,
    };
    let filter = HistoryFilter {
        query_name: query.get("query").map(String::from),
        tenant: query.get("tenant").map(String::from),
        limit,
    };
    let runs = state.engine.query_history(&principal, filter).await?;
    Ok(Json(json!({ "count": runs.len(), "runs": runs })))
}

/// `GET /v1/queries`: built-ins and stored queries, latest version of each.
pub async fn list(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    let rows: Vec<Value> = state.engine.saved_queries().await?.iter().map(|q| q.summary()).collect();
    Ok(Json(json!({ "count": rows.len(), "queries": rows })))
}

/// `POST /v1/queries` `{name, query, description?}`: 201 with the query and all its versions.
pub async fn save(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let text = |names: &[&str]| {
        body.iter()
            .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    };
    let name = text(&["name", "queryName"]).unwrap_or_default();
    let query = text(&["query", "kql"]).unwrap_or_default();
    let saved =
        state.engine.save_query(&principal, &name, &query, text(&["description"])).await.map_err(|e| match e {
            // This body calls it `name` (the seed action's `queryName`).
            engine::EngineError::InvalidParam(mut p) if p.field == "queryName" => {
                p.field = "name".into();
                ApiError::from(engine::EngineError::InvalidParam(p))
            }
            other => ApiError::from(other),
        })?;
    let location = format!("/v1/queries/{}", saved.query.name);
    Ok((StatusCode::CREATED, [("location", location)], Json(json!(saved))).into_response())
}

/// `GET /v1/queries/{name}`: every version.
pub async fn get(State(state): State<AppState>, _: Caller, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let q = state.engine.saved_query(&name).await?.ok_or_else(|| not_found(&name))?;
    Ok(Json(json!(q)))
}

/// `DELETE /v1/queries/{name}`: 204; versions and history are kept for audit.
pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.engine.delete_saved_query(&principal, &name).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(not_found(&name)),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("no saved query named '{name}'"))
        .field("name")
        .hint("GET /v1/queries lists the saved queries")
}
