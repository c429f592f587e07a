//! `/v1/jobs`: bulk jobs. Create, list, read (counts per state and tenant, throughput, ETA),
//! items, and pause / resume / cancel / retry-failed / undo. The engine decides (`engine::jobs`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{JsonObject, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use store::item_state;

/// `POST /v1/jobs` `{name?, product, action, params?, targets: [{tenant, ...}] | {tenants, filter}, revertAfter?, priority?}`
pub async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let product = match body.get("product").or_else(|| body.get("service")) {
        Some(Value::String(p)) => crate::product::parse_product(p)?,
        _ => return Err(ApiError::bad_request("product", "product is required", "e.g. \"product\": \"MDE\"")),
    };
    let mut body = body;
    body.remove("product");
    body.remove("service");
    let dry_run = crate::dryrun::take_from_body(&mut body)?;
    let break_glass = engine::take_break_glass(&mut body)?;
    let spec = engine::JobSpec::from_body(product, body)?;
    if dry_run {
        // Nothing is created: the targets expanded and the first items rendered (`engine::dryrun`).
        return Ok((StatusCode::OK, Json(json!(state.engine.dry_run_job(&principal, spec).await?))).into_response());
    }
    let view = state.engine.create_job_with(&principal, spec, break_glass).await?;
    if view.job.state == store::job_state::AWAITING_APPROVAL {
        return crate::approvals::held_job(&state, &principal, view).await; // 202 and its approval
    }
    let location = format!("/v1/jobs/{}", view.job.id);
    Ok((StatusCode::CREATED, [("location", location)], Json(json!(view))).into_response())
}

/// `GET /v1/jobs?limit=`: newest first, each with its counts.
pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let limit = limit(query.get("limit"), 50)?;
    let jobs = state.engine.list_jobs(&principal, limit).await?;
    let mut views = Vec::with_capacity(jobs.len());
    for job in jobs {
        views.push(state.engine.job_view(&principal, job.id).await?);
    }
    Ok(Json(json!({ "count": views.len(), "jobs": views })))
}

/// `GET /v1/jobs/{id}`
pub async fn get(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(json!(state.engine.job_view(&principal, id).await?)))
}

/// `GET /v1/jobs/{id}/items?state=&after=&limit=`: by `seq`; `nextAfter` pages on.
pub async fn items(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let wanted = query
        .get("state")
        .map(|s| {
            item_state::ALL.iter().find(|k| k.eq_ignore_ascii_case(s)).copied().ok_or_else(|| {
                ApiError::bad_request(
                    "state",
                    format!("'{s}' is not an item state"),
                    format!("one of {}", item_state::ALL.join(", ")),
                )
            })
        })
        .transpose()?;
    let after = match query.get("after") {
        Some(a) => a.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "after",
                format!("'{a}' is not an item number"),
                "pass the nextAfter of the previous page",
            )
        })?,
        None => 0,
    };
    let limit = limit(query.get("limit"), 1000)?;
    let items = state.engine.job_items(&principal, id, wanted, after, limit).await?;
    let next = (items.len() as i64 == limit).then(|| items.last().map(|i| i.seq)).flatten();
    Ok(Json(json!({ "count": items.len(), "items": items, "nextAfter": next })))
}

/// `POST /v1/jobs/{id}/{pause|resume|cancel|retry-failed|undo}`
pub async fn verb(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, verb)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let view = match verb.as_str() {
        "pause" | "resume" | "cancel" => state.engine.change_job(&principal, id, &verb).await?,
        "retry-failed" => state.engine.retry_failed_items(&principal, id).await?,
        "undo" => {
            let undo = state.engine.undo_job(&principal, id).await?;
            let location = format!("/v1/jobs/{}", undo.job.id);
            return Ok((StatusCode::CREATED, [("location", location)], Json(json!(undo))).into_response());
        }
        other => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("no job action '{other}'"))
                .hint("one of pause, resume, cancel, retry-failed, undo"));
        }
    };
    Ok(Json(json!(view)).into_response())
}

/// A seed bulk form accepted as a job (`engine::Engine::seed_bulk_form`), answered the way an
/// Azure Functions durable orchestration is started: 202 with `Location` and the status URLs
/// (`id`, `statusQueryGetUri`, `terminatePostUri`), inside the seed's envelope (`success`,
/// `action`, `service`, `tenantId`, `correlationId`, `timestamp`, `durationMs`, `data`), so
/// the seed's clients read it as before. `data` is the job with its counts.
pub fn seed_accepted(call: &crate::seed::SeedCall, view: &engine::JobView, started: std::time::Instant) -> Response {
    let id = view.job.id;
    let status_url = format!("/v1/jobs/{id}");
    let timestamp =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let body = json!({
        "success": true,
        "action": view.job.action,
        "service": view.job.product,
        "tenantId": call.tenant,
        "correlationId": call.correlation_id,
        "timestamp": timestamp,
        "durationMs": started.elapsed().as_millis() as u64,
        "status": view.job.state,
        "jobId": id,
        "id": id,
        "statusQueryGetUri": status_url,
        "terminatePostUri": format!("/v1/jobs/{id}/cancel"),
        "itemsUri": format!("/v1/jobs/{id}/items"),
        "data": view,
    });
    (StatusCode::ACCEPTED, [("location", status_url)], Json(body)).into_response()
}

fn parse_id(s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s)
        .map_err(|_| ApiError::bad_request("id", format!("'{s}' is not a job id"), "job ids are UUIDs"))
}

