//! Callers authenticated by Entra ID: `Authorization: Bearer <access token>` beside API keys.
//!
//! An analyst signs in to Entra ID and calls Riposte with an access token for Riposte's app
//! registration (`[auth.entra] audience`, e.g. `api://riposte`). Riposte checks it the way
//! Microsoft's validators do:
//! - the signature, with a key of the issuer's JWKS (`{issuer}/.well-known/openid-configuration`
//!   → `jwks_uri`, fetched through `upstream`), RS256 as Entra signs (ES256 too, for P-256 keys:
//!   the sandbox's); the algorithm comes from the key, never from the token alone;
//! - `iss`, `aud` (the audience or the app's client id), `exp`/`nbf` with a small leeway, `tid`.
//!
//! Keys are cached; an unknown `kid` (Entra rotated its keys) refetches the set, at most once per
//! `refetch_min_seconds`, so a stream of forged `kid`s cannot turn Riposte into a JWKS hammer;
//! a set older than `refresh_seconds` is refetched before use (kept if the refetch fails).
//!
//! The token's app roles (`roles`) map to a Riposte role and tenant scope through
//! `[auth.entra.roles]`; a valid token without a mapped role is a 403 naming the roles to assign.
//! The analyst's name (`preferred_username`, else `upn`, else `oid`) becomes the principal's
//! name, so the audit and Defender's machine-action comments say who acted, not which key.
//! A refused token is a 401 with `WWW-Authenticate: Bearer error="invalid_token"` and the
//! reason; the token itself is never echoed or logged.

use crate::error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use engine::{Principal, Role};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upstream::Upstream;

/// `[auth]`: how callers other than API keys authenticate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `[auth.entra]`: Entra ID access tokens.
    pub entra: Option<EntraConfig>,
}

/// `[auth.entra]`: whose tokens Riposte accepts and what their app roles mean.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    /// The Entra tenant (directory) id the tokens must come from (`tid`).
    pub tenant: String,
    /// The token issuer; default `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub issuer: Option<String>,
    /// Riposte's App ID URI (`api://riposte`): the `aud` of v1 tokens and of tokens asked for it.
    pub audience: String,
    /// The app registration's client id: the `aud` of v2 access tokens.
    pub client_id: Option<String>,
    /// App role value → Riposte role and tenants (`["*"]`: every tenant).
    #[serde(default)]
    pub roles: BTreeMap<String, RoleGrant>,
    /// Clock skew allowed on `exp` and `nbf` (default 60 s).
    pub leeway_seconds: Option<u64>,
    /// An unknown `kid` refetches the keys at most this often (default 60 s).
    pub refetch_min_seconds: Option<u64>,
    /// Keys older than this are refetched before use (default 12 h).
    pub refresh_seconds: Option<u64>,
}

/// What one app role grants.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// `reader`, `responder` or `admin`.
    pub role: String,
    /// Tenant ids, or `["*"]` for every tenant.
    pub tenants: Vec<String>,
}

const DEFAULT_LEEWAY: u64 = 60;
const DEFAULT_REFETCH_MIN: u64 = 60;
const DEFAULT_REFRESH: u64 = 12 * 3600;

