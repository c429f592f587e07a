//! The ARM steps of the Azure network and compute procedures: GET / PUT / DELETE / POST at an
//! api-version, a 404 on a named resource as a 400 naming the parameter, and long-running
//! operations finished before the next step (upstream-apis.md §5.1). Paths come from
//! `arm.rs` (`resource_path`), shared with the data and Defender for Cloud procedures.
//!
//! A procedure whose last step is long-running hands the monitor back in [`Carried::follow`]
//! ([`last_step`]), so the tracker follows it like a one-call action; an earlier step that the
//! next one depends on (the isolation NSG must exist before a NIC points at it) is followed to
//! its end here ([`finish`]), and its failure is the procedure's, with ARM's error.

use crate::EngineError;
use crate::completion::{self, Progress, Tracking};
use crate::plan::Carried;
use crate::procedures::Ctx;
use catalog::{Completion, ParamError};
use serde_json::Value;
use std::time::Duration;
use upstream::{Api, ApiRequest, ApiResponse, Method};

/// Microsoft.Network's api-version for every network step.
pub const NETWORK: &str = "2024-05-01";
/// Microsoft.Compute's for virtual machines.
pub const COMPUTE: &str = "2024-07-01";
/// Microsoft.Compute's for disks and snapshots.
pub const DISKS: &str = "2024-03-02";
/// Microsoft.ContainerService's (AKS).
pub const AKS: &str = "2024-09-01";
/// Microsoft.HybridCompute's (Azure Arc-enabled servers).
pub const HYBRID: &str = "2024-07-10";
/// Microsoft.Web's (App Service).
pub const WEB: &str = "2023-12-01";

/// How long an intermediate step may run before the procedure gives up waiting (the operation
/// is left to finish upstream; the answer says so).
const STEP_DEADLINE: Duration = Duration::from_secs(120);
const MIN_POLL: Duration = Duration::from_millis(200);

pub async fn get(ctx: &Ctx<'_>, path: &str, version: &str) -> Result<Value, EngineError> {
    let req = ApiRequest::get(Api::Arm, path).with_query("api-version", version);
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?.body)
}

/// A GET whose 404 means the caller named something that does not exist: a 400 naming `field`.
pub async fn get_named(ctx: &Ctx<'_>, path: &str, version: &str, field: &str) -> Result<Value, EngineError> {
    get(ctx, path, version).await.map_err(|e| not_found_is_param(e, field, path))
}

pub async fn put(ctx: &Ctx<'_>, path: &str, version: &str, body: Value) -> Result<ApiResponse, EngineError> {
    let req = ApiRequest::new(Api::Arm, Method::Put, path).with_query("api-version", version).with_body(body);
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

pub async fn post(ctx: &Ctx<'_>, path: &str, version: &str, body: Value) -> Result<ApiResponse, EngineError> {
    let req = ApiRequest::new(Api::Arm, Method::Post, path).with_query("api-version", version).with_body(body);
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

pub async fn delete(ctx: &Ctx<'_>, path: &str, version: &str) -> Result<ApiResponse, EngineError> {
    let req = ApiRequest::new(Api::Arm, Method::Delete, path).with_query("api-version", version);
    Ok(ctx.engine.upstream().call(ctx.creds, req).await?)
}

/// ARM's 404 for a resource the caller named, as a 400 naming the parameter.
pub fn not_found_is_param(e: EngineError, field: &str, path: &str) -> EngineError {
    match e {
        EngineError::UpstreamRejected { status: 404, code, message, .. } => EngineError::InvalidParam(ParamError {
            field: field.into(),
            message: format!("names nothing Azure knows ({code}: {message})"),
            hint: format!("check the name and its resource group and subscription ({path})"),
        }),
        other => other,
    }
}

/// Waits for a write's long-running operation to end; `Ok` only when it succeeded.
pub async fn finish(ctx: &Ctx<'_>, resp: &ApiResponse) -> Result<(), EngineError> {
    finish_body(ctx, resp).await.map(drop)
}

/// [`finish`], answering the operation's final body (a `Location` monitor's result, e.g. an AKS
/// command result); the first answer's body when it was not long-running.
pub async fn finish_body(ctx: &Ctx<'_>, resp: &ApiResponse) -> Result<Value, EngineError> {
    let Some(tracking) = Tracking::from_answer(Completion::ArmOperation, resp) else {
        return Ok(resp.body.clone());
    };
    let upstream = ctx.engine.upstream();
    match completion::follow(upstream, ctx.creds, &tracking, MIN_POLL, STEP_DEADLINE).await? {
        Progress::Done { state: crate::OpState::Succeeded, body, .. } => Ok(body),
        Progress::Done { error, .. } => Err(operation_failed(error)),
        Progress::Running { .. } => Err(EngineError::UpstreamTimeout),
    }
}

fn operation_failed(error: Option<Value>) -> EngineError {
    let error = error.unwrap_or(Value::Null);
    let text = |k: &str| error.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    EngineError::UpstreamFailed {
        status: error.get("status").and_then(Value::as_u64).map(|s| s as u16).unwrap_or(500),
        code: Some(text("code")).filter(|c| !c.is_empty()).unwrap_or_else(|| "OperationFailed".into()),
        message: text("message"),
        request_id: None,
    }
}

/// The answer of a procedure whose last write is `resp`: its long-running operation, if any, is
/// followed by the tracker.
pub fn last_step(resp: ApiResponse, data: Value) -> Carried {
    Carried {
        follow: Tracking::from_answer(Completion::ArmOperation, &resp),
        data,
        request_ids: resp.request_id.into_iter().collect(),
        machine_action_ids: vec![],
        failed_targets: 0,
    }
}

/// Serialises this process's read-modify-write of one resource (a WAF or firewall policy): the
/// guard is held while the resource is read, edited and written back, so two edits of the same
/// policy never overwrite each other's values.
pub async fn serialised(resource_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let lock = {
        let mut map = LOCKS.lock().expect("the lock map is never poisoned: no code panics while holding it");
        map.entry(resource_id.to_ascii_lowercase()).or_default().clone()
    };
    lock.lock_owned().await
}
