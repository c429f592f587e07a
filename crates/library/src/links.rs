//! Signed, expiring download links: `/v1/downloads/{token}` needs no API key, so the token itself
//! is the authority. It names one object and an expiry, and carries an HMAC-SHA256 over both under
//! a server secret; changing any byte breaks the MAC.
//!
//! Token: `base64url(path) "." expires_unix "." base64url(hmac("riposte-link-v1\n" path "\n" expires))`.
//! The MAC is checked first (constant time), the expiry second, so a forged expiry is *tampered*
//! (403), never *expired* (410).

use crate::ObjectKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Default lifetime of a link: one day, as the seed gave its GetFile SAS links.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Shortest secret accepted: 32 bytes, the HMAC-SHA256 block-size guidance.
pub const MIN_SECRET_BYTES: usize = 32;

const DOMAIN: &[u8] = b"riposte-link-v1\n";

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the download link is not valid (it was altered, or was not issued by this gateway)")]
    Tampered,
    #[error("the download link expired at {expired_at}")]
    Expired { expired_at: String },
}

/// A link handed to a caller.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedLink {
    pub token: String,
    /// Path under the gateway, e.g. `/v1/downloads/<token>`.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Signs and verifies links. Cheap to clone; the secret never leaves (no Debug, no Serialize).
#[derive(Clone)]
pub struct Links {
    secret: Arc<SecretSlice<u8>>,
    ttl: Duration,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Links {
    /// `None` when the secret is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: Vec<u8>, ttl: Duration) -> Option<Links> {
        (secret.len() >= MIN_SECRET_BYTES).then(|| Links { secret: Arc::new(SecretSlice::from(secret)), ttl })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A link to `key` valid for the configured lifetime.
    pub fn sign(&self, key: &ObjectKey) -> SignedLink {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.sign_until(key, now.saturating_add(self.ttl.as_secs() as i64))
    }

    /// A link to `key` valid until the given Unix time.
    pub fn sign_until(&self, key: &ObjectKey, expires_unix: i64) -> SignedLink {
        let path = key.to_link_path();
        let mac = self.mac(&path, expires_unix);
        let token =
            format!("{}.{expires_unix}.{}", URL_SAFE_NO_PAD.encode(path.as_bytes()), URL_SAFE_NO_PAD.encode(mac));
        SignedLink {
            url: format!("/v1/downloads/{token}"),
            token,
            expires_at: OffsetDateTime::from_unix_timestamp(expires_unix).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }

    /// The object a token names, if the token is genuine and unexpired now.
    pub fn verify(&self, token: &str) -> Result<ObjectKey, LinkError> {
        self.verify_at(token, OffsetDateTime::now_utc().unix_timestamp())
    }

    pub fn verify_at(&self, token: &str, now_unix: i64) -> Result<ObjectKey, LinkError> {
        let mut parts = token.split('.');
        let (Some(path), Some(expires), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Tampered);
        };
        let path =
            URL_SAFE_NO_PAD.decode(path).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(LinkError::Tampered)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Tampered)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| LinkError::Tampered)?;
        self.mac_state(&path, expires).verify_slice(&mac).map_err(|_| LinkError::Tampered)?;
        if now_unix >= expires {
            let expired_at = OffsetDateTime::from_unix_timestamp(expires)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| expires.to_string());
            return Err(LinkError::Expired { expired_at });
        }
        ObjectKey::from_link_path(&path).ok_or(LinkError::Tampered)
    }

    fn mac_state(&self, path: &str, expires: i64) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail; the fallback keeps it panic-free.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret())
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).expect("fixed-size key"));
        mac.update(DOMAIN);
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    fn mac(&self, path: &str, expires: i64) -> Vec<u8> {
        self.mac_state(path, expires).finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(vec![7u8; 32], DEFAULT_TTL).unwrap()
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Links::new(vec![1u8; 31], DEFAULT_TTL).is_none());
    }

    #[test]
    fn a_signed_link_verifies_to_its_object_until_it_expires() {
        let key = ObjectKey::retrieved("contoso", "0190-op", "Security.evtx");
        let link = links().sign_until(&key, 1_000);
        assert_eq!(link.url, format!("/v1/downloads/{}", link.token));
        assert_eq!(links().verify_at(&link.token, 999), Ok(key));
        assert!(matches!(links().verify_at(&link.token, 1_000), Err(LinkError::Expired { .. })));
    }

    #[test]
    fn any_change_is_tampering() {
        let key = ObjectKey::library("contoso", "a.ps1");
        let token = links().sign_until(&key, 2_000).token;
        let (path, rest) = token.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        // A later expiry with the old MAC: tampered, not valid and not expired.
        assert_eq!(links().verify_at(&format!("{path}.3000.{mac}"), 2_500), Err(LinkError::Tampered));
        // Another object with the old MAC.
        let other = URL_SAFE_NO_PAD.encode("tenants/contoso/library/b.ps1");
        assert_eq!(links().verify_at(&format!("{other}.2000.{mac}"), 1), Err(LinkError::Tampered));
        // Another secret.
        let foreign = Links::new(vec![8u8; 32], DEFAULT_TTL).unwrap();
        assert_eq!(foreign.verify_at(&token, 1), Err(LinkError::Tampered));
        for junk in ["", "a.b", "a.b.c.d", "!!.1.!!", &token[..token.len() - 2]] {
            assert_eq!(links().verify_at(junk, 1), Err(LinkError::Tampered), "{junk}");
        }
        // Expired but forged still reads as tampered.
        assert_eq!(links().verify_at(&format!("{path}.5.{mac}"), 10), Err(LinkError::Tampered));
    }
}
