//! The one place where errors become HTTP statuses, and the native error envelope
//! `{"error": {...}}` that every `/v1` handler, extractor rejection and fallback answers with.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::EngineError;
use serde_json::{Value, json};
use std::time::Duration;

/// An error answer: status, stable code, message, and where useful the field and a hint. Boxed,
/// so the `Result`s every handler and parser returns stay one pointer wide on the error side;
/// the fields read and write through `Deref`.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ErrorAnswer>);

/// What an [`ApiError`] says.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub hint: Option<String>,
    /// Extra members merged into the error object (close matches, pending action, upstream ids).
    pub extra: Value,
    pub retry_after: Option<Duration>,
    /// RFC 6750's `WWW-Authenticate` challenge of a refused bearer token (`oidc.rs`).
    pub challenge: Option<String>,
}

impl std::ops::Deref for ApiError {
    type Target = ErrorAnswer;

    fn deref(&self) -> &ErrorAnswer {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorAnswer {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorAnswer {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            hint: None,
            extra: Value::Null,
            retry_after: None,
            challenge: None,
        }))
    }

    pub fn field(mut self, field: &str) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    pub fn bad_request(field: &str, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message).field(field).hint(hint)
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal", "internal error; see the gateway log")
    }

    /// The `error` object of every envelope.
    pub fn body(&self) -> Value {
        let mut v = json!({ "code": self.code, "message": self.message });
        if let Some(f) = &self.field {
            v["field"] = f.clone().into();
        }
        if let Some(h) = &self.hint {
            v["hint"] = h.clone().into();
        }
        if let Value::Object(extra) = &self.extra {
            for (k, x) in extra {
                v[k] = x.clone();
            }
        }
        v
    }
}

/// The native envelope: handlers return `Result<_, ApiError>` and never build error bodies.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({ "error": self.body() }))).into_response();
        self.add_retry_after(&mut resp);
        resp
    }
}

impl ApiError {
    /// `Retry-After` in whole seconds (at least 1) when the error says when to come back, and the
    /// `WWW-Authenticate` challenge when a bearer token was refused.
    pub(crate) fn add_retry_after(&self, resp: &mut Response) {
        if let Some(v) = self.retry_after.and_then(|d| HeaderValue::from_str(&d.as_secs().max(1).to_string()).ok()) {
            resp.headers_mut().insert("retry-after", v);
        }
        if let Some(v) = self.challenge.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            resp.headers_mut().insert("www-authenticate", v);
        }
    }
}

