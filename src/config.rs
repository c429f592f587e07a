//! Gateway configuration, by file (TOML) and environment.
//!
//! ```toml
//! listen = "127.0.0.1:7070"
//! data = "./riposte-data"
//!
//! [clouds]                      # optional: the clouds tenants share (default: Microsoft's public cloud)
//! cloud = "public"              # public | gcc | gcc-high | dod | china: Microsoft's hosts for it
//! login = "https://login.microsoftonline.com"   # each key optional: replaces that host
//! graph = "https://graph.microsoft.com"
//! mde = "https://api.securitycenter.microsoft.com"
//! arm = "https://management.azure.com"
//! extra_ca = "/path/ca.pem"     # trust one more CA (e.g. a sandbox's)
//!
//! [[tenants]]
//! tenant_id = "00000000-0000-0000-0000-000000000001"
//! display_name = "Contoso (prod)"   # optional: what the console shows (else the directory's name from Graph)
//! client_id = "11111111-1111-1111-1111-111111111111"
//! client_secret_env = "RIPOSTE_SECRET_CONTOSO"   # the secret itself stays in the environment
//!
//! [[tenants]]                   # a GCC High tenant authenticating with a certificate
//! tenant_id = "contoso.onmicrosoft.us"
//! client_id = "22222222-2222-2222-2222-222222222222"
//! cloud = "gcc-high"            # starts from Microsoft's GCC High hosts, not [clouds]
//! certificate = "/etc/riposte/contoso.pem"          # public certificate (PEM)
//! private_key_env = "RIPOSTE_KEY_CONTOSO"           # its PEM private key, from the environment
//! hosts = { cloud_apps = "https://contoso.us3.portal.cloudappsecurity.us" }  # per-tenant hosts
//!
//! [[tenants]]                   # an AWS account: EC2 calls SigV4-signed (hosts.ec2 replaces the regional endpoint)
//! tenant_id = "aws-prod"
//! aws = { region = "us-east-1", access_key_id_env = "AWS_KEY_ID", secret_access_key_env = "AWS_SECRET", role_arn = "arn:aws:iam::123456789012:role/riposte" }
//!                             # optional: external_id, session_name, sts_endpoint (default: the region's STS)
//!
//! [library]                     # optional: the live-response file library
//! dir = "/var/lib/riposte/library"   # default {data}/library; or backend = "s3" + bucket, "azure" + container
//! max_upload_mb = 50
//! link_ttl_hours = 24           # signed download links
//!
//! [store]                       # optional: PostgreSQL, shared by several `serve` replicas
//! url = "postgres://riposte@db:5432/riposte"    # default: SQLite {data}/riposte.db; or RIPOSTE_STORE_URL
//!
//! [approvals]                   # optional: actions a second person must approve (engine::approvals)
//! policy = "/etc/riposte/approvals.toml"   # or RIPOSTE_APPROVALS_POLICY; re-read when it changes
//!
//! [budgets]                     # optional: override documented per-tenant limits
//! live_response_per_minute = 10
//! ```
//!
//! Environment: `RIPOSTE_LINK_SECRET` (HMAC key for download links, >= 32 bytes; else one is
//! generated and kept in the store), `RIPOSTE_CONFIG` (file path), `RIPOSTE_LISTEN`, `RIPOSTE_DATA`, `RIPOSTE_ADMIN_KEY`,
//! and `RIPOSTE_TENANTS` (a JSON array of `{tenantId, clientId, clientSecret}`), which adds tenants.

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use upstream::{Api, AssumeRole, AwsCredentials, Certificate, Cloud, Clouds, Credential, TenantCredentials};

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
    /// `[enrichment]`: the file-hash enrichment scanner (`crates/enrich`); `serve` runs it when set.
    pub enrichment: Option<enrich::EnrichmentConfig>,
    /// `[archive]`: the hunting archive of the streamed tables (`crates/archive`,
    /// `src/archive_cli.rs`); `serve` runs its consumer when set.
    pub archive: Option<crate::archive_cli::ArchiveSection>,
    /// `[clock]`: `follow = "http://sandbox/_sandbox/clock"` makes schedules (time-boxed actions)
    /// run in that sandbox's time (`riposte::sandbox_clock`).
    pub clock: Option<ClockSection>,
    /// `[store]`: `url = "postgres://..."` keeps the state in PostgreSQL, shared by replicas
    /// (`crate::store_config`); absent, SQLite in the data directory.
    pub store: Option<crate::store_config::StoreSection>,
    /// `[server]`: the listener's header-read, idle and request timeouts and per-IP connection
    /// cap (`crate::server`); absent, the defaults.
    pub server: Option<crate::server::ServerLimits>,
    /// `[auth]`: `[auth.entra]` accepts Entra ID access tokens besides API keys
    /// (`gateway::oidc`; `RIPOSTE_ENTRA_*` in the environment).
    pub auth: Option<gateway::oidc::AuthSection>,
    /// `[approvals]`: `policy = "approvals.toml"`, the approval policy (`crate::approvals_cli`;
    /// `RIPOSTE_APPROVALS_POLICY` wins).
    pub approvals: Option<crate::approvals_cli::ApprovalsSection>,
    /// `[audit]`: `anchor_webhook = "https://..."`, where the audit head is POSTed besides the
    /// anchor file (`crate::audit_anchor`; `RIPOSTE_AUDIT_ANCHOR_WEBHOOK` wins).
    pub audit: Option<crate::audit_anchor::AuditSection>,
}

