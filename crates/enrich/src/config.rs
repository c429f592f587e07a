//! `[enrichment]`: where records come from, which providers to ask and in what order, TTLs and
//! what to write. [`EnrichmentConfig::build`] assembles a [`Scanner`] from it on the
//! application's store and `upstream` (the Graph write-back uses the gateway's tenants).
//!
//! ```toml
//! [enrichment]
//! source = "kafka"              # or "sandbox" (the sandbox's Streaming API log, no broker)
//! min_status = "unknown"        # hashes below this are left out of comments
//! settle_secs = 2
//! [enrichment.kafka]
//! bootstrap = ["contoso-ns.servicebus.windows.net:9093"]
//! topic = "insights-logs-advancedhunting-alertevidence"
//! connection_string = "Endpoint=sb://...;SharedAccessKeyName=listen;SharedAccessKey=..."
//! [[enrichment.providers]]
//! kind = "reversinglabs"
//! base_url = "https://data.reversinglabs.com"
//! username = "u/acme"
//! secret = "..."
//! [enrichment.respond]          # optional actions, through the engine (audited, reversible)
//! file_indicators = true        # an MDE file indicator per malicious hash
//! indicator_action = "Block"
//! incident_tags = true          # "Riposte enrichment: MALICIOUS" on the alert's incident
//! ```
//!
//! With Microsoft Entra instead of a connection string, `entra_tenant = "<tenant id>"` in
//! `[enrichment.kafka]` signs in with SASL OAUTHBEARER (token audience
//! `https://{namespace}.servicebus.windows.net`).

use std::sync::Arc;
use std::time::Duration;

use engine::Engine;
use serde::Deserialize;
use upstream::{TenantCredentials, Upstream};

use crate::envelope::ParseOptions;
use crate::lookup::{Lookups, Slot};
use crate::metrics::Metrics;
use crate::providers::{Gate, ProviderConfig};
use crate::respond::{RespondConfig, Responder};
use crate::scanner::{Scanner, ScannerOptions};
use crate::source::{KafkaAuth, KafkaConfig, KafkaSource, SandboxSource, StreamSource, TokenSource};
use crate::verdict::{Status, Ttls};
use crate::writeback::Writer;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Kafka,
    Sandbox,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentConfig {
    #[serde(default)]
    pub source: SourceKind,
    #[serde(default)]
    pub kafka: Option<KafkaConfig>,
    /// The sandbox root, for `source = "sandbox"`.
    #[serde(default)]
    pub sandbox_url: Option<String>,
    /// Event hub name on the sandbox.
    #[serde(default = "default_hub")]
    pub hub: String,
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub ttl: Ttls,
    #[serde(default = "default_min_status")]
    pub min_status: String,
    #[serde(default = "default_settle")]
    pub settle_secs: u64,
    #[serde(default)]
    pub parse: ParseOptions,
    /// How long a lookup waits for a provider's per-minute window before moving on.
    #[serde(default = "default_max_wait")]
    pub provider_max_wait_secs: u64,
    /// After a spent quota, ask again after this long (at most until 00:00 UTC).
    #[serde(default = "default_quota_probe")]
    pub quota_probe_secs: u64,
    /// File indicators and incident tags (off unless set).
    #[serde(default)]
    pub respond: RespondConfig,
}

fn default_hub() -> String {
    "insights-logs-advancedhunting-alertevidence".to_string()
}
fn default_min_status() -> String {
    "unknown".to_string()
}
fn default_settle() -> u64 {
    2
}
fn default_max_wait() -> u64 {
    2
}
fn default_quota_probe() -> u64 {
    3600
}

impl EnrichmentConfig {
    /// Every provider of the sandbox (`/_sandbox/intel` lists the same credentials), read from
    /// its Streaming API log: what `riposte up` runs.
    pub fn sandbox(base: &str) -> EnrichmentConfig {
        let base = base.trim_end_matches('/');
        let provider = |kind: &str, username: Option<&str>, secret: &str| {
            // The sandbox enforces quotas only when a test sets them (`POST /_sandbox/intel/{provider}`),
            // so the scanner's own limits are lifted here; VirusTotal's public 4/min would pace a demo.
            let v = serde_json::json!({"kind": kind, "base_url": format!("{base}/intel/{kind}"), "username": username,
                "secret": secret, "per_minute": 60_000, "daily_quota": null});
            serde_json::from_value::<ProviderConfig>(v).expect("a valid provider entry")
        };
        EnrichmentConfig {
            source: SourceKind::Sandbox,
            kafka: None,
            sandbox_url: Some(base.to_string()),
            hub: default_hub(),
            providers: vec![
                provider("reversinglabs", Some("riposte-sandbox"), "rl-sandbox-password"),
                provider("virustotal", None, "vt-sandbox-key"),
                provider("malwarebazaar", None, "mb-sandbox-key"),
                provider("misp", None, "misp-sandbox-key"),
            ],
            ttl: Ttls::default(),
            min_status: default_min_status(),
            settle_secs: 1,
            parse: ParseOptions::default(),
            provider_max_wait_secs: default_max_wait(),
            quota_probe_secs: default_quota_probe(),
            respond: RespondConfig::default(),
        }
    }