/// The error for a status something other than our handlers answered (an extractor, a tower
/// layer): a stable code and a message, so even those answers are JSON.
pub fn for_status(status: StatusCode) -> ApiError {
    let (code, message, hint) = match status {
        StatusCode::BAD_REQUEST => {
            ("InvalidRequest", "the request could not be read", "check the path, query string and body encoding")
        }
        StatusCode::NOT_FOUND => ("NotFound", "no such route", "GET /v1/openapi.json lists the routes"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("MethodNotAllowed", "this route does not take that method", "the Allow header lists the methods it takes")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PayloadTooLarge",
            "the request body is too large",
            "send fewer items per request, or use a bulk operation",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UnsupportedMediaType",
            "the body's content type is not accepted",
            "send JSON with Content-Type: application/json",
        ),
        StatusCode::REQUEST_TIMEOUT => ("RequestTimeout", "the request took too long to arrive", "retry"),
        _ if status.is_server_error() => ("Internal", "internal error; see the gateway log", "retry later"),
        _ => (
            "InvalidRequest",
            status.canonical_reason().unwrap_or("the request was refused"),
            "GET /v1/openapi.json describes the routes",
        ),
    };
    ApiError::new(status, code, message).hint(hint)
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> ApiError {
        ApiError::from(EngineError::from(e))
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let message = e.to_string();
        let code = engine::error_label(&e);
        match e {
            EngineError::UnknownTenant(t) => ApiError::new(StatusCode::NOT_FOUND, code, message)
                .field("tenantId")
                .hint(format!("'{t}' has no credentials in this gateway's configuration; GET /v1/tenants lists the configured ones")),
            EngineError::UnknownAction { close, .. } => {
                let mut err = ApiError::new(StatusCode::NOT_FOUND, code, message)
                    .field("action")
                    .hint(if close.is_empty() {
                        "GET /v1/catalog lists every action".to_string()
                    } else {
                        format!("did you mean {}?", close.join(", "))
                    });
                err.extra = json!({ "closeMatches": close });
                err
            }
            EngineError::AmbiguousAction { products, .. } => {
                let products: Vec<&str> = products.split(", ").filter(|p| !p.is_empty()).collect();
                let mut err = ApiError::new(StatusCode::BAD_REQUEST, code, message)
                    .field("service")
                    .hint(format!("name the product: service (or the worker route, or /v1/.../actions/{{product}}/...) one of {}", products.join(", ")));
                err.extra = json!({ "products": products });
                err
            }
            EngineError::InvalidParam(p) => ApiError::new(StatusCode::BAD_REQUEST, code, p.message.clone())
                .field(&p.field)
                .hint(p.hint),
            EngineError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, code, message),
            EngineError::Unsupported { nearest, reason, .. } => {
                let mut err = ApiError::new(StatusCode::NOT_IMPLEMENTED, code, message);
                if let Some(n) = &nearest {
                    err = err.hint(format!("the nearest real action is {n}"));
                }
                err.extra = json!({ "reason": reason, "nearest": nearest });
                err
            }
            EngineError::PendingConflict { pending, .. } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, code, message)
                    .hint("wait for the pending action to finish, or cancel it with CancelAction");
                err.extra = json!({ "pendingAction": pending });
                err
            }
            EngineError::UpstreamRejected { status, code: up, request_id, .. } => {
                let http = match status {
                    404 => StatusCode::NOT_FOUND,
                    409 => StatusCode::CONFLICT,
                    _ => StatusCode::BAD_REQUEST,
                };
                let mut err = ApiError::new(http, &up, message);
                err.extra = json!({ "upstreamStatus": status, "upstreamRequestId": request_id });
                err
            }
            EngineError::UpstreamFailed { status, code: up, request_id, .. } => {
                let mut err = ApiError::new(StatusCode::BAD_GATEWAY, &up, message);
                err.extra = json!({ "upstreamStatus": status, "upstreamRequestId": request_id });
                err
            }
            EngineError::Throttled { retry_after } => {
                let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
                    .hint("Microsoft is throttling this tenant; retry after the indicated delay");
                err.retry_after = retry_after;
                err
            }
            EngineError::IdempotencyMismatch { operation, .. } => {
                let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                    .field("Idempotency-Key")
                    .hint("use a new idempotency key for a different request, or repeat the original request exactly");
                err.extra = json!({ "operationId": operation });
                err
            }
            EngineError::NotAdmitted { retry_after } => {
                let mut err = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
                    .hint("the tenant's Microsoft rate budget is spent for now; retry after the indicated delay, or ask for a longer wait with Prefer: wait=N");
                err.retry_after = Some(retry_after);
                err
            }
            EngineError::NotVerified { read, .. } => {
                let mut err = ApiError::new(StatusCode::BAD_GATEWAY, code, message)
                    .hint("Microsoft accepted the request but the target does not show the change yet; check it (the operation records what was read) before repeating");
                err.extra = json!({ "verification": read });
                err
            }
            EngineError::UpstreamTimeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, code, message),
            EngineError::HuntFailed { all_throttled, retry_after, tenants, .. } => {
                let (status, hint) = if all_throttled {
                    (StatusCode::TOO_MANY_REQUESTS, "Microsoft throttled every tenant; retry after the indicated delay")
                } else {
                    (StatusCode::BAD_GATEWAY, "no tenant answered; each tenant's error is under tenants")
                };
                let mut err = ApiError::new(status, code, message).hint(hint);
                err.extra = json!({ "tenants": tenants });
                err.retry_after = retry_after;
                err
            }
            EngineError::OperationNotFound(_) | EngineError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, code, message)
            }
            EngineError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, code, message),
            EngineError::Library(e) => ApiError::from(e),
            EngineError::Store(e) => ApiError::internal(store::describe_error(&*e)),
            EngineError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<library::LibraryError> for ApiError {
    fn from(e: library::LibraryError) -> ApiError {
        use library::LibraryError as L;
        let message = e.to_string();
        match e {
            L::InvalidName { field, message, hint } => {
                ApiError::bad_request(field, message, hint).with_code("InvalidParameter")
            }
            L::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "LibraryFileNotFound", message)
                .field("fileName")
                .hint("GET /v1/library lists this tenant's files"),
            L::TooLarge { max, .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", message)
                .field("file")
                .hint(format!("the library takes files up to {max} bytes (setting library.max_upload_bytes)")),
            L::Storage(m) => ApiError::internal(m),
        }
    }
}
