//! The live response library (upstream-apis.md §2.6): `GET /api/libraryfiles`,
//! `POST /api/libraryfiles` (multipart/form-data), `DELETE /api/libraryfiles/{fileName}`.
//!
//! Every tenant starts with the helper scripts the seed product asked for (process list/kill,
//! registry get/set/delete, file search/info) so `RunScript` has something real to run; what
//! those scripts "do" lives in `live_response.rs`. Uploaded files are kept in memory, capped at
//! 20 MB each (documented) and 100 MB per tenant (ours, to keep the sandbox's memory sane).

use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{EntitySet, collection, context, forbidden, respond, set_context, with_tenant};
use crate::auth::{Caller, MdeCaller};
use crate::clock::fmt_mde;
use crate::errors;
use crate::query::Params;
use crate::state::AppState;

/// Documented: "File max size limitation is 20MB" (upload-library).
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Not documented; the sandbox's own cap so a test cannot exhaust memory.
pub const MAX_TENANT_BYTES: usize = 100 * 1024 * 1024;
/// Room for the other form fields and multipart framing around a maximal file.
const MAX_FORM_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;

const LIBRARY_FIELDS: &[&str] = &[
    "fileName",
    "sha256",
    "description",
    "creationTime",
    "lastUpdatedTime",
    "createdBy",
    "hasParameters",
    "parametersDescription",
];
const LIBRARY: EntitySet =
    EntitySet { filterable: LIBRARY_FIELDS, fields: LIBRARY_FIELDS, entity: "LibraryFile", context: "LibraryFiles" };

#[derive(Clone, Debug)]
pub struct LibraryFile {
    pub file_name: String,
    pub content: Bytes,
    pub sha256: String,
    pub description: Option<String>,
    pub parameters_description: Option<String>,
    pub has_parameters: bool,
    pub created_by: String,
    pub creation_time: OffsetDateTime,
    pub last_updated_time: OffsetDateTime,
}

impl LibraryFile {
    fn new(file_name: &str, content: Bytes, created_by: &str, now: OffsetDateTime) -> LibraryFile {
        LibraryFile {
            file_name: file_name.to_string(),
            sha256: hex::encode(Sha256::digest(&content)),
            content,
            description: None,
            parameters_description: None,
            has_parameters: false,
            created_by: created_by.to_string(),
            creation_time: now,
            last_updated_time: now,
        }
    }

    /// The documented entity (list-library-files example).
    pub fn to_json(&self) -> Value {
        json!({
            "fileName": self.file_name,
            "sha256": self.sha256,
            "description": self.description,
            "creationTime": fmt_mde(self.creation_time),
            "lastUpdatedTime": fmt_mde(self.last_updated_time),
            "createdBy": self.created_by,
            "hasParameters": self.has_parameters,
            "parametersDescription": self.parameters_description,
        })
    }
}

/// Library lookups are case-insensitive, like file names on the portal.
pub fn find<'a>(library: &'a [LibraryFile], name: &str) -> Option<&'a LibraryFile> {
    library.iter().find(|f| f.file_name.eq_ignore_ascii_case(name))
}

/// The helper scripts every tenant's library starts with: (name, description, parameters).
/// Their behaviour is modelled in `live_response::run_script`.
pub const SEEDED_SCRIPTS: &[(&str, &str, Option<&str>)] = &[
    ("GetProcesses.ps1", "Lists running processes", None),
    ("KillProcess.ps1", "Stops a process by id or name", Some("-ProcessId <pid> | -Name <process name>")),
    ("GetRegistryValue.ps1", "Reads a registry value", Some("-Path <HKLM:\\key> -Name <value name>")),
    ("SetRegistryValue.ps1", "Writes a registry value", Some("-Path <HKLM:\\key> -Name <value name> -Value <data>")),
    ("DeleteRegistryValue.ps1", "Deletes a registry value", Some("-Path <HKLM:\\key> -Name <value name>")),
    ("FindFiles.ps1", "Finds files under a folder", Some("-Path <folder> -Pattern <wildcard>")),
    ("GetFileInfo.ps1", "Size, hash and timestamp of a file", Some("-Path <file>")),
    ("TestFailure.ps1", "Always exits with code 1 (exercises script failures)", None),
    ("get_processes.sh", "Lists running processes", None),
    ("kill_process.sh", "Stops a process by id or name", Some("<pid> | <process name>")),
    ("find_files.sh", "Finds files under a folder", Some("<folder> <wildcard>")),
    ("get_file_info.sh", "Size, hash and timestamp of a file", Some("<file>")),
];

