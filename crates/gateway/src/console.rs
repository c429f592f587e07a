//! The web console: a page and its scripts, embedded in the binary (`include_str!`, no Node
//! toolchain, works offline), that uses the same JSON API as every other client with the key
//! the analyst signs in with (kept in the browser's session storage only). Why not server-side
//! templates: see docs/ARCHITECTURE.md ("The console").
//!
//! Besides the page and assets, three small reads the console needs and other clients may use:
//! - `GET /v1/me`: the key's name, role and tenants, each with the name people know it by
//!   (configured `display_name`, else the directory's `displayName` from Graph, cached);
//! - `GET /v1/typeahead?tenant=&kind=device|user&q=`: up to 10 devices (MDE, by DNS name
//!   prefix) or users (Graph, by UPN or display-name prefix) of a tenant the key may use. A
//!   lookup, not an action: no operation, no audit record;
//! - `GET /v1/audit/verify`: whether the audit hash chain verifies (counts only).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use upstream::{Api, ApiRequest, TenantCredentials};

/// The page: a shell the scripts fill.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("../assets/console/index.html"))
}

/// Every embedded asset by name, with its content type.
const ASSETS: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("../assets/console/console.css")),
    ("core.js", "text/javascript; charset=utf-8", include_str!("../assets/console/core.js")),
    ("respond.js", "text/javascript; charset=utf-8", include_str!("../assets/console/respond.js")),
    ("pages.js", "text/javascript; charset=utf-8", include_str!("../assets/console/pages.js")),
    ("hunt.js", "text/javascript; charset=utf-8", include_str!("../assets/console/hunt.js")),
    ("approvals.js", "text/javascript; charset=utf-8", include_str!("../assets/console/approvals.js")),
];

/// `GET /console/{file}`
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => {
            ([(header::CONTENT_TYPE, *kind), (header::CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("no console asset '{name}'")).into_response(),
    }
}

/// `GET /v1/me`
pub async fn me(State(state): State<AppState>, Caller(principal): Caller) -> Json<Value> {
    let engine = &state.engine;
    let mut tenants = Vec::new();
    for creds in engine.tenants().all().filter(|c| principal.may_access(&c.tenant_id)) {
        let (name, source) = match &creds.display_name {
            Some(n) => (Some(n.clone()), "configured"),
            None => match directory_name(&state, creds).await {
                Some(n) => (Some(n), "graph"),
                None => (None, "none"),
            },
        };
        tenants.push(json!({ "tenant_id": creds.tenant_id, "name": name, "nameSource": source }));
    }
    Json(json!({
        "name": principal.name,
        "role": principal.role.as_str(),
        "scoped": !principal.tenants.is_empty(),
        "tenants": tenants,
    }))
}

/// Directory names read from Graph, per tenant, with when they were read.
type NameCache = Mutex<HashMap<String, (std::time::Instant, Option<String>)>>;

/// How long a directory name read from Graph is kept.
const NAME_TTL: Duration = Duration::from_secs(3600);

/// The directory's own `displayName` (Graph `GET /v1.0/organization`), cached per tenant; `None`
/// when the tenant has no Graph or the app may not read it (`Organization.Read.All`).
async fn directory_name(state: &AppState, creds: &TenantCredentials) -> Option<String> {
    static CACHE: OnceLock<NameCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = creds.tenant_id.to_ascii_lowercase();
    if let Some((at, name)) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
        && at.elapsed() < NAME_TTL
    {
        return name.clone();
    }
    let upstream = state.engine.upstream();
    if !upstream.configured_apis(creds).contains(&Api::Graph) {
        return None;
    }
    let req = ApiRequest::get(Api::Graph, "/v1.0/organization").with_query("$select", "displayName");
    let name = match tokio::time::timeout(Duration::from_secs(5), upstream.call(creds, req)).await {
        Ok(Ok(resp)) => resp.body["value"][0]["displayName"].as_str().map(String::from),
        _ => None,
    };
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, (std::time::Instant::now(), name.clone()));
    name
}

/// Typeahead answers at most this many.
const SUGGESTIONS: usize = 10;

/// `GET /v1/typeahead?tenant=&kind=device|user&q=`
pub async fn typeahead(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let tenant = state.engine.chosen_tenant(&principal, query.get("tenant"))?;
    if !principal.may_access(&tenant) {
        return Err(engine::EngineError::Forbidden(format!(
            "key '{}' is not scoped to tenant '{tenant}'",
            principal.name
        ))
        .into());
    }
    let creds = state.engine.tenants().get(&tenant)?;
    let q = query.get("q").unwrap_or("").trim().replace('\'', "''");
    if q.len() > 100 {
        return Err(ApiError::bad_request("q", "q is longer than 100 characters", "type the start of a name"));
    }
    let (req, pick): (ApiRequest, fn(&Value) -> Value) = match query.get("kind") {
        Some("device") => (
            ApiRequest::get(Api::Mde, "/api/machines")
                .with_query("$filter", format!("startswith(computerDnsName,'{q}')"))
                .with_query("$top", SUGGESTIONS.to_string()),
            |m| json!({ "value": m["id"], "label": m["computerDnsName"], "detail": format!("{} · {}", m["osPlatform"].as_str().unwrap_or(""), m["healthStatus"].as_str().unwrap_or("")) }),
        ),
        Some("user") => (
            ApiRequest::get(Api::Graph, "/v1.0/users")
                .with_query("$filter", format!("startswith(userPrincipalName,'{q}') or startswith(displayName,'{q}')"))
                .with_query("$select", "id,userPrincipalName,displayName")
                .with_query("$top", SUGGESTIONS.to_string()),
            |u| json!({ "value": u["userPrincipalName"], "label": u["userPrincipalName"], "detail": u["displayName"] }),
        ),
        other => {
            return Err(ApiError::bad_request(
                "kind",
                format!("'{}' is not a typeahead kind", other.unwrap_or("")),
                "kind=device or kind=user",
            ));
        }
    };
    let page = state
        .engine
        .upstream()
        .get_paged(creds, req, SUGGESTIONS)
        .await
        .map_err(|e| ApiError::from(engine::EngineError::from(e)))?;
    let items: Vec<Value> = page.items.iter().map(pick).collect();
    Ok(Json(json!({ "tenant_id": tenant, "items": items })))
}

/// `GET /v1/audit/verify`: the whole chain walked; counts and the first problems only.
pub async fn audit_verify(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    let report = state.engine.store().verify_audit().await?;
    Ok(Json(json!(report)))
}
