//! The Key Vault data plane (`https://{vault}.vault.azure.net`, api-version 7.x): secrets with
//! versions and attributes, soft-deleted secrets and their purge, and key rotation.
//!
//! Microsoft serves each vault on its own host; the sandbox serves every vault under
//! `/keyvault/{vault}` of its one host (the tenant's configured Key Vault base points there).
//! Tokens are for the audience `https://vault.azure.net`; the vaults use Azure RBAC
//! (`enableRbacAuthorization`), so the caller's role assignments in the subscription decide,
//! and a missing role is Key Vault's 403 `Forbidden` with inner code `ForbiddenByRbac`.
//! The data lives in the ARM store beside the vault (`world/azure_data.rs`): secrets and keys
//! with every version, a soft-deleted secret's deletion and purge dates.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, delete, post};
use serde_json::{Value, json};

use crate::auth::{Api, AuthError, Caller, authenticate};
use crate::errors::json_response;
use crate::query::Params;
use crate::state::AppState;
use crate::world::arm::{ArmStore, Resource};
use crate::world::azure_data::{VAULTS, new_storage_key};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/keyvault/{vault}/secrets/{name}", any(secret))
        .route("/keyvault/{vault}/secrets/{name}/", any(secret))
        .route("/keyvault/{vault}/secrets/{name}/{version}", any(secret_version))
        .route("/keyvault/{vault}/deletedsecrets/{name}", delete(purge_secret).get(deleted_secret))
        .route("/keyvault/{vault}/keys/{name}/rotate", post(rotate_key))
}

/// Key Vault's error body: `{"error": {"code", "message", "innererror"?}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>, inner: Option<&str>) -> Response {
    let mut body = json!({"error": {"code": code, "message": message.into()}});
    if let Some(inner) = inner {
        body["error"]["innererror"] = json!({"code": inner});
    }
    json_response(status, body)
}

/// 403 for a caller without the role (RBAC vaults).
pub fn forbidden(app_id: &str, action: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={app_id}\r\nAction: '{action}'\r\nAssignment: (not found)\r\n"
        ),
        Some("ForbiddenByRbac"),
    )
}

/// An authenticated Key Vault caller.
pub struct VaultCaller(pub Caller);

impl FromRequestParts<AppState> for VaultCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = authenticate(state, &parts.headers, Api::KeyVault).map_err(|e| rejection(state, e))?;
        state.stats.lock().api_call(&caller.tenant_id, Api::KeyVault);
        Ok(VaultCaller(caller))
    }
}

/// 401 with the challenge Key Vault clients read the authority and resource from.
fn rejection(state: &AppState, e: AuthError) -> Response {
    let message = match e {
        AuthError::Missing => "AKV10000: Request is missing a Bearer or PoP token.".to_string(),
        AuthError::WrongAudience(aud) => {
            format!("AKV10022: Invalid audience. Expected https://vault.azure.net, found: {aud}.")
        }
        AuthError::Expired { .. } => "AKV10032: Token expired.".into(),
        _ => "AKV10032: Invalid issuer or token.".into(),
    };
    let mut resp = error(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
    let challenge = format!("Bearer authorization=\"{}/common\", resource=\"https://vault.azure.net\"", state.base_url);
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// What every operation needs: an api-version of 7.x, the vault, the role.
struct Call<'a> {
    caller: &'a Caller,
    vault: String,
    now: i64,
}

fn api_version(q: Option<&str>) -> Result<(), Response> {
    let params = Params::parse(q);
    match params.get("api-version") {
        Some(v) if v.starts_with("7.") => Ok(()),
        Some(v) => Err(error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            format!(
                "The specified version ({v}) is not recognized. Consider using the latest supported version (7.5)."
            ),
            None,
        )),
        None => {
            Err(error(StatusCode::BAD_REQUEST, "BadParameter", "The 'api-version' query parameter is missing.", None))
        }
    }
}

/// The vault's ARM id in the caller's subscription, or Key Vault's 404.
fn vault_id(store: &ArmStore, vault: &str) -> Result<String, Response> {
    store
        .list(VAULTS, &store.subscription_scope())
        .into_iter()
        .find(|v| v.name().eq_ignore_ascii_case(vault))
        .map(|v| v.id.clone())
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "VaultNotFound",
                format!("The vault '{vault}' was not found in this tenant."),
                None,
            )
        })
}

