//! `GET /v1/tenants/{tenant}/doctor`: the permission doctor's report for one tenant
//! (`engine::Engine::doctor`): the grants read from the tenant's tokens and Azure role
//! assignments, and the catalog actions that would fail, with the least-privileged fix.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Path;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `GET /v1/tenants/{tenant}/doctor`
pub async fn tenant(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let report = state.engine.doctor(&principal, &tenant).await?;
    Ok(Json(json!(report)))
}

/// The doctor's route in the OpenAPI document.
pub fn openapi_paths(paths: &mut serde_json::Map<String, Value>) {
    paths.insert(
        "/v1/tenants/{tenantId}/doctor".into(),
        json!({ "get": {
            "operationId": "tenantDoctor",
            "summary": "Permission doctor: the app roles and Azure role assignments the tenant's app holds, the catalog actions that would fail for lack of one, and the least-privileged fix",
            "parameters": [{ "name": "tenantId", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": { "200": { "description": "The report: grants, azure, checked, ok, failing, partial, unchecked" } }
        }}),
    );
}
