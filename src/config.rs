//! Gateway configuration, by file (TOML) and environment.
//!
//! ```toml
//! listen = "127.0.0.1:7070"
//! data = "./riposte-data"
//!
//! [clouds]                      # optional: defaults to Microsoft's public cloud
//! login = "https://login.microsoftonline.com"
//! graph = "https://graph.microsoft.com"
//! mde = "https://api.securitycenter.microsoft.com"
//! arm = "https://management.azure.com"
//! extra_ca = "/path/ca.pem"     # trust one more CA (e.g. a sandbox's)
//!
//! [[tenants]]
//! tenant_id = "00000000-0000-0000-0000-000000000001"
//! client_id = "11111111-1111-1111-1111-111111111111"
//! client_secret_env = "RIPOSTE_SECRET_CONTOSO"   # the secret itself stays in the environment
//!
//! [library]                     # optional: the live-response file library
//! dir = "/var/lib/riposte/library"   # default {data}/library; or backend = "s3" + bucket, "azure" + container
//! max_upload_mb = 50
//! link_ttl_hours = 24           # signed download links
//!
//! [budgets]                     # optional: override documented per-tenant limits
//! live_response_per_minute = 10
//! ```
//!
//! Environment: `RIPOSTE_LINK_SECRET` (HMAC key for download links, >= 32 bytes; else one is
//! generated and kept in the store), `RIPOSTE_CONFIG` (file path), `RIPOSTE_LISTEN`, `RIPOSTE_DATA`, `RIPOSTE_ADMIN_KEY`,
//! and `RIPOSTE_TENANTS` (a JSON array of `{tenantId, clientId, clientSecret}`), which adds tenants.

use anyhow::{bail, Context};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use upstream::{Clouds, TenantCredentials};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub clouds: Option<CloudsConfig>,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    pub tracker: Option<TrackerSection>,
    pub library: Option<LibrarySection>,
    pub budgets: Option<BudgetsSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySection {
    pub dir: Option<PathBuf>,
    /// `local` (default), `s3` (needs the `s3` cargo feature) or `azure` (the `azure` feature).
    pub backend: Option<String>,
    pub bucket: Option<String>,
    pub container: Option<String>,
    pub max_upload_mb: Option<u64>,
    pub link_ttl_hours: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsSection {
    pub mde_per_minute: Option<u32>,
    pub live_response_per_minute: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudsConfig {
    pub login: String,
    pub graph: String,
    pub mde: String,
    pub arm: String,
    pub extra_ca: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub tenant_id: String,
    pub client_id: String,
    /// Name of the environment variable holding the client secret (preferred).
    pub client_secret_env: Option<String>,
    /// The secret inline (discouraged: keep it out of files).
    pub client_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerSection {
    pub poll_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvTenant {
    tenant_id: String,
    client_id: String,
    client_secret: String,
}

impl FileConfig {
    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<FileConfig> {
        let path = path.map(PathBuf::from).or_else(|| std::env::var_os("RIPOSTE_CONFIG").map(PathBuf::from));
        let Some(path) = path else { return Ok(FileConfig::default()) };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn clouds(&self) -> anyhow::Result<(Clouds, Option<String>)> {
        let Some(c) = &self.clouds else { return Ok((Clouds::microsoft(), None)) };
        let parse = |name: &str, s: &str| url::Url::parse(s).with_context(|| format!("clouds.{name}: '{s}' is not a URL"));
        let clouds = Clouds {
            login: parse("login", &c.login)?,
            graph: parse("graph", &c.graph)?,
            mde: parse("mde", &c.mde)?,
            arm: parse("arm", &c.arm)?,
        };
        let ca = match &c.extra_ca {
            Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("clouds.extra_ca: reading {}", p.display()))?),
            None => None,
        };
        Ok((clouds, ca))
    }

    /// Tenants from the file plus `RIPOSTE_TENANTS`; a missing secret is an error naming the variable.
    pub fn tenants(&self) -> anyhow::Result<Vec<TenantCredentials>> {
        let mut out = Vec::new();
        for t in &self.tenants {
            let secret = match (&t.client_secret_env, &t.client_secret) {
                (Some(var), _) => std::env::var(var)
                    .with_context(|| format!("tenant {}: environment variable {var} is not set", t.tenant_id))?,
                (None, Some(s)) => s.clone(),
                (None, None) => bail!("tenant {}: set client_secret_env (or client_secret)", t.tenant_id),
            };
            out.push(credentials(&t.tenant_id, &t.client_id, secret));
        }
        if let Ok(json) = std::env::var("RIPOSTE_TENANTS") {
            let list: Vec<EnvTenant> =
                serde_json::from_str(&json).context("RIPOSTE_TENANTS must be a JSON array of {tenantId, clientId, clientSecret}")?;
            out.extend(list.into_iter().map(|t| credentials(&t.tenant_id, &t.client_id, t.client_secret)));
        }
        Ok(out)
    }
}

impl FileConfig {
    /// Library settings from `[library]` and `RIPOSTE_LINK_SECRET`.
    pub fn library(&self) -> anyhow::Result<crate::app::LibrarySettings> {
        let mut s = crate::app::LibrarySettings::default();
        let section = self.library.as_ref();
        if let Some(mb) = section.and_then(|l| l.max_upload_mb) {
            s.max_upload_bytes = usize::try_from(mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        }
        if let Some(h) = section.and_then(|l| l.link_ttl_hours) {
            if !(h.is_finite() && h > 0.0) {
                bail!("library.link_ttl_hours must be a positive number of hours, got {h}");
            }
            s.link_ttl = std::time::Duration::from_secs_f64(h * 3600.0);
        }
        s.backend = match section.and_then(|l| l.backend.as_deref()).unwrap_or("local") {
            "local" => section.and_then(|l| l.dir.clone()).map(library::Backend::Local),
            #[cfg(feature = "s3")]
            "s3" => Some(library::Backend::S3 {
                bucket: section.and_then(|l| l.bucket.clone()).context("library.bucket is required with backend = \"s3\"")?,
            }),
            #[cfg(feature = "azure")]
            "azure" => Some(library::Backend::Azure {
                container: section
                    .and_then(|l| l.container.clone())
                    .context("library.container is required with backend = \"azure\"")?,
            }),
            other => bail!("library.backend '{other}' is not available in this build (local; s3 and azure need the cargo features of the same name)"),
        };
        if let Ok(secret) = std::env::var("RIPOSTE_LINK_SECRET") {
            if !secret.trim().is_empty() {
                s.link_secret = Some(secret);
            }
        }
        Ok(s)
    }

    /// Budget overrides from `[budgets]`; `None` keeps Microsoft's documented numbers.
    pub fn budgets(&self) -> anyhow::Result<Option<upstream::Budgets>> {
        let Some(b) = &self.budgets else { return Ok(None) };
        let mut budgets = upstream::Budgets::default();
        if let Some(n) = b.mde_per_minute {
            budgets.mde = vec![upstream::Rate::per_minute(n), upstream::Rate::per_hour(n.saturating_mul(15).max(1500))];
        }
        if let Some(n) = b.live_response_per_minute {
            budgets.live_response = vec![upstream::Rate::per_minute(n)];
        }
        Ok(Some(budgets))
    }
}

pub fn credentials(tenant: &str, client: &str, secret: String) -> TenantCredentials {
    TenantCredentials {
        tenant_id: tenant.to_string(),
        client_id: client.to_string(),
        client_secret: SecretString::from(secret),
    }
}
