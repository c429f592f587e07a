//! Delegated (user) access tokens for an API other than Microsoft's, and signing-key rotation:
//! what a relying party such as Riposte needs to be tested against Entra ID.
//!
//! In Entra an analyst signs in (auth code, device code, ...) to a client app and receives a
//! v2.0 access token for the API's App ID URI (`api://riposte`), carrying the app roles the
//! analyst is assigned on that API in `roles`, who they are in `preferred_username`/`name`/
//! `oid`, and the tenant in `tid`; it is signed by a key of the tenant's JWKS
//! (`/{tenant}/discovery/v2.0/keys`, named by `/{tenant}/v2.0/.well-known/openid-configuration`).
//! Interactive sign-in has no place in a test, so this admin route issues what sign-in would:
//!
//! - `POST /_sandbox/users/{tenant}/token` `{"username", "roles", "audience"?, "expiresInSeconds"?,
//!   "clientId"?}`: a v2.0 user token (`idtyp` absent, `scp` set, as Entra's user tokens are).
//!   A username of the tenant's directory gets its object id and display name; another gets a
//!   stable object id derived from it (the sandbox's generated directory has no analysts).
//!   `expiresInSeconds` may be zero or negative, to mint an expired token.
//! - `POST /_sandbox/keys/rotate`: a new signing key signs from now on; earlier ones stay in the
//!   JWKS and valid (`auth::Keys`). `GET /_sandbox/keys`: the key ids and how often the JWKS
//!   was fetched, so a test sees a relying party refetch it.
//!
//! And Entra's documented resource-owner password flow, so MSAL's
//! `acquire_token_by_username_password` works unchanged: `POST /_sandbox/users/{tenant}`
//! `{"username", "password", "roles", "audience"?}` registers an analyst with their app roles on
//! the API; `POST /{tenant}/oauth2/v2.0/token` `grant_type=password` (`client_id`, `username`,
//! `password`, `scope` = `api://riposte/.default` and any OIDC scopes) issues the same user token,
//! or `invalid_grant` with AADSTS50034 (no such user) / AADSTS50126 (wrong password), as Entra
//! does; `GET /common/userrealm/{username}` answers `Managed` for them (MSAL asks first).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use time::Duration;

use crate::errors::{admin, json_response};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/users/{tenant}", post(register))
        .route("/common/userrealm/{username}", get(user_realm))
        .route("/_sandbox/users/{tenant}/token", post(user_token))
        .route("/_sandbox/keys", get(keys))
        .route("/_sandbox/keys/rotate", post(rotate))
}

/// The audience a user token is for when the request names none.
const DEFAULT_AUDIENCE: &str = "api://riposte";
/// Entra's default access-token lifetime is 60–90 minutes; the sandbox issues 60.
const DEFAULT_LIFETIME_SECONDS: i64 = 3600;
/// The client app the analyst signed in with when none is named (Azure CLI's well-known id).
const DEFAULT_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenRequest {
    username: String,
    #[serde(default)]
    roles: Vec<String>,
    audience: Option<String>,
    expires_in_seconds: Option<i64>,
    client_id: Option<String>,
}

/// The claims of a v2.0 delegated access token (the subset Entra sends that relying parties read).
#[derive(Serialize)]
struct UserClaims {
    aud: String,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    azp: String,
    azpacr: &'static str,
    name: String,
    oid: String,
    preferred_username: String,
    roles: Vec<String>,
    scp: &'static str,
    sub: String,
    tid: String,
    uti: String,
    ver: &'static str,
}

async fn user_token(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let req: TokenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return admin(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body must be {{\"username\", \"roles\", \"audience\"?, \"expiresInSeconds\"?, \"clientId\"?}}: {e}"
                ),
            );
        }
    };
    let username = req.username.trim();
    if username.is_empty() {
        return admin(StatusCode::BAD_REQUEST, "username is empty: name the analyst, e.g. alice@contoso.com");
    }
    if state.world.lock().tenant(&tenant).is_none() {
        return admin(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    }
    let lifetime = req.expires_in_seconds.unwrap_or(DEFAULT_LIFETIME_SECONDS);
    let grant = Grant {
        tenant: &tenant,
        username,
        roles: req.roles,
        audience: req.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        client_id: req.client_id.unwrap_or_else(|| DEFAULT_CLIENT_ID.into()),
        lifetime,
    };
    match sign_user_token(&state, grant) {
        Ok(token) => json_response(
            StatusCode::OK,
            json!({"token_type": "Bearer", "expires_in": lifetime, "access_token": token, "kid": state.keys.kid()}),
        ),
        Err(e) => admin(StatusCode::INTERNAL_SERVER_ERROR, format!("signing the token failed: {e}")),
    }
}

