//! Assembling a running gateway (store + upstream + engine + router) and the admin key.

use anyhow::Context;
use engine::{Engine, EngineMetrics, TenantDirectory, TrackerConfig};
use gateway::{AppState, GatewayMetrics};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use upstream::{Api, Clouds, TenantCredentials, Upstream, UpstreamConfig, UpstreamMetrics};

/// Everything needed to build a gateway.
pub struct GatewaySettings {
    pub data_dir: PathBuf,
    pub clouds: Clouds,
    pub extra_ca_pem: Option<String>,
    pub tenants: Vec<TenantCredentials>,
    pub poll_interval: Duration,
    /// Lift the per-tenant budgets (benchmarks against a sandbox whose limits were lifted too).
    pub unlimited_budgets: bool,
    /// Replace the documented per-tenant budgets (tests pair them with the sandbox's limits).
    pub budgets: Option<upstream::Budgets>,
    /// The live-response file library and its download links.
    pub library: LibrarySettings,
    /// PostgreSQL URL (`[store] url`, `crate::store_config`); `None`: SQLite in `data_dir`.
    pub store_url: Option<String>,
    /// `[auth.entra]`: accept Entra ID access tokens besides API keys (`gateway::oidc`).
    pub entra: Option<gateway::oidc::EntraConfig>,
    /// The approval policy file (`[approvals] policy`; `RIPOSTE_APPROVALS_POLICY` wins, and also
    /// applies when this is `None`): actions it names wait for a second person (`engine::approvals`).
    pub approvals_policy: Option<std::path::PathBuf>,
    /// `[audit] anchor_webhook` / `RIPOSTE_AUDIT_ANCHOR_WEBHOOK` (`crate::audit_anchor`).
    pub anchor_webhook: Option<String>,
}

/// Where library files live, how big they may be, how long download links last.
#[derive(Debug, Clone)]
pub struct LibrarySettings {
    /// `None`: the local directory `{data}/library`.
    pub backend: Option<library::Backend>,
    pub max_upload_bytes: usize,
    pub link_ttl: Duration,
    /// The HMAC key for download links; `None`: generated once and kept in the store settings.
    pub link_secret: Option<String>,
}

impl Default for LibrarySettings {
    fn default() -> Self {
        LibrarySettings {
            backend: None,
            max_upload_bytes: library::DEFAULT_MAX_UPLOAD_BYTES,
            link_ttl: library::links::DEFAULT_TTL,
            link_secret: None,
        }
    }
}

/// Store setting holding the generated link secret (hex). Only used when none is configured.
const LINK_SECRET_SETTING: &str = "library_link_secret";

/// The download-link signer: the configured secret, or one generated on first start and kept.
async fn links(store: &Store, s: &LibrarySettings) -> anyhow::Result<library::Links> {
    let secret = match &s.link_secret {
        Some(configured) => configured.as_bytes().to_vec(),
        None => match store.get_setting(LINK_SECRET_SETTING).await? {
            Some(hex_secret) => hex::decode(hex_secret.trim()).context("the stored link secret is not hex")?,
            None => {
                let fresh: [u8; 32] = rand::random();
                store.set_setting(LINK_SECRET_SETTING, &hex::encode(fresh)).await?;
                fresh.to_vec()
            }
        },
    };
    library::Links::new(secret, s.link_ttl).with_context(|| {
        format!("the download-link secret must be at least {} bytes", library::links::MIN_SECRET_BYTES)
    })
}

/// A built gateway, ready to serve.
pub struct Gateway {
    pub router: axum::Router,
    pub engine: Engine,
    pub upstream_metrics: Arc<UpstreamMetrics>,
    /// The enrichment scanner's metrics, registered in the gateway's `/metrics`.
    pub enrich_metrics: Arc<enrich::metrics::Metrics>,
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("riposte.db")
}

/// Opens the data directory's store with its audit chain keyed (`crate::audit_anchor`):
/// PostgreSQL when `RIPOSTE_STORE_URL` is set, else SQLite in the directory.
pub async fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    open_store_at(data_dir, crate::store_config::resolve(None)?.as_deref()).await
}

/// Opens the store at `url` (PostgreSQL) or, without one, the data directory's SQLite file.
pub async fn open_store_at(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let mut store = crate::store_config::open(data_dir, url).await?;
    crate::audit_anchor::key_store(&mut store, data_dir).await?;
    Ok(store)
}

