//! Access tokens: the signing key, the claims we issue, and the check every API call makes.
//!
//! Entra signs with RS256; the sandbox signs with ES256 (a P-256 key from rcgen, no extra RSA
//! dependency). Clients treat access tokens as opaque; the sandbox verifies the ones its APIs
//! receive, and Riposte verifies the user tokens issued for it (`users.rs`) with the published
//! JWKS, as it would Entra's. The key can be rotated (`/_sandbox/keys/rotate`): the newest key
//! signs, and the previous ones stay published and valid, as Entra keeps rotated keys in its
//! JWKS while their tokens live.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::fmt_utc;
use crate::errors;
use crate::state::AppState;

/// The three resources the sandbox serves, identified by token audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    Graph,
    Mde,
    Arm,
    /// Defender for Cloud Apps (the per-tenant portal API), audience `05a65629-…`.
    CloudApps,
    /// The Key Vault data plane (`https://{vault}.vault.azure.net`), audience `https://vault.azure.net`.
    KeyVault,
    /// Exchange Online's admin REST endpoint (`exchange/`), audience `https://outlook.office365.com`.
    ExchangeOnline,
}

impl Api {
    /// Maps a resource identifier (App ID URI or well-known app id) to the API it names.
    /// MDE accepts both documented hosts and the `windowsatpservice` URI from the curl sample.
    pub fn from_resource(resource: &str) -> Option<Api> {
        let r = resource.trim().trim_end_matches('/').to_ascii_lowercase();
        match r.as_str() {
            "https://graph.microsoft.com" | "00000003-0000-0000-c000-000000000000" => Some(Api::Graph),
            "https://api.securitycenter.microsoft.com"
            | "https://api.security.microsoft.com"
            | "https://securitycenter.onmicrosoft.com/windowsatpservice"
            | "fc780465-2017-40d4-a0c5-307022471b92" => Some(Api::Mde),
            "https://management.azure.com"
            | "https://management.core.windows.net"
            | "797f4846-ba00-4fd7-ba43-dac1f8f63013" => Some(Api::Arm),
            "05a65629-4c1b-48c1-a78b-804c4abdd4af" => Some(Api::CloudApps),
            "https://vault.azure.net" | "cfa8b339-82a2-471a-a3c9-0fc0be7a4093" => Some(Api::KeyVault),
            "https://outlook.office365.com" | "00000002-0000-0ff1-ce00-000000000000" => Some(Api::ExchangeOnline),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::Graph => "graph",
            Api::Mde => "mde",
            Api::Arm => "arm",
            Api::CloudApps => "cloud_apps",
            Api::KeyVault => "key_vault",
            Api::ExchangeOnline => "exchange_online",
        }
    }
}

/// The claims of an app-only access token (the subset Entra sends that matters here).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub appid: String,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub appidacr: Option<String>,
    #[serde(default)]
    pub app_displayname: Option<String>,
    #[serde(default)]
    pub idtyp: Option<String>,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub ver: String,
    pub uti: String,
}

/// One signing key: its id, both halves, and the JWK published for it.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

impl SigningKey {
    fn generate() -> anyhow::Result<SigningKey> {
        let kp = rcgen::KeyPair::generate()?;
        let encoding = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes())?;
        let decoding = DecodingKey::from_ec_pem(kp.public_key_pem().as_bytes())?;
        let kid = hex::encode(&sha2_digest(kp.public_key_raw())[..10]);
        let mut jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::ES256)?)?;
        if let Some(o) = jwk.as_object_mut() {
            o.insert("kid".into(), kid.clone().into());
            o.insert("use".into(), "sig".into());
        }
        Ok(SigningKey { kid, encoding, decoding, jwk })
    }
}

/// Keys kept published after a rotation (the newest signs).
const PUBLISHED_KEYS: usize = 3;

/// The signing keys, newest first, and how often the key set was fetched.
pub struct Keys {
    ring: parking_lot::RwLock<Vec<std::sync::Arc<SigningKey>>>,
    jwks_served: std::sync::atomic::AtomicU64,
}