fn limit(l: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match l {
        Some(l) => l.parse::<i64>().ok().filter(|l| (1..=10_000).contains(l)).ok_or_else(|| {
            ApiError::bad_request("limit", format!("'{l}' is not a limit between 1 and 10000"), "e.g. limit=100")
        }),
        None => Ok(default),
    }
}

/// The OpenAPI paths of `/v1/jobs` and `/v1/reverts`.
pub fn openapi(paths: &mut serde_json::Map<String, Value>) {
    let err = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } });
    let duration = json!({ "oneOf": [{ "type": "string", "description": "ISO 8601 duration, e.g. PT4H" }, { "type": "integer", "minimum": 1, "description": "seconds" }] });
    paths.insert("/v1/jobs".into(), json!({
        "get": { "operationId": "listJobs", "summary": "Bulk jobs, newest first, with counts", "tags": ["Jobs"],
                 "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer" } }],
                 "responses": { "200": { "description": "{count, jobs}" } } },
        "post": { "operationId": "createJob", "summary": "One action over many targets across tenants: one durable item per target", "tags": ["Jobs"],
                  "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["product", "action"], "properties": {
                      "name": { "type": "string" }, "product": { "type": "string" }, "action": { "type": "string" },
                      "params": { "type": "object", "description": "parameters every target shares" },
                      "targets": { "type": "array", "items": { "type": "object", "required": ["tenant"], "description": "{tenant, ...per-target parameters}" } },
                      "tenants": { "description": "with filter: \"all\" or a list", "oneOf": [{ "type": "string", "enum": ["all"] }, { "type": "array", "items": { "type": "string" } }] },
                      "filter": { "type": "string", "description": "OData $filter selecting MDE machines per tenant" },
                      "revertAfter": duration, "priority": { "type": "integer", "minimum": -100, "maximum": 100 } } } } } },
                  "responses": { "201": { "description": "The job, with counts; Location: /v1/jobs/{id}" },
                                 "400": err("Invalid input (the field is named, e.g. targets[3].deviceIds)"), "403": err("Key not scoped to a target's tenant, or role too low") } }
    }));
    paths.insert("/v1/jobs/{id}".into(), json!({ "get": { "operationId": "getJob", "summary": "A job: state, counts per state and per tenant, throughput, ETA", "tags": ["Jobs"],
        "parameters": [id], "responses": { "200": { "description": "The job" }, "404": err("Unknown job") } } }));
    paths.insert("/v1/jobs/{id}/items".into(), json!({ "get": { "operationId": "listJobItems", "summary": "A job's items by seq", "tags": ["Jobs"],
        "parameters": [id, { "name": "state", "in": "query", "schema": { "type": "string", "enum": item_state::ALL } },
                       { "name": "after", "in": "query", "schema": { "type": "integer" } }, { "name": "limit", "in": "query", "schema": { "type": "integer" } }],
        "responses": { "200": { "description": "{count, items, nextAfter}" }, "404": err("Unknown job") } } }));
    paths.insert("/v1/jobs/{id}/{verb}".into(), json!({ "post": { "operationId": "changeJob", "summary": "pause, resume, cancel, retry-failed, or undo (a new job of the succeeded items' inverses, 201)", "tags": ["Jobs"],
        "parameters": [id, { "name": "verb", "in": "path", "required": true, "schema": { "type": "string", "enum": ["pause", "resume", "cancel", "retry-failed", "undo"] } }],
        "responses": { "200": { "description": "The job" }, "201": { "description": "The undo job" }, "404": err("Unknown job"), "409": err("Not possible in the job's state") } } }));
    paths.insert("/v1/reverts".into(), json!({ "get": { "operationId": "listReverts", "summary": "Scheduled inverses of time-boxed actions (revertAfter), newest first", "tags": ["Reverts"],
        "parameters": [{ "name": "tenant", "in": "query", "schema": { "type": "string" } }, { "name": "status", "in": "query", "schema": { "type": "string", "enum": store::revert_status::ALL } },
                       { "name": "operation", "in": "query", "schema": { "type": "string", "format": "uuid" } }, { "name": "limit", "in": "query", "schema": { "type": "integer" } }],
        "responses": { "200": { "description": "{count, reverts}" } } } }));
    paths.insert(
        "/v1/reverts/{id}".into(),
        json!({ "get": { "operationId": "getRevert", "summary": "One revert", "tags": ["Reverts"], "parameters": [id],
        "responses": { "200": { "description": "The revert" }, "404": err("Unknown revert") } } }),
    );
    paths.insert("/v1/reverts/{id}/cancel".into(), json!({ "post": { "operationId": "cancelRevert", "summary": "Cancel a scheduled revert (the action stays in effect)", "tags": ["Reverts"], "parameters": [id],
        "responses": { "200": { "description": "The revert, Cancelled" }, "404": err("Unknown revert"), "409": err("Not Scheduled any more") } } }));
    paths.insert("/v1/reverts/{id}/extend".into(), json!({ "post": { "operationId": "extendRevert", "summary": "Move a scheduled revert: {by: duration} or {until: RFC 3339}", "tags": ["Reverts"], "parameters": [id],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": { "by": duration, "until": { "type": "string", "format": "date-time" } } } } } },
        "responses": { "200": { "description": "The revert" }, "400": err("Bad by/until"), "404": err("Unknown revert"), "409": err("Not Scheduled any more") } } }));
}
