//! Dry runs on every surface: `?dryRun=true` on the native action route, `dryRun` in a seed
//! request's body or query, `dryRun: true` on `POST /v1/jobs`. The engine renders
//! (`engine::Engine::dry_run`); this module only reads the flag and shapes the answer.

use crate::error::ApiError;
use crate::input::Query;
use crate::seed::SeedCall;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// The flag's name on every surface.
pub const FLAG: &str = "dryRun";

/// `?dryRun=true|false|1|0` (absent: false); anything else is a 400 naming it.
pub fn requested(query: &Query) -> Result<bool, ApiError> {
    query.get(FLAG).map(parse_text).transpose().map(|f| f.unwrap_or(false))
}

/// The flag in a seed request: the body (top level or `parameters`) or the query string.
pub fn requested_in_seed(query: &[(String, String)], body: &Map<String, Value>) -> Result<bool, ApiError> {
    let nested = body.iter().find(|(k, _)| k.eq_ignore_ascii_case("parameters")).and_then(|(_, v)| v.as_object());
    let found = body
        .iter()
        .chain(nested.into_iter().flatten())
        .find(|(k, _)| k.eq_ignore_ascii_case(FLAG))
        .map(|(_, v)| v.clone())
        .or_else(|| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(FLAG)).map(|(_, v)| Value::String(v.clone())));
    found.map(|v| parse_value(&v)).transpose().map(|f| f.unwrap_or(false))
}

/// Takes `dryRun` out of a JSON body (`POST /v1/jobs`).
pub fn take_from_body(body: &mut Map<String, Value>) -> Result<bool, ApiError> {
    let key = body.keys().find(|k| k.eq_ignore_ascii_case(FLAG)).cloned();
    match key.and_then(|k| body.remove(&k)) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => parse_value(&v),
    }
}

fn parse_value(v: &Value) -> Result<bool, ApiError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => parse_text(s),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        other => Err(invalid(&other.to_string())),
    }
}

fn parse_text(s: &str) -> Result<bool, ApiError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(invalid(s)),
    }
}

fn invalid(given: &str) -> ApiError {
    ApiError::bad_request(
        FLAG,
        format!("'{given}' is not a boolean"),
        "dryRun=true shows the requests without sending them",
    )
}

/// A native dry run's answer: 200 with the preview (nothing was accepted, so never 202).
pub fn native(preview: engine::DryRun) -> Response {
    (StatusCode::OK, Json(json!(preview))).into_response()
}

/// What a seed request produced: an outcome, or a dry run's preview.
pub enum SeedAnswer {
    Done(engine::Outcome),
    Preview(Box<engine::DryRun>),
    /// A seed bulk form, accepted as a job (`crate::jobs::seed_accepted`).
    Job(Box<engine::JobView>),
}

/// A seed dry run in the seed's envelope: `success`, the addressing fields, `dryRun: true`, and
/// the preview as `data`.
pub fn seed_envelope(call: &SeedCall, preview: engine::DryRun, started: Instant) -> Response {
    let timestamp =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let body = json!({
        "success": true,
        "dryRun": true,
        "action": preview.action,
        "service": preview.product.key(),
        "tenantId": preview.tenant,
        "correlationId": call.correlation_id,
        "timestamp": timestamp,
        "durationMs": started.elapsed().as_millis() as u64,
        "data": preview,
    });
    (StatusCode::OK, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_a_boolean_wherever_it_comes() {
        assert!(requested(&Query(vec![("dryrun".into(), "true".into())])).unwrap());
        assert!(!requested(&Query(vec![])).unwrap());
        let e = requested(&Query(vec![("dryRun".into(), "maybe".into())])).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let body = json!({"action": "IsolateDevice", "parameters": {"dryRun": true}});
        assert!(requested_in_seed(&[], body.as_object().unwrap()).unwrap());
        let mut body = json!({"dryRun": "1", "action": "x"}).as_object().unwrap().clone();
        assert!(take_from_body(&mut body).unwrap());
        assert!(!body.contains_key("dryRun"));
    }
}
