//! `GET /v1/downloads/{token}`: a signed, expiring link to a library or retrieved file. No API
//! key: the token is the authority (see `library::links`). Altered or foreign tokens answer 403,
//! expired ones 410, both as the native JSON error.

use crate::AppState;
use crate::error::ApiError;
use crate::input::Path;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn download(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let library = state.engine.library()?;
    let key = library.links().verify(&token).map_err(link_error)?;
    let (meta, bytes) = library.read_key(&key).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", meta.name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&meta.sha256) {
        h.insert("x-content-sha256", v);
    }
    Ok(resp)
}

fn link_error(e: library::LinkError) -> ApiError {
    match e {
        library::LinkError::Tampered => ApiError::new(StatusCode::FORBIDDEN, "InvalidDownloadLink", e.to_string())
            .field("token")
            .hint("use the link exactly as Riposte issued it, or ask for a new one (GET /v1/library/{name})"),
        library::LinkError::Expired { .. } => ApiError::new(StatusCode::GONE, "DownloadLinkExpired", e.to_string())
            .field("token")
            .hint("ask for a fresh link: GET /v1/library/{name}, or GetLiveResponseResult for a retrieved file"),
    }
}