impl EntraConfig {
    /// The configuration from `RIPOSTE_ENTRA_*` variables over the file's section: `TENANT`,
    /// `ISSUER`, `AUDIENCE`, `CLIENT_ID`, and `ROLES` as JSON (`{"App.Role": {"role": ...,
    /// "tenants": [...]}}`). `None` when neither names a tenant.
    pub fn from_env_over(
        file: Option<EntraConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, String> {
        let var = |name: &str| env(&format!("RIPOSTE_ENTRA_{name}")).filter(|v| !v.trim().is_empty());
        let tenant = var("TENANT").or_else(|| file.as_ref().map(|f| f.tenant.clone()));
        let Some(tenant) = tenant else { return Ok(None) };
        let audience = var("AUDIENCE")
            .or_else(|| file.as_ref().map(|f| f.audience.clone()))
            .ok_or("RIPOSTE_ENTRA_AUDIENCE (or [auth.entra] audience) is required with an Entra tenant")?;
        let roles = match var("ROLES") {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| format!("RIPOSTE_ENTRA_ROLES is not valid JSON: {e}"))?
            }
            None => file.as_ref().map(|f| f.roles.clone()).unwrap_or_default(),
        };
        let base = file.unwrap_or(EntraConfig {
            tenant: String::new(),
            issuer: None,
            audience: String::new(),
            client_id: None,
            roles: BTreeMap::new(),
            leeway_seconds: None,
            refetch_min_seconds: None,
            refresh_seconds: None,
        });
        let config = EntraConfig {
            tenant,
            issuer: var("ISSUER").or(base.issuer),
            audience,
            client_id: var("CLIENT_ID").or(base.client_id),
            roles,
            ..base
        };
        config.check()?;
        Ok(Some(config))
    }

    /// The issuer tokens must name.
    pub fn issuer(&self) -> String {
        match &self.issuer {
            Some(i) => i.trim().trim_end_matches('/').to_string(),
            None => format!("https://login.microsoftonline.com/{}/v2.0", self.tenant.trim()),
        }
    }

    /// Mistakes found at start-up rather than on the first token, each naming the setting.
    pub fn check(&self) -> Result<(), String> {
        if self.tenant.trim().is_empty() {
            return Err("[auth.entra] tenant is empty: set the directory (tenant) id".into());
        }
        if self.audience.trim().is_empty() {
            return Err("[auth.entra] audience is empty: set Riposte's App ID URI, e.g. api://riposte".into());
        }
        url::Url::parse(&self.issuer()).map_err(|e| format!("[auth.entra] issuer is not a URL: {e}"))?;
        if self.roles.is_empty() {
            return Err("[auth.entra.roles] maps no app role: no Entra caller could do anything".into());
        }
        for (app_role, grant) in &self.roles {
            Role::parse(&grant.role).ok_or_else(|| {
                format!(
                    "[auth.entra.roles] \"{app_role}\": role \"{}\" is not one of reader, responder, admin",
                    grant.role
                )
            })?;
            if grant.tenants.is_empty() {
                return Err(format!(
                    "[auth.entra.roles] \"{app_role}\": tenants is empty; list tenant ids or [\"*\"] for every tenant"
                ));
            }
        }
        Ok(())
    }

    fn leeway(&self) -> i64 {
        self.leeway_seconds.unwrap_or(DEFAULT_LEEWAY).min(600) as i64
    }

    fn accepts_audience(&self, aud: &str) -> bool {
        let aud = aud.trim_end_matches('/');
        aud.eq_ignore_ascii_case(self.audience.trim().trim_end_matches('/'))
            || self.client_id.as_deref().is_some_and(|c| aud.eq_ignore_ascii_case(c.trim()))
    }
}

/// Why a token was refused (401). The texts name what was wrong, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("the bearer token is not a JWT access token")]
    Malformed,
    #[error("the token is signed with {0}; Entra ID access tokens are RS256")]
    UnsupportedAlgorithm(String),
    #[error("the token names no signing key (kid)")]
    NoKeyId,
    #[error("the token's signing key '{0}' is not among the issuer's keys")]
    UnknownKey(String),
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has no '{0}' claim")]
    MissingClaim(&'static str),
    #[error("the token's issuer '{got}' is not the configured issuer '{want}'")]
    WrongIssuer { got: String, want: String },
    #[error("the token's audience '{got}' is not Riposte's ('{want}')")]
    WrongAudience { got: String, want: String },
    #[error("the token expired at {0} (unix time)")]
    Expired(i64),
    #[error("the token is not valid before {0} (unix time)")]
    NotYetValid(i64),
    #[error("the token's tenant '{got}' is not the configured tenant '{want}'")]
    WrongTenant { got: String, want: String },
}

/// The claims Riposte reads from an access token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenClaims {
    pub iss: Option<String>,
    /// A string in Entra's tokens; an array is allowed by RFC 7519.
    pub aud: Option<Value>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub tid: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub preferred_username: Option<String>,
    pub upn: Option<String>,
    pub oid: Option<String>,
}

impl TokenClaims {
    /// Who the token speaks for: `preferred_username` (v2), else `upn` (v1), else the object id.
    pub fn identity(&self) -> Option<String> {
        [&self.preferred_username, &self.upn, &self.oid]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map(String::from)
    }
}