/// Roles that grant secret (`Secrets`) or key (`Crypto`) operations.
fn authorize(store: &ArmStore, c: &Call<'_>, kind: &str, action: &str) -> Result<(), Response> {
    let allowed: &[&str] = match kind {
        "Crypto" => &["Key Vault Administrator", "Key Vault Crypto Officer"],
        _ => &["Key Vault Administrator", "Key Vault Secrets Officer"],
    };
    let held = crate::arm::security::assigned_roles(store);
    if allowed.iter().any(|r| held.iter().any(|h| h.eq_ignore_ascii_case(r))) {
        return Ok(());
    }
    Err(forbidden(&c.caller.app_id, &format!("Microsoft.KeyVault/vaults/{action}")))
}

/// Runs `f` on the tenant's ARM store once the request is checked.
fn with_store(
    state: &AppState,
    caller: &Caller,
    vault: &str,
    q: Option<&str>,
    f: impl FnOnce(&mut ArmStore, &Call<'_>, &str) -> Result<Response, Response>,
) -> Response {
    if let Err(r) = api_version(q) {
        return r;
    }
    let now = state.clock.now().unix_timestamp();
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&caller.tenant_id) else {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unknown tenant.", None);
    };
    let id = match vault_id(&t.arm, vault) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let call = Call { caller, vault: vault.to_ascii_lowercase(), now };
    f(&mut t.arm, &call, &id).unwrap_or_else(|r| r)
}

fn secret_not_found(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command."
        ),
        None,
    )
}

/// The live (not deleted) secret resource.
fn live_secret<'a>(store: &'a mut ArmStore, vault_id: &str, name: &str) -> Result<&'a mut Resource, Response> {
    store
        .get_mut(&format!("{vault_id}/sandboxSecrets/{name}"))
        .filter(|s| s.body.pointer("/properties/deletedDate").is_none_or(Value::is_null))
        .ok_or_else(|| secret_not_found(name))
}

/// A secret version as Key Vault answers it (`value` only when `with_value`).
fn bundle(c: &Call<'_>, name: &str, v: &Value, with_value: bool) -> Value {
    let mut b = json!({
        "id": format!("https://{}.vault.azure.net/secrets/{name}/{}", c.vault, v["version"].as_str().unwrap_or("")),
        "attributes": {"enabled": v["enabled"], "created": v["created"], "updated": v["updated"],
                       "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        "tags": {},
    });
    if with_value {
        b["value"] = v["value"].clone();
    }
    if !v["contentType"].is_null() {
        b["contentType"] = v["contentType"].clone();
    }
    b
}

async fn secret(
    State(state): State<AppState>,
    VaultCaller(c): VaultCaller,
    method: Method,
    Path((vault, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    secret_op(&state, &c, method, &vault, &name, None, q.as_deref(), &body)
}

async fn secret_version(
    State(state): State<AppState>,
    VaultCaller(c): VaultCaller,
    method: Method,
    Path((vault, name, version)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    secret_op(&state, &c, method, &vault, &name, Some(version), q.as_deref(), &body)
}

/// GET (a disabled version is refused, as Key Vault does) and PATCH (attributes of a version,
/// the latest when none is named) of a secret.
#[allow(clippy::too_many_arguments)]
fn secret_op(
    state: &AppState,
    c: &Caller,
    method: Method,
    vault: &str,
    name: &str,
    version: Option<String>,
    q: Option<&str>,
    body: &[u8],
) -> Response {
    with_store(state, c, vault, q, |store, call, vault_id| {
        let verb = if method == Method::GET { "secrets/getSecret/action" } else { "secrets/update/action" };
        authorize(store, call, "Secrets", verb)?;
        let secret = live_secret(store, vault_id, name)?;
        let versions = secret
            .body
            .pointer_mut("/properties/versions")
            .and_then(Value::as_array_mut)
            .expect("seeded with versions");
        let wanted = version.filter(|v| !v.is_empty());
        let index = match &wanted {
            Some(v) => versions.iter().position(|x| x["version"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(v))),
            None => versions.len().checked_sub(1),
        }
        .ok_or_else(|| secret_not_found(&format!("{name}/{}", wanted.clone().unwrap_or_default())))?;
        match method {
            Method::GET => {
                if versions[index]["enabled"] == false {
                    return Err(error(
                        StatusCode::FORBIDDEN,
                        "Forbidden",
                        "Operation get is not allowed on a disabled secret.",
                        Some("SecretDisabled"),
                    ));
                }
                Ok(json_response(StatusCode::OK, bundle(call, name, &versions[index], true)))
            }
            Method::PATCH => {
                let patch: Value = serde_json::from_slice(body).map_err(|e| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "BadParameter",
                        format!("The request body is not valid JSON: {e}"),
                        None,
                    )
                })?;
                if let Some(enabled) = patch.pointer("/attributes/enabled") {
                    let Some(enabled) = enabled.as_bool() else {
                        return Err(error(
                            StatusCode::BAD_REQUEST,
                            "BadParameter",
                            "attributes.enabled must be true or false.",
                            None,
                        ));
                    };
                    versions[index]["enabled"] = enabled.into();
                }
                if let Some(ct) = patch.get("contentType") {
                    versions[index]["contentType"] = ct.clone();
                }
                versions[index]["updated"] = call.now.into();
                Ok(json_response(StatusCode::OK, bundle(call, name, &versions[index], false)))
            }
            _ => Err(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadParameter",
                format!("The method {method} is not allowed here."),
                None,
            )),
        }
    })
}

fn deleted_view(c: &Call<'_>, name: &str, secret: &Resource) -> Value {
    let p = &secret.body["properties"];
    let latest = p["versions"].as_array().and_then(|v| v.last()).cloned().unwrap_or(Value::Null);
    let mut b = bundle(c, name, &latest, false);
    b["recoveryId"] = format!("https://{}.vault.azure.net/deletedsecrets/{name}", c.vault).into();
    b["deletedDate"] = p["deletedDate"].clone();
    b["scheduledPurgeDate"] = p["scheduledPurgeDate"].clone();
    b
}

fn deleted<'a>(store: &'a ArmStore, vault_id: &str, name: &str) -> Result<&'a Resource, Response> {
    store
        .get(&format!("{vault_id}/sandboxSecrets/{name}"))
        .filter(|s| s.body.pointer("/properties/deletedDate").is_some_and(|d| !d.is_null()))
        .ok_or_else(|| {
            error(StatusCode::NOT_FOUND, "SecretNotFound", format!("Deleted Secret not found: {name}"), None)
        })
}

