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
//! ```
//!
//! Environment: `RIPOSTE_CONFIG` (file path), `RIPOSTE_LISTEN`, `RIPOSTE_DATA`, `RIPOSTE_ADMIN_KEY`,
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

pub fn credentials(tenant: &str, client: &str, secret: String) -> TenantCredentials {
    TenantCredentials {
        tenant_id: tenant.to_string(),
        client_id: client.to_string(),
        client_secret: SecretString::from(secret),
    }
}