/// Checks a signature-verified token's claims against the configuration at `now` (unix seconds).
pub fn validate_claims(cfg: &EntraConfig, claims: &TokenClaims, now: i64) -> Result<(), TokenRejection> {
    let want_iss = cfg.issuer();
    let iss = claims.iss.as_deref().ok_or(TokenRejection::MissingClaim("iss"))?;
    if iss.trim_end_matches('/') != want_iss {
        return Err(TokenRejection::WrongIssuer { got: iss.into(), want: want_iss });
    }
    let auds: Vec<&str> = match &claims.aud {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(TokenRejection::MissingClaim("aud")),
    };
    if !auds.iter().any(|a| cfg.accepts_audience(a)) {
        return Err(TokenRejection::WrongAudience { got: auds.join(", "), want: cfg.audience.clone() });
    }
    let exp = claims.exp.ok_or(TokenRejection::MissingClaim("exp"))?;
    if now > exp + cfg.leeway() {
        return Err(TokenRejection::Expired(exp));
    }
    if let Some(nbf) = claims.nbf
        && now + cfg.leeway() < nbf
    {
        return Err(TokenRejection::NotYetValid(nbf));
    }
    let tid = claims.tid.as_deref().ok_or(TokenRejection::MissingClaim("tid"))?;
    if !tid.eq_ignore_ascii_case(cfg.tenant.trim()) {
        return Err(TokenRejection::WrongTenant { got: tid.into(), want: cfg.tenant.clone() });
    }
    if claims.identity().is_none() {
        return Err(TokenRejection::MissingClaim("oid"));
    }
    Ok(())
}

/// The Riposte principal a valid token's roles grant, or `None` when no role is mapped.
///
/// Several mapped roles give the highest role, scoped to the tenants of the grants *at that
/// role*: a principal has one role, and widening a higher role to a lower grant's tenants
/// would grant more than any one app role says.
pub fn principal_for(cfg: &EntraConfig, name: String, roles: &[String]) -> Option<Principal> {
    let grants: Vec<(Role, &RoleGrant)> = roles
        .iter()
        .filter_map(|r| cfg.roles.get(r.as_str()))
        .filter_map(|g| Role::parse(&g.role).map(|role| (role, g)))
        .collect();
    let top = grants.iter().map(|(role, _)| *role).max_by_key(|r| r.ceiling())?;
    let at_top = grants.iter().filter(|(role, _)| *role == top).map(|(_, g)| g);
    let mut tenants: Vec<String> = Vec::new();
    for grant in at_top {
        if grant.tenants.iter().any(|t| t.trim() == "*") {
            tenants.clear();
            return Some(Principal { name, role: top, tenants });
        }
        tenants.extend(grant.tenants.iter().map(|t| t.trim().to_string()));
    }
    tenants.sort();
    tenants.dedup();
    Some(Principal { name, role: top, tenants })
}

/// A key of the issuer's set, ready to verify with.
struct VerifyKey {
    alg: Algorithm,
    key: DecodingKey,
}

/// The cached key set and when it was fetched.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    fetched_at: Option<Instant>,
}

/// What to do about the key set before verifying a token.
#[derive(Debug, PartialEq, Eq)]
enum Refresh {
    /// The cached set answers.
    Use,
    /// Fetch the set now.
    Fetch,
    /// The `kid` is unknown but the set was fetched too recently to fetch again.
    Refuse,
}

/// Whether to fetch the keys: never fetched, older than the refresh period, or the `kid` is
/// unknown and the last fetch is at least `refetch_min` old.
fn refresh_decision(
    fetched_at: Option<Instant>,
    kid_known: bool,
    now: Instant,
    refetch_min: Duration,
    refresh: Duration,
) -> Refresh {
    let Some(at) = fetched_at else { return Refresh::Fetch };
    let age = now.saturating_duration_since(at);
    if age >= refresh {
        return Refresh::Fetch;
    }
    match (kid_known, age >= refetch_min) {
        (true, _) => Refresh::Use,
        (false, true) => Refresh::Fetch,
        (false, false) => Refresh::Refuse,
    }
}

/// Entra ID token validation with its cached key set. One per gateway.
pub struct EntraAuth {
    cfg: EntraConfig,
    upstream: Upstream,
    keys: parking_lot::RwLock<KeySet>,
    /// One fetch at a time; the others wait for it and use its result.
    fetching: tokio::sync::Mutex<()>,
    /// `riposte_entra_key_fetches`: key-set fetches, failed ones included.
    fetches: Counter,
    /// `riposte_entra_tokens{outcome}`: tokens presented, by what became of them.
    tokens: Family<Vec<(String, String)>, Counter>,
}