/// `[clock]`: whose time schedules follow (default: the wall clock).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSection {
    /// A sandbox's `/_sandbox/clock` URL.
    pub follow: Option<String>,
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

/// `[clouds]`: the shared clouds. Every key is optional; the four original ones still work.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudsConfig {
    /// The sovereign cloud whose Microsoft hosts are the starting point (default `public`).
    pub cloud: Option<String>,
    pub login: Option<String>,
    pub graph: Option<String>,
    pub mde: Option<String>,
    pub arm: Option<String>,
    pub cloud_apps: Option<String>,
    pub key_vault: Option<String>,
    pub ec2: Option<String>,
    /// Exchange Online's admin REST host (default the cloud's, `https://outlook.office365.com`).
    pub exchange_online: Option<String>,
    pub extra_ca: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub tenant_id: String,
    /// The name the console shows (else the directory's own name, read from Graph).
    pub display_name: Option<String>,
    /// The app registration; optional only for an AWS-only tenant.
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret (preferred).
    pub client_secret_env: Option<String>,
    /// The secret inline (discouraged: keep it out of files).
    pub client_secret: Option<String>,
    /// Certificate credential: the PEM certificate file registered on the app...
    pub certificate: Option<PathBuf>,
    /// ...and its PEM private key, from this environment variable (preferred) or file.
    pub private_key_env: Option<String>,
    pub private_key: Option<PathBuf>,
    /// This tenant's sovereign cloud (`public`, `gcc`, `gcc-high`, `dod`, `china`).
    pub cloud: Option<String>,
    /// Per-tenant base URLs by API label (`cloud_apps`, `key_vault`, `mde`, ...).
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
    /// AWS keys for this account (instead of an Entra credential).
    pub aws: Option<AwsConfig>,
}

/// `aws = { ... }` on a tenant: keys from the environment, optionally assuming a role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub region: String,
    pub access_key_id_env: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key_env: String,
    pub session_token_env: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    /// The STS endpoint `AssumeRole` goes to (default: the region's; a private endpoint, a test).
    pub sts_endpoint: Option<String>,
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

    /// `[auth.entra]` with `RIPOSTE_ENTRA_*` over it; `None` when neither names a tenant.
    pub fn entra(&self) -> anyhow::Result<Option<gateway::oidc::EntraConfig>> {
        let file = self.auth.as_ref().and_then(|a| a.entra.clone());
        gateway::oidc::EntraConfig::from_env_over(file, |k| std::env::var(k).ok()).map_err(anyhow::Error::msg)
    }

    /// The shared clouds (`[clouds]`, else Microsoft's public cloud) and the extra CA to trust.
    pub fn clouds(&self) -> anyhow::Result<(Clouds, Option<String>)> {
        let clouds = self.shared_clouds()?;
        let ca = match self.clouds.as_ref().and_then(|c| c.extra_ca.as_ref()) {
            Some(p) => {
                Some(std::fs::read_to_string(p).with_context(|| format!("clouds.extra_ca: reading {}", p.display()))?)
            }
            None => None,
        };
        Ok((clouds, ca))
    }

    fn shared_clouds(&self) -> anyhow::Result<Clouds> {
        let Some(c) = &self.clouds else { return Ok(Clouds::microsoft()) };
        let mut clouds = Clouds::of(parse_cloud("clouds.cloud", c.cloud.as_deref())?);
        if let Some(login) = &c.login {
            clouds = clouds.with_login(parse_url("clouds.login", login)?);
        }
        let keys = [
            (Api::Graph, &c.graph),
            (Api::Mde, &c.mde),
            (Api::Arm, &c.arm),
            (Api::CloudApps, &c.cloud_apps),
            (Api::KeyVault, &c.key_vault),
            (Api::Ec2, &c.ec2),
            (Api::ExchangeOnline, &c.exchange_online),
        ];
        for (api, value) in keys {
            if let Some(v) = value {
                clouds = clouds.with_base(api, parse_url(&format!("clouds.{api}"), v)?);
            }
        }
        clouds.validate().context("[clouds]")?;
        Ok(clouds)
    }

    /// Tenants from the file plus `RIPOSTE_TENANTS`; a missing secret is an error naming the variable.
    pub fn tenants(&self) -> anyhow::Result<Vec<TenantCredentials>> {
        let shared = self.shared_clouds()?;
        let mut out = Vec::new();
        for t in &self.tenants {
            out.push(tenant(t, &shared).with_context(|| format!("tenant {}", t.tenant_id))?);
        }
        if let Ok(json) = std::env::var("RIPOSTE_TENANTS") {
            let list: Vec<EnvTenant> = serde_json::from_str(&json)
                .context("RIPOSTE_TENANTS must be a JSON array of {tenantId, clientId, clientSecret}")?;
            out.extend(list.into_iter().map(|t| credentials(&t.tenant_id, &t.client_id, t.client_secret)));
        }
        Ok(out)
    }
}

