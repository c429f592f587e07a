//! `/v1/approvals`: actions and bulk jobs the approval policy holds, and their decisions.
//!
//! List and read (within the key's tenant scope), approve or reject with `{reason}`, and the
//! policy in force (`/v1/approvals/policy`, with the last reload error). The engine decides who
//! may approve (`engine::approvals`): a role the policy names, never the requester (403 saying
//! why); a decided or expired request is a 409.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{JsonObject, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use store::{Approval, approval_kind, approval_status};

/// An approval as `/v1` shows it: the stored row, where to decide on it, and its subject.
pub fn view(a: &Approval) -> Value {
    let mut v = json!(a);
    let subject = match a.kind.as_str() {
        approval_kind::JOB => format!("/v1/jobs/{}", a.subject_id),
        _ => format!("/v1/operations/{}", a.subject_id),
    };
    v["href"] = json!(format!("/v1/approvals/{}", a.id));
    v["subject_href"] = json!(subject);
    v
}

/// `GET /v1/approvals?status=&limit=`: newest first; `status=Pending` is the queue to decide.
pub async fn list(
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
    let approvals = state.engine.list_approvals(&principal, query.get("status"), limit).await?;
    let views: Vec<Value> = approvals.iter().map(view).collect();
    Ok(Json(json!({ "count": views.len(), "approvals": views })))
}

/// `GET /v1/approvals/{id}`
pub async fn get(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let a = state.engine.approval_for(&principal, parse_id(&id)?).await?;
    Ok(Json(view(&a)))
}

/// `POST /v1/approvals/{id}/approve` `{reason}`: the held action runs (or the held job starts).
pub async fn approve(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let reason = reason(&body)?;
    let a = state.engine.decide_approval(&principal, parse_id(&id)?, true, &reason).await?;
    Ok(Json(view(&a)))
}

/// `POST /v1/approvals/{id}/reject` `{reason}`: the held action or job never runs.
pub async fn reject(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let reason = reason(&body)?;
    let a = state.engine.decide_approval(&principal, parse_id(&id)?, false, &reason).await?;
    Ok(Json(view(&a)))
}

/// `GET /v1/approvals/policy`: the policy in force, where it came from, the last reload error.
pub async fn policy(State(state): State<AppState>, _: Caller) -> Json<Value> {
    Json(state.engine.approval_policy_status())
}

/// A held bulk job's answer: 202, the job, and its approval.
pub async fn held_job(
    state: &AppState,
    principal: &engine::Principal,
    job: engine::JobView,
) -> Result<Response, ApiError> {
    let approval = state.engine.approval_of(principal, job.job.id).await?;
    let mut body = json!(job);
    body["approval"] = approval.as_ref().map(view).unwrap_or(Value::Null);
    let location = format!("/v1/jobs/{}", job.job.id);
    Ok((StatusCode::ACCEPTED, [("location", location)], Json(body)).into_response())
}

/// The decision's reason: the body's only key, a string (the engine checks it is not empty).
fn reason(body: &serde_json::Map<String, Value>) -> Result<String, ApiError> {
    if let Some(other) = body.keys().find(|k| k.as_str() != "reason") {
        return Err(ApiError::bad_request(
            other,
            format!("unknown field '{other}'"),
            "the body is {\"reason\": \"...\"}",
        ));
    }
    match body.get("reason") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => {
            Err(ApiError::bad_request("reason", format!("{other} is not a string"), "{\"reason\": \"...\"}"))
        }
        None => Err(ApiError::bad_request(
            "reason",
            "a decision needs a reason",
            "{\"reason\": \"ticket INC-1234: confirmed with the device owner\"}",
        )),
    }
}

fn parse_id(s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s)
        .map_err(|_| ApiError::bad_request("id", format!("'{s}' is not an approval id"), "approval ids are UUIDs"))
}

/// The OpenAPI paths of `/v1/approvals`.
pub fn openapi(paths: &mut serde_json::Map<String, Value>) {
    let err = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let id = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } });
    let approval = json!({ "type": "object", "properties": {
        "id": { "type": "string", "format": "uuid" }, "kind": { "type": "string", "enum": [approval_kind::OPERATION, approval_kind::JOB] },
        "subject_id": { "type": "string", "format": "uuid" }, "tenants": { "type": "array", "items": { "type": "string" } },
        "product": { "type": "string" }, "action": { "type": "string" }, "params": { "type": "object" },
        "targets": { "type": "integer" }, "requester": { "type": "string" },
        "reasons": { "type": "array", "items": { "type": "object", "properties": { "rule": { "type": "string" }, "why": { "type": "string" } } } },
        "status": { "type": "string", "enum": approval_status::ALL },
        "decided_by": { "type": ["string", "null"] }, "reason": { "type": ["string", "null"] },
        "expires_at": { "type": "string", "format": "date-time" }, "decided_at": { "type": ["string", "null"], "format": "date-time" },
        "created_at": { "type": "string", "format": "date-time" }, "updated_at": { "type": "string", "format": "date-time" },
        "href": { "type": "string" }, "subject_href": { "type": "string" } } });
    let ok = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": approval.clone() } } });
    let decision = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "required": ["reason"], "additionalProperties": false,
        "properties": { "reason": { "type": "string", "minLength": 1, "maxLength": 2000 } } } } } });
    paths.insert("/v1/approvals".into(), json!({ "get": {
        "operationId": "listApprovals", "summary": "Actions and bulk jobs held by the approval policy, newest first (within the key's tenant scope)", "tags": ["Approvals"],
        "parameters": [{ "name": "status", "in": "query", "schema": { "type": "string", "enum": approval_status::ALL } },
                       { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }],
        "responses": { "200": { "description": "{count, approvals}", "content": { "application/json": { "schema": {
            "type": "object", "properties": { "count": { "type": "integer" }, "approvals": { "type": "array", "items": approval.clone() } } } } } },
            "400": err("Unknown status or bad limit") } } }));
    paths.insert("/v1/approvals/policy".into(), json!({ "get": {
        "operationId": "getApprovalPolicy", "summary": "The approval policy in force, its file and the last reload error (a refused file keeps the previous policy)", "tags": ["Approvals"],
        "responses": { "200": { "description": "{source: {path, loadedAt, error}, expiresAfterSeconds, approverRoles, rules, blastRadius, tier0}" } } } }));
    paths.insert("/v1/approvals/{id}".into(), json!({ "get": {
        "operationId": "getApproval", "summary": "One approval request", "tags": ["Approvals"], "parameters": [id.clone()],
        "responses": { "200": ok("The approval"), "404": err("Unknown approval, or outside the key's tenant scope") } } }));
    for (verb, summary) in [
        ("approve", "Approve with a reason: the held action runs through the engine (or the held job starts)"),
        ("reject", "Reject with a reason: the held action or job never runs"),
    ] {
        paths.insert(format!("/v1/approvals/{{id}}/{verb}"), json!({ "post": {
            "operationId": format!("{verb}Approval"), "summary": summary, "tags": ["Approvals"], "parameters": [id.clone()],
            "requestBody": decision.clone(),
            "responses": { "200": ok("The decided approval"), "400": err("No reason, or an unknown field"),
                           "403": err("The key's role may not approve, or the key is the requester's"),
                           "404": err("Unknown approval"), "409": err("Already decided, or expired") } } }));
    }
}
