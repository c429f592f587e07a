//! `GET /v1.0/organization`: the tenant's own directory entry (Graph's organization resource),
//! whose `displayName` a client shows instead of the tenant's GUID. Application permission:
//! `Organization.Read.All`, `Directory.Read.All` (or their ReadWrite forms), as documented;
//! `User.Read.All` is not enough, and the sandbox refuses it the same way (403).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::auth::GraphCaller;
use crate::errors::{self, json_response};
use crate::state::AppState;

const READ_ROLES: &[&str] =
    &["Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1.0/organization", get(list)).route("/beta/organization", get(list))
}

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let world = state.world.lock();
    let t = world.tenant(&c.tenant_id).ok_or_else(|| {
        errors::graph(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &headers,
        )
    })?;
    let domain = format!("{}.onmicrosoft.com", t.name);
    let org = json!({
        "id": t.tenant_id,
        "displayName": t.display_name,
        "tenantType": "AAD",
        "verifiedDomains": [{ "name": domain, "type": "Managed", "isDefault": true, "isInitial": true, "capabilities": "Email, OfficeCommunicationsOnline" }],
    });
    let body = json!({ "@odata.context": format!("{}/v1.0/$metadata#organization", state.base_url), "value": [org] });
    Ok(json_response(StatusCode::OK, body))
}
