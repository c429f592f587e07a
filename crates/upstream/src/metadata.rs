//! Public metadata documents of an identity provider: OpenID Connect discovery
//! (`.well-known/openid-configuration`) and its signing keys (`jwks_uri`).
//!
//! The gateway validates Entra ID access tokens with these (`gateway/src/oidc.rs`). They carry
//! no secret and need no token, but they are still fetched here, on the one HTTP client (its
//! TLS roots, extra CA and timeouts), so only `upstream` talks to Microsoft.

use crate::UpstreamError;
use crate::client::Upstream;
use crate::error::{from_transport, truncate};
use serde_json::Value;

/// Largest metadata document read (Entra's key set is a few KB).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

impl Upstream {
    /// GETs a public JSON document (no token is sent) and answers it parsed. A status other than
    /// 200, a body that is not JSON or one larger than 1 MB is an error naming the URL.
    pub async fn get_public_json(&self, url: &url::Url) -> Result<Value, UpstreamError> {
        let response = self.inner.http.get(url.clone()).send().await.map_err(|e| from_transport(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| from_transport(&e))?;
        if status != 200 {
            return Err(UpstreamError::Api {
                status,
                code: "MetadataUnavailable".into(),
                message: format!("{url} answered {status}: {}", truncate(&String::from_utf8_lossy(&bytes), 300)),
                request_id: None,
            });
        }
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(UpstreamError::Config(format!("{url} answered more than {MAX_DOCUMENT_BYTES} bytes")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| UpstreamError::Config(format!("{url} did not answer a JSON document: {e}")))
    }
}
