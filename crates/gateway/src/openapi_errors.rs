//! The error half of the OpenAPI document, generated from the error type (issue 15 §1: the
//! document omitted 400, 401, 403, 404, 409, 413, 422, 429 and 501 and their schema).
//!
//! Which statuses exist is not written down here: [`error_statuses`] runs one sample of every
//! [`EngineError`] variant (and of [`library::LibraryError`], the auth refusals and the
//! last-resort layer's statuses) through the same conversions the handlers use
//! (`ApiError::from`, `error::for_status`), and [`add_error_responses`] gives every operation of
//! the document each resulting status, pointing at the one `Error` schema. A new variant or a
//! changed mapping therefore changes the document; [`samples_cover_every_variant`] stops the
//! build when a variant has no sample.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use engine::EngineError;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, for_status};

/// The `Error` schema: the body [`ApiError`]'s `IntoResponse` writes, `{"error": {...}}` with
/// `ApiError::body`'s members (`code`, `message`, `field`, `hint`, and the extra members the
/// conversions merge in).
pub(crate) fn error_schema() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "type": "object", "required": ["error"],
        "properties": { "error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "description": "stable error code (e.g. InvalidParameter, UnknownTenant), or Microsoft's code for its rejections" },
                "message": { "type": "string" },
                "field": { "type": "string", "description": "the input at fault (body field, query parameter, header)" },
                "hint": { "type": "string", "description": "what to do about it" },
                "closeMatches": strings.clone(),
                "closest": { "type": "string", "description": "the declared parameter closest to an unknown one" },
                "products": strings,
                "reason": { "type": "string" },
                "nearest": nullable_string.clone(),
                "pendingAction": { "description": "the pending upstream action an equivalent one conflicts with" },
                "upstreamStatus": { "type": "integer" },
                "upstreamRequestId": nullable_string,
                "verification": { "description": "what reading the target back showed" },
                "operationId": { "type": "string" },
                "tenants": { "type": "array", "description": "per tenant: the hunt's status, or the tenants to choose from" }
            }
        } }
    })
}

/// One sample of every [`EngineError`] variant.
fn engine_samples() -> Vec<EngineError> {
    let text = || "sample".to_string();
    let param = catalog::ParamError { field: "deviceId".into(), message: text(), hint: text() };
    vec![
        EngineError::UnknownTenant(text()),
        EngineError::UnknownAction { name: text(), product: None, close: vec![] },
        EngineError::AmbiguousAction { name: text(), products: "mde, entra".into() },
        EngineError::InvalidParam(param),
        EngineError::Forbidden(text()),
        EngineError::Unsupported { action: text(), reason: text(), nearest: None },
        EngineError::PendingConflict { message: text(), pending: None },
        EngineError::UpstreamRejected { status: 400, code: "BadRequest".into(), message: text(), request_id: None },
        EngineError::UpstreamRejected { status: 404, code: "NotFound".into(), message: text(), request_id: None },
        EngineError::UpstreamRejected { status: 409, code: "Conflict".into(), message: text(), request_id: None },
        EngineError::UpstreamFailed { status: 500, code: "InternalError".into(), message: text(), request_id: None },
        EngineError::IdempotencyMismatch { key: text(), operation: text(), action: text() },
        EngineError::NotAdmitted { retry_after: std::time::Duration::from_secs(1) },
        EngineError::NotVerified { action: text(), within_secs: 1, read: Value::Null },
        EngineError::Throttled { retry_after: None },
        EngineError::UpstreamTimeout,
        EngineError::HuntFailed { count: 1, all_throttled: false, retry_after: None, tenants: json!([]) },
        EngineError::HuntFailed { count: 1, all_throttled: true, retry_after: None, tenants: json!([]) },
        EngineError::OperationNotFound(text()),
        EngineError::NotFound(text()),
        EngineError::Conflict(text()),
        EngineError::Library(library::LibraryError::InvalidName { field: "fileName", message: text(), hint: text() }),
        EngineError::Library(library::LibraryError::NotFound { name: text() }),
        EngineError::Library(library::LibraryError::TooLarge { size: 2, max: 1 }),
        EngineError::Library(library::LibraryError::Storage(text())),
        EngineError::Store(std::sync::Arc::new(store::StoreError::Conflict(text()))),
        EngineError::Internal(text()),
    ]
}

/// Compile-time guard: a new [`EngineError`] variant fails to build here until it has a sample
/// in [`engine_samples`] (and so a place in the document).
#[allow(dead_code)]
fn samples_cover_every_variant(e: &EngineError) {
    match e {
        EngineError::UnknownTenant(_)
        | EngineError::UnknownAction { .. }
        | EngineError::AmbiguousAction { .. }
        | EngineError::InvalidParam(_)
        | EngineError::Forbidden(_)
        | EngineError::Unsupported { .. }
        | EngineError::PendingConflict { .. }
        | EngineError::UpstreamRejected { .. }
        | EngineError::UpstreamFailed { .. }
        | EngineError::IdempotencyMismatch { .. }
        | EngineError::NotAdmitted { .. }
        | EngineError::NotVerified { .. }
        | EngineError::Throttled { .. }
        | EngineError::UpstreamTimeout
        | EngineError::HuntFailed { .. }
        | EngineError::OperationNotFound(_)
        | EngineError::NotFound(_)
        | EngineError::Conflict(_)
        | EngineError::Library(_)
        | EngineError::Store(_)
        | EngineError::Internal(_) => {}
    }
}

