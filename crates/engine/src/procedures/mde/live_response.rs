//! Live response and the file library.
//!
//! The story of a command (RunScript, GetFile, PutFile and the helpers built on RunScript):
//! 1. in the request: build the MDE command list, make sure the script or file is in MDE's
//!    library (pushed from Riposte's library when missing or changed), and record the session
//!    plan in the operation's `tracking.liveResponse` (stage `Queued`). The caller gets 202 and
//!    the operation id;
//! 2. in the background ([`carry_on`], also resumed after a restart): wait for a session slot
//!    (one per machine, 25 per tenant: [`gate`]), record stage `Posting`, `POST runliveresponse`
//!    under the live-response budget, record the MachineAction id (stage `Posted`);
//! 3. wait for the session's end ([`poller`], one poll per tenant per interval);
//! 4. fetch each command's result with `GetLiveResponseResultDownloadLink`: RunScript
//!    transcripts go into the operation result, GetFile bytes into the library behind a signed
//!    Riposte link;
//! 5. record the final status and the `completed` audit record.
//!
//! A crash between "Posting" and "Posted" is the only window where a session may exist without
//! its id on record; the comment carries `[riposte:{operation}]`, so a resumed run finds that
//! session instead of starting a second one.

pub(crate) mod commands;
mod gate;
pub(crate) mod library_ops;
mod poller;
mod scripts;

use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use crate::{Engine, EngineError, status};
use catalog::{ParamError, Params, ProcedureId};
use library::Library;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use store::{NewAuditEvent, Operation, OperationUpdate};
use upstream::{Api, ApiRequest, Budget, Method, TenantCredentials};
use uuid::Uuid;

/// How often a foreign session on the same machine (400 `ActiveRequestAlreadyExists`) is retried
/// before the command fails; with a 5 s poll interval this waits up to 10 minutes.
const CONFLICT_RETRIES: u32 = 120;

/// Live-response state shared by all operations of one engine.
pub struct Runtime {
    library: OnceLock<Library>,
    gate: gate::Gate,
    pub(crate) poller: poller::Poller,
    pushed: library_ops::PushCache,
    interval: Duration,
}

impl Runtime {
    pub fn new(poll_interval: Duration) -> Runtime {
        Runtime {
            library: OnceLock::new(),
            gate: gate::Gate::default(),
            poller: poller::Poller::default(),
            pushed: library_ops::PushCache::default(),
            interval: poll_interval,
        }
    }

    /// Install the library (once, at start-up).
    pub fn set_library(&self, library: Library) -> bool {
        self.library.set(library).is_ok()
    }

    pub fn library(&self) -> Result<&Library, EngineError> {
        self.library.get().ok_or_else(|| EngineError::Internal("the file library is not configured".into()))
    }
}

/// The durable plan of one session, kept in the operation's `tracking.liveResponse`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    machine_id: String,
    /// MDE's `Commands`, exactly as posted.
    commands: Vec<Value>,
    comment: String,
    stage: Stage,
    action_id: Option<String>,
    created: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Stage {
    Queued,
    Posting,
    Posted,
    Done,
}

