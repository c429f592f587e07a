//! Reading request input the same careful way on every surface: size limit, JSON, query string,
//! path parameters. The extractors here reject with [`ApiError`], so a bad path encoding or a
//! malformed body is answered in the native JSON envelope naming what was wrong.

use crate::error::ApiError;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde_json::{Map, Value};
use std::convert::Infallible;

/// Path parameters, as axum's `Path`, rejected as an [`ApiError`] (400, field `path`).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::bad_request(
            "path",
            format!("the path could not be read: {}", e.body_text()),
            "percent-encode path segments as UTF-8",
        )
        .with_code("InvalidPath")
    }
}

/// The query string as ordered pairs; never fails (an unreadable query string reads as empty).
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// The first non-empty value of `key`, matched case-insensitively.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query, Infallible> {
        Ok(Query(query_pairs(&parts.uri)))
    }
}

/// The body as a JSON object (see [`json_object`]); the last extractor of a handler.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<JsonObject, ApiError> {
        json_object(req.into_body()).await.map(JsonObject)
    }
}

/// Largest request body accepted; response actions never need more.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The query string as ordered pairs (the `code` key included; callers skip it).
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query().and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).unwrap_or_default()
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

/// `Prefer: reveal-secrets`: show declared sensitive result fields once, in this answer.
pub fn reveal_requested(headers: &axum::http::HeaderMap) -> bool {
    engine::reveal_requested(headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()))
}

/// How long the caller wants to wait for a terminal state: `Prefer: wait=N` (RFC 7240) or,
/// where a header is awkward (the seed's clients), a `wait` parameter in seconds. `Prefer:
/// respond-async` means do not wait. `None`: the engine's default (20 s). Capped at 200 s.
pub fn wait_preference(
    headers: &axum::http::HeaderMap,
    param: Option<&Value>,
) -> Result<Option<std::time::Duration>, ApiError> {
    let bad = |field: &str, got: &str| {
        ApiError::bad_request(
            field,
            format!("'{got}' is not a number of seconds to wait"),
            "e.g. Prefer: wait=60 (0 to 200 seconds; 0 answers 202 at once)",
        )
    };
    if let Some(v) = param {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        };
        let secs: f64 =
            text.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0).ok_or_else(|| bad("wait", &text))?;
        return Ok(Some(std::time::Duration::from_secs_f64(secs.min(engine::MAX_WAIT.as_secs_f64()))));
    }
    for prefer in headers.get_all("prefer") {
        let Ok(prefer) = prefer.to_str() else { continue };
        for token in prefer.split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("respond-async") {
                return Ok(Some(std::time::Duration::ZERO));
            }
            if let Some((_, value)) = token.split_once('=').filter(|(name, _)| name.trim().eq_ignore_ascii_case("wait"))
            {
                let value = value.trim().trim_matches('"');
                let secs: u64 = value.parse().map_err(|_| bad("Prefer", value))?;
                return Ok(Some(std::time::Duration::from_secs(secs).min(engine::MAX_WAIT)));
            }
        }
    }
    Ok(None)
}

/// The `Idempotency-Key` header. An empty or blank key (or one that is not text) is a 400:
/// taken as a key, every request sending it would be "the same request" as the first one.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() => Ok(Some(key.to_string())),
        _ => Err(ApiError::bad_request(
            "Idempotency-Key",
            "the Idempotency-Key header is empty or not text",
            "send a unique visible-ASCII key per request (e.g. a UUID), or leave the header out",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use std::time::Duration;

    #[test]
    fn wait_comes_from_prefer_or_a_parameter() {
        let mut h = HeaderMap::new();
        assert_eq!(wait_preference(&h, None).unwrap(), None);
        h.insert("prefer", HeaderValue::from_static("return=minimal, wait=7"));
        assert_eq!(wait_preference(&h, None).unwrap(), Some(Duration::from_secs(7)));
        h.insert("prefer", HeaderValue::from_static("wait=100000"));
        assert_eq!(wait_preference(&h, None).unwrap(), Some(engine::MAX_WAIT));
        h.insert("prefer", HeaderValue::from_static("respond-async"));
        assert_eq!(wait_preference(&h, None).unwrap(), Some(Duration::ZERO));
        h.insert("prefer", HeaderValue::from_static("wait=soon"));
        assert_eq!(wait_preference(&h, None).unwrap_err().field.as_deref(), Some("Prefer"));
        assert_eq!(wait_preference(&h, Some(&Value::from("3"))).unwrap(), Some(Duration::from_secs(3)));
        assert_eq!(wait_preference(&h, Some(&Value::from(-1))).unwrap_err().field.as_deref(), Some("wait"));
    }

    #[test]
    fn an_empty_idempotency_key_is_refused() {
        let mut h = HeaderMap::new();
        assert_eq!(idempotency_key(&h).unwrap(), None);
        h.insert("idempotency-key", HeaderValue::from_static("abc-1"));
        assert_eq!(idempotency_key(&h).unwrap().as_deref(), Some("abc-1"));
        for bad in ["", "   "] {
            h.insert("idempotency-key", HeaderValue::from_static(bad));
            let err = idempotency_key(&h).unwrap_err();
            assert_eq!((err.status.as_u16(), err.field.as_deref()), (400, Some("Idempotency-Key")));
        }
        h.insert("idempotency-key", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(idempotency_key(&h).unwrap_err().status.as_u16(), 400);
    }
}