/// Statuses answered by layers rather than handlers (`error::for_status`): malformed input,
/// a body over the limit or of the wrong type, the listener's whole-request timeout.
const LAYER_STATUSES: [StatusCode; 4] = [
    StatusCode::BAD_REQUEST,
    StatusCode::PAYLOAD_TOO_LARGE,
    StatusCode::UNSUPPORTED_MEDIA_TYPE,
    StatusCode::REQUEST_TIMEOUT,
];

/// Every error the gateway can answer, as the `ApiError` a handler or layer would return.
pub(crate) fn error_samples() -> Vec<ApiError> {
    let mut all: Vec<ApiError> = engine_samples().into_iter().map(ApiError::from).collect();
    all.push(ApiError::unauthorized("no or unknown key"));
    all.extend(LAYER_STATUSES.into_iter().map(for_status));
    all
}

/// Status → the stable codes that answer it, from [`error_samples`].
pub(crate) fn error_statuses() -> BTreeMap<u16, BTreeSet<String>> {
    let mut by_status: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for e in error_samples() {
        by_status.entry(e.status.as_u16()).or_default().insert(e.code.clone());
    }
    by_status
}

/// Whether an operation can answer `status`: body statuses only where there is a body, and
/// no 401 where no key is asked for (`security: []`).
fn applies(status: u16, operation: &Value) -> bool {
    let has_body = operation.get("requestBody").is_some();
    let open = operation.get("security").and_then(Value::as_array).is_some_and(Vec::is_empty);
    match status {
        413 | 415 => has_body,
        401 => !open,
        _ => true,
    }
}

fn describe(status: u16, codes: &BTreeSet<String>) -> String {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    format!("{reason} (error.code: {}, or Microsoft's code where it rejected the request)", codes.join(", "))
}

/// A response whose body is the `Error` schema.
pub(crate) fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// Gives every operation of `paths` each error status the error type produces (keeping a
/// route's own, more specific description where it has one), every error response the
/// `Error` schema.
pub(crate) fn add_error_responses(paths: &mut Map<String, Value>) {
    let statuses = error_statuses();
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for operation in item.values_mut() {
            let applicable: Vec<(u16, String)> = statuses
                .iter()
                .filter(|(s, _)| applies(**s, operation))
                .map(|(s, codes)| (*s, describe(*s, codes)))
                .collect();
            let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, description) in applicable {
                responses.entry(status.to_string()).or_insert_with(|| error_response(&description));
            }
            for (status, response) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    response["content"] =
                        json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// The statuses issue 15 found missing, plus the ones every route shares.
    const EXPECTED: [u16; 15] = [400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 501, 502, 503, 504];

    #[test]
    fn the_error_type_produces_every_status_the_issue_lists() {
        let statuses: Vec<u16> = error_statuses().keys().copied().collect();
        assert_eq!(statuses, EXPECTED);
    }

    #[test]
    fn every_operation_lists_its_error_responses_with_the_error_schema() {
        let doc = crate::openapi::document();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let responses = op["responses"].as_object().unwrap();
                for status in EXPECTED.into_iter().filter(|s| applies(*s, op)) {
                    assert!(responses.contains_key(&status.to_string()), "{method} {path} omits {status}");
                }
                for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        assert!(operations > 100, "the catalog's actions are in the document ({operations})");
        assert_eq!(doc["components"]["schemas"]["Error"], error_schema());
    }

    #[tokio::test]
    async fn every_real_error_body_validates_against_the_schema() {
        let schema = error_schema();
        let mut extras = error_samples();
        // The extra members other modules merge in.
        let mut closest = ApiError::bad_request("isolationTyp", "unknown parameter", "did you mean isolationType?");
        closest.extra = json!({ "closest": "isolationType" });
        extras.push(closest);
        let mut close =
            ApiError::from(EngineError::UnknownAction { name: "x".into(), product: None, close: vec!["y".into()] });
        close.retry_after = Some(std::time::Duration::from_secs(2));
        extras.push(close);
        for e in extras {
            let status = e.status;
            let response = e.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()["content-type"], "application/json");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            let problems = validate(&body, &schema, "$");
            assert!(problems.is_empty(), "{status}: {body} does not match the Error schema: {problems:?}");
        }
        // The validator is not a rubber stamp.
        assert!(!validate(&json!({ "error": { "code": 1 } }), &schema, "$").is_empty());
        assert!(!validate(&json!({ "message": "x" }), &schema, "$").is_empty());
        assert!(
            !validate(&json!({ "error": { "code": "c", "message": "m", "upstreamStatus": "x" } }), &schema, "$")
                .is_empty()
        );
    }

    /// The JSON Schema keywords the `Error` schema uses: type (one or a list), required,
    /// properties, items.
    fn validate(v: &Value, schema: &Value, at: &str) -> Vec<String> {
        let mut problems = vec![];
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                t => vec![t.as_str().unwrap()],
            };
            let ok = types.iter().any(|t| match *t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                other => panic!("validator lacks type {other}"),
            });
            if !ok {
                problems.push(format!("{at}: not {types:?}"));
                return problems;
            }
        }
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if v.get(r.as_str().unwrap()).is_none() {
                problems.push(format!("{at}: missing {r}"));
            }
        }
        if let (Some(props), Some(obj)) = (schema.get("properties").and_then(Value::as_object), v.as_object()) {
            for (k, x) in obj {
                if let Some(s) = props.get(k) {
                    problems.extend(validate(x, s, &format!("{at}.{k}")));
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                problems.extend(validate(x, items, &format!("{at}[{i}]")));
            }
        }
        problems
    }
}
