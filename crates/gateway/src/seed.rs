//! Seed-compatible surface: the original Azure Functions routes, same request shapes, and the
//! seed's envelope `{success, action, service, tenantId, correlationId, timestamp, durationMs,
//! data | error}` with real HTTP statuses.
//!
//! Route kinds:
//! - orchestrators (`Gateway`, `DefenderXDRGateway`, `DefenderXDROrchestrator`, `MainOrchestrator`)
//!   take `service` and `action`;
//! - workers (`DefenderXDR{Product}Worker`, `{Product}Worker`) take `action`;
//! - the legacy `DefenderC2Dispatcher` takes `action` and means MDE unless `service` says otherwise.
//!
//! Parameters may be flat or nested under `parameters`, in the JSON body or the query string.

use crate::auth::Caller;
use crate::dryrun::SeedAnswer;
use crate::error::ApiError;
use crate::input::{Path, Query, json_object};
use crate::{AppState, respond_seed};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use catalog::Product;
use engine::ActionRequest;
use serde_json::{Map, Value};
use std::time::Instant;

const ORCHESTRATORS: &[&str] = &["Gateway", "DefenderXDRGateway", "DefenderXDROrchestrator", "MainOrchestrator"];
const DISPATCHER: &str = "DefenderC2Dispatcher";

/// Keys that address the request rather than parameterise the action.
const ENVELOPE_KEYS: &[&str] = &[
    "action",
    "service",
    "tenantid",
    "tenant_id",
    "tenant",
    "parameters",
    "correlationid",
    "idempotencykey",
    "code",
    "wait",
    "dryrun",
];

/// Which product a route name means, or `None` for routes that take `service`.
enum RouteKind {
    Orchestrator,
    Dispatcher,
    Worker(Product),
}

fn route_kind(route: &str) -> Option<RouteKind> {
    if ORCHESTRATORS.iter().any(|r| r.eq_ignore_ascii_case(route)) {
        Some(RouteKind::Orchestrator)
    } else if route.eq_ignore_ascii_case(DISPATCHER) {
        Some(RouteKind::Dispatcher)
    } else {
        Product::from_worker_route(route).map(RouteKind::Worker)
    }
}

/// The request as the seed sent it, before the engine sees it.
pub struct SeedCall {
    pub action: Option<String>,
    pub service: Option<String>,
    pub tenant: Option<String>,
    pub correlation_id: String,
    pub idempotency_key: Option<String>,
    /// Seconds to wait for a terminal state (the seed's clients cannot always send `Prefer`).
    pub wait: Option<Value>,
    pub params: Map<String, Value>,
}

/// Any seed route. Path reading and authentication run before the handler (`Path`, `Caller`),
/// but the handler renders their refusals itself, in the seed envelope, and the route check
/// comes first: an unknown function is a 404 whoever asks, as Azure Functions answered.
pub async fn handle(
    State(state): State<AppState>,
    route: Result<Path<String>, ApiError>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Query(query): Query,
    body: Body,
) -> Response {
    let started = Instant::now();
    let mut call = SeedCall {
        action: None,
        service: None,
        tenant: None,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        idempotency_key: None,
        wait: None,
        params: Map::new(),
    };
    let mut warnings = Vec::new();
    let result = async {
        let Path(route) = route?;
        let kind = route_kind(&route).ok_or_else(|| {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "UnknownRoute", format!("no function named '{route}'"))
                .hint(
                    "use /api/DefenderXDR{Product}Worker, /api/{Product}Worker, /api/MainOrchestrator or /api/Gateway",
                )
        })?;
        let Caller(principal) = caller?;
        let body = json_object(body).await?;
        let dry_run = crate::dryrun::requested_in_seed(&query, &body)?;
        call = collect(&query, body, &headers);
        let mut request = to_action_request(&call, kind, principal)?;
        warnings = crate::unknown_params::check_seed(request.product, &request.action, &request.params)?;
        request.wait = crate::input::wait_preference(&headers, call.wait.as_ref())?;
        request.reveal = crate::input::reveal_requested(&headers);
        if dry_run {
            return Ok(SeedAnswer::Preview(Box::new(state.engine.dry_run(request).await?)));
        }
        // A `deviceIds` list or a `Bulk*` name over many targets: a job, one durable item per
        // target, unless the caller asked to wait for the answer (then one operation, inline).
        let waits = request.wait.is_some_and(|w| !w.is_zero());
        if let Some(job) = if waits { None } else { state.engine.seed_bulk_form(&request)? } {
            let view = state.engine.create_job(&request.principal, job).await?;
            return Ok(SeedAnswer::Job(Box::new(view)));
        }
        state.engine.execute(request).await.map(SeedAnswer::Done).map_err(ApiError::from)
    }
    .await;
    let response = match result {
        Ok(SeedAnswer::Preview(preview)) => crate::dryrun::seed_envelope(&call, *preview, started),
        Ok(SeedAnswer::Done(outcome)) => respond_seed(&state, &call, Ok(outcome), started),
        Ok(SeedAnswer::Job(view)) => crate::jobs::seed_accepted(&call, &view, started),
        Err(e) => respond_seed(&state, &call, Err(e), started),
    };
    crate::unknown_params::with_warnings(response, warnings).await
}