pub async fn build(settings: GatewaySettings) -> anyhow::Result<Gateway> {
    let store = open_store_at(&settings.data_dir, settings.store_url.as_deref()).await?;
    let anchors = crate::audit_anchor::anchor_path(&settings.data_dir);
    crate::audit_anchor::start_anchoring(store.clone(), anchors, settings.anchor_webhook.clone()).await?;
    // No prefix on the root (an empty prefix printed names with a leading `_`); upstream's
    // metrics are named from the crate's view (`upstream_calls`), so they get `riposte_` here.
    let mut registry = Registry::default();
    let upstream_metrics = Arc::new(UpstreamMetrics::new());
    upstream_metrics.register(registry.sub_registry_with_prefix("riposte"));
    let engine_metrics = Arc::new(EngineMetrics::default());
    engine_metrics.register(&mut registry);
    let gateway_metrics = Arc::new(GatewayMetrics::default());
    gateway_metrics.register(&mut registry);
    let enrich_metrics = Arc::new(enrich::metrics::Metrics::new());
    enrich_metrics.register(&mut registry);

    let mut config = UpstreamConfig { extra_ca_pem: settings.extra_ca_pem, ..UpstreamConfig::new(settings.clouds) };
    if let Some(budgets) = settings.budgets.clone() {
        config.budgets = budgets;
    }
    if settings.unlimited_budgets {
        config.budgets = upstream::Budgets::unlimited();
    }
    let upstream = Upstream::new(config, upstream_metrics.clone()).context("building the upstream client")?;
    let engine = Engine::new(
        store,
        upstream,
        TenantDirectory::new(settings.tenants),
        engine_metrics,
        TrackerConfig { poll_interval: settings.poll_interval },
    );
    let backend =
        settings.library.backend.clone().unwrap_or_else(|| library::Backend::Local(settings.data_dir.join("library")));
    let lib_config = library::LibraryConfig { backend, max_upload_bytes: settings.library.max_upload_bytes };
    let library = library::Library::open(&lib_config, links(engine.store(), &settings.library).await?)
        .context("opening the file library")?;
    engine.set_library(library);
    if let Some(path) = crate::approvals_cli::policy_path(None).or(settings.approvals_policy.clone()) {
        engine.load_approval_policy(path).map_err(anyhow::Error::msg).context("the approval policy")?;
    }
    let report = engine.start_tracking().await.context("reconciling operations a restart interrupted")?;
    if report.started + report.rerun + report.ended > 0 {
        tracing::info!(
            started = report.started,
            rerun = report.rerun,
            ended = report.ended,
            "reconciled operations left by the last run"
        );
    }
    let entra = settings
        .entra
        .map(|cfg| gateway::oidc::EntraAuth::new(cfg, engine.upstream().clone()).map(Arc::new))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Some(entra) = &entra {
        entra.register(&mut registry);
    }
    let state = AppState { engine: engine.clone(), registry: Arc::new(registry), metrics: gateway_metrics, entra };
    Ok(Gateway { router: gateway::router(state), engine, upstream_metrics, enrich_metrics })
}

/// What `ensure_admin_key` did, so the caller can tell the user.
pub enum AdminKey {
    /// Taken from `RIPOSTE_ADMIN_KEY`.
    FromEnv,
    /// Generated now; this is the only time it is shown.
    Generated(String),
    /// Generated on an earlier start; only its hash is stored.
    Existing,
}

/// The admin key: `RIPOSTE_ADMIN_KEY` if set, else generated on first start; stored hashed only,
/// as an ordinary key named `admin` (`crate::admin_key`).
pub async fn ensure_admin_key(store: &Store) -> anyhow::Result<AdminKey> {
    crate::admin_key::ensure(store).await
}

/// Serve a router until Ctrl-C, under the default listener limits (`crate::server`).
pub async fn serve(router: axum::Router, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    crate::server::serve_until_ctrl_c(router, listener, crate::server::ServerLimits::default()).await
}

pub async fn bind(addr: &str) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// `[auth.entra]` for a sandbox: tokens of its first tenant's login for `api://riposte`, whose app
/// roles `Riposte.Reader`, `Riposte.Responder` and `Riposte.Admin` are those roles on every tenant
/// (`POST /_sandbox/users/{tenant}/token` issues them).
pub fn sandbox_entra(sandbox: &sandbox::RunningSandbox) -> Option<gateway::oidc::EntraConfig> {
    let d = sandbox.describe();
    let tenant = d.tenants.first()?.tenant_id.clone();
    let login = d.endpoints.login.trim_end_matches('/');
    let grant = |role: &str| gateway::oidc::RoleGrant { role: role.into(), tenants: vec!["*".into()] };
    Some(gateway::oidc::EntraConfig {
        issuer: Some(format!("{login}/{tenant}/v2.0")),
        tenant,
        audience: "api://riposte".into(),
        client_id: None,
        roles: [("Riposte.Reader", "reader"), ("Riposte.Responder", "responder"), ("Riposte.Admin", "admin")]
            .into_iter()
            .map(|(app_role, role)| (app_role.to_string(), grant(role)))
            .collect(),
        leeway_seconds: None,
        refetch_min_seconds: None,
        refresh_seconds: None,
    })
}

/// Gateway settings that point every cloud at a running sandbox and use its tenants.
pub fn sandbox_settings(
    sandbox: &sandbox::RunningSandbox,
    data_dir: PathBuf,
    poll_interval: Duration,
) -> anyhow::Result<GatewaySettings> {
    let d = sandbox.describe();
    let url = |s: &str| url::Url::parse(s).with_context(|| format!("sandbox endpoint '{s}'"));
    let clouds = Clouds::microsoft()
        .with_login(url(&d.endpoints.login)?)
        .with_base(Api::Graph, url(&d.endpoints.graph)?)
        .with_base(Api::Mde, url(&d.endpoints.mde)?)
        .with_base(Api::Arm, url(&d.endpoints.arm)?)
        .with_base(Api::ExchangeOnline, url(&d.endpoints.exchange_online)?);
    // Cloud Apps has a portal host per tenant and Key Vault a host per vault, so each tenant gets
    // its own clouds with them.
    let tenants = d
        .tenants
        .iter()
        .map(|t| {
            let creds = crate::config::credentials(&t.tenant_id, &t.client_id, t.client_secret.clone());
            let own = clouds.clone().with_base(Api::CloudApps, url(&t.cloud_apps)?);
            // Key Vault too: the tenant's vault, served under the sandbox's one host.
            let own = if t.key_vault.is_empty() { own } else { own.with_base(Api::KeyVault, url(&t.key_vault)?) };
            Ok(creds.in_clouds(own))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(GatewaySettings {
        data_dir,
        clouds,
        extra_ca_pem: sandbox.ca_pem().map(String::from),
        tenants,
        poll_interval,
        unlimited_budgets: false,
        budgets: None,
        library: LibrarySettings::default(),
        store_url: None,
        entra: None,
        approvals_policy: None,
        anchor_webhook: crate::audit_anchor::webhook_url(None),
    })
}