/// Step 1: prepare the session and queue it. Each library file a command names must be in MDE's
/// library (`field` is the input that named it, for the error when it is nowhere).
async fn start(
    ctx: &Ctx<'_>,
    machine_id: String,
    comment: &str,
    commands: Vec<Value>,
    field: &'static str,
) -> Result<Carried, EngineError> {
    for c in &commands {
        if let Some(name) = library_file_of(c) {
            library_ops::ensure_in_mde(ctx, &name, field).await?;
        }
    }
    let session = Session {
        machine_id: machine_id.clone(),
        comment: format!("{comment} (by {} via Riposte) [riposte:{}]", ctx.principal.name, ctx.operation),
        commands,
        stage: Stage::Queued,
        action_id: None,
        created: None,
    };
    save(ctx.engine, ctx.operation, &session, status::RUNNING).await?;
    Ok(Carried {
        data: json!({ "machineId": machine_id, "commands": session.commands, "session": "Queued" }),
        request_ids: vec![],
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}

/// `{"type": .., "params": [{"key": .., "value": ..}]}`; empty values are left out (no `Args`).
pub(super) fn command(kind: &str, params: &[(&str, &str)]) -> Value {
    let params: Vec<Value> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| json!({ "key": k, "value": v })).collect();
    json!({ "type": kind, "params": params })
}

/// The library file a command needs in MDE's library.
fn library_file_of(command: &Value) -> Option<String> {
    let key = match command["type"].as_str()? {
        "RunScript" => "ScriptName",
        "PutFile" => "FileName",
        _ => return None,
    };
    Some(command["params"].as_array()?.iter().find(|p| p["key"] == key)?["value"].as_str()?.to_string())
}

pub(super) async fn is_windows(ctx: &Ctx<'_>, machine: &str) -> Result<bool, EngineError> {
    let m =
        ctx.engine.upstream().call(ctx.creds, ApiRequest::get(Api::Mde, format!("/api/machines/{machine}"))).await?;
    Ok(m.body["osPlatform"].as_str().is_some_and(|os| os.starts_with("Windows")))
}

async fn save(engine: &Engine, op: Uuid, session: &Session, status: &str) -> Result<Operation, EngineError> {
    let update = OperationUpdate {
        status: status.to_string(),
        result: None,
        error: None,
        upstream_request_ids: vec![],
        tracking: Some(json!({ "liveResponse": session })),
    };
    Ok(engine.store().update_operation(op, update).await?)
}

/// Whether an operation is a live-response session (which the machine-action tracker leaves alone).
pub fn is_session(op: &Operation) -> bool {
    op.tracking.as_ref().is_some_and(|t| t.get("liveResponse").is_some())
}

fn session_of(op: &Operation) -> Option<Session> {
    serde_json::from_value(op.tracking.as_ref()?.get("liveResponse")?.clone()).ok()
}

// ---------------------------------------------------------------------------------------------
// Background: steps 2-5
// ---------------------------------------------------------------------------------------------

/// Continue a queued or posted session in the background (after the outcome is recorded, and
/// for every unfinished session at start-up).
pub fn continue_in_background(engine: &Engine, op: Uuid) {
    let engine = engine.clone();
    tokio::spawn(async move {
        if let Err(e) = carry_on(&engine, op).await {
            tracing::error!(operation = %op, error = %e, "live-response session could not be completed");
        }
    });
}

/// Resume every unfinished session (start-up).
pub async fn resume(engine: &Engine) -> Result<usize, EngineError> {
    let ops = engine.store().operations_in_status(&[status::IN_PROGRESS], 10_000).await?;
    let mut n = 0;
    for op in ops.into_iter().filter(|o| session_of(o).is_some_and(|s| s.stage != Stage::Done)) {
        continue_in_background(engine, op.id);
        n += 1;
    }
    Ok(n)
}

async fn carry_on(engine: &Engine, id: Uuid) -> Result<(), EngineError> {
    let op = engine.operation(id).await?;
    let Some(mut session) = session_of(&op) else { return Ok(()) };
    let creds = engine.tenants().get(&op.tenant)?.clone();
    let rt = engine.live_response();
    let slot = rt.gate.acquire(&op.tenant, &session.machine_id).await;
    let mut request_ids = Vec::new();
    if session.action_id.is_none() {
        let found = match session.stage {
            Stage::Posting => find_by_marker(engine, &creds, &session, id).await,
            _ => None,
        };
        let action = match found {
            Some(a) => a,
            None => {
                session.stage = Stage::Posting;
                save(engine, id, &session, status::IN_PROGRESS).await?;
                match post(engine, &creds, &session).await {
                    Ok(resp) => {
                        request_ids.extend(resp.request_id.clone());
                        resp.body
                    }
                    Err(e) => return finish_failed(engine, &op, &mut session, e).await,
                }
            }
        };
        session.action_id = action["id"].as_str().map(String::from);
        session.created = action["creationDateTimeUtc"].as_str().map(String::from);
        session.stage = Stage::Posted;
        let update = OperationUpdate {
            status: status::IN_PROGRESS.into(),
            result: Some(
                json!({ "machineId": session.machine_id, "actionId": session.action_id, "machineAction": action }),
            ),
            error: None,
            upstream_request_ids: request_ids.clone(),
            tracking: Some(json!({ "liveResponse": session })),
        };
        engine.store().update_operation(id, update).await?;
    }
    let action_id = session.action_id.clone().unwrap_or_default();
    let created = session.created.clone().unwrap_or_default();
    let action = rt
        .poller
        .wait_final(engine, &op.tenant, &action_id, &created, rt.interval)
        .await
        .ok_or_else(|| EngineError::Internal("live-response polling stopped".into()))?;
    drop(slot);
    let outcome = results(engine, &creds, &op, &action).await;
    finish(engine, &op, &mut session, action, outcome).await
}

/// POST the session, waiting out a session some other client holds on the machine.
async fn post(engine: &Engine, creds: &TenantCredentials, s: &Session) -> Result<upstream::ApiResponse, EngineError> {
    let body = json!({ "Commands": s.commands, "Comment": s.comment });
    let req = ApiRequest::post(Api::Mde, format!("/api/machines/{}/runliveresponse", s.machine_id), body)
        .with_group(Budget::LiveResponse);
    let mut tries = 0;
    loop {
        match engine.upstream().call(creds, req.clone()).await.map_err(EngineError::from) {
            Err(EngineError::UpstreamRejected { code, .. })
                if code == "ActiveRequestAlreadyExists" && tries < CONFLICT_RETRIES =>
            {
                tries += 1;
                tokio::time::sleep(engine.live_response().interval.max(Duration::from_millis(200))).await;
            }
            other => return other,
        }
    }
}

/// The session this operation posted before a crash, recognised by the marker in its comment.
async fn find_by_marker(engine: &Engine, creds: &TenantCredentials, s: &Session, op: Uuid) -> Option<Value> {
    let req = ApiRequest::get(Api::Mde, "/api/machineactions")
        .with_query("$filter", format!("machineId eq '{}'", s.machine_id));
    let marker = format!("[riposte:{op}]");
    let page = engine.upstream().get_paged(creds, req, 10_000).await.ok()?;
    page.items.into_iter().find(|a| a["requestorComment"].as_str().is_some_and(|c| c.contains(&marker)))
}

/// Step 4: each completed command's result, by index.
async fn results(
    engine: &Engine,
    creds: &TenantCredentials,
    op: &Operation,
    action: &Value,
) -> Result<Vec<Value>, EngineError> {
    let action_id = action["id"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    for (i, c) in action["commands"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let index = c["index"].as_u64().unwrap_or(i as u64);
        let kind = c["command"]["type"].as_str().unwrap_or_default();
        let mut row =
            json!({ "index": index, "type": kind, "commandStatus": c["commandStatus"], "errors": c["errors"] });
        if c["commandStatus"] == "Completed" && matches!(kind, "RunScript" | "GetFile") {
            let got =
                fetch_result(engine, creds, &op.tenant, &op.id.to_string(), &op.principal, action_id, index, c).await?;
            merge(&mut row, got);
        }
        out.push(row);
    }
    Ok(out)
}

/// One command's result: a RunScript transcript, or a GetFile file stored behind a signed link.
#[allow(clippy::too_many_arguments)]
async fn fetch_result(
    engine: &Engine,
    creds: &TenantCredentials,
    tenant: &str,
    operation: &str,
    principal: &str,
    action_id: &str,
    index: u64,
    command: &Value,
) -> Result<Value, EngineError> {
    let path = format!("/api/machineactions/{action_id}/GetLiveResponseResultDownloadLink(index={index})");
    let link = engine.upstream().call(creds, ApiRequest::get(Api::Mde, path)).await?;
    let url = link.body["value"].as_str().ok_or_else(|| EngineError::UpstreamFailed {
        status: link.status,
        code: "UnexpectedResponse".into(),
        message: "GetLiveResponseResultDownloadLink answered without a `value` URL".into(),
        request_id: link.request_id.clone(),
    })?;
    let library = engine.live_response().library()?;
    let download = engine.upstream().download(Api::Mde, url, library.max_upload_bytes()).await?;
    if command["command"]["type"] == "RunScript"
        && let Ok(transcript) = serde_json::from_slice::<Value>(&download.bytes)
        && (transcript.get("script_output").is_some() || transcript.get("exit_code").is_some())
    {
        return Ok(json!({ "transcript": transcript }));
    }
    let device_path = command["command"]["params"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["key"] == "Path"))
        .and_then(|p| p["value"].as_str())
        .map(String::from)
        .unwrap_or_else(|| format!("result-{index}"));
    let meta = library.put_retrieved(tenant, operation, &device_path, download.bytes, principal).await?;
    let link = library.links().sign(&library::ObjectKey::retrieved(tenant, operation, &meta.name));
    Ok(
        json!({ "file": { "devicePath": device_path, "name": meta.name, "size": meta.size, "sha256": meta.sha256, "download": link } }),
    )
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

/// Step 5: the final state, durable, with its `completed` audit record.
async fn finish(
    engine: &Engine,
    op: &Operation,
    session: &mut Session,
    action: Value,
    outcome: Result<Vec<Value>, EngineError>,
) -> Result<(), EngineError> {
    let action_status = action["status"].as_str().unwrap_or("Failed").to_string();
    let (final_status, commands, error) = match outcome {
        Ok(rows) => (action_status.clone(), rows, None),
        Err(e) => (status::FAILED.to_string(), vec![], Some(crate::error_json(&e))),
    };
    let mut result = json!({
        "machineId": session.machine_id,
        "actionId": session.action_id,
        "status": action_status,
        "commands": commands,
        "machineAction": action,
    });
    // A one-command session (every Riposte action) also answers at the top level.
    if let Some(first) = commands.first() {
        for key in ["transcript", "file"] {
            if let Some(v) = first.get(key) {
                result[key] = v.clone();
            }
        }
        if let Some(out) = first.get("transcript").and_then(|t| t.get("script_output")) {
            result["output"] = out.clone();
        }
    }
    session.stage = Stage::Done;
    record_final(engine, op, session, final_status, result, error).await
}

async fn finish_failed(
    engine: &Engine,
    op: &Operation,
    session: &mut Session,
    e: EngineError,
) -> Result<(), EngineError> {
    session.stage = Stage::Done;
    let result = json!({ "machineId": session.machine_id, "commands": session.commands });
    record_final(engine, op, session, status::FAILED.to_string(), result, Some(crate::error_json(&e))).await
}

async fn record_final(
    engine: &Engine,
    op: &Operation,
    session: &Session,
    final_status: String,
    result: Value,
    error: Option<Value>,
) -> Result<(), EngineError> {
    let update = OperationUpdate {
        status: final_status.clone(),
        result: Some(result),
        error: error.clone(),
        upstream_request_ids: vec![],
        tracking: Some(json!({ "liveResponse": session })),
    };
    let detail =
        json!({ "liveResponse": { "machineId": session.machine_id, "actionId": session.action_id }, "error": error });
    let completed = crate::completed_record(op, &final_status, vec![], detail);
    engine.store().finish_step(op.id, update, completed).await?;
    engine.inner.executor.finished(op.id);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/// `GetLiveResponseResult`: one command's result, fetched again (MDE's links last 30 minutes).
pub struct GetResult {
    action_id: String,
    index: u64,
}

impl TryFrom<&Params> for GetResult {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let index = u64::try_from(args.i64("commandIndex")?)
            .map_err(|_| EngineError::Internal("commandIndex passed validation".into()))?;
        Ok(GetResult { action_id: args.text("actionId")?, index })
    }
}

impl Procedure for GetResult {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_result");
    const READS: &'static [Read] = &[required("actionId"), required("commandIndex")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let GetResult { action_id, index } = self;
        let action = ctx
            .engine
            .upstream()
            .call(ctx.creds, ApiRequest::get(Api::Mde, format!("/api/machineactions/{action_id}")))
            .await?;
        let command = action.body["commands"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["index"].as_u64() == Some(index)).or_else(|| cs.get(index as usize)))
            .cloned()
            .ok_or_else(|| {
                EngineError::InvalidParam(ParamError {
                    field: "commandIndex".into(),
                    message: format!("session {action_id} has no command {index}"),
                    hint: "commands are numbered from 0 in the order they were sent".into(),
                })
            })?;
        let mut data = fetch_result(
            ctx.engine,
            ctx.creds,
            ctx.tenant,
            &ctx.operation.to_string(),
            &ctx.principal.name,
            &action_id,
            index,
            &command,
        )
        .await?;
        data["actionId"] = action_id.into();
        data["commandIndex"] = index.into();
        Ok(Carried {
            data,
            request_ids: action.request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// `GetLiveResponseSessions`: live-response MachineActions, optionally of one machine.
pub struct ListSessions {
    machine: Option<String>,
    top: Option<i64>,
}

impl TryFrom<&Params> for ListSessions {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(ListSessions { machine: args.opt_text("deviceId")?, top: args.opt_i64("top")? })
    }
}

impl Procedure for ListSessions {
    const ID: ProcedureId = ProcedureId("mde.live_response.list_sessions");
    const READS: &'static [Read] = &[optional("deviceId"), optional("top")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut filter = "type eq 'LiveResponse'".to_string();
        if let Some(m) = &self.machine {
            filter.push_str(&format!(" and machineId eq '{m}'"));
        }
        let max = self.top.and_then(|t| usize::try_from(t).ok()).unwrap_or(10_000);
        let req = ApiRequest::new(Api::Mde, Method::Get, "/api/machineactions").with_query("$filter", filter);
        let page = ctx.engine.upstream().get_paged(ctx.creds, req, max).await?;
        Ok(Carried {
            data: json!({ "count": page.items.len(), "truncated": page.truncated, "value": page.items }),
            request_ids: page.request_ids,
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The native library routes (raw uploads that do not fit an action's JSON parameters)
// ---------------------------------------------------------------------------------------------

impl Engine {
    /// Store a library file uploaded as a raw body, authorised like `UploadToLibrary` and audited
    /// (metadata only, never the bytes).
    pub async fn upload_library_file(
        &self,
        principal: &crate::Principal,
        tenant: &str,
        name: &str,
        bytes: bytes::Bytes,
        new: library::NewFile,
    ) -> Result<library::FileMeta, EngineError> {
        let spec = self.resolve(Some(catalog::Product::Mde), "UploadToLibrary")?;
        crate::authorize(principal, tenant, spec)?;
        self.tenants().get(tenant)?;
        let meta = self.library()?.put(tenant, name, bytes, new).await?;
        self.audit_library(principal, tenant, spec.name, json!({ "file": meta })).await?;
        Ok(meta)
    }

    /// Delete a library file, authorised like `DeleteLibraryFile` and audited.
    pub async fn delete_library_file(
        &self,
        principal: &crate::Principal,
        tenant: &str,
        name: &str,
    ) -> Result<library::FileMeta, EngineError> {
        let spec = self.resolve(Some(catalog::Product::Mde), "DeleteLibraryFile")?;
        crate::authorize(principal, tenant, spec)?;
        let meta = self.library()?.delete(tenant, name).await?;
        self.audit_library(principal, tenant, spec.name, json!({ "deleted": meta })).await?;
        Ok(meta)
    }

    /// Whether the principal may read this tenant's library (list, metadata, links).
    pub fn may_read_library(&self, principal: &crate::Principal, tenant: &str) -> Result<(), EngineError> {
        let spec = self.resolve(Some(catalog::Product::Mde), "ListLibraryFiles")?;
        crate::authorize(principal, tenant, spec)?;
        self.tenants().get(tenant)?;
        Ok(())
    }

    async fn audit_library(
        &self,
        principal: &crate::Principal,
        tenant: &str,
        action: &str,
        detail: Value,
    ) -> Result<(), EngineError> {
        self.store()
            .append_audit(NewAuditEvent {
                operation_id: None,
                kind: "library".into(),
                principal: principal.name.clone(),
                tenant: Some(tenant.to_string()),
                product: Some(catalog::Product::Mde.key().into()),
                action: Some(action.to_string()),
                params: Value::Null,
                outcome: Some(status::SUCCEEDED.into()),
                upstream_request_ids: vec![],
                duration_ms: None,
                detail,
            })
            .await?;
        Ok(())
    }
}