impl EntraAuth {
    pub fn new(cfg: EntraConfig, upstream: Upstream) -> Result<EntraAuth, String> {
        cfg.check()?;
        Ok(EntraAuth {
            cfg,
            upstream,
            keys: parking_lot::RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(()),
            fetches: Counter::default(),
            tokens: Family::default(),
        })
    }

    /// Adds `riposte_entra_tokens{outcome}` (accepted, invalid_token, no_role,
    /// issuer_unavailable) and `riposte_entra_key_fetches` to the gateway's metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("riposte_entra_tokens", "Entra ID access tokens presented, by outcome", self.tokens.clone());
        registry.register("riposte_entra_key_fetches", "Fetches of the Entra ID signing keys", self.fetches.clone());
    }

    pub fn config(&self) -> &EntraConfig {
        &self.cfg
    }

    /// How many times the key set was fetched.
    pub fn key_fetches(&self) -> u64 {
        self.fetches.get()
    }

    /// The principal a bearer token authenticates: 401 (with the challenge) for a bad token,
    /// 403 for a valid one without a mapped role, 502 when the issuer's keys cannot be fetched.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, ApiError> {
        let result = self.principal(token).await;
        let outcome = match &result {
            Ok(_) => "accepted",
            Err(e) if e.status == StatusCode::UNAUTHORIZED => "invalid_token",
            Err(e) if e.status == StatusCode::FORBIDDEN => "no_role",
            Err(_) => "issuer_unavailable",
        };
        self.tokens.get_or_create(&vec![("outcome".to_string(), outcome.to_string())]).inc();
        result
    }

    async fn principal(&self, token: &str) -> Result<Principal, ApiError> {
        let claims = self.verify(token).await?;
        let name = claims.identity().unwrap_or_default();
        principal_for(&self.cfg, name.clone(), &claims.roles).ok_or_else(|| self.no_role(&name, &claims.roles))
    }

    /// The verified claims of a token, or why it was refused.
    pub async fn verify(&self, token: &str) -> Result<TokenClaims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| challenge(TokenRejection::Malformed))?;
        let kid = header.kid.clone().ok_or_else(|| challenge(TokenRejection::NoKeyId))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(challenge(TokenRejection::UnsupportedAlgorithm(format!("{:?}", header.alg))));
        }
        let key = self.key(&kid).await?;
        if key.alg != header.alg {
            return Err(challenge(TokenRejection::UnsupportedAlgorithm(format!(
                "{:?} but its key '{kid}' is {:?}",
                header.alg, key.alg
            ))));
        }
        let claims = verify_signature(token, &key)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        validate_claims(&self.cfg, &claims, now).map_err(challenge)?;
        Ok(claims)
    }

    /// The key named `kid`, fetching the set when [`refresh_decision`] says so.
    async fn key(&self, kid: &str) -> Result<Arc<VerifyKey>, ApiError> {
        let refetch_min = Duration::from_secs(self.cfg.refetch_min_seconds.unwrap_or(DEFAULT_REFETCH_MIN));
        let refresh = Duration::from_secs(self.cfg.refresh_seconds.unwrap_or(DEFAULT_REFRESH).max(1));
        let decide = |set: &KeySet| {
            refresh_decision(set.fetched_at, set.keys.contains_key(kid), Instant::now(), refetch_min, refresh)
        };
        if decide(&self.keys.read()) == Refresh::Use {
            return self.cached(kid);
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        match decide(&self.keys.read()) {
            Refresh::Use => return self.cached(kid),
            Refresh::Refuse => return Err(challenge(TokenRejection::UnknownKey(kid.into()))),
            Refresh::Fetch => {}
        }
        match self.fetch_keys().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), issuer = %self.cfg.issuer(), "fetched the Entra ID signing keys");
                *self.keys.write() = KeySet { keys, fetched_at: Some(Instant::now()) };
            }
            Err(e) if self.keys.read().keys.contains_key(kid) => {
                tracing::warn!(error = %e, "refreshing the Entra ID signing keys failed; the cached keys stay in use");
            }
            Err(e) => {
                // Do not hammer a failing issuer: a failed fetch counts as a fetch for the throttle.
                self.keys.write().fetched_at.get_or_insert_with(Instant::now);
                tracing::warn!(error = %e, "fetching the Entra ID signing keys failed");
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "IdentityProviderUnavailable",
                    format!("the Entra ID signing keys could not be fetched: {e}"),
                )
                .hint("check [auth.entra] issuer and that the gateway reaches it"));
            }
        }
        self.cached(kid)
    }

    fn cached(&self, kid: &str) -> Result<Arc<VerifyKey>, ApiError> {
        self.keys.read().keys.get(kid).cloned().ok_or_else(|| challenge(TokenRejection::UnknownKey(kid.into())))
    }

    /// Discovery, then the key set at its `jwks_uri` (which must be on the issuer's origin).
    async fn fetch_keys(&self) -> Result<HashMap<String, Arc<VerifyKey>>, String> {
        self.fetches.inc();
        let issuer = url::Url::parse(&self.cfg.issuer()).map_err(|e| e.to_string())?;
        let discovery = url::Url::parse(&format!("{}/.well-known/openid-configuration", self.cfg.issuer()))
            .map_err(|e| e.to_string())?;
        let doc = self.upstream.get_public_json(&discovery).await.map_err(|e| e.to_string())?;
        let jwks_uri = doc["jwks_uri"].as_str().ok_or_else(|| format!("{discovery} names no jwks_uri"))?;
        let jwks_uri = url::Url::parse(jwks_uri).map_err(|e| format!("jwks_uri is not a URL: {e}"))?;
        if jwks_uri.origin() != issuer.origin() {
            return Err(format!("jwks_uri {jwks_uri} is not on the issuer's host; refusing to fetch keys from it"));
        }
        let set = self.upstream.get_public_json(&jwks_uri).await.map_err(|e| e.to_string())?;
        Ok(parse_key_set(&set))
    }

    /// The 403 of a valid token whose roles map to nothing: names the roles to assign.
    fn no_role(&self, who: &str, have: &[String]) -> ApiError {
        let known: Vec<&str> = self.cfg.roles.keys().map(String::as_str).collect();
        let have =
            if have.is_empty() { "no app role".to_string() } else { format!("the app roles {}", have.join(", ")) };
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("{who} is signed in but holds {have}, none of which Riposte maps to a role"),
        )
        .field("roles")
        .hint(format!("assign {who} one of Riposte's app roles: {}", known.join(", ")))
    }
}

