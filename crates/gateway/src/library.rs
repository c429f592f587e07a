//! The file library under `/v1/library` (tenant in `?tenant=`): raw-body uploads up to the
//! library's own limit (not the 1 MiB JSON limit), listing, metadata with a fresh signed link,
//! deletion. Pushing to MDE and running files are actions (`PushToMdeLibrary`, `RunScript`, ...).

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::{Path, Query};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use engine::Principal;
use serde_json::{Value, json};

/// The tenant a library request is about (`?tenant=`; the engine decides the default).
fn tenant(state: &AppState, principal: &Principal, query: &Query) -> Result<String, ApiError> {
    Ok(state.engine.chosen_tenant(principal, query.get("tenant").or_else(|| query.get("tenantId")))?)
}

/// `POST /v1/library?tenant=&name=&description=&parametersDescription=&hasParameters=` with the
/// file as the raw body.
pub async fn upload(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = tenant(&state, &principal, &query)?;
    let name = query.get("name").or_else(|| query.get("fileName")).ok_or_else(|| {
        ApiError::bad_request(
            "fileName",
            "fileName is required",
            "add ?fileName=<name>, e.g. ?fileName=collect-triage.ps1",
        )
    })?;
    library::check_name(name, "fileName")?;
    let max = state.engine.library()?.max_upload_bytes();
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| too_large(max))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("file", "the body is empty", "send the file's bytes as the request body"));
    }
    let new = library::NewFile {
        uploaded_by: principal.name.clone(),
        description: query.get("description").map(String::from),
        parameters_description: query.get("parametersDescription").map(String::from),
        has_parameters: has_parameters(&query)?,
    };
    let meta = state.engine.upload_library_file(&principal, &tenant, name, bytes, new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "file": meta }))))
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLarge",
        format!("the file is larger than the library's limit of {max} bytes"),
    )
    .field("file")
    .hint("the limit is the setting library.max_upload_bytes; MDE's own library takes at most 20 MB")
}

fn has_parameters(query: &Query) -> Result<bool, ApiError> {
    match query.get("hasParameters") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ApiError::bad_request("hasParameters", format!("'{v}' is not a boolean"), "use true or false")),
    }
}

/// `GET /v1/library?tenant=`
pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let tenant = tenant(&state, &principal, &query)?;
    state.engine.may_read_library(&principal, &tenant)?;
    let files = state.engine.library()?.list(&tenant).await?;
    Ok(Json(json!({ "count": files.len(), "value": files })))
}

/// `GET /v1/library/{name}?tenant=`: metadata and a fresh signed download link.
pub async fn get_one(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(name): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let tenant = tenant(&state, &principal, &query)?;
    state.engine.may_read_library(&principal, &tenant)?;
    let library = state.engine.library()?;
    let meta = library.meta(&tenant, &name).await?;
    let link = library.links().sign(&library::ObjectKey::library(&tenant, &meta.name));
    Ok(Json(json!({ "file": meta, "download": link })))
}

/// `DELETE /v1/library/{name}?tenant=`
pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(name): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let tenant = tenant(&state, &principal, &query)?;
    let meta = state.engine.delete_library_file(&principal, &tenant, &name).await?;
    Ok(Json(json!({ "deleted": meta })))
}
