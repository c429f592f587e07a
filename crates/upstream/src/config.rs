//! What the lead configures: clouds, trust, retry and budget policy, and per-tenant credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::budget::Budgets;
use crate::clouds::Clouds;
use crate::credentials::Credential;

/// One tenant as `upstream` sees it: who it is, how it authenticates, and where its clouds are.
#[derive(Clone)]
pub struct TenantCredentials {
    /// Directory id (GUID) or verified domain; for an AWS tenant, Riposte's name for the account.
    pub tenant_id: String,
    /// Application (client) id; for AWS, the access key id (it only keys caches and logs).
    pub client_id: String,
    /// Only ever exposed into a token request or (AWS) a signature.
    pub credential: Credential,
    /// This tenant's clouds (its sovereign cloud and per-tenant hosts); `None`: the
    /// [`UpstreamConfig::clouds`] every tenant shares.
    pub clouds: Option<Arc<Clouds>>,
    /// The name people know the tenant by (configured `display_name`); shown, never used to call.
    pub display_name: Option<String>,
}

impl TenantCredentials {
    /// A client-secret tenant in the shared clouds; wraps the secret immediately.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> TenantCredentials {
        TenantCredentials::with_credential(
            tenant_id,
            client_id,
            Credential::ClientSecret(SecretString::from(client_secret.into())),
        )
    }

    /// A tenant with any kind of credential, in the shared clouds.
    pub fn with_credential(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
    ) -> TenantCredentials {
        TenantCredentials {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            credential,
            clouds: None,
            display_name: None,
        }
    }

    /// Names the tenant for people (consoles, reports).
    pub fn named(mut self, display_name: Option<String>) -> TenantCredentials {
        self.display_name = display_name.filter(|n| !n.trim().is_empty());
        self
    }

    /// Puts the tenant in its own clouds (a sovereign cloud, a Cloud Apps portal, ...).
    pub fn in_clouds(mut self, clouds: Clouds) -> TenantCredentials {
        self.clouds = Some(Arc::new(clouds));
        self
    }
}

/// Hand-written so the secret can never reach a log line through `{:?}`.
impl fmt::Debug for TenantCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("cloud", &self.clouds.as_ref().map(|c| c.cloud))
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
    /// The clouds of every tenant that has none of its own.
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