impl Keys {
    pub fn generate() -> anyhow::Result<Keys> {
        Ok(Keys {
            ring: parking_lot::RwLock::new(vec![std::sync::Arc::new(SigningKey::generate()?)]),
            jwks_served: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A new signing key; the previous ones stay published (up to [`PUBLISHED_KEYS`]).
    pub fn rotate(&self) -> anyhow::Result<String> {
        let key = std::sync::Arc::new(SigningKey::generate()?);
        let kid = key.kid.clone();
        let mut ring = self.ring.write();
        ring.insert(0, key);
        ring.truncate(PUBLISHED_KEYS);
        Ok(kid)
    }

    /// The id of the key that signs now.
    pub fn kid(&self) -> String {
        self.ring.read()[0].kid.clone()
    }

    /// The ids of every published key, newest first.
    pub fn kids(&self) -> Vec<String> {
        self.ring.read().iter().map(|k| k.kid.clone()).collect()
    }

    /// The JWKS document (`/discovery/v2.0/keys`), counted in [`Keys::jwks_served`].
    pub fn jwks(&self) -> serde_json::Value {
        self.jwks_served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        serde_json::json!({ "keys": self.ring.read().iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// How many times the key set was fetched (a test sees a relying party refetch it).
    pub fn jwks_served(&self) -> u64 {
        self.jwks_served.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let key = self.ring.read()[0].clone();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".into());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let kid = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?.kid;
        let key = {
            let ring = self.ring.read();
            ring.iter().find(|k| Some(&k.kid) == kid.as_ref()).cloned().ok_or(AuthError::BadSignature)?
        };
        let mut v = Validation::new(Algorithm::ES256);
        // Expiry is checked against the sandbox clock, audience per API; see `authenticate`.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &v) {
            Ok(data) => Ok(data.claims),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => Err(AuthError::BadSignature),
                _ => Err(AuthError::Malformed),
            },
        }
    }
}

fn sha2_digest(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

#[derive(Debug)]
pub enum AuthError {
    Missing,
    Malformed,
    BadSignature,
    Expired { exp: i64, now: i64 },
    NotYetValid,
    WrongAudience(String),
    UnknownTenant,
}

/// Who is calling: the tenant whose world the call sees, the app's permissions, and the API
/// called (so a refusal is worded the way that API words it).
#[derive(Clone, Debug)]
pub struct Caller {
    pub tenant_id: String,
    pub app_id: String,
    pub roles: Vec<String>,
    pub api: Api,
    /// Graph echoes it in error bodies.
    pub client_request_id: Option<String>,
}

impl Caller {
    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        self.roles.iter().any(|r| roles.iter().any(|x| x.eq_ignore_ascii_case(r)))
    }

    /// Ok when the app holds any of `roles`; otherwise the API's 403, naming the first role
    /// (the least privileged one, by convention of the callers' lists).
    pub fn require(&self, roles: &[&str]) -> Result<(), Response> {
        if self.has_any_role(roles) {
            return Ok(());
        }
        Err(self.forbidden(roles.first().copied().unwrap_or("")))
    }

    /// The API's 403 for a missing `role`.
    pub fn forbidden(&self, role: &str) -> Response {
        match self.api {
            Api::Mde => errors::mde(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("The application does not have the required permission: {role}."),
            ),
            Api::Graph => {
                let mut headers = HeaderMap::new();
                if let Some(v) = self.client_request_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                    headers.insert("client-request-id", v);
                }
                errors::graph(
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                    &headers,
                )
            }
            Api::CloudApps => crate::cloud_apps::error(
                StatusCode::FORBIDDEN,
                format!("You do not have permission to perform this action (the app needs {role})."),
            ),
            Api::Arm => errors::arm(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!("The client '{}' does not have authorization to perform this action ({role}).", self.app_id),
            ),
            Api::KeyVault => crate::keyvault::forbidden(&self.app_id, role),
            Api::ExchangeOnline => crate::exchange::forbidden(role),
        }
    }
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() { Some(token.trim()) } else { None }
}

/// Reads `tid` from a token without verifying it; only for routing faults and stats.
pub fn unverified_tid(headers: &HeaderMap) -> Option<String> {
    let token = bearer(headers)?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("tid")?.as_str().map(str::to_owned)
}

/// Validates the bearer token for `api`: signature, audience, lifetime (sandbox clock) and
/// that the tenant exists. The token's `tid` then selects the tenant's world.
pub fn authenticate(state: &AppState, headers: &HeaderMap, api: Api) -> Result<Caller, AuthError> {
    let token = bearer(headers).ok_or(AuthError::Missing)?;
    let claims = state.keys.verify(token)?;
    if Api::from_resource(&claims.aud) != Some(api) {
        return Err(AuthError::WrongAudience(claims.aud));
    }
    let now = state.clock.now().unix_timestamp();
    if claims.exp <= now {
        return Err(AuthError::Expired { exp: claims.exp, now });
    }
    // Five minutes of skew, as Microsoft's validators allow.
    if claims.nbf > now + 300 {
        return Err(AuthError::NotYetValid);
    }
    let world = state.world.lock();
    let tenant = world.tenant(&claims.tid).ok_or(AuthError::UnknownTenant)?;
    Ok(Caller {
        tenant_id: tenant.tenant_id.clone(),
        app_id: claims.appid,
        roles: claims.roles,
        api,
        client_request_id: headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
    })
}

fn ts(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).map(fmt_utc).unwrap_or_default()
}

fn with_www_authenticate(mut resp: Response, state: &AppState) -> Response {
    let v = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"invalid_token\"",
        state.base_url
    );
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

pub fn mde_rejection(state: &AppState, e: AuthError) -> Response {
    let msg = match e {
        AuthError::Missing => "Authorization has been denied for this request: no access token was sent.".to_string(),
        AuthError::Malformed => "Authorization has been denied for this request: the access token is malformed.".into(),
        AuthError::BadSignature => {
            "Authorization has been denied for this request: the token signature is invalid.".into()
        }
        AuthError::Expired { exp, now } => format!(
            "Authorization has been denied for this request: the token expired at {} (now {}).",
            ts(exp),
            ts(now)
        ),
        AuthError::NotYetValid => "Authorization has been denied for this request: the token is not yet valid.".into(),
        AuthError::WrongAudience(aud) => format!(
            "Authorization has been denied for this request: the token audience '{aud}' is not valid for this API."
        ),
        AuthError::UnknownTenant => "Authorization has been denied for this request: unknown tenant.".into(),
    };
    with_www_authenticate(errors::mde(StatusCode::UNAUTHORIZED, "Unauthorized", msg), state)
}

pub fn graph_rejection(state: &AppState, e: AuthError, headers: &HeaderMap) -> Response {
    let msg = match e {
        AuthError::Missing => "Access token is empty.".to_string(),
        AuthError::Malformed => "Access token validation failure. Invalid token.".into(),
        AuthError::BadSignature => "Access token validation failure. Invalid signature.".into(),
        AuthError::Expired { .. } => "Lifetime validation failed, the token is expired.".into(),
        AuthError::NotYetValid => "Lifetime validation failed, the token is not yet valid.".into(),
        AuthError::WrongAudience(_) => "Access token validation failure. Invalid audience.".into(),
        AuthError::UnknownTenant => "Access token validation failure. Unknown tenant.".into(),
    };
    with_www_authenticate(errors::graph(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg, headers), state)
}

pub fn arm_rejection(state: &AppState, e: AuthError) -> Response {
    let (code, msg) = match e {
        AuthError::Missing => {
            ("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.".to_string())
        }
        AuthError::Malformed => ("InvalidAuthenticationToken", "The access token is invalid.".into()),
        AuthError::BadSignature => ("InvalidAuthenticationToken", "The access token has an invalid signature.".into()),
        AuthError::Expired { exp, now } => (
            "ExpiredAuthenticationToken",
            format!("The access token expiry UTC time '{}' is earlier than current UTC time '{}'.", ts(exp), ts(now)),
        ),
        AuthError::NotYetValid => ("InvalidAuthenticationToken", "The access token is not yet valid.".into()),
        AuthError::WrongAudience(aud) => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
        ),
        AuthError::UnknownTenant => {
            ("InvalidAuthenticationTokenTenant", "The access token is from an unknown tenant.".into())
        }
    };
    with_www_authenticate(errors::arm(StatusCode::UNAUTHORIZED, code, msg), state)
}

/// An authenticated, rate-limited Defender for Endpoint caller.
pub struct MdeCaller(pub Caller);
/// An authenticated Microsoft Graph caller.
pub struct GraphCaller(pub Caller);
/// An authenticated Azure Resource Manager caller.
pub struct ArmCaller(pub Caller);

impl FromRequestParts<AppState> for MdeCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = authenticate(state, &parts.headers, Api::Mde).map_err(|e| mde_rejection(state, e))?;
        state.stats.lock().api_call(&caller.tenant_id, Api::Mde);
        // MDE quotas: per tenant, per-minute and per-hour sliding windows on real time.
        let (per_minute, per_hour, scale) = {
            let s = state.settings.lock();
            (s.mde_per_minute, s.mde_per_hour, s.mde_window_scale)
        };
        let now = std::time::Instant::now();
        let limited = state.limiter.lock().check_scaled(&caller.tenant_id, now, per_minute, per_hour, scale);
        if let Err(retry_after) = limited {
            let mut resp = errors::mde(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("Rate limit is exceeded. Try again in {retry_after} seconds."),
            );
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Err(resp);
        }
        Ok(MdeCaller(caller))
    }
}

impl FromRequestParts<AppState> for GraphCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller =
            authenticate(state, &parts.headers, Api::Graph).map_err(|e| graph_rejection(state, e, &parts.headers))?;
        state.stats.lock().api_call(&caller.tenant_id, Api::Graph);
        Ok(GraphCaller(caller))
    }
}

impl FromRequestParts<AppState> for ArmCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = authenticate(state, &parts.headers, Api::Arm).map_err(|e| arm_rejection(state, e))?;
        state.stats.lock().api_call(&caller.tenant_id, Api::Arm);
        Ok(ArmCaller(caller))
    }
}
