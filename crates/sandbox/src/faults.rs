//! Fault injection and the edge middleware every request passes through.
//!
//! A rule matches on path prefix, optional method and optional tenant, fires with probability
//! `rate` (drawn from a seeded RNG, so a run is reproducible) at most `count` times, and either
//! answers with an error status (429 / 5xx / any 4xx) before the handler runs — so the request
//! has no side effect — or only delays the request. A rule with `outcome` instead decides how
//! the next matching machine action ends (`Failed` or `TimeOut`).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::auth::unverified_tid;
use crate::errors::{self, Family};
use crate::state::AppState;

/// Graph paths whose 429s Microsoft documents without `Retry-After`: Identity Protection and
/// conditional access (upstream-apis.md §4.2); clients back off on their own there.
fn no_retry_after(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("/identityprotection/") || p.contains("/identity/conditionalaccess/")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub path_prefix: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    /// Probability in [0, 1]; default 1.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Maximum number of times the rule fires; `null` = unlimited.
    #[serde(default)]
    pub count: Option<u64>,
    /// `Retry-After` seconds sent with the status (429 defaults to 1).
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Tenant id the rule applies to (from the token's `tid` or the login path); `null` = any.
    #[serde(default)]
    pub tenant: Option<String>,
    /// For machine-action POSTs: how the created action ends (`Failed` or `TimeOut`).
    #[serde(default)]
    pub outcome: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FaultRule {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub fired: u64,
}

impl FaultRule {
    fn exhausted(&self) -> bool {
        self.spec.count.is_some_and(|c| self.fired >= c)
    }

    fn applies(&self, method: &Method, path: &str, tenant: Option<&str>) -> bool {
        if self.exhausted() || !path.starts_with(&self.spec.path_prefix) {
            return false;
        }
        if let Some(m) = &self.spec.method
            && !m.eq_ignore_ascii_case(method.as_str())
        {
            return false;
        }
        if let Some(t) = &self.spec.tenant
            && !tenant.is_some_and(|x| x.eq_ignore_ascii_case(t))
        {
            return false;
        }
        true
    }
}

pub enum Decision {
    Pass,
    Delay(u64),
    Respond { status: StatusCode, retry_after: Option<u64>, delay_ms: u64 },
}

pub struct Faults {
    rules: Vec<FaultRule>,
    next_id: u64,
    rng: StdRng,
}

impl Faults {
    pub fn new(seed: u64) -> Faults {
        Faults { rules: Vec::new(), next_id: 1, rng: StdRng::seed_from_u64(seed ^ 0xFA17) }
    }

    /// Checks and stores a rule; the error text is for the admin caller.
    pub fn add(&mut self, spec: FaultSpec) -> Result<FaultRule, String> {
        if !spec.path_prefix.starts_with('/') {
            return Err("path_prefix must start with '/'".into());
        }
        let rate = spec.rate.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&rate) {
            return Err("rate must be between 0 and 1".into());
        }
        if let Some(s) = spec.status
            && !(400..=599).contains(&s)
        {
            return Err("status must be a 4xx or 5xx code".into());
        }
        if spec.delay_ms.is_some_and(|d| d > 600_000) {
            return Err("delay_ms must be at most 600000 (10 minutes)".into());
        }
        if let Some(o) = &spec.outcome {
            if !matches!(o.as_str(), "Failed" | "TimeOut") {
                return Err("outcome must be \"Failed\" or \"TimeOut\"".into());
            }
            if spec.status.is_some() {
                return Err("a rule has either status or outcome, not both".into());
            }
        } else if spec.status.is_none() && spec.delay_ms.unwrap_or(0) == 0 {
            return Err("a rule needs status, delay_ms or outcome".into());
        }
        if let Some(m) = &spec.method
            && Method::from_bytes(m.to_ascii_uppercase().as_bytes()).is_err()
        {
            return Err(format!("invalid method '{m}'"));
        }
        let rule = FaultRule { id: self.next_id, spec, fired: 0 };
        self.next_id += 1;
        self.rules.push(rule.clone());
        Ok(rule)
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        before != self.rules.len()
    }

    /// First matching status/latency rule that fires decides.
    pub fn decide(&mut self, method: &Method, path: &str, tenant: Option<&str>) -> Decision {
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.spec.outcome.is_some() || !rule.applies(method, path, tenant) {
                continue;
            }
            let rate = rule.spec.rate.unwrap_or(1.0);
            if rate < 1.0 && self.rng.random::<f64>() >= rate {
                continue;
            }
            let rule = &mut self.rules[i];
            rule.fired += 1;
            let delay_ms = rule.spec.delay_ms.unwrap_or(0);
            return match rule.spec.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                Some(status) => {
                    // Identity Protection and conditional access throttle without Retry-After
                    // (upstream-apis.md §4.2); elsewhere a 429 says 1 s unless the rule says.
                    let default = status == StatusCode::TOO_MANY_REQUESTS && !no_retry_after(path);
                    let retry_after = rule.spec.retry_after.or(if default { Some(1) } else { None });
                    Decision::Respond { status, retry_after, delay_ms }
                }
                None => Decision::Delay(delay_ms),
            };
        }
        Decision::Pass
    }

    /// Called by the machine-action handler when it creates an action.
    pub fn take_outcome(&mut self, method: &Method, path: &str, tenant: &str) -> Option<String> {
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.spec.outcome.is_none() || !rule.applies(method, path, Some(tenant)) {
                continue;
            }
            let rate = rule.spec.rate.unwrap_or(1.0);
            if rate < 1.0 && self.rng.random::<f64>() >= rate {
                continue;
            }
            let rule = &mut self.rules[i];
            rule.fired += 1;
            return rule.spec.outcome.clone();
        }
        None
    }
}

