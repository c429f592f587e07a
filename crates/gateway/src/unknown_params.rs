//! Unknown parameters are answers, not silence (issue 15: `isolationTyp: "Selective"` ran a
//! Full isolation).
//!
//! - native routes (`/v1/tenants/{tenant}/actions/...`): a key the action does not declare is a
//!   400 naming it, with the closest declared name as the hint;
//! - seed routes: the seed's envelope keys are lifted out before this (`seed::ENVELOPE_KEYS`);
//!   a remaining unknown key within edit distance 2 of a declared parameter is a 400 (a typo
//!   of something that matters), any other is ignored and listed in the answer's `warnings`,
//!   since seed clients send extra keys of their own.
//!
//! An action name that does not resolve is left to the engine, which answers it (404 with
//! close matches, or 400 for an ambiguous name).

use axum::body::Body;
use axum::response::Response;
use catalog::params::unknown::{UnknownKey, unknown_keys};
use catalog::{ActionSpec, Catalog, Product};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Native routes: every unknown key is refused.
pub fn check_native(product: Product, action: &str, params: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(spec) = spec(Some(product), action) else { return Ok(()) };
    match unknown_keys(spec.params, params).into_iter().next() {
        Some(u) => Err(refusal(spec, &u)),
        None => Ok(()),
    }
}

/// Seed routes: a typo is refused; other unknown keys come back as warnings.
pub fn check_seed(
    product: Option<Product>,
    action: &str,
    params: &Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let Some(spec) = spec(product, action) else { return Ok(vec![]) };
    let unknown = unknown_keys(spec.params, params);
    if let Some(typo) = unknown.iter().find(|u| u.is_typo()) {
        return Err(refusal(spec, typo));
    }
    Ok(unknown
        .iter()
        .map(|u| format!("parameter '{}' is not one {} takes; it was ignored", u.key, spec.name))
        .collect())
}

fn spec(product: Option<Product>, action: &str) -> Option<&'static ActionSpec> {
    Catalog::global().resolve(product, action).ok()
}

fn refusal(spec: &ActionSpec, u: &UnknownKey) -> ApiError {
    let message = format!("unknown parameter '{}' for {}", u.key, spec.name);
    let hint = match u.closest {
        Some(name) => format!("did you mean '{name}'? GET /v1/catalog lists {}'s parameters", spec.name),
        None => format!("{} takes no parameters", spec.name),
    };
    let mut err = ApiError::bad_request(&u.key, message, hint).with_code("UnknownParameter");
    if let Some(name) = u.closest {
        err.extra = serde_json::json!({ "closest": name });
    }
    err
}

/// The seed answer with a `warnings` array added (when there is anything to say).
pub async fn with_warnings(resp: Response, warnings: Vec<String>) -> Response {
    if warnings.is_empty() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut v: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    v["warnings"] = Value::from(warnings);
    let out = serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}
