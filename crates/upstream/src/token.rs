//! OAuth2 client-credentials tokens per tenant × client × audience: cached, refreshed before
//! expiry, and single-flight (concurrent callers on a cold key share one token request). The
//! client proves itself with a secret or a certificate's signed assertion ([`Credential`]); the
//! authority and audience come from the tenant's cloud ([`Target`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use crate::config::{RetryPolicy, TenantCredentials};
use crate::credentials::Credential;
use crate::error::{UpstreamError, from_transport, parse_error_body, redact};
use crate::metrics::UpstreamMetrics;
use crate::retry;

/// Used when the endpoint omits `expires_in` (samples show 3599).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3599);
/// Refresh this long before expiry, unless the lifetime is short (then 10% of it).
const MAX_SKEW: Duration = Duration::from_secs(300);

/// A bearer token handed to one call.
pub(crate) struct Token {
    pub secret: SecretString,
    /// Identifies this issuance, so a 401 only evicts the token that actually failed.
    pub id: u64,
    /// False when this call just fetched it (a 401 then is not a stale-cache problem).
    pub from_cache: bool,
}

struct Cached {
    secret: SecretString,
    id: u64,
    refresh_at: Instant,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: String,
    client: String,
    audience: String,
}

/// Where a token comes from and whom it is for: the tenant's Entra authority and the API's audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub login: Url,
    pub audience: String,
}

/// The client-authentication fields of the token form: a secret, or a fresh signed assertion.
enum Proof {
    Secret(SecretString),
    Assertion(SecretString),
}

impl Proof {
    /// What to scrub from error messages the token endpoint sends back.
    fn secret(&self) -> &str {
        match self {
            Proof::Secret(s) | Proof::Assertion(s) => s.expose_secret(),
        }
    }
}

/// The tokio mutex is the single-flight: whoever holds it fetches, the rest wait and then
/// find the fresh token.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

pub(crate) struct Tokens {
    http: reqwest::Client,
    retry: RetryPolicy,
    metrics: Arc<UpstreamMetrics>,
    slots: parking_lot::Mutex<HashMap<Key, Slot>>,
    issued: AtomicU64,
}

impl Tokens {
    pub(crate) fn new(http: reqwest::Client, retry: RetryPolicy, metrics: Arc<UpstreamMetrics>) -> Tokens {
        Tokens { http, retry, metrics, slots: parking_lot::Mutex::new(HashMap::new()), issued: AtomicU64::new(0) }
    }

    /// A valid token for `creds` at `target`, from cache when it is not yet due for refresh.
    pub(crate) async fn get(&self, creds: &TenantCredentials, target: &Target) -> Result<Token, UpstreamError> {
        let slot = self.slot(creds, target);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            self.metrics.record_token_cache(true);
            return Ok(Token { secret: token.secret.clone(), id: token.id, from_cache: true });
        }
        self.metrics.record_token_cache(false);
        let (secret, lifetime) = self.fetch(creds, target).await?;
        let id = self.issued.fetch_add(1, Ordering::Relaxed);
        *cached = Some(Cached { secret: secret.clone(), id, refresh_at: Instant::now() + refresh_after(lifetime) });
        Ok(Token { secret, id, from_cache: false })
    }

    /// Drops token `id` if it is still the cached one (an API just said 401 to it).
    pub(crate) async fn invalidate(&self, creds: &TenantCredentials, target: &Target, id: u64) {
        let slot = self.slot(creds, target);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.id == id) {
            *cached = None;
        }
    }

    fn slot(&self, creds: &TenantCredentials, target: &Target) -> Slot {
        let key =
            Key { tenant: creds.tenant_id.clone(), client: creds.client_id.clone(), audience: target.audience.clone() };
        self.slots.lock().entry(key).or_default().clone()
    }

    /// POSTs the client-credentials form, retrying throttling and transport failures
    /// (a token request has no side effects, so repeating it is always safe).
    async fn fetch(
        &self,
        creds: &TenantCredentials,
        target: &Target,
    ) -> Result<(SecretString, Duration), UpstreamError> {
        let url = token_url(&target.login, &creds.tenant_id)?;
        let scope = format!("{}/.default", target.audience.trim_end_matches('/'));
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.metrics.record_token_request();
            let proof = proof(creds, &url)?;
            let form = token_form(creds, &scope, &proof);
            let wait = match self.http.post(url.clone()).form(&form).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let ra = retry::retry_after(response.headers());
                    if !retry::is_retryable_status(status) || attempt >= self.retry.max_attempts {
                        return read_token_response(response, proof.secret()).await;
                    }
                    retry::delay(&self.retry, attempt, ra)
                }
                Err(err) if attempt < self.retry.max_attempts => {
                    tracing::debug!(error = %err, "token request failed, retrying");
                    retry::delay(&self.retry, attempt, None)
                }
                Err(err) => return Err(from_transport(&err)),
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// How this tenant proves itself at `token_url`; a certificate signs a fresh assertion per attempt.
fn proof(creds: &TenantCredentials, token_url: &Url) -> Result<Proof, UpstreamError> {
    match &creds.credential {
        Credential::ClientSecret(secret) => Ok(Proof::Secret(secret.clone())),
        Credential::Certificate(cert) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| UpstreamError::Config(format!("system clock before 1970: {e}")))?
                .as_secs();
            cert.assertion(&creds.client_id, token_url.as_str(), now).map(Proof::Assertion)
        }
        Credential::Aws(_) => Err(UpstreamError::Config(format!(
            "tenant {}: AWS credentials cannot obtain a Microsoft Entra token",
            creds.tenant_id
        ))),
    }
}