/// A plausible script body, so downloads and hashes are real and deterministic.
fn seeded_script_body(name: &str, description: &str) -> String {
    if name.ends_with(".sh") {
        format!("#!/bin/bash\n# {description}\n# Riposte sandbox live response helper: {name}\nset -euo pipefail\n")
    } else {
        format!(
            "<#\n.SYNOPSIS\n    {description}\n.NOTES\n    Riposte sandbox live response helper: {name}\n#>\nparam([Parameter(ValueFromRemainingArguments=$true)] $Arguments)\n$ErrorActionPreference = 'Stop'\n"
        )
    }
}

/// The library a tenant starts with (created when its world was seeded).
pub fn seed(created: OffsetDateTime) -> Vec<LibraryFile> {
    SEEDED_SCRIPTS
        .iter()
        .map(|(name, description, params)| {
            let body = seeded_script_body(name, description);
            let mut f = LibraryFile::new(name, Bytes::from(body), "admin", created);
            f.description = Some(description.to_string());
            f.has_parameters = params.is_some();
            f.parameters_description = params.map(str::to_string);
            f
        })
        .collect()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/libraryfiles", get(list_files).post(upload_file).layer(DefaultBodyLimit::max(MAX_FORM_BYTES)))
        .route("/api/libraryfiles/{file_name}", delete(delete_file))
}

fn require_manage(c: &Caller) -> Result<(), Response> {
    if c.has_any_role(&["Library.Manage"]) { Ok(()) } else { Err(forbidden("Library.Manage")) }
}

fn bad_request(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "BadRequest", msg)
}

fn invalid_body(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "InvalidRequestBody", msg)
}

async fn list_files(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_manage(&c)?;
    let params = Params::parse(q.as_deref());
    let items = with_tenant(&state, &c, |t, _| t.mde.library.iter().map(LibraryFile::to_json).collect())?;
    collection(&state, &uri, &params, items, &LIBRARY)
}

/// The form as documented: `File` (required), `Description`, `ParametersDescription`,
/// `HasParameters`, `OverrideIfExists`. Field names are matched case-insensitively because
/// Microsoft's own curl example sends `file=@...` while the table says `File`.
#[derive(Default)]
struct Upload {
    file_name: Option<String>,
    content: Option<Bytes>,
    description: Option<String>,
    parameters_description: Option<String>,
    has_parameters: Option<bool>,
    override_if_exists: Option<bool>,
}

fn parse_bool(field: &str, v: &str) -> Result<Option<bool>, Response> {
    match v.trim().to_ascii_lowercase().as_str() {
        // "Default value is an empty string" (upload-library): empty means not set.
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => {
            Err(invalid_body(format!("Invalid value '{other}' for form field '{field}'; expected true or false.")))
        }
    }
}

/// A file name the library can hold: no folders, no control characters.
fn valid_file_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', ':'])
        && !name.chars().any(char::is_control)
        && name != "."
        && name != ".."
}

