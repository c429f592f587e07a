//! The file library under `/v1/library` (tenant in `?tenant=`): raw-body uploads up to the
//! library's own limit (not the 1 MiB JSON limit), listing, metadata with a fresh signed link,
//! deletion. Pushing to MDE and running files are actions (`PushToMdeLibrary`, `RunScript`, ...).

use crate::error::ApiError;
use crate::input::query_pairs;
use crate::{json_error, AppState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::Principal;
use serde_json::json;

/// The caller and the tenant (`?tenant=`; a key scoped to one tenant may leave it out).
async fn who(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<(Principal, String, Vec<(String, String)>), ApiError> {
    let query = query_pairs(uri);
    let principal = crate::auth::authenticate(state, headers, &query).await?;
    let named = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("tenant") || k.eq_ignore_ascii_case("tenantId")).map(|(_, v)| v.clone());
    let tenant = match (named, principal.tenants.as_slice()) {
        (Some(t), _) if !t.trim().is_empty() => t,
        (_, [only]) => only.clone(),
        _ => {
            return Err(ApiError::bad_request("tenant", "tenant is required", "add ?tenant=<tenant id> (GET /v1/tenants lists them)"))
        }
    };
    Ok((principal, tenant, query))
}

fn get<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

/// `POST /v1/library?tenant=&name=&description=&parametersDescription=&hasParameters=` with the
/// file as the raw body.
pub async fn upload(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let result = async {
        let (principal, tenant, query) = who(&state, &headers, &uri).await?;
        let name = get(&query, "name").or_else(|| get(&query, "fileName")).ok_or_else(|| {
            ApiError::bad_request("fileName", "fileName is required", "add ?fileName=<name>, e.g. ?fileName=collect-triage.ps1")
        })?;
        library::check_name(name, "fileName")?;
        let max = state.engine.library()?.max_upload_bytes();
        let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", format!("the file is larger than the library's limit of {max} bytes"))
                .field("file")
                .hint("the limit is the setting library.max_upload_bytes; MDE's own library takes at most 20 MB")
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("file", "the body is empty", "send the file's bytes as the request body"));
        }
        let has_parameters = match get(&query, "hasParameters") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(ApiError::bad_request("hasParameters", format!("'{v}' is not a boolean"), "use true or false")),
        };
        let new = library::NewFile {
            uploaded_by: principal.name.clone(),
            description: get(&query, "description").map(String::from),
            parameters_description: get(&query, "parametersDescription").map(String::from),
            has_parameters,
        };
        Ok(state.engine.upload_library_file(&principal, &tenant, name, bytes, new).await?)
    }
    .await;
    match result {
        Ok(meta) => (StatusCode::CREATED, Json(json!({ "file": meta }))).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/library?tenant=`
pub async fn list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        let (principal, tenant, _) = who(&state, &headers, &uri).await?;
        state.engine.may_read_library(&principal, &tenant)?;
        Ok::<_, ApiError>(state.engine.library()?.list(&tenant).await?)
    }
    .await;
    match result {
        Ok(files) => Json(json!({ "count": files.len(), "value": files })).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `GET /v1/library/{name}?tenant=`: metadata and a fresh signed download link.
pub async fn get_one(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        let (principal, tenant, _) = who(&state, &headers, &uri).await?;
        state.engine.may_read_library(&principal, &tenant)?;
        let library = state.engine.library()?;
        let meta = library.meta(&tenant, &name).await?;
        let link = library.links().sign(&library::ObjectKey::library(&tenant, &meta.name));
        Ok::<_, ApiError>(json!({ "file": meta, "download": link }))
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}

/// `DELETE /v1/library/{name}?tenant=`
pub async fn delete(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async {
        let (principal, tenant, _) = who(&state, &headers, &uri).await?;
        Ok::<_, ApiError>(state.engine.delete_library_file(&principal, &tenant, &name).await?)
    }
    .await;
    match result {
        Ok(meta) => Json(json!({ "deleted": meta })).into_response(),
        Err(e) => json_error(&state, "native", e),
    }
}