/// The client-credentials form: the grant, the client, the scope, and the proof's fields.
fn token_form<'a>(creds: &'a TenantCredentials, scope: &'a str, proof: &'a Proof) -> Vec<(&'static str, &'a str)> {
    let mut form =
        vec![("grant_type", "client_credentials"), ("client_id", creds.client_id.as_str()), ("scope", scope)];
    match proof {
        Proof::Secret(secret) => form.push(("client_secret", secret.expose_secret())),
        Proof::Assertion(jwt) => {
            form.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
            form.push(("client_assertion", jwt.expose_secret()));
        }
    }
    form
}

/// `{login}/{tenant}/oauth2/v2.0/token`; the tenant is checked so it cannot alter the path.
fn token_url(login: &Url, tenant: &str) -> Result<Url, UpstreamError> {
    let valid = !tenant.is_empty()
        && tenant.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && tenant != "."
        && tenant != "..";
    if !valid {
        return Err(UpstreamError::Config(format!("invalid tenant id {tenant:?}")));
    }
    let text = format!("{}/{tenant}/oauth2/v2.0/token", login.as_str().trim_end_matches('/'));
    Url::parse(&text).map_err(|e| UpstreamError::Config(format!("token URL {text}: {e}")))
}

/// How long a token is served from cache: its lifetime minus min(5 min, 10% of lifetime).
pub(crate) fn refresh_after(lifetime: Duration) -> Duration {
    lifetime - MAX_SKEW.min(lifetime / 10)
}

/// Success → token + lifetime. 4xx → `Auth` (the caller's credentials are wrong).
/// Anything else → normalised `Api`/`Throttled`. The secret is scrubbed from every message.
async fn read_token_response(
    response: reqwest::Response,
    secret: &str,
) -> Result<(SecretString, Duration), UpstreamError> {
    let status = response.status().as_u16();
    let retry_after = retry::retry_after(response.headers());
    let text = response.text().await.map_err(|e| from_transport(&e))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if (200..300).contains(&status) {
        return parse_token(&body).ok_or_else(|| UpstreamError::Api {
            status,
            code: "InvalidTokenResponse".into(),
            message: "token endpoint answered without an access_token".into(),
            request_id: None,
        });
    }
    let parts = parse_error_body(status, &body);
    match status {
        429 => Err(UpstreamError::Throttled { retry_after, request_id: parts.request_id, attempts: 0 }),
        400..500 => {
            Err(UpstreamError::Auth { code: redact(&parts.code, secret), message: redact(&parts.message, secret) })
        }
        _ => Err(UpstreamError::Api {
            status,
            code: redact(&parts.code, secret),
            message: redact(&parts.message, secret),
            request_id: parts.request_id,
        }),
    }
}

/// `expires_in` is a number on v2 and a string on v1; both are accepted.
fn parse_token(body: &Value) -> Option<(SecretString, Duration)> {
    let token = body.get("access_token")?.as_str()?;
    let lifetime = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .map(Duration::from_secs)
    .unwrap_or(DEFAULT_LIFETIME);
    Some((SecretString::from(token.to_owned()), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skew_is_five_minutes_or_ten_percent() {
        assert_eq!(refresh_after(Duration::from_secs(3599)), Duration::from_secs(3299));
        assert_eq!(refresh_after(Duration::from_secs(600)), Duration::from_secs(540));
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn token_url_rejects_path_tricks() {
        let login = Url::parse("http://127.0.0.1:1/login/").unwrap();
        assert_eq!(
            token_url(&login, "contoso.onmicrosoft.com").unwrap().as_str(),
            "http://127.0.0.1:1/login/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        for bad in ["", "..", "a/b", "a?b", "a#b", "a b"] {
            assert!(token_url(&login, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_v1_and_v2_lifetimes() {
        let (_, l) = parse_token(&json!({"access_token":"x","expires_in":3599})).unwrap();
        assert_eq!(l, Duration::from_secs(3599));
        let (_, l) = parse_token(&json!({"access_token":"x","expires_in":"60"})).unwrap();
        assert_eq!(l, Duration::from_secs(60));
        assert!(parse_token(&json!({"token_type":"Bearer"})).is_none());
    }
}
