//! One error type for everything upstream, and the normalisation of Microsoft's four error
//! body shapes into it. The gateway maps these to HTTP once (502/504 with code + request id).

use std::time::Duration;

use serde_json::Value;

/// Why an upstream call did not produce a successful answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    /// Microsoft answered with an error; `code`/`message` come from its body.
    #[error("upstream error {status} {code}: {message} (request id {})", request_id.as_deref().unwrap_or("none"))]
    Api { status: u16, code: String, message: String, request_id: Option<String> },
    /// Still throttled after the bounded attempts (or the wait would exceed the configured bound).
    #[error("upstream throttled after {attempts} attempt(s); retry after {retry_after:?} (request id {})", request_id.as_deref().unwrap_or("none"))]
    Throttled { retry_after: Option<Duration>, request_id: Option<String>, attempts: u32 },
    /// The token endpoint refused our credentials. Never contains the secret.
    #[error("token request refused: {code}: {message}")]
    Auth { code: String, message: String },
    /// No answer within the configured timeout.
    #[error("upstream timed out")]
    Timeout,
    /// Could not talk to the server (DNS, connect, TLS, reset, unreadable body).
    #[error("upstream transport error: {0}")]
    Transport(String),
    /// Our own configuration or request is unusable (bad URL, bad CA, bad path).
    #[error("upstream configuration error: {0}")]
    Config(String),
}

/// The parts of a Microsoft error body we keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ErrorParts {
    pub code: String,
    pub message: String,
    /// MDE `target`, Graph `innerError.request-id`, login `trace_id`.
    pub request_id: Option<String>,
}

/// Reads any of the shapes in `upstream-apis.md` §0:
/// - MDE/XDR `{"error":{"code","message","target"}}` (`target` is the tracking id),
/// - Graph `{"error":{"code","message","innerError":{"request-id"}}}` (`innererror` may nest),
/// - ARM CloudError `{"error":{"code","message","details"}}` (or the bare inner object),
/// - login flat `{"error":"invalid_client","error_description","error_codes"}`.
///
/// Falls back to the HTTP reason phrase, so a caller always gets a non-empty code.
pub(crate) fn parse_error_body(status: u16, body: &Value) -> ErrorParts {
    let parts = match body.get("error") {
        Some(Value::Object(inner)) => nested_error(inner),
        Some(Value::String(code)) => flat_login_error(code, body),
        _ => bare_cloud_error(body),
    };
    with_fallbacks(status, body, parts)
}