    pub fn min_status(&self) -> Result<Status, String> {
        Status::parse(&self.min_status).ok_or_else(|| {
            format!("enrichment.min_status `{}`: one of malicious, suspicious, known-good, unknown", self.min_status)
        })
    }

    /// The provider chain, in configured order, each behind its gate.
    pub fn chain(&self, http: &reqwest::Client) -> Result<Vec<Slot>, String> {
        if self.providers.is_empty() {
            return Err("enrichment.providers is empty: configure at least one".into());
        }
        self.providers
            .iter()
            .map(|p| {
                let provider = p.build(http.clone())?;
                let gate = Gate::new(
                    provider.name(),
                    p.limits(),
                    Duration::from_secs(self.provider_max_wait_secs),
                    Duration::from_secs(self.quota_probe_secs),
                );
                Ok(Slot { provider, gate })
            })
            .collect()
    }

    pub async fn source(
        &self,
        http: &reqwest::Client,
        upstream: &Upstream,
        tenants: &[TenantCredentials],
    ) -> Result<Arc<dyn StreamSource>, String> {
        Ok(match self.source {
            SourceKind::Kafka => {
                let k = self.kafka.as_ref().ok_or("enrichment.source = \"kafka\" needs [enrichment.kafka]")?;
                let token = match k.auth().map_err(|e| e.to_string())? {
                    KafkaAuth::Entra { tenant, audience } => {
                        Some(entra_token_source(upstream, tenants, &tenant, &audience)?)
                    }
                    _ => None,
                };
                Arc::new(KafkaSource::connect(k, token).await.map_err(|e| e.to_string())?)
            }
            SourceKind::Sandbox => {
                let url = self.sandbox_url.as_deref().ok_or("enrichment.source = \"sandbox\" needs sandbox_url")?;
                Arc::new(SandboxSource::new(http.clone(), url, &self.hub))
            }
        })
    }

    /// The scanner on the application's engine (its store, `upstream`, and the actions of
    /// `[enrichment.respond]`) and tenants.
    pub async fn build(
        &self,
        engine: &Engine,
        tenants: Vec<TenantCredentials>,
        metrics: Arc<Metrics>,
    ) -> Result<Scanner, String> {
        let source = self.source(&http()?, engine.upstream(), &tenants).await?;
        self.build_with_source(engine, tenants, metrics, source)
    }

    /// The scanner reading `source` instead of the configured one (the latency bench feeds an
    /// in-process log).
    pub fn build_with_source(
        &self,
        engine: &Engine,
        tenants: Vec<TenantCredentials>,
        metrics: Arc<Metrics>,
        source: Arc<dyn StreamSource>,
    ) -> Result<Scanner, String> {
        let (store, upstream) = (engine.store().clone(), engine.upstream().clone());
        self.respond.validate()?;
        let lookups = Arc::new(Lookups::new(store.clone(), self.chain(&http()?)?, self.ttl));
        let responder = self.respond.enabled().then(|| Responder::new(engine.clone(), self.respond.clone()));
        let writer =
            Arc::new(Writer::new(upstream, tenants, store.clone(), self.min_status()?, responder, metrics.clone()));
        let opts = ScannerOptions {
            parse: self.parse.clone(),
            settle: Duration::from_secs(self.settle_secs),
            ..ScannerOptions::default()
        };
        Ok(Scanner::new(store, source, lookups, writer, opts, metrics))
    }
}

/// The providers' HTTP client.
fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("provider HTTP client: {e}"))
}

/// OAUTHBEARER's token: the configured tenant's credential, for the namespace's audience, from
/// the gateway's token cache (refreshed before expiry; each SASL handshake asks again).
fn entra_token_source(
    upstream: &Upstream,
    tenants: &[TenantCredentials],
    tenant: &str,
    audience: &str,
) -> Result<TokenSource, String> {
    let creds = tenants
        .iter()
        .find(|c| c.tenant_id.eq_ignore_ascii_case(tenant))
        .cloned()
        .ok_or_else(|| format!("enrichment.kafka.entra_tenant {tenant} is not a configured tenant"))?;
    let (upstream, audience) = (upstream.clone(), audience.to_string());
    Ok(Arc::new(move || {
        let (upstream, creds, audience) = (upstream.clone(), creds.clone(), audience.clone());
        Box::pin(async move {
            use secrecy::ExposeSecret;
            upstream
                .entra_token(&creds, &audience)
                .await
                .map(|t| t.expose_secret().to_string())
                .map_err(|e| e.to_string())
        })
    }))
}
