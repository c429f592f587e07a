//! Microsoft-shaped error bodies, one builder per API family (upstream-apis.md §0).
//!
//! Every error the sandbox returns goes through one of these, so clients see the same shapes
//! they would see from the real services.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::fmt_utc;

/// Which API family a path belongs to; decides error shapes for faults, 404s and 405s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Login,
    Graph,
    Mde,
    Arm,
    Admin,
    Other,
}

impl Family {
    pub fn of_path(path: &str) -> Family {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        match first {
            "api" => Family::Mde,
            "v1.0" | "beta" => Family::Graph,
            "subscriptions" => Family::Arm,
            "_sandbox" => Family::Admin,
            "" => Family::Other,
            _ => {
                let p = path.to_ascii_lowercase();
                if p.contains("/oauth2/") || p.contains("/.well-known/") || p.contains("/discovery/") {
                    Family::Login
                } else {
                    Family::Other
                }
            }
        }
    }
}

pub fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

/// MDE / Defender XDR: `{"error":{"code","message","target"}}`, target = fresh tracking GUID.
pub fn mde(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": code, "message": message.into(), "target": Uuid::new_v4().to_string()}});
    json_response(status, body)
}

/// Microsoft Graph: OData v4 error with `innerError` diagnostics. `request-id` is also sent as a
/// header (the edge middleware keeps an existing one), `client-request-id` is echoed.
pub fn graph(status: StatusCode, code: &str, message: impl Into<String>, headers: &HeaderMap) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| request_id.clone());
    let date = fmt_utc(OffsetDateTime::now_utc());
    let body = json!({"error": {
        "code": code,
        "message": message.into(),
        "innerError": {"date": date, "request-id": request_id, "client-request-id": client_request_id}
    }});
    let mut resp = json_response(status, body);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

/// ARM CloudError: `{"error":{"code","message"}}`.
pub fn arm(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": code, "message": message.into()}});
    let mut resp = json_response(status, body);
    if let Ok(v) = HeaderValue::from_str(&Uuid::new_v4().to_string()) {
        resp.headers_mut().insert("x-ms-request-id", v.clone());
        resp.headers_mut().insert("x-ms-correlation-request-id", v);
    }
    resp
}

/// Entra token endpoint: flat `{"error","error_description","error_codes",...}` where the
/// description starts with `AADSTSnnnn:` followed by trace/correlation/timestamp lines.
pub fn login(
    status: StatusCode,
    error: &str,
    aadsts: u32,
    text: &str,
    base_url: &str,
    correlation_id: Option<&str>,
) -> Response {
    let trace_id = Uuid::new_v4().to_string();
    let correlation_id = correlation_id.map(str::to_owned).unwrap_or_else(|| Uuid::new_v4().to_string());
    let now = OffsetDateTime::now_utc();
    let timestamp = fmt_utc(now).replace('T', " ");
    let description = format!(
        "AADSTS{aadsts}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    );
    let body = json!({
        "error": error,
        "error_description": description,
        "error_codes": [aadsts],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("{base_url}/error?code={aadsts}"),
    });
    let mut resp = json_response(status, body);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    resp
}

/// The sandbox's own admin API errors (not a Microsoft surface).
pub fn admin(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(
        status,
        json!({"error": {"code": status.canonical_reason().unwrap_or("Error"), "message": message.into()}}),
    )
}

/// An error for a path, shaped by the family that owns the path. Used for injected faults,
/// unknown routes and unsupported methods.
pub fn for_family(
    family: Family,
    status: StatusCode,
    code: &str,
    message: &str,
    headers: &HeaderMap,
    base_url: &str,
) -> Response {
    match family {
        Family::Mde => mde(status, code, message),
        Family::Graph => graph(status, code, message, headers),
        Family::Arm => arm(status, code, message),
        Family::Login => {
            let (error, aadsts) = match status.as_u16() {
                429 => ("temporarily_unavailable", 90014),
                s if s >= 500 => ("temporarily_unavailable", 90033),
                _ => ("invalid_request", 900144),
            };
            login(status, error, aadsts, message, base_url, None)
        }
        Family::Admin | Family::Other => admin(status, message),
    }
}

/// Per-family `code` for an injected status (Microsoft's names where documented).
pub fn fault_code(family: Family, status: StatusCode) -> &'static str {
    match (family, status.as_u16()) {
        (_, 429) => "TooManyRequests",
        (Family::Graph, 503) => "serviceNotAvailable",
        (Family::Graph, 504) => "GatewayTimeout",
        (Family::Graph, s) if s >= 500 => "generalException",
        (Family::Arm, 503) => "ServiceUnavailable",
        (Family::Arm, s) if s >= 500 => "InternalServerError",
        (_, 503) => "ServiceUnavailable",
        (_, 502) => "BadGateway",
        (_, 504) => "GatewayTimeout",
        (_, s) if s >= 500 => "InternalServerError",
        (_, 401) => "Unauthorized",
        (_, 403) => "Forbidden",
        (_, 404) => "NotFound",
        (_, 409) => "Conflict",
        _ => "BadRequest",
    }
}