/// MDE, Graph and ARM all nest `{code, message}` under `error`.
fn nested_error(inner: &serde_json::Map<String, Value>) -> ErrorParts {
    let text = |k: &str| inner.get(k).and_then(Value::as_str).map(str::to_owned);
    let graph_request_id = ["innerError", "innererror"]
        .iter()
        .find_map(|k| inner.get(*k))
        .and_then(|ie| ie.get("request-id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    ErrorParts {
        code: text("code").unwrap_or_default(),
        message: text("message").unwrap_or_default(),
        request_id: graph_request_id.or_else(|| text("target").filter(|t| looks_like_id(t))),
    }
}

/// Entra's token endpoint: `error` is the OAuth code, the AADSTS line is in the description.
fn flat_login_error(code: &str, body: &Value) -> ErrorParts {
    let description = body.get("error_description").and_then(Value::as_str).unwrap_or_default();
    ErrorParts {
        code: code.to_owned(),
        message: first_line(description).to_owned(),
        request_id: body.get("trace_id").and_then(Value::as_str).map(str::to_owned),
    }
}

/// Some ARM resource providers return the CloudError body without the `error` wrapper.
fn bare_cloud_error(body: &Value) -> ErrorParts {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    ErrorParts {
        code: text("code").unwrap_or_default(),
        message: text("message").or_else(|| text("Message")).unwrap_or_default(),
        request_id: None,
    }
}

/// Guarantees a code and a message even for empty or non-JSON bodies.
fn with_fallbacks(status: u16, body: &Value, mut parts: ErrorParts) -> ErrorParts {
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown");
    if parts.code.is_empty() {
        parts.code = reason.replace(' ', "");
    }
    if parts.message.is_empty() {
        parts.message = match body {
            Value::String(text) if !text.is_empty() => truncate(text, 300),
            _ => reason.to_owned(),
        };
    }
    parts
}

/// The AADSTS description continues with trace/correlation lines we already keep elsewhere.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

/// MDE's `target` is documented as a tracking GUID; other families use it for a field name.
fn looks_like_id(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

/// Keeps non-JSON error pages (HTML from a proxy) from flooding messages.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Removes every occurrence of `secret` (belt and braces: a server could echo the form back).
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() { text.to_owned() } else { text.replace(secret, "[redacted]") }
}

/// Turns a reqwest failure into ours; the URL is kept (it never carries secrets).
pub(crate) fn from_transport(err: &reqwest::Error) -> UpstreamError {
    if err.is_timeout() { UpstreamError::Timeout } else { UpstreamError::Transport(error_chain(err)) }
}

/// reqwest's top-level message is terse ("error sending request"); the cause says why.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mde_shape_uses_target_as_request_id() {
        let body = json!({"error":{"code":"ResourceNotFound","message":"Machine 123 was not found","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}});
        let parts = parse_error_body(404, &body);
        assert_eq!(parts.code, "ResourceNotFound");
        assert_eq!(parts.message, "Machine 123 was not found");
        assert_eq!(parts.request_id.as_deref(), Some("43f4cb08-8fac-4b65-9db1-745c2ae65f3a"));
    }

    #[test]
    fn graph_shape_uses_inner_error_request_id() {
        let body = json!({"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist","innerError":{"date":"2025-02-13T10:17:05","request-id":"11111111-2222-3333-4444-555555555555","client-request-id":"c"}}});
        let parts = parse_error_body(404, &body);
        assert_eq!(parts.code, "Request_ResourceNotFound");
        assert_eq!(parts.request_id.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
    }

    #[test]
    fn arm_cloud_error_wrapped_and_bare() {
        let wrapped = json!({"error":{"code":"ResourceGroupNotFound","message":"Resource group 'rg' could not be found.","target":"resourceGroupName","details":[]}});
        let parts = parse_error_body(404, &wrapped);
        assert_eq!(parts.code, "ResourceGroupNotFound");
        assert_eq!(parts.request_id, None, "ARM target is a field name, not an id");
        let bare = json!({"code":"InvalidApiVersionParameter","message":"bad api-version"});
        let parts = parse_error_body(400, &bare);
        assert_eq!(parts.code, "InvalidApiVersionParameter");
        assert_eq!(parts.message, "bad api-version");
    }

    #[test]
    fn login_flat_shape_keeps_first_description_line() {
        let body = json!({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[7000215],"trace_id":"trace-1"});
        let parts = parse_error_body(401, &body);
        assert_eq!(parts.code, "invalid_client");
        assert_eq!(parts.message, "AADSTS7000215: Invalid client secret provided.");
        assert_eq!(parts.request_id.as_deref(), Some("trace-1"));
    }

    #[test]
    fn empty_and_html_bodies_fall_back_to_reason() {
        let parts = parse_error_body(502, &Value::Null);
        assert_eq!(parts.code, "BadGateway");
        assert_eq!(parts.message, "Bad Gateway");
        let parts = parse_error_body(500, &Value::String("<html>oops</html>".into()));
        assert_eq!(parts.code, "InternalServerError");
        assert_eq!(parts.message, "<html>oops</html>");
    }

    #[test]
    fn redact_and_truncate() {
        assert_eq!(redact("a s3cr3t b s3cr3t", "s3cr3t"), "a [redacted] b [redacted]");
        assert_eq!(redact("abc", ""), "abc");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ab", 3), "ab");
    }
}
