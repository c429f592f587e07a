//! Refused attempts become audit records (issue 15: a 401 or 403 on an action left no trace).
//!
//! A middleware over every route: when the answer is a 401 or 403, it appends a `refused`
//! record to the audit chain with who tried (the key's name when the key is valid, else the
//! first characters of the presented key, else `anonymous`; for an Entra ID token, the analyst
//! when the token is valid, else `entra:invalid-token`), what (the tenant, product and
//! action from the native path or the seed body, else the method and route), and the reason
//! (the error's code and message). Never the key itself.
//!
//! Refusals are cheap to send, so recording them is bounded: each caller (key name, key
//! prefix or `anonymous`) gets [`PER_CALLER_PER_MINUTE`] records and log lines per minute;
//! beyond that they are counted, and the next record that is written says how many were
//! suppressed. `/readyz` is not an action (it answers without a key by design) and is skipped.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{ADMIN_KEY_SETTING, ADMIN_NAME, hash_key, presented_key};

/// Refusals recorded per caller per minute; the rest are counted.
pub const PER_CALLER_PER_MINUTE: u32 = 20;
/// Largest seed request body read to learn the action and tenant of a refusal.
const MAX_BODY_PEEK: usize = 256 * 1024;
/// Callers tracked by the limiter before the oldest windows are dropped.
const MAX_TRACKED: usize = 10_000;
/// Characters of a presented key kept to tell unknown keys apart (`rk_` + 5).
const KEY_PREFIX_CHARS: usize = 8;

/// The middleware: runs the request, and audits the answer when it is a refusal.
pub async fn audit_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let query = crate::input::query_pairs(req.uri());
    let key = presented_key(req.headers(), &query);
    let (req, body_fields) = peek_seed_body(req, &method, &path).await;
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN) || path == "/readyz" {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_PEEK).await.unwrap_or_default();
    let reason = reason_of(&bytes);
    let who = caller_of(&state, key.as_deref()).await;
    let Some(suppressed) = limiter().admit(&who) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let target = Target::of(&path, body_fields.as_ref());
    tracing::warn!(
        status = status.as_u16(),
        caller = %who,
        tenant = target.tenant.as_deref().unwrap_or("-"),
        action = target.action.as_deref().unwrap_or("-"),
        suppressed,
        "refused: {}",
        reason["message"].as_str().unwrap_or("")
    );
    let record = store::NewAuditEvent {
        operation_id: None,
        kind: store::AuditKind::parse("refused"),
        principal: who,
        tenant: target.tenant,
        product: target.product,
        action: target.action,
        params: json!({ "method": method.as_str(), "route": route.unwrap_or(path) }),
        outcome: Some("Refused".into()),
        upstream_request_ids: vec![],
        duration_ms: None,
        detail: json!({ "status": status.as_u16(), "reason": reason, "suppressedBefore": suppressed }),
    };
    if let Err(e) = state.engine.store().append_audit(record).await {
        tracing::error!(error = %store::describe_error(&e), "could not audit a refused attempt");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A seed POST names its action and tenant in the body: read it and put it back. Only a body
/// whose declared length is within [`MAX_BODY_PEEK`] is read, so a larger (or unannounced) one
/// reaches the handler untouched and meets its own limit (a 413), never a truncated body.
async fn peek_seed_body(req: Request, method: &Method, path: &str) -> (Request, Option<Map<String, Value>>) {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if method != Method::POST || !path.starts_with("/api/") || declared.is_none_or(|n| n > MAX_BODY_PEEK) {
        return (req, None);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_PEEK).await {
        Ok(bytes) => {
            let fields = serde_json::from_slice::<Map<String, Value>>(&bytes).ok();
            (Request::from_parts(parts, Body::from(bytes)), fields)
        }
        // The client sent more than it declared, or the connection failed: the handler sees
        // an empty body and answers it; the names of a request that broken are not needed.
        Err(_) => (Request::from_parts(parts, Body::from(Bytes::new())), None),
    }
}

/// The error's code and message from the answer's JSON (native `{"error":{..}}` or a seed
/// envelope), else the status text.
fn reason_of(bytes: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let err = if v["error"].is_object() { &v["error"] } else { &v };
    let message = err["message"].as_str().or(v["message"].as_str()).or(v["error"].as_str()).unwrap_or("refused");
    json!({ "code": err["code"].as_str(), "message": message })
}

/// The caller's name when the key is valid (a 403), else a prefix of what was presented.
async fn caller_of(state: &AppState, key: Option<&str>) -> String {
    let Some(key) = key else { return "anonymous".into() };
    if let Some(entra) = state.entra.as_deref().filter(|_| crate::oidc::looks_like_jwt(key)) {
        // Only a verified token names someone; the claims of a refused one are the sender's word.
        return match entra.verify(key).await {
            Ok(claims) => claims.identity().unwrap_or_else(|| "entra:unnamed".into()),
            Err(_) => "entra:invalid-token".into(),
        };
    }
    let hash = hash_key(key);
    let store = state.engine.store();
    if store.get_setting(ADMIN_KEY_SETTING).await.ok().flatten().is_some_and(|h| h == hash) {
        return ADMIN_NAME.into();
    }
    if let Ok(Some(k)) = store.key_by_hash(&hash).await {
        return k.name;
    }
    let prefix: String = key.chars().take(KEY_PREFIX_CHARS).collect();
    format!("key:{prefix}…")
}

/// What the refused request was aimed at.
struct Target {
    tenant: Option<String>,
    product: Option<String>,
    action: Option<String>,
}

impl Target {
    fn of(path: &str, body: Option<&Map<String, Value>>) -> Target {
        // /v1/tenants/{tenant}/actions/{product}/{action}
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if let ["v1", "tenants", tenant, "actions", product, action] = seg.as_slice() {
            return Target {
                tenant: Some(tenant.to_string()),
                product: Some(product.to_string()),
                action: Some(action.to_string()),
            };
        }
        let field = |names: &[&str]| {
            body.and_then(|b| {
                b.iter().find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n))).and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
            })
        };
        Target {
            tenant: field(&["tenantId", "tenant"]),
            product: field(&["service", "product"]),
            action: field(&["action", "function"]).or_else(|| Some(path.to_string())),
        }
    }
}