/// Merge query string, body and nested `parameters` (later wins), lifting out the envelope keys.
pub fn collect(query: &[(String, String)], body: Map<String, Value>, headers: &HeaderMap) -> SeedCall {
    let mut merged: Map<String, Value> = Map::new();
    for (k, v) in query {
        merged.insert(k.clone(), Value::String(v.clone()));
    }
    let nested = match body.iter().find(|(k, _)| k.eq_ignore_ascii_case("parameters")).map(|(_, v)| v.clone()) {
        Some(Value::Object(inner)) => inner,
        _ => Map::new(),
    };
    merged.extend(body);
    // Envelope fields come from the top level first: inside `parameters` the MDE worker's
    // `action` is an indicator's action (Block, Allowed, ...), not the action to run.
    let pick = |map: &Map<String, Value>, names: &[&str]| -> Option<String> {
        map.iter().find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n))).and_then(|(_, v)| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let take = |names: &[&str]| pick(&merged, names).or_else(|| pick(&nested, names));
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from);
    let action = take(&["action"]);
    let nested_action = pick(&nested, &["action"])
        .filter(|inner| pick(&merged, &["action"]).is_some_and(|outer| !outer.eq_ignore_ascii_case(inner)));
    let call = SeedCall {
        action,
        service: take(&["service"]),
        tenant: take(&["tenantId", "tenant_id", "tenant"]),
        correlation_id: take(&["correlationId"]).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        idempotency_key: header_key.or_else(|| take(&["idempotencyKey"])),
        wait: merged.iter().chain(nested.iter()).find(|(k, _)| k.eq_ignore_ascii_case("wait")).map(|(_, v)| v.clone()),
        params: Map::new(),
    };
    merged.extend(nested);
    let mut params: Map<String, Value> =
        merged.into_iter().filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.to_ascii_lowercase().as_str())).collect();
    if let Some(inner) = nested_action {
        params.insert("action".into(), Value::String(inner));
    }
    SeedCall { params, ..call }
}

fn to_action_request(
    call: &SeedCall,
    kind: RouteKind,
    principal: engine::Principal,
) -> Result<ActionRequest, ApiError> {
    let action = call.action.clone().ok_or_else(|| {
        ApiError::bad_request(
            "action",
            "action is required",
            "add \"action\": \"IsolateDevice\" (GET /v1/catalog lists them)",
        )
    })?;
    // The route's product first (a worker's `service` field is ignored, as the seed did).
    let product = match (kind, &call.service) {
        (RouteKind::Worker(p), _) => Some(p),
        (_, Some(s)) => Some(crate::product::parse_service(s)?),
        (RouteKind::Dispatcher, None) => Some(Product::Mde),
        (RouteKind::Orchestrator, None) => None,
    };
    let tenant = call.tenant.clone().ok_or_else(|| {
        ApiError::bad_request("tenantId", "tenantId is required", "add \"tenantId\": \"<Entra tenant GUID>\"")
    })?;
    Ok(ActionRequest {
        tenant,
        product,
        action,
        params: call.params.clone(),
        principal,
        idempotency_key: call.idempotency_key.clone(),
        wait: None,
        reveal: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_parameters_and_query_merge() {
        let q = vec![("tenantId".to_string(), "t1".to_string()), ("code".to_string(), "k".to_string())];
        let body = json!({"action": "IsolateDevice", "parameters": {"deviceIds": "a,b"}, "comment": "x"});
        let call = collect(&q, body.as_object().unwrap().clone(), &HeaderMap::new());
        assert_eq!(call.tenant.as_deref(), Some("t1"));
        assert_eq!(call.action.as_deref(), Some("IsolateDevice"));
        assert_eq!(call.params.get("deviceIds"), Some(&json!("a,b")));
        assert_eq!(call.params.get("comment"), Some(&json!("x")));
        assert!(!call.params.contains_key("code"));
        assert!(!call.params.contains_key("parameters"));
    }

    #[test]
    fn nested_action_is_a_parameter_when_the_top_level_names_the_action() {
        let body =
            json!({"action": "AddFileIndicator", "tenantId": "t1", "parameters": {"sha1": "ab", "action": "Block"}});
        let call = collect(&[], body.as_object().unwrap().clone(), &HeaderMap::new());
        assert_eq!(call.action.as_deref(), Some("AddFileIndicator"));
        assert_eq!(call.params.get("action"), Some(&json!("Block")));
        // Only nested: it names the action. Repeated inside: not a parameter.
        let body = json!({"tenantId": "t1", "parameters": {"action": "GetAllDevices"}});
        let call = collect(&[], body.as_object().unwrap().clone(), &HeaderMap::new());
        assert_eq!(call.action.as_deref(), Some("GetAllDevices"));
        assert!(!call.params.contains_key("action"));
        let body = json!({"action": "GetAllDevices", "parameters": {"action": "getalldevices", "tenantId": "t2"}});
        let call = collect(&[], body.as_object().unwrap().clone(), &HeaderMap::new());
        assert!(!call.params.contains_key("action"));
        assert_eq!(call.tenant.as_deref(), Some("t2"));
    }

    #[test]
    fn worker_routes_name_their_product() {
        assert!(matches!(route_kind("DefenderXDRMDEWorker"), Some(RouteKind::Worker(Product::Mde))));
        assert!(matches!(route_kind("MDEWorker"), Some(RouteKind::Worker(Product::Mde))));
        assert!(matches!(route_kind("EntraIDWorker"), Some(RouteKind::Worker(Product::EntraId))));
        assert!(matches!(route_kind("IncidentWorker"), Some(RouteKind::Worker(Product::Incident))));
        assert!(matches!(route_kind("DefenderXDRIncidentWorker"), Some(RouteKind::Worker(Product::Incident))));
        assert!(matches!(route_kind("DefenderXDRMDCWorker"), Some(RouteKind::Worker(Product::Mdc))));
        assert!(matches!(route_kind("mainorchestrator"), Some(RouteKind::Orchestrator)));
        assert!(matches!(route_kind("DefenderC2Dispatcher"), Some(RouteKind::Dispatcher)));
        assert!(route_kind("Nope").is_none());
    }
}
