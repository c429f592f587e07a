//! Entra ID (login.microsoftonline.com): client-credentials tokens (v2 and legacy v1), OIDC
//! discovery, JWKS and instance discovery (upstream-apis.md §1, dependencies.md §5.1); the v2
//! password grant and user tokens for other APIs are in `users.rs`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use rand::Rng;
use serde_json::json;
use time::Duration;

use crate::auth::{Api, Claims};
use crate::errors::{self, json_response};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token_v2))
        .route("/{tenant}/oauth2/token", post(token_v1))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(openid_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/discovery/keys", get(jwks))
        .route("/common/discovery/instance", get(instance_discovery))
}

#[derive(Clone, Copy, PartialEq)]
enum Version {
    V1,
    V2,
}

/// A token-endpoint failure: (status, error, AADSTS code, text).
pub(crate) type LoginError = (StatusCode, &'static str, u32, String);

pub(crate) fn missing(param: &str) -> LoginError {
    (
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

async fn token_v2(state: State<AppState>, tenant: Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    token(state, tenant, headers, body, Version::V2)
}

async fn token_v1(state: State<AppState>, tenant: Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    token(state, tenant, headers, body, Version::V1)
}

fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    version: Version,
) -> Response {
    let correlation = headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match issue(&state, &tenant, &headers, &body, version) {
        Ok(resp) => resp,
        Err((status, error, code, text)) => {
            *state.stats.lock().token_failures.entry(tenant.clone()).or_default() += 1;
            errors::login(status, error, code, &text, &state.base_url, correlation.as_deref())
        }
    }
}

/// Client credentials from the form, or from HTTP Basic (RFC 6749 §2.3.1: both parts
/// form-urlencoded before base64).
fn client_credentials(form: &[(String, String)], headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut id = field("client_id");
    let mut secret = field("client_secret");
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        && let Ok(s) = String::from_utf8(decoded)
        && let Some((u, p)) = s.split_once(':')
    {
        let dec = |x: &str| {
            url::form_urlencoded::parse(format!("v={x}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        id = id.or(Some(dec(u)));
        secret = secret.or(Some(dec(p)));
    }
    (id, secret)
}

fn issue(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    version: Version,
) -> Result<Response, LoginError> {
    let (tenant_id, client_id, client_secret, sp_oid, roles_graph, roles_mde, roles_cloud_apps, roles_exchange) = {
        let world = state.world.lock();
        let t = world.tenant(tenant).ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
            )
        })?;
        (
            t.tenant_id.clone(),
            t.client_id.clone(),
            t.client_secret.clone(),
            t.sp_object_id.clone(),
            t.graph_roles.clone(),
            t.mde_roles.clone(),
            t.cloud_apps.roles.clone(),
            t.mail.exchange.app_roles.clone(),
        )
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let grant = field("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant == "password" && version == Version::V2 {
        // An analyst's own sign-in (ROPC) for an API such as Riposte's (`users.rs`).
        return crate::users::password_grant(state, &tenant_id, &|k| field(k).map(String::from));
    }
    if grant != "client_credentials" {
        return Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let (id, secret) = client_credentials(&form, headers);
    let id = id.filter(|s| !s.is_empty()).ok_or_else(|| missing("client_id"))?;
    if !id.eq_ignore_ascii_case(&client_id) {
        return Err((
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    let secret = match secret {
        Some(s) => s,
        None if field("client_assertion").is_some() => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. The sandbox apps authenticate with a client secret only.".into(),
            ));
        }
        None => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
            ));
        }
    };
    if secret != client_secret {
        return Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ));
    }
    let (resource, api) = match version {
        Version::V2 => resolve_scope(field("scope").ok_or_else(|| missing("scope"))?)?,
        Version::V1 => {
            let r = field("resource").ok_or_else(|| missing("resource"))?;
            let api = Api::from_resource(r).ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    "invalid_resource",
                    500011,
                    format!("The resource principal named {r} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
                )
            })?;
            (r.trim_end_matches('/').to_string(), api)
        }
    };

    let now = state.clock.now();
    let lifetime = {
        let s = state.settings.lock();
        let (lo, hi) = (s.token_min_seconds.max(1), s.token_max_seconds.max(1));
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        state.token_rng.lock().random_range(lo..=hi)
    };
    let exp = now.saturating_add(Duration::seconds(lifetime));
    let roles = match api {
        Api::Graph => roles_graph,
        Api::Mde => roles_mde,
        Api::CloudApps => roles_cloud_apps,
        Api::ExchangeOnline => roles_exchange,
        // ARM and Key Vault (RBAC vaults) authorize with role assignments, not app roles in the token.
        Api::Arm | Api::KeyVault => Vec::new(),
    };
    let iss = match version {
        Version::V2 => format!("{}/{tenant_id}/v2.0", state.base_url),
        Version::V1 => format!("https://sts.windows.net/{tenant_id}/"),
    };
    let claims = Claims {
        aud: resource.clone(),
        iss,
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: exp.unix_timestamp(),
        appid: client_id.clone(),
        azp: Some(client_id.clone()),
        appidacr: Some("1".into()),
        app_displayname: Some("Riposte Sandbox App".into()),
        idtyp: Some("app".into()),
        oid: sp_oid.clone(),
        sub: sp_oid,
        tid: tenant_id.clone(),
        roles,
        ver: if version == Version::V2 { "2.0".into() } else { "1.0".into() },
        uti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let access_token = state.keys.sign(&claims).map_err(|e| {
        (StatusCode::INTERNAL_SERVER_ERROR, "server_error", 50000, format!("Token signing failed: {e}"))
    })?;
    state.stats.lock().token_issued(&tenant_id, api);
    let body = match version {
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }),
        // v1 sends numbers as strings and adds expires_on / not_before / resource ([I]).
        Version::V1 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime.to_string(),
            "ext_expires_in": lifetime.to_string(),
            "expires_on": exp.unix_timestamp().to_string(),
            "not_before": now.unix_timestamp().to_string(),
            "resource": field("resource").unwrap_or_default(),
            "access_token": access_token,
        }),
    };
    let mut resp = json_response(StatusCode::OK, body);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// v2 `scope`: every scope must be `<resource>/.default` for one resource. OIDC scopes that