/// One `[[tenants]]` entry: its credential, and its own clouds when it names a cloud or hosts.
fn tenant(t: &TenantConfig, shared: &Clouds) -> anyhow::Result<TenantCredentials> {
    let credential = credential(t)?;
    let client_id = match (&t.client_id, &credential) {
        (Some(id), _) => id.clone(),
        (None, Credential::Aws(aws)) => aws.access_key_id.clone(),
        (None, _) => bail!("set client_id"),
    };
    let creds = TenantCredentials::with_credential(&t.tenant_id, client_id, credential).named(t.display_name.clone());
    Ok(match tenant_clouds(t, shared, &creds.credential)? {
        Some(clouds) => creds.in_clouds(clouds),
        None => creds,
    })
}

/// The credential a tenant entry declares: exactly one of a secret, a certificate, AWS keys.
fn credential(t: &TenantConfig) -> anyhow::Result<Credential> {
    let secret = t.client_secret_env.is_some() || t.client_secret.is_some();
    match (secret, &t.certificate, &t.aws) {
        (true, None, None) => client_secret(t).map(Credential::ClientSecret),
        (false, Some(cert), None) => certificate(t, cert).map(Credential::Certificate),
        (false, None, Some(aws)) => aws_credentials(aws).map(Credential::Aws),
        (false, None, None) => bail!("set client_secret_env (or client_secret), certificate + private_key_env, or aws"),
        _ => bail!("set only one of client_secret_env/client_secret, certificate, aws"),
    }
}

fn client_secret(t: &TenantConfig) -> anyhow::Result<SecretString> {
    match (&t.client_secret_env, &t.client_secret) {
        (Some(var), _) => env_secret(var),
        (None, Some(s)) => Ok(SecretString::from(s.clone())),
        (None, None) => bail!("set client_secret_env (or client_secret)"),
    }
}

fn certificate(t: &TenantConfig, cert: &std::path::Path) -> anyhow::Result<Certificate> {
    let pem = std::fs::read_to_string(cert).with_context(|| format!("certificate: reading {}", cert.display()))?;
    let key = match (&t.private_key_env, &t.private_key) {
        (Some(var), _) => env_secret(var)?,
        (None, Some(path)) => SecretString::from(
            std::fs::read_to_string(path).with_context(|| format!("private_key: reading {}", path.display()))?,
        ),
        (None, None) => bail!("a certificate needs private_key_env (or private_key)"),
    };
    Ok(Certificate::from_pem(&pem, &key)?)
}

fn aws_credentials(a: &AwsConfig) -> anyhow::Result<AwsCredentials> {
    let access_key_id = match (&a.access_key_id_env, &a.access_key_id) {
        (Some(var), _) => std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?,
        (None, Some(id)) => id.clone(),
        (None, None) => bail!("aws needs access_key_id_env (or access_key_id)"),
    };
    let sts_endpoint = a.sts_endpoint.as_deref().map(|s| parse_url("aws.sts_endpoint", s)).transpose()?;
    let assume_role = a.role_arn.as_ref().map(|arn| AssumeRole {
        role_arn: arn.clone(),
        external_id: a.external_id.clone(),
        session_name: a.session_name.clone().unwrap_or_else(|| "riposte".into()),
        sts_endpoint,
    });
    Ok(AwsCredentials {
        region: a.region.clone(),
        access_key_id,
        secret_access_key: env_secret(&a.secret_access_key_env)?,
        session_token: a.session_token_env.as_deref().map(env_secret).transpose()?,
        assume_role,
    })
}

