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

pub async fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    Store::open_sqlite(&db_path(data_dir)).await.context("opening the store")
}

pub async fn build(settings: GatewaySettings) -> anyhow::Result<Gateway> {
    let store = open_store(&settings.data_dir).await?;
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
    let report = engine.start_tracking().await.context("reconciling operations a restart interrupted")?;
    if report.started + report.rerun + report.ended > 0 {
        tracing::info!(
            started = report.started,
            rerun = report.rerun,
            ended = report.ended,
            "reconciled operations left by the last run"
        );
    }
    let state = AppState { engine: engine.clone(), registry: Arc::new(registry), metrics: gateway_metrics };
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

/// The admin key: `RIPOSTE_ADMIN_KEY` if set, else generated on first start; stored hashed only.
pub async fn ensure_admin_key(store: &Store) -> anyhow::Result<AdminKey> {
    if let Ok(key) = std::env::var("RIPOSTE_ADMIN_KEY")
        && !key.trim().is_empty()
    {
        store.set_setting(gateway::auth::ADMIN_KEY_SETTING, &gateway::auth::hash_key(&key)).await?;
        return Ok(AdminKey::FromEnv);
    }
    if store.get_setting(gateway::auth::ADMIN_KEY_SETTING).await?.is_some() {
        return Ok(AdminKey::Existing);
    }
    let key = gateway::auth::generate_key();
    store.set_setting(gateway::auth::ADMIN_KEY_SETTING, &gateway::auth::hash_key(&key)).await?;
    Ok(AdminKey::Generated(key))
}

/// Serve a router until Ctrl-C.
pub async fn serve(router: axum::Router, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

pub async fn bind(addr: &str) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
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
    })
}