async fn deleted_secret(
    State(state): State<AppState>,
    VaultCaller(c): VaultCaller,
    Path((vault, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    with_store(&state, &c, &vault, q.as_deref(), |store, call, vault_id| {
        authorize(store, call, "Secrets", "deletedsecrets/read")?;
        let s = deleted(store, vault_id, &name)?;
        Ok(json_response(StatusCode::OK, deleted_view(call, &name, s)))
    })
}

/// `DELETE /deletedsecrets/{name}`: permanent; 204. Only a soft-deleted secret can be purged.
async fn purge_secret(
    State(state): State<AppState>,
    VaultCaller(c): VaultCaller,
    Path((vault, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    with_store(&state, &c, &vault, q.as_deref(), |store, call, vault_id| {
        authorize(store, call, "Secrets", "deletedsecrets/purge/action")?;
        let id = deleted(store, vault_id, &name)?.id.clone();
        store.remove_tree(&id);
        let mut resp = json_response(StatusCode::NO_CONTENT, Value::Null);
        *resp.body_mut() = axum::body::Body::empty();
        resp.headers_mut().remove(header::CONTENT_TYPE);
        Ok(resp)
    })
}

/// `POST /keys/{name}/rotate`: a new version with new key material, the same type and
/// operations; the previous versions stay (readable by their version).
async fn rotate_key(
    State(state): State<AppState>,
    VaultCaller(c): VaultCaller,
    Path((vault, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    with_store(&state, &c, &vault, q.as_deref(), |store, call, vault_id| {
        authorize(store, call, "Crypto", "keys/rotate/action")?;
        let key = store.get_mut(&format!("{vault_id}/sandboxKeys/{name}")).ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "KeyNotFound",
                format!("A key with (name/id) {name} was not found in this key vault."),
                None,
            )
        })?;
        let version = uuid::Uuid::new_v4().simple().to_string();
        let material = new_storage_key(&mut rand::rng());
        let p = key.body.get_mut("properties").expect("seeded with properties");
        let (kty, ops) = (p["kty"].clone(), p["keyOps"].clone());
        let entry =
            json!({"version": version, "n": material, "enabled": true, "created": call.now, "updated": call.now});
        if let Some(list) = p["versions"].as_array_mut() {
            list.push(entry);
        }
        let bundle = json!({
            "key": {"kid": format!("https://{}.vault.azure.net/keys/{name}/{version}", call.vault), "kty": kty, "key_ops": ops, "n": material, "e": "AQAB"},
            "attributes": {"enabled": true, "created": call.now, "updated": call.now, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": {},
        });
        Ok(json_response(StatusCode::OK, bundle))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_7x() {
        assert!(api_version(Some("api-version=7.5")).is_ok());
        assert!(api_version(Some("api-version=2016-10-01")).is_err());
        assert!(api_version(None).is_err());
    }
}
