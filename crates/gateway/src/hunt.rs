//! Hunting on the native surface: cross-tenant hunts, saved queries and the run history.
//!
//! - `POST /v1/hunt` `{query | saved (+version), tenants: [..] | "all", timespan?}` → the merged
//!   table (leading `TenantId`), the schema, per-tenant status, `partial`;
//! - `GET /v1/hunt/history?query=&tenant=&limit=` → runs, newest first;
//! - `GET|POST /v1/queries`, `GET|DELETE /v1/queries/{name}`, `POST /v1/queries/{name}/run`.
//!
//! Handlers only translate; the engine decides (scope, roles, validation, audit).

use crate::error::ApiError;
use crate::input::{json_object, query_pairs};
use crate::{json_error, AppState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::HistoryFilter;
use serde_json::{json, Value};

/// `POST /v1/hunt`
pub async fn hunt(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        let body = json_object(body).await?;
        state.engine.hunt(&principal, &body).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(outcome) => Json(json!(outcome)).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `POST /v1/queries/{name}/run`: the body is a hunt's, with the saved query named by the path.
pub async fn run_saved(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        let mut body = json_object(body).await?;
        if body.keys().any(|k| k.eq_ignore_ascii_case("query")) {
            return Err(ApiError::bad_request("query", "the path names the saved query; the body takes no query", "send only tenants, timespan and version"));
        }
        body.retain(|k, _| !k.eq_ignore_ascii_case("saved"));
        body.insert("saved".into(), Value::String(name));
        state.engine.hunt(&principal, &body).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(outcome) => Json(json!(outcome)).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/hunt/history?query=NAME&tenant=ID&limit=N`
pub async fn history(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = query_pairs(&uri);
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query).await?;
        let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty());
        let limit = match get("limit") {
            Some(l) => l.parse::<i64>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| {
                ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 1000"), "e.g. limit=50")
            })?,
            None => 100,
        };
        let filter = HistoryFilter { query_name: get("query"), tenant: get("tenant"), limit };
        state.engine.query_history(&principal, filter).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(runs) => Json(json!({ "count": runs.len(), "runs": runs })).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/queries`: built-ins and stored queries, latest version of each.
pub async fn list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        state.engine.saved_queries().await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(all) => {
            let rows: Vec<Value> = all.iter().map(|q| q.summary()).collect();
            Json(json!({ "count": rows.len(), "queries": rows })).into_response()
        }
        Err(e) => json_error(&state, "native", e),
    }
}

/// `POST /v1/queries` `{name, query, description?}`: 201 with the query and all its versions.
pub async fn save(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        let body = json_object(body).await?;
        let text = |names: &[&str]| {
            body.iter()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string)
        };
        let name = text(&["name", "queryName"]).unwrap_or_default();
        let query = text(&["query", "kql"]).unwrap_or_default();
        state.engine.save_query(&principal, &name, &query, text(&["description"])).await.map_err(|e| match e {
            // This body calls it `name` (the seed action's `queryName`).
            engine::EngineError::InvalidParam(mut p) if p.field == "queryName" => {
                p.field = "name".into();
                ApiError::from(engine::EngineError::InvalidParam(p))
            }
            other => ApiError::from(other),
        })
    }
    .await;
    match result {
        Ok(saved) => {
            let location = format!("/v1/queries/{}", saved.query.name);
            (StatusCode::CREATED, [("location", location)], Json(json!(saved))).into_response()
        }
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/queries/{name}`: every version.
pub async fn get(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        state.engine.saved_query(&name).await?.ok_or_else(|| not_found(&name))
    }
    .await;
    match result {
        Ok(q) => Json(json!(q)).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `DELETE /v1/queries/{name}`: 204; versions and history are kept for audit.
pub async fn delete(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        let principal = crate::auth::authenticate(&state, &headers, &query_pairs(&uri)).await?;
        match state.engine.delete_saved_query(&principal, &name).await? {
            true => Ok(()),
            false => Err(not_found(&name)),
        }
    }
    .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("no saved query named '{name}'"))
        .field("name")
        .hint("GET /v1/queries lists the saved queries")
}
