//! Reading request input the same careful way on every surface: size limit, JSON, query string.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{StatusCode, Uri};
use serde_json::{Map, Value};

/// Largest request body accepted; response actions never need more.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The query string as ordered pairs (the `code` key included; callers skip it).
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

/// The body as a JSON object: empty → empty object; too big → 413; not JSON or not an object → 400.
pub async fn json_object(body: Body) -> Result<Map<String, Value>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .field("body")
        .hint("send fewer items per request, or use a bulk operation")
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "body",
            format!("the body is not valid JSON: {e}"),
            "send a JSON object with Content-Type: application/json",
        )
        .with_code("InvalidJson")
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::bad_request(
            "body",
            format!("the body must be a JSON object, not {}", json_kind(&other)),
            "wrap the parameters in {...}",
        )
        .with_code("InvalidJson")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl ApiError {
    pub fn with_code(mut self, code: &str) -> ApiError {
        self.code = code.into();
        self
    }
}
