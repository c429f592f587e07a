//! Library actions (upload, list, get with a signed link, delete, push to MDE) and the check
//! every command makes first: is the script or file in MDE's library, and is it ours?

use super::scripts;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, answer, optional, required};
use base64::Engine as _;
use catalog::{ParamError, Params, ProcedureId};
use library::{FileMeta, NewFile, ObjectKey};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use upstream::{Api, ApiRequest, FormField, FormValue};

/// Documented: MDE's library takes files up to 20 MB.
pub const MDE_MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// How long a "MDE has this exact file" answer is trusted, to spare the 100/min budget in bursts.
const PUSH_CACHE_TTL: Duration = Duration::from_secs(60);

/// (tenant, lowercase name) → (sha256 MDE holds, when we learnt it).
#[derive(Default)]
pub struct PushCache(Mutex<HashMap<(String, String), (String, Instant)>>);

impl PushCache {
    fn fresh(&self, tenant: &str, name: &str, sha256: &str) -> bool {
        self.0
            .lock()
            .get(&(tenant.to_string(), name.to_ascii_lowercase()))
            .is_some_and(|(sha, at)| sha == sha256 && at.elapsed() < PUSH_CACHE_TTL)
    }

    fn remember(&self, tenant: &str, name: &str, sha256: &str) {
        self.0.lock().insert((tenant.to_string(), name.to_ascii_lowercase()), (sha256.to_string(), Instant::now()));
    }
}

/// `UploadToLibrary`: store a file given as base64 in Riposte's library.
pub struct Upload {
    name: String,
    bytes: Vec<u8>,
    description: Option<String>,
    parameters_description: Option<String>,
    has_parameters: bool,
}

impl TryFrom<&Params> for Upload {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Upload {
            name: args.text("fileName")?,
            bytes: decode(&args.text("content")?)?,
            description: args.opt_text("description")?,
            parameters_description: args.opt_text("parametersDescription")?,
            has_parameters: args.bool("hasParameters")?,
        })
    }
}

impl Procedure for Upload {
    const ID: ProcedureId = ProcedureId("mde.live_response.upload_to_library");
    const READS: &'static [Read] = &[
        required("fileName"),
        required("content"),
        optional("description"),
        optional("parametersDescription"),
        required("hasParameters"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let library = ctx.engine.live_response().library()?;
        let new = NewFile {
            uploaded_by: ctx.principal.name.clone(),
            description: self.description,
            parameters_description: self.parameters_description,
            has_parameters: self.has_parameters,
        };
        Ok(answer(json!({ "file": library.put(ctx.tenant, &self.name, self.bytes.into(), new).await? })))
    }
}

/// `ListLibraryFiles`: the tenant's library.
pub struct List;

impl TryFrom<&Params> for List {
    type Error = EngineError;
    fn try_from(_: &Params) -> Result<Self, EngineError> {
        Ok(List)
    }
}

impl Procedure for List {
    const ID: ProcedureId = ProcedureId("mde.live_response.list_library_files");
    const READS: &'static [Read] = &[];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let files = ctx.engine.live_response().library()?.list(ctx.tenant).await?;
        Ok(answer(json!({ "count": files.len(), "value": files })))
    }
}

/// One library file by name: what `GetLibraryFile`, `DeleteLibraryFile` and `PushToMdeLibrary`
/// read.
pub struct Named {
    name: String,
}

impl Named {
    fn read<P: Procedure>(params: &Params) -> Result<Named, EngineError> {
        Ok(Named { name: Args::of::<P>(params).text("fileName")? })
    }
}

/// `GetLibraryFile`: metadata and a signed download link.
pub struct Get(Named);

impl TryFrom<&Params> for Get {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Named::read::<Self>(params).map(Get)
    }
}

impl Procedure for Get {
    const ID: ProcedureId = ProcedureId("mde.live_response.get_library_file");
    const READS: &'static [Read] = &[required("fileName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let library = ctx.engine.live_response().library()?;
        let name = &self.0.name;
        let meta = library.meta(ctx.tenant, name).await?;
        Ok(answer(json!({ "file": meta, "download": library.links().sign(&ObjectKey::library(ctx.tenant, name)) })))
    }
}

/// `DeleteLibraryFile`: from Riposte's library only (MDE's copy is left alone).
pub struct Delete(Named);

impl TryFrom<&Params> for Delete {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Named::read::<Self>(params).map(Delete)
    }
}

impl Procedure for Delete {
    const ID: ProcedureId = ProcedureId("mde.live_response.delete_library_file");
    const READS: &'static [Read] = &[required("fileName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let library = ctx.engine.live_response().library()?;
        Ok(answer(json!({ "deleted": library.delete(ctx.tenant, &self.0.name).await? })))
    }
}

/// `PushToMdeLibrary`: upload a Riposte library file to MDE's live-response library.
pub struct Push(Named);

impl TryFrom<&Params> for Push {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Named::read::<Self>(params).map(Push)
    }
}