/// What a user token says: who, for which API, through which client, for how long.
struct Grant<'a> {
    tenant: &'a str,
    username: &'a str,
    roles: Vec<String>,
    audience: String,
    client_id: String,
    /// Seconds; zero or less mints an expired token.
    lifetime: i64,
}

/// A signed v2.0 user token. A username of the tenant's directory gets its object id and
/// display name; another a stable derived object id.
fn sign_user_token(state: &AppState, grant: Grant<'_>) -> anyhow::Result<String> {
    let (tenant_id, oid, name) = {
        let world = state.world.lock();
        let t = world.tenant(grant.tenant).ok_or_else(|| anyhow::anyhow!("no tenant {}", grant.tenant))?;
        let user = t.user_index(grant.username).map(|i| &t.graph.users[i]);
        let oid = user.map(|u| u.id.clone()).unwrap_or_else(|| derived_object_id(&t.tenant_id, grant.username));
        let name = user.map(|u| u.display_name.clone()).unwrap_or_else(|| grant.username.to_string());
        (t.tenant_id.clone(), oid, name)
    };
    let now = state.clock.now();
    let exp = now.saturating_add(Duration::seconds(grant.lifetime));
    // An expired token was valid once: issued a lifetime before it expired.
    let issued = if grant.lifetime > 0 { now } else { exp.saturating_sub(Duration::seconds(DEFAULT_LIFETIME_SECONDS)) };
    let claims = UserClaims {
        aud: grant.audience,
        iss: format!("{}/{tenant_id}/v2.0", state.base_url),
        iat: issued.unix_timestamp(),
        nbf: issued.unix_timestamp(),
        exp: exp.unix_timestamp(),
        azp: grant.client_id,
        azpacr: "0",
        name,
        sub: oid.clone(),
        oid,
        preferred_username: grant.username.to_string(),
        roles: grant.roles,
        scp: "access_as_user",
        tid: tenant_id,
        uti: uuid::Uuid::new_v4().simple().to_string(),
        ver: "2.0",
    };
    state.keys.sign(&claims)
}

/// Analysts who can sign in with a password, per tenant id and lower-cased username.
#[derive(Default)]
pub struct Accounts(HashMap<(String, String), Account>);

struct Account {
    username: String,
    password: String,
    roles: Vec<String>,
    /// The API (App ID URI) whose app roles `roles` are.
    audience: String,
}

impl Accounts {
    fn get(&self, tenant_id: &str, username: &str) -> Option<&Account> {
        self.0.get(&(tenant_id.to_ascii_lowercase(), username.trim().to_ascii_lowercase()))
    }

    fn knows(&self, username: &str) -> bool {
        let u = username.trim().to_ascii_lowercase();
        self.0.keys().any(|(_, name)| *name == u)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Registration {
    username: String,
    password: String,
    #[serde(default)]
    roles: Vec<String>,
    audience: Option<String>,
}

async fn register(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let reg: Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return admin(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"username\", \"password\", \"roles\", \"audience\"?}}: {e}"),
            );
        }
    };
    if reg.username.trim().is_empty() || reg.password.is_empty() {
        return admin(StatusCode::BAD_REQUEST, "username and password must not be empty");
    }
    let Some(tenant_id) = state.world.lock().tenant(&tenant).map(|t| t.tenant_id.clone()) else {
        return admin(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    };
    let username = reg.username.trim().to_string();
    let audience = reg.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.into());
    let answer = json!({"username": username, "roles": reg.roles, "audience": audience, "tenantId": tenant_id});
    let key = (tenant_id.to_ascii_lowercase(), username.to_ascii_lowercase());
    let account = Account { username, password: reg.password, roles: reg.roles, audience };
    state.accounts.lock().0.insert(key, account);
    json_response(StatusCode::CREATED, answer)
}

