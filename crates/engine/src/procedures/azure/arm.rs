//! ARM paths and calls every Azure area shares (network and compute through `steps.rs`, data,
//! security and Defender for Cloud directly): paths built from validated names (each segment
//! percent-encoded), one call with its api-version, and the answer of a procedure that made
//! several calls.

use crate::EngineError;
use crate::plan::{Carried, encode_segment};
use crate::procedures::Ctx;
use catalog::ParamError;
use serde_json::Value;
use upstream::{Api, ApiRequest, ApiResponse, Method};

/// `/subscriptions/{sub}/resourceGroups/{rg}`, encoded.
pub fn group_path(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/{}", encode_segment(subscription), encode_segment(group))
}

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/{kind}/{name}`, the names encoded.
pub fn resource_path(subscription: &str, group: &str, namespace_type: &str, name: &str) -> String {
    format!("{}/providers/{namespace_type}/{}", group_path(subscription, group), encode_segment(name))
}

/// One ARM call at `version`.
pub async fn call(
    ctx: &Ctx<'_>,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> Result<ApiResponse, upstream::UpstreamError> {
    let req =
        ApiRequest { api: Api::Arm, method, path: path.to_string(), query: vec![], body, group: Default::default() }
            .with_query("api-version", version);
    ctx.engine.upstream().call(ctx.creds, req).await
}

/// Every item of an ARM list (following `nextLink`).
pub async fn list(ctx: &Ctx<'_>, path: &str, version: &str) -> Result<Vec<Value>, EngineError> {
    let req = ApiRequest::get(Api::Arm, path).with_query("api-version", version);
    Ok(ctx.engine.upstream().get_paged(ctx.creds, req, 100_000).await?.items)
}

/// Whether an upstream error is ARM's 404 (the resource is not there).
pub fn is_not_found(e: &upstream::UpstreamError) -> bool {
    matches!(e, upstream::UpstreamError::Api { status: 404, .. })
}

/// A procedure's answer with the request ids of the calls it made.
pub fn carried(data: Value, responses: &[&ApiResponse]) -> Carried {
    Carried {
        data,
        request_ids: responses.iter().filter_map(|r| r.request_id.clone()).collect(),
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    }
}

/// A 400 naming the field.
pub fn invalid(field: &str, message: impl Into<String>, hint: impl Into<String>) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.into(), message: message.into(), hint: hint.into() })
}