/// Per-caller minute windows: how many were recorded and how many were not since the last
/// record.
#[derive(Default)]
struct Limiter(std::sync::Mutex<HashMap<String, Window>>);

struct Window {
    started: Instant,
    recorded: u32,
    suppressed: u64,
}

fn limiter() -> &'static Limiter {
    static L: OnceLock<Limiter> = OnceLock::new();
    L.get_or_init(Limiter::default)
}

impl Limiter {
    /// `Some(suppressed since the last record)` when this refusal is recorded, `None` when it
    /// is only counted.
    fn admit(&self, who: &str) -> Option<u64> {
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        let mut windows = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_TRACKED && !windows.contains_key(who) {
            let minute = Duration::from_secs(60);
            windows.retain(|_, w| w.started.elapsed() < minute);
        }
        let w =
            windows.entry(who.to_string()).or_insert(Window { started: Instant::now(), recorded: 0, suppressed: 0 });
        if w.started.elapsed() >= Duration::from_secs(60) {
            w.started = Instant::now();
            w.recorded = 0;
        }
        if w.recorded >= PER_CALLER_PER_MINUTE {
            w.suppressed += 1;
            return None;
        }
        w.recorded += 1;
        Some(std::mem::take(&mut w.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_gets_its_own_budget_and_learns_what_was_suppressed() {
        let l = Limiter::default();
        for _ in 0..PER_CALLER_PER_MINUTE {
            assert_eq!(l.admit("a"), Some(0));
        }
        assert_eq!(l.admit("a"), None);
        assert_eq!(l.admit("a"), None);
        assert_eq!(l.admit("b"), Some(0), "another caller is not affected");
        l.0.lock().unwrap().get_mut("a").unwrap().started -= Duration::from_secs(61);
        assert_eq!(l.admit("a"), Some(2), "the next record says two were not written");
    }

    #[test]
    fn targets_come_from_the_native_path_or_the_seed_body() {
        let t = Target::of("/v1/tenants/t1/actions/mde/IsolateDevice", None);
        assert_eq!((t.tenant.as_deref(), t.action.as_deref()), (Some("t1"), Some("IsolateDevice")));
        let body = json!({ "Action": "Isolate Device", "TenantId": "t2" });
        let t = Target::of("/api/DefenderXDRMDEWorker", body.as_object());
        assert_eq!((t.tenant.as_deref(), t.action.as_deref()), (Some("t2"), Some("Isolate Device")));
    }
}