/// The signing keys of a JWKS document Riposte can verify with: RSA keys (RS256) and P-256 keys
/// (ES256) with a `kid`, meant for signatures. Others are skipped.
fn parse_key_set(set: &Value) -> HashMap<String, Arc<VerifyKey>> {
    let keys = set["keys"].as_array().map(Vec::as_slice).unwrap_or_default();
    keys.iter()
        .filter(|k| k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let kid = k["kid"].as_str()?;
            let text = |name: &str| k[name].as_str();
            let (alg, key) = match (text("kty")?, text("crv")) {
                ("RSA", _) => (Algorithm::RS256, DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?),
                ("EC", Some("P-256")) => {
                    (Algorithm::ES256, DecodingKey::from_ec_components(text("x")?, text("y")?).ok()?)
                }
                _ => return None,
            };
            Some((kid.to_string(), Arc::new(VerifyKey { alg, key })))
        })
        .collect()
}

/// The claims of a token whose signature `key` verifies; lifetimes and audience are checked by
/// [`validate_claims`], which names what was wrong.
fn verify_signature(token: &str, key: &VerifyKey) -> Result<TokenClaims, ApiError> {
    let mut v = Validation::new(key.alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    match jsonwebtoken::decode::<TokenClaims>(token, &key.key, &v) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(challenge(match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                TokenRejection::UnsupportedAlgorithm(format!("{:?}", key.alg))
            }
            _ => TokenRejection::Malformed,
        })),
    }
}

/// The 401 of a refused token, with RFC 6750's challenge.
fn challenge(why: TokenRejection) -> ApiError {
    let message = why.to_string();
    let mut err = ApiError::new(StatusCode::UNAUTHORIZED, "InvalidToken", message.clone())
        .hint("sign in again and ask Entra ID for a token for Riposte's audience");
    err.challenge =
        Some(format!("Bearer error=\"invalid_token\", error_description=\"{}\"", message.replace('"', "'")));
    err
}

/// The bearer token of a request when it is a JWT (three base64url parts, a JSON header), so
/// API keys sent as `Authorization: Bearer` keep working.
pub fn bearer_jwt(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && looks_like_jwt(token)).then_some(token)
}

/// A compact JWS: `eyJ` (a base64url JSON object) and exactly three dot-separated parts.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ")
        && token.split('.').count() == 3
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests;
