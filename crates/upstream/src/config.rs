//! What the lead configures: clouds, trust, retry and budget policy, and per-tenant credentials.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use crate::api::Clouds;
use crate::budget::Budgets;

/// One app registration in one tenant (client-credentials flow).
#[derive(Clone)]
pub struct TenantCredentials {
    /// Directory id (GUID) or verified domain.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// The secret *value* (not its id). Only ever exposed into the token request form.
    pub client_secret: SecretString,
}

impl TenantCredentials {
    /// Convenience constructor that wraps the secret immediately.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> TenantCredentials {
        TenantCredentials {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }
}

/// Hand-written so the secret can never reach a log line through `{:?}`.
impl fmt::Debug for TenantCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// How hard to try before giving an answer back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total HTTP attempts per call, including the first (a 401 token refresh is extra).
    pub max_attempts: u32,
    /// Total attempts while the server keeps answering 429/503 *with* `Retry-After`. Such an
    /// answer means the call was not carried out and says when to come back, so following it
    /// is safe and cheap; at 30% throttling, 6 attempts would still lose one call in ~1,400.
    pub max_throttled_attempts: u32,
    /// Longest single wait we accept. A `Retry-After` above this gives up at once: waiting
    /// less than Microsoft asked only earns another 429.
    pub max_wait: Duration,
    /// Spread retries so many callers throttled together don't return together.
    pub jitter: bool,
    /// First backoff when the server gave no `Retry-After`; doubles per attempt.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            max_throttled_attempts: 12,
            max_wait: Duration::from_secs(120),
            jitter: true,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// Everything `Upstream::new` needs.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub clouds: Clouds,
    /// PEM bundle of extra roots to trust besides the platform's (e.g. the sandbox CA).
    pub extra_ca_pem: Option<String>,
    pub retry: RetryPolicy,
    pub budgets: Budgets,
    /// Whole-request timeout for one HTTP attempt (hunting queries may take 3 minutes).
    pub timeout: Duration,
}

impl UpstreamConfig {
    /// Production clouds with documented budgets and default retry policy.
    pub fn microsoft() -> UpstreamConfig {
        UpstreamConfig::new(Clouds::microsoft())
    }

    /// Defaults for everything except where the clouds are.
    pub fn new(clouds: Clouds) -> UpstreamConfig {
        UpstreamConfig {
            clouds,
            extra_ca_pem: None,
            retry: RetryPolicy::default(),
            budgets: Budgets::default(),
            timeout: Duration::from_secs(200),
        }
    }
}