async fn read_form(mut form: Multipart) -> Result<Upload, Response> {
    let mut up = Upload::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(form_error(e)),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.to_ascii_lowercase().as_str() {
            "file" => {
                let file_name = field.file_name().unwrap_or("").to_string();
                up.content = Some(read_file_field(field).await?);
                up.file_name = Some(file_name);
            }
            "description" | "parametersdescription" | "hasparameters" | "overrideifexists" => {
                let text = field.text().await.map_err(form_error)?;
                match name.to_ascii_lowercase().as_str() {
                    "description" => up.description = Some(text).filter(|s| !s.is_empty()),
                    "parametersdescription" => up.parameters_description = Some(text).filter(|s| !s.is_empty()),
                    "hasparameters" => up.has_parameters = parse_bool(&name, &text)?,
                    _ => up.override_if_exists = parse_bool(&name, &text)?,
                }
            }
            _ => {
                return Err(invalid_body(format!(
                    "Unknown form field '{name}'. Expected File, Description, ParametersDescription, HasParameters, OverrideIfExists."
                )));
            }
        }
    }
    Ok(up)
}

/// Reads the file part chunk by chunk so an oversized upload is refused without buffering it.
async fn read_file_field(mut field: axum::extract::multipart::Field<'_>) -> Result<Bytes, Response> {
    let mut buf = BytesMut::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > MAX_FILE_BYTES {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(form_error(e)),
        }
    }
}

fn too_large() -> Response {
    bad_request(format!(
        "Form field 'File' is too large: the live response library accepts files up to {} MB.",
        MAX_FILE_BYTES / (1024 * 1024)
    ))
}

fn form_error(e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    invalid_body(format!("The multipart/form-data body could not be read: {}", e.body_text()))
}

async fn upload_file(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(r) = require_manage(&c) {
        return r;
    }
    let form = match form {
        Ok(f) => f,
        Err(e) => {
            return invalid_body(format!(
                "Request body must be multipart/form-data with a 'File' field ({}).",
                e.body_text()
            ));
        }
    };
    let up = match read_form(form).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    respond(store_upload(&state, &c, up))
}

fn store_upload(state: &AppState, c: &Caller, up: Upload) -> Result<Response, Response> {
    let (Some(file_name), Some(content)) = (up.file_name, up.content) else {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "MissingRequiredParameter",
            "Form field 'File' is missing: send the file as a multipart part named 'File' with a filename.",
        ));
    };
    if !valid_file_name(&file_name) {
        return Err(invalid_body(format!(
            "Form field 'File' needs a plain file name (no folders), got '{file_name}'."
        )));
    }
    let stored = with_tenant(state, c, |t, now| -> Result<LibraryFile, Response> {
        let existing = t.mde.library.iter().position(|f| f.file_name.eq_ignore_ascii_case(&file_name));
        if existing.is_some() && up.override_if_exists != Some(true) {
            return Err(bad_request(format!(
                "A file named '{file_name}' already exists in the live response library. Send OverrideIfExists=true to replace it."
            )));
        }
        let others: usize =
            t.mde.library.iter().enumerate().filter(|(i, _)| Some(*i) != existing).map(|(_, f)| f.content.len()).sum();
        if others + content.len() > MAX_TENANT_BYTES {
            return Err(bad_request(format!(
                "The live response library is full ({} MB per tenant in the sandbox); delete files first.",
                MAX_TENANT_BYTES / (1024 * 1024)
            )));
        }
        let mut f = LibraryFile::new(&file_name, content, &c.app_id, now);
        f.description = up.description;
        f.parameters_description = up.parameters_description;
        f.has_parameters = up.has_parameters.unwrap_or(false);
        match existing {
            Some(i) => {
                f.creation_time = t.mde.library[i].creation_time;
                f.created_by = t.mde.library[i].created_by.clone();
                t.mde.library[i] = f.clone();
            }
            None => t.mde.library.push(f.clone()),
        }
        Ok(f)
    })??;
    let mut v = stored.to_json();
    set_context(&mut v, context(state, "LibraryFiles/$entity"));
    Ok(errors::json_response(StatusCode::OK, v))
}

async fn delete_file(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(file_name): Path<String>,
) -> Result<Response, Response> {
    require_manage(&c)?;
    let removed = with_tenant(&state, &c, |t, _| {
        let before = t.mde.library.len();
        t.mde.library.retain(|f| !f.file_name.eq_ignore_ascii_case(&file_name));
        before != t.mde.library.len()
    })?;
    if !removed {
        return Err(errors::mde(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("Library file {file_name} was not found"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
