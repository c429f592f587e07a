//! Authentication: API keys in the Azure Functions places (`x-functions-key`, `?code=`) and the
//! usual ones (`Authorization: Bearer`, `x-api-key`). Keys are stored as SHA-256 hashes only.
//! Entra ID access tokens (`Authorization: Bearer <jwt>`) are checked by `oidc.rs`.

use crate::AppState;
use crate::error::ApiError;
use axum::http::HeaderMap;
use engine::{Principal, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The settings key under which the admin key's hash is kept.
pub const ADMIN_KEY_SETTING: &str = "admin_key_hash";
/// The principal name audit records show for the admin key.
pub const ADMIN_NAME: &str = "admin";

/// Hex SHA-256 of a key: what the store keeps instead of the key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// A new random key: `rk_` + 40 hex characters (160 bits).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    format!("rk_{}", hex::encode(bytes))
}

/// The key a request presents, from whichever place it used.
pub fn presented_key(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    header("x-functions-key")
        .or_else(|| header("x-api-key"))
        .or_else(|| {
            header("authorization").and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        })
        .map(String::from)
        .or_else(|| query.iter().find(|(k, _)| k == "code").map(|(_, v)| v.clone()))
}

/// Who the key belongs to; 401 when absent or unknown. With `[auth.entra]` configured, a JWT
/// sent as `Authorization: Bearer` is an Entra ID access token (`oidc.rs`) instead.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Principal, ApiError> {
    if let (Some(entra), Some(token)) = (state.entra.as_deref(), crate::oidc::bearer_jwt(headers)) {
        return entra.authenticate(token).await;
    }
    let key = presented_key(headers, query).ok_or_else(|| {
        ApiError::unauthorized(
            "an API key is required: send it in x-functions-key, ?code=, Authorization: Bearer or x-api-key",
        )
    })?;
    let hash = hash_key(&key);
    let store = state.engine.store();
    // Cached (`store::credential_cache`): no database round trip per request.
    let admin = store.setting_cached(ADMIN_KEY_SETTING).await?;
    if admin.is_some_and(|admin| constant_time_eq(admin.as_bytes(), hash.as_bytes())) {
        return Ok(Principal { name: ADMIN_NAME.into(), role: Role::Admin, tenants: vec![] });
    }
    let found = store.key_by_hash_cached(&hash).await?;
    let key = found.ok_or_else(|| ApiError::unauthorized("the API key is not valid"))?;
    let role = Role::parse(&key.role).unwrap_or(Role::Reader);
    Ok(Principal { name: key.name, role, tenants: key.tenants })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The authenticated caller, as an axum extractor: a handler that takes `Caller` cannot forget
/// authentication, and a missing or unknown key is answered (401, the native JSON envelope)
/// before the handler runs. A surface with its own envelope (the seed routes) takes
/// `Result<Caller, ApiError>` instead: authentication still happens before the handler, which
/// only chooses how to render the refusal.
pub struct Caller(pub Principal);

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Caller, ApiError> {
        let query = crate::input::query_pairs(&parts.uri);
        authenticate(state, &parts.headers, &query).await.map(Caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn key_is_found_in_every_documented_place() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h, &[("code".into(), "q".into())]).as_deref(), Some("q"));
        h.insert("authorization", HeaderValue::from_static("Bearer b"));
        assert_eq!(presented_key(&h, &[]).as_deref(), Some("b"));
        h.insert("x-api-key", HeaderValue::from_static("a"));
        assert_eq!(presented_key(&h, &[]).as_deref(), Some("a"));
        h.insert("x-functions-key", HeaderValue::from_static("f"));
        assert_eq!(presented_key(&h, &[]).as_deref(), Some("f"));
    }

    #[test]
    fn hashes_differ_and_keys_are_random() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert_ne!(hash_key(&a), hash_key(&b));
        assert_eq!(hash_key(&a).len(), 64);
    }
}