/// Home realm discovery: `Managed` for registered analysts (MSAL then runs the password grant).
async fn user_realm(State(state): State<AppState>, Path(username): Path<String>) -> Response {
    let known = state.accounts.lock().knows(&username);
    let domain = username.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    json_response(
        StatusCode::OK,
        json!({
            "ver": "1.0",
            "account_type": if known { "Managed" } else { "Unknown" },
            "domain_name": domain,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
    )
}

/// `grant_type=password` at the tenant's token endpoint (v2.0 form): the resource-owner password
/// credentials flow for a registered analyst.
pub(crate) fn password_grant(
    state: &AppState,
    tenant_id: &str,
    field: &dyn Fn(&str) -> Option<String>,
) -> Result<Response, crate::login::LoginError> {
    let client_id = field("client_id").filter(|c| !c.is_empty()).ok_or_else(|| crate::login::missing("client_id"))?;
    let username = field("username").ok_or_else(|| crate::login::missing("username"))?;
    let password = field("password").ok_or_else(|| crate::login::missing("password"))?;
    let scope = field("scope").ok_or_else(|| crate::login::missing("scope"))?;
    let invalid_grant = |code: u32, text: String| (StatusCode::BAD_REQUEST, "invalid_grant", code, text);
    let (roles, audience, username) = {
        let accounts = state.accounts.lock();
        let account = accounts.get(tenant_id, &username).ok_or_else(|| {
            invalid_grant(
                50034,
                format!("The user account {{EUII Hidden}} does not exist in the {tenant_id} directory. To sign into this application, the account must be added to the directory."),
            )
        })?;
        if account.password != password {
            return Err(invalid_grant(
                50126,
                "Error validating credentials due to invalid username or password.".into(),
            ));
        }
        (account.roles.clone(), account.audience.clone(), account.username.clone())
    };
    let resources: Vec<&str> =
        scope.split_whitespace().filter(|s| !matches!(*s, "openid" | "profile" | "offline_access" | "email")).collect();
    let of_api = |s: &&str| {
        s.rsplit_once('/').is_some_and(|(resource, _)| resource.trim_end_matches('/').eq_ignore_ascii_case(&audience))
    };
    if resources.is_empty() || !resources.iter().all(of_api) {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {scope} was not found in the tenant named {tenant_id}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        ));
    }
    let grant = Grant {
        tenant: tenant_id,
        username: &username,
        roles,
        audience,
        client_id,
        lifetime: DEFAULT_LIFETIME_SECONDS,
    };
    let token = sign_user_token(state, grant).map_err(|e| {
        (StatusCode::INTERNAL_SERVER_ERROR, "server_error", 50000, format!("Token signing failed: {e}"))
    })?;
    let mut resp = json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "scope": resources.join(" "),
            "expires_in": DEFAULT_LIFETIME_SECONDS,
            "ext_expires_in": DEFAULT_LIFETIME_SECONDS,
            "access_token": token,
        }),
    );
    resp.headers_mut()
        .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store, no-cache"));
    Ok(resp)
}

/// A stable object id for a user outside the generated directory: the same name in the same
/// tenant is always the same user.
fn derived_object_id(tenant_id: &str, username: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{tenant_id}/{}", username.to_ascii_lowercase()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

async fn keys(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        json!({"current": state.keys.kid(), "kids": state.keys.kids(), "jwksServed": state.keys.jwks_served()}),
    )
}

async fn rotate(State(state): State<AppState>) -> Response {
    match state.keys.rotate() {
        Ok(kid) => json_response(StatusCode::OK, json!({"current": kid, "kids": state.keys.kids()})),
        Err(e) => admin(StatusCode::INTERNAL_SERVER_ERROR, format!("generating a key failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_object_ids_are_stable_per_tenant_and_name() {
        let a = derived_object_id("t1", "Alice@Contoso.com");
        assert_eq!(a, derived_object_id("t1", "alice@contoso.com"));
        assert_ne!(a, derived_object_id("t2", "alice@contoso.com"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_keeps_the_old_ones_published() {
        let keys = crate::auth::Keys::generate().unwrap();
        let first = keys.kid();
        let second = keys.rotate().unwrap();
        assert_ne!(first, second);
        assert_eq!(keys.kids(), vec![second.clone(), first.clone()]);
        let token = keys.sign(&json!({"sub": "x"})).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some(second.as_str()));
        for _ in 0..5 {
            keys.rotate().unwrap();
        }
        assert_eq!(keys.kids().len(), 3, "only the newest keys stay published");
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 3);
        assert_eq!(keys.jwks_served(), 1);
    }
}