impl Procedure for Push {
    const ID: ProcedureId = ProcedureId("mde.live_response.push_to_mde_library");
    const READS: &'static [Read] = &[required("fileName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (meta, bytes) = ctx.engine.live_response().library()?.read(ctx.tenant, &self.0.name).await?;
        let resp = push(ctx, &meta, bytes, "fileName").await?;
        Ok(Carried {
            data: json!({ "file": meta, "mdeLibraryFile": resp.body }),
            request_ids: resp.request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

fn decode(content: &str) -> Result<Vec<u8>, EngineError> {
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|e| {
        EngineError::InvalidParam(ParamError {
            field: "content".into(),
            message: format!("is not base64: {e}"),
            hint: "send the file's bytes base64-encoded (standard alphabet, with padding)".into(),
        })
    })
}

/// Make sure MDE's library holds `name` before a command uses it. Riposte's library (or a
/// built-in helper) is the source of truth: a missing or different copy in MDE is replaced. A
/// name Riposte does not know is accepted only if MDE already has it (uploaded in the portal);
/// otherwise the caller hears which field named a file that exists nowhere.
pub async fn ensure_in_mde(ctx: &Ctx<'_>, name: &str, field: &'static str) -> Result<(), EngineError> {
    let library = ctx.engine.live_response().library()?;
    let ours = match library.meta(ctx.tenant, name).await {
        Ok(meta) => Some(library.read(ctx.tenant, &meta.name).await?),
        Err(library::LibraryError::NotFound { .. } | library::LibraryError::InvalidName { .. }) => {
            scripts::builtin(name).map(|b| (builtin_meta(b), bytes::Bytes::from_static(b.body.as_bytes())))
        }
        Err(e) => return Err(e.into()),
    };
    let cache = &ctx.engine.live_response().pushed;
    if let Some((meta, _)) = &ours
        && cache.fresh(ctx.tenant, &meta.name, &meta.sha256)
    {
        return Ok(());
    }
    let theirs = mde_library(ctx).await?;
    let held = theirs.iter().find(|f| f["fileName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    match (ours, held) {
        (Some((meta, _)), Some(h)) if h["sha256"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(&meta.sha256)) => {
            cache.remember(ctx.tenant, &meta.name, &meta.sha256);
            Ok(())
        }
        (Some((meta, bytes)), _) => {
            push(ctx, &meta, bytes, field).await?;
            cache.remember(ctx.tenant, &meta.name, &meta.sha256);
            Ok(())
        }
        (None, Some(_)) => Ok(()),
        (None, None) => Err(EngineError::InvalidParam(ParamError {
            field: field.to_string(),
            message: format!("no library file named '{name}' in Riposte's library or MDE's"),
            hint:
                "upload it first (UploadToLibrary, or POST /v1/library?name=...); ListLibraryFiles lists what is there"
                    .into(),
        })),
    }
}

fn builtin_meta(b: &scripts::Builtin) -> FileMeta {
    use sha2::Digest;
    FileMeta {
        name: b.name.to_string(),
        size: b.body.len() as u64,
        sha256: hex::encode(sha2::Sha256::digest(b.body.as_bytes())),
        uploaded_by: "riposte".into(),
        uploaded_at: time::OffsetDateTime::UNIX_EPOCH,
        description: Some(b.description.to_string()),
        parameters_description: b.parameters.map(String::from),
        has_parameters: b.parameters.is_some(),
        operation: None,
    }
}

async fn mde_library(ctx: &Ctx<'_>) -> Result<Vec<Value>, EngineError> {
    let page =
        ctx.engine.upstream().get_paged(ctx.creds, ApiRequest::get(Api::Mde, "/api/libraryfiles"), 10_000).await?;
    Ok(page.items)
}

fn text(name: &str, v: String) -> FormField {
    FormField { name: name.into(), value: FormValue::Text(v) }
}

/// `POST /api/libraryfiles` (multipart), replacing any copy of the same name.
async fn push(
    ctx: &Ctx<'_>,
    meta: &FileMeta,
    bytes: bytes::Bytes,
    field: &str,
) -> Result<upstream::ApiResponse, EngineError> {
    if bytes.len() > MDE_MAX_FILE_BYTES {
        return Err(EngineError::InvalidParam(ParamError {
            field: field.to_string(),
            message: format!(
                "'{}' is {} bytes; MDE's library takes at most {MDE_MAX_FILE_BYTES}",
                meta.name,
                bytes.len()
            ),
            hint: "split or compress the file; larger files cannot be sent with live response".into(),
        }));
    }
    let mut form =
        vec![FormField { name: "File".into(), value: FormValue::File { file_name: meta.name.clone(), bytes } }];
    if let Some(d) = &meta.description {
        form.push(text("Description", d.clone()));
    }
    if let Some(p) = &meta.parameters_description {
        form.push(text("ParametersDescription", p.clone()));
    }
    form.push(text("HasParameters", meta.has_parameters.to_string()));
    form.push(text("OverrideIfExists", "true".into()));
    Ok(ctx.engine.upstream().post_form(ctx.creds, Api::Mde, "/api/libraryfiles", form).await?)
}