/// A tenant's own clouds, when it differs from the shared ones: same cloud → the shared clouds
/// (so a sandbox's bases carry over), another cloud → Microsoft's hosts there; then its hosts.
fn tenant_clouds(t: &TenantConfig, shared: &Clouds, credential: &Credential) -> anyhow::Result<Option<Clouds>> {
    let cloud = t.cloud.as_deref().map(|c| parse_cloud("cloud", Some(c))).transpose()?;
    let aws_region = match credential {
        Credential::Aws(aws) if !t.hosts.contains_key(Api::Ec2.label()) => Some(aws.region.as_str()),
        _ => None,
    };
    if cloud.is_none_or(|c| c == shared.cloud) && t.hosts.is_empty() && aws_region.is_none() {
        return Ok(None);
    }
    let mut clouds = match cloud {
        Some(c) if c != shared.cloud => Clouds::of(c),
        _ => shared.clone(),
    };
    if let Some(region) = aws_region {
        clouds = clouds.with_base(Api::Ec2, parse_url("aws.region", &ec2_endpoint(region))?);
    }
    for (key, value) in &t.hosts {
        if key == "login" {
            clouds = clouds.with_login(parse_url("hosts.login", value)?);
            continue;
        }
        let api = Api::from_label(key).with_context(|| {
            let known: Vec<_> = Api::ALL.iter().map(|a| a.label()).collect();
            format!("hosts.{key}: unknown API (expected login or one of {})", known.join(", "))
        })?;
        clouds = clouds.with_base(api, parse_url(&format!("hosts.{key}"), value)?);
    }
    clouds.validate()?;
    Ok(Some(clouds))
}

/// EC2's regional endpoint; China regions live under `amazonaws.com.cn`.
fn ec2_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://ec2.{region}.{suffix}")
}

fn parse_cloud(field: &str, value: Option<&str>) -> anyhow::Result<Cloud> {
    value.map_or(Ok(Cloud::Public), |v| v.parse::<Cloud>().with_context(|| field.to_string()))
}

fn parse_url(field: &str, s: &str) -> anyhow::Result<url::Url> {
    url::Url::parse(s).with_context(|| format!("{field}: '{s}' is not a URL"))
}

fn env_secret(var: &str) -> anyhow::Result<SecretString> {
    std::env::var(var).map(SecretString::from).with_context(|| format!("environment variable {var} is not set"))
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
                bucket: section
                    .and_then(|l| l.bucket.clone())
                    .context("library.bucket is required with backend = \"s3\"")?,
            }),
            #[cfg(feature = "azure")]
            "azure" => Some(library::Backend::Azure {
                container: section
                    .and_then(|l| l.container.clone())
                    .context("library.container is required with backend = \"azure\"")?,
            }),
            other => bail!(
                "library.backend '{other}' is not available in this build (local; s3 and azure need the cargo features of the same name)"
            ),
        };
        if let Ok(secret) = std::env::var("RIPOSTE_LINK_SECRET")
            && !secret.trim().is_empty()
        {
            s.link_secret = Some(secret);
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
    TenantCredentials::new(tenant, client, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AWS tenant: its keys, the role it assumes through a named STS endpoint, and EC2 at the
    /// region's endpoint unless `hosts.ec2` names another.
    #[test]
    fn aws_tenants_read_their_keys_role_and_endpoints() {
        // Any variable that is set stands for the secret's.
        let text = r#"
            [[tenants]]
            tenant_id = "aws-prod"
            aws = { region = "eu-west-1", access_key_id = "AKIAEXAMPLE", secret_access_key_env = "PATH", role_arn = "arn:aws:iam::123456789012:role/riposte", sts_endpoint = "https://sts.eu-west-1.amazonaws.com" }

            [[tenants]]
            tenant_id = "aws-lab"
            aws = { region = "us-east-1", access_key_id = "AKIALAB", secret_access_key_env = "PATH" }
            hosts = { ec2 = "http://127.0.0.1:5055" }
        "#;
        let file: FileConfig = toml::from_str(text).unwrap();
        let tenants = file.tenants().unwrap();
        let Credential::Aws(aws) = &tenants[0].credential else { panic!("an AWS credential") };
        let role = aws.assume_role.as_ref().expect("a role");
        assert_eq!(role.sts_endpoint.as_ref().map(url::Url::as_str), Some("https://sts.eu-west-1.amazonaws.com/"));
        assert_eq!((tenants[0].client_id.as_str(), role.session_name.as_str()), ("AKIAEXAMPLE", "riposte"));
        let ec2 = |t: &TenantCredentials| t.clouds.as_ref().and_then(|c| c.base(Api::Ec2)).map(|u| u.to_string());
        assert_eq!(ec2(&tenants[0]).as_deref(), Some("https://ec2.eu-west-1.amazonaws.com/"));
        assert_eq!(ec2(&tenants[1]).as_deref(), Some("http://127.0.0.1:5055/"));
        assert!(!format!("{:?}", tenants[0]).contains(&std::env::var("PATH").unwrap()), "the secret stays hidden");
        let bad = text.replace("https://sts.eu-west-1.amazonaws.com", "not a url");
        assert!(toml::from_str::<FileConfig>(&bad).unwrap().tenants().is_err());
    }
}
