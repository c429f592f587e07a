//! What the tenant's app is actually granted, read from its own access tokens (the permission
//! doctor's input).
//!
//! An app-only token carries the application permissions granted to the app on the token's
//! audience in its `roles` claim, and the service principal's object id in `oid`. The token comes
//! from the same cache every call uses ([`Tokens`](crate::token)), so the doctor sees exactly the
//! roles the next call will carry. The token is ours and came straight from Entra over TLS, so its
//! payload is read without verifying the signature; it never leaves this module.

use base64::Engine as _;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;

use crate::api::Api;
use crate::client::Upstream;
use crate::config::TenantCredentials;
use crate::error::UpstreamError;

/// The app permissions one audience's token carries.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub api: Api,
    /// The token's audience (`https://graph.microsoft.com`, ...).
    pub audience: String,
    /// The `roles` claim: application permissions granted and consented on that audience.
    pub roles: Vec<String>,
    /// The service principal's object id (`oid`): whose Azure role assignments to read.
    pub object_id: Option<String>,
}

impl Upstream {
    /// The app roles this tenant's token for `api` carries (from the token cache; a token is
    /// fetched when none is cached). Only for families that take Entra tokens.
    pub async fn granted_roles(&self, creds: &TenantCredentials, api: Api) -> Result<Grant, UpstreamError> {
        let (_, target) = self.resolve(creds, api)?;
        let token = self.inner.tokens.get(creds, &target).await?;
        let claims = payload(token.secret.expose_secret()).ok_or_else(|| {
            UpstreamError::Config(format!("the {} token is not a JWT with a JSON payload", api.label()))
        })?;
        let roles = claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        let object_id = claims.get("oid").and_then(Value::as_str).map(String::from);
        Ok(Grant { api, audience: target.audience, roles, object_id })
    }
}

/// The JSON payload of a compact JWS, unverified.
fn payload(jwt: &str) -> Option<Value> {
    let middle = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(middle.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_the_payload() {
        let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!(
            "{}.{}.sig",
            enc(&serde_json::json!({"alg": "RS256"})),
            enc(&serde_json::json!({"roles": ["Machine.Isolate"], "oid": "sp-1"}))
        );
        let claims = payload(&jwt).unwrap();
        assert_eq!(claims["roles"][0], "Machine.Isolate");
        assert!(payload("not-a-jwt").is_none());
    }
}
