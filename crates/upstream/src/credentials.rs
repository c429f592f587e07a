//! How a tenant proves who it is: an Entra ID client secret, a certificate (a signed client
//! assertion), or AWS keys; managed identity fits as one more variant.
//!
//! Secrets are `SecretString`s and every `Debug` here is hand-written, so no credential can reach
//! a log line through `{:?}` (invariant 7). The certificate flow follows Microsoft identity
//! platform's "certificate credentials" page: a JWT signed RS256 whose header carries the
//! certificate's SHA-256 thumbprint (`x5t#S256`, base64url) and whose claims are `aud` = the
//! token endpoint, `iss` = `sub` = the client id, a fresh `jti`, `nbf` and a short `exp`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::UpstreamError;

/// How long a client assertion is valid: Microsoft accepts up to 10 minutes; we use 5.
const ASSERTION_LIFETIME_SECS: u64 = 300;

/// One tenant's means of authentication. Marked non-exhaustive so managed identity (and
/// workload identity federation) can join without breaking callers.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credential {
    /// An Entra ID client secret *value* (not its id), sent only in the token request form.
    ClientSecret(SecretString),
    /// An Entra ID certificate credential: a client assertion signed with its private key.
    Certificate(Certificate),
    /// AWS keys for EC2: every call is SigV4-signed with them (or with the role they assume).
    Aws(AwsCredentials),
}

impl Credential {
    /// Short name for logs and readiness: `client_secret`, `certificate`, `aws`.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::ClientSecret(_) => "client_secret",
            Credential::Certificate(_) => "certificate",
            Credential::Aws(_) => "aws",
        }
    }

    /// Whether this credential can authenticate calls to `api` (Entra for Microsoft, keys for AWS).
    pub fn serves(&self, api: vocab::Api) -> bool {
        match self {
            Credential::Aws(_) => !api.uses_entra_token(),
            Credential::ClientSecret(_) | Credential::Certificate(_) => api.uses_entra_token(),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Credential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            Credential::Aws(a) => f.debug_tuple("Aws").field(a).finish(),
        }
    }
}

/// A certificate registered on the app: its SHA-256 thumbprint and the private key that signs.
#[derive(Clone)]
pub struct Certificate {
    /// base64url (no padding) SHA-256 of the certificate's DER: the `x5t#S256` header.
    thumbprint_s256: String,
    key: EncodingKey,
}

impl Certificate {
    /// From the PEM certificate and its PEM private key (PKCS#1 or PKCS#8 RSA). Checked now, so
    /// a bad file fails at start-up rather than at the first token request.
    pub fn from_pem(certificate_pem: &str, private_key_pem: &SecretString) -> Result<Certificate, UpstreamError> {
        let der = pem_certificate_der(certificate_pem)?;
        let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes())
            .map_err(|e| UpstreamError::Config(format!("certificate private key: {e}")))?;
        Ok(Certificate { thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)), key })
    }

    /// The `x5t#S256` value Microsoft matches against the app's registered certificates.
    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }

    /// A client assertion for `client_id` at `token_url`, valid from `now` (Unix seconds).
    pub fn assertion(&self, client_id: &str, token_url: &str, now: u64) -> Result<SecretString, UpstreamError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.thumbprint_s256.clone());
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| UpstreamError::Config(format!("signing the client assertion: {e}")))
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("thumbprint_s256", &self.thumbprint_s256)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The claims Microsoft requires in a client assertion.
#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

/// The DER bytes of the first `CERTIFICATE` block of a PEM file.
fn pem_certificate_der(pem: &str) -> Result<Vec<u8>, UpstreamError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let missing = || UpstreamError::Config("certificate: no PEM CERTIFICATE block".into());
    let start = pem.find(BEGIN).ok_or_else(missing)? + BEGIN.len();
    let end = start + pem[start..].find(END).ok_or_else(missing)?;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body).map_err(|e| UpstreamError::Config(format!("certificate: the PEM block is not base64: {e}")))
}

/// AWS credentials for one account: long-term (or session) keys, optionally used to assume a
/// role in the target account. This is the signing credentials holder SigV4 will read.
#[derive(Clone)]
pub struct AwsCredentials {
    /// Region the EC2 endpoint and the signature scope use, e.g. `us-east-1`.
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// For temporary keys (STS); sent as `X-Amz-Security-Token`.
    pub session_token: Option<SecretString>,
    /// Assume this role with the keys above before calling (cross-account access).
    pub assume_role: Option<AssumeRole>,
}

/// An STS `AssumeRole` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: String,
    /// The external id the role's trust policy demands, if any.
    pub external_id: Option<String>,
    /// Shows in CloudTrail; defaults to `riposte`.
    pub session_name: String,
    /// STS endpoint; `None`: the region's (`https://sts.{region}.amazonaws.com`).
    pub sts_endpoint: Option<url::Url>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("session_token", &self.session_token.as_ref().map(|_| "[redacted]"))
            .field("assume_role", &self.assume_role)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    /// A fresh RSA key and a self-signed certificate for it (PEM).
    fn test_certificate() -> (String, SecretString, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        let cert = rcgen::CertificateParams::new(vec!["riposte-test".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        (cert.pem(), SecretString::from(key.serialize_pem()), key.public_key_pem())
    }

    #[test]
    fn assertion_verifies_with_the_public_key_and_carries_microsofts_claims() {
        let (cert_pem, key_pem, public_pem) = test_certificate();
        let cert = Certificate::from_pem(&cert_pem, &key_pem).unwrap();
        let url = "https://login.microsoftonline.com/contoso/oauth2/v2.0/token";
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let jwt = cert.assertion("app-1", url, now).unwrap();

        let header = jsonwebtoken::decode_header(jwt.expose_secret()).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let der = pem_certificate_der(&cert_pem).unwrap();
        assert_eq!(header.x5t_s256.as_deref(), Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)).as_str()));

        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[url]);
        v.set_issuer(&["app-1"]);
        v.sub = Some("app-1".into());
        v.validate_nbf = true;
        let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(jwt.expose_secret(), &key, &v).unwrap();
        assert_eq!(data.claims["exp"].as_u64(), Some(now + ASSERTION_LIFETIME_SECS));
        assert!(data.claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

        // Another key does not verify it.
        let (_, _, other_public) = test_certificate();
        let other = DecodingKey::from_rsa_pem(other_public.as_bytes()).unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(jwt.expose_secret(), &other, &v).is_err());
    }

    #[test]
    fn bad_pem_is_a_config_error_and_debug_hides_secrets() {
        let key = SecretString::from("not a key".to_string());
        assert!(matches!(Certificate::from_pem("nothing", &key), Err(UpstreamError::Config(_))));
        let aws = Credential::Aws(AwsCredentials {
            region: "us-east-1".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI-secret".to_string()),
            session_token: Some(SecretString::from("session-secret".to_string())),
            assume_role: None,
        });
        let shown = format!("{aws:?} {:?}", Credential::ClientSecret(SecretString::from("s3cr3t-value".to_string())));
        assert!(
            !shown.contains("secret\"")
                && !shown.contains("wJalr")
                && !shown.contains("s3cr3t")
                && !shown.contains("session-secret"),
            "{shown}"
        );
        assert!(aws.serves(vocab::Api::Ec2) && !aws.serves(vocab::Api::Graph));
    }
}