/// MSAL may add (`openid profile offline_access`) are ignored.
fn resolve_scope(scope: &str) -> Result<(String, Api), LoginError> {
    let invalid = |s: &str| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid."),
        )
    };
    let mut found: Option<(String, Api)> = None;
    for s in scope.split_whitespace() {
        if matches!(s, "openid" | "profile" | "offline_access" | "email") {
            continue;
        }
        let resource = s.strip_suffix("/.default").ok_or_else(|| invalid(s))?;
        let api = Api::from_resource(resource).ok_or_else(|| invalid(s))?;
        match &found {
            Some((_, a)) if *a != api => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    70011,
                    format!(
                        "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. All scopes must belong to a single resource."
                    ),
                ));
            }
            _ => found = Some((resource.trim_end_matches('/').to_string(), api)),
        }
    }
    found.ok_or_else(|| invalid(scope))
}

fn unknown_tenant(state: &AppState, tenant: &str) -> Response {
    let mut resp = errors::login(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
        &state.base_url,
        None,
    );
    resp.headers_mut().remove(header::CACHE_CONTROL);
    resp
}

fn openid(state: &AppState, tenant: &str, v2: bool) -> Response {
    // Multi-tenant authorities publish a `{tenantid}` placeholder, as Entra does.
    let multi = ["common", "organizations", "consumers"].iter().any(|m| m.eq_ignore_ascii_case(tenant));
    let found = state.world.lock().tenant(tenant).map(|t| t.tenant_id.clone());
    let tid = match found {
        Some(t) => t,
        None if multi => "{tenantid}".to_string(),
        None => return unknown_tenant(state, tenant),
    };
    let b = &state.base_url;
    let (suffix, issuer) =
        if v2 { ("/v2.0", format!("{b}/{tid}/v2.0")) } else { ("", format!("https://sts.windows.net/{tid}/")) };
    json_response(
        StatusCode::OK,
        json!({
            "token_endpoint": format!("{b}/{tid}/oauth2{suffix}/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/{tid}/discovery{suffix}/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{b}/oidc/userinfo"),
            "authorization_endpoint": format!("{b}/{tid}/oauth2{suffix}/authorize"),
            "device_authorization_endpoint": format!("{b}/{tid}/oauth2{suffix}/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{b}/{tid}/oauth2{suffix}/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles", "appid", "azp"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"
        }),
    )
}

async fn openid_v2(State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    openid(&state, &tenant, true)
}

async fn openid_v1(State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    openid(&state, &tenant, false)
}

async fn jwks(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, state.keys.jwks())
}

/// MSAL's instance discovery; harmless metadata naming this host as the only alias.
async fn instance_discovery(State(state): State<AppState>) -> Response {
    let host = state.base_url.split("://").nth(1).unwrap_or(&state.base_url).to_string();
    (
        StatusCode::OK,
        axum::Json(json!({
            "tenant_discovery_endpoint": format!("{}/common/v2.0/.well-known/openid-configuration", state.base_url),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]
        })),
    )
        .into_response()
}