/// The tenant a request is about, for fault matching and stats: the login path segment, or the
/// (unverified) `tid` of the bearer token.
fn tenant_hint(state: &AppState, req: &Request, family: Family) -> Option<String> {
    match family {
        Family::Login => {
            let seg = req.uri().path().trim_start_matches('/').split('/').next()?.to_string();
            let world = state.world.lock();
            Some(world.tenant(&seg).map(|t| t.tenant_id.clone()).unwrap_or(seg))
        }
        Family::Graph | Family::Mde | Family::Arm => unverified_tid(req.headers()),
        _ => None,
    }
}

/// Runs for every request: injected faults first (no side effects), then the handler; then the
/// Graph correlation headers and 429 accounting.
pub async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let family = Family::of_path(req.uri().path());
    let tenant = tenant_hint(&state, &req, family);
    if family != Family::Admin {
        let decision = state.faults.lock().decide(req.method(), req.uri().path(), tenant.as_deref());
        match decision {
            Decision::Pass => {}
            Decision::Delay(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            Decision::Respond { status, retry_after, delay_ms } => {
                if delay_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                state.stats.lock().faults_injected += 1;
                let code = errors::fault_code(family, status);
                let message = match status.as_u16() {
                    429 => format!("Rate limit is exceeded. Try again in {} seconds.", retry_after.unwrap_or(1)),
                    _ => format!("{} (injected by the sandbox).", status.canonical_reason().unwrap_or("Error")),
                };
                let mut resp = errors::for_family(family, status, code, &message, req.headers(), &state.base_url);
                if let Some(secs) = retry_after {
                    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                let crid = req.headers().get("client-request-id").cloned();
                return finish(&state, family, tenant.as_deref(), crid, req.headers().clone(), resp).await;
            }
        }
    }
    let client_request_id = req.headers().get("client-request-id").cloned();
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    finish(&state, family, tenant.as_deref(), client_request_id, headers, resp).await
}

async fn finish(
    state: &AppState,
    family: Family,
    tenant: Option<&str>,
    client_request_id: Option<HeaderValue>,
    req_headers: axum::http::HeaderMap,
    resp: Response,
) -> Response {
    let mut resp = reshape_plain_error(state, family, &req_headers, resp).await;
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        let mut stats = state.stats.lock();
        stats.throttled_total += 1;
        *stats.throttled.entry(tenant.unwrap_or("-").to_string()).or_default() += 1;
    }
    if family == Family::Graph {
        let headers = resp.headers_mut();
        if !headers.contains_key("request-id")
            && let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
        {
            headers.insert("request-id", v);
        }
        if let Some(v) = client_request_id {
            headers.insert("client-request-id", v);
        }
    }
    resp
}

/// axum's own rejections (bad path encoding, body too large, ...) are plain text; turn any
/// non-JSON error into the owning API family's error shape so clients always get one format.
async fn reshape_plain_error(
    state: &AppState,
    family: Family,
    req_headers: &axum::http::HeaderMap,
    resp: Response,
) -> Response {
    let status = resp.status();
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let retry_after = resp.headers().get(header::RETRY_AFTER).cloned();
    let text = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().chars().take(300).collect::<String>(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("Error").to_string() } else { text };
    let code = match status.as_u16() {
        405 => "MethodNotAllowed",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        _ => errors::fault_code(family, status),
    };
    let mut out = errors::for_family(family, status, code, &message, req_headers, &state.base_url);
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_protection_and_ca_429s_carry_no_retry_after() {
        for (path, expected) in
            [("/v1.0/identityProtection/riskyUsers/dismiss", None), ("/v1.0/security/alerts_v2", Some(1))]
        {
            let mut f = Faults::new(1);
            let spec = serde_json::json!({ "path_prefix": path, "status": 429 });
            f.add(serde_json::from_value(spec).expect("a fault spec")).expect("a valid rule");
            match f.decide(&Method::POST, path, None) {
                Decision::Respond { retry_after, .. } => assert_eq!(retry_after, expected, "{path}"),
                _ => panic!("{path}: the rule fires"),
            }
        }
    }
}
