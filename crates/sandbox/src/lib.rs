//! The sandbox: an emulated Microsoft cloud (Entra login, Microsoft Graph users and batching,
//! Defender for Endpoint machines and machine actions, an ARM resource store) over one HTTP(S)
//! listener, with a seeded world, fault injection, time control and state inspection under
//! `/_sandbox`.
//!
//! It emulates Microsoft as Microsoft documents it (`reference/upstream-apis.md`), not as
//! Riposte happens to call it, so Microsoft's own SDKs work against it.
//!
//! Module map: `login` (tokens, discovery), `graph` (users, security, `$batch`), `mde`
//! (machines, actions, alerts, indicators, TVM, live response), `arm` (the resource store,
//! long-running operations, Network and Compute rules), `hunting` (advanced hunting over
//! generated tables), `world` (seeded data, one state module per product), `auth` (token checks,
//! `Caller::require`), `entity_set` (the shared OData list layer), `paths` (case-insensitive
//! routing), `faults` (injection + edge middleware), `limits` (MDE quotas), `clock`, `admin`
//! (`/_sandbox`), `tls`.

// Handlers return `Result<_, Response>` so `?` yields a Microsoft-shaped error; the large Err
// variant is the point, not an accident.
#![allow(clippy::result_large_err)]

mod admin;
mod arm;
mod auth;
mod clock;
mod cloud_apps;
mod entity_set;
mod errors;
mod exchange;
mod faults;
mod graph;
mod hunting;
mod intel;
mod keyvault;
mod limits;
mod login;
mod mde;
mod odata;
mod paths;
mod query;
mod requests;
mod state;
mod tls;
/// Delegated user tokens for Riposte's own API, and signing-key rotation (`/_sandbox/...`).
mod users;
mod world;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::errors::Family;
use crate::state::{AppState, Shared};

/// How to run the sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Seeds the world (ids, names, secrets), token lifetimes and fault draws.
    pub seed: u64,
    /// Number of tenants (default 3).
    pub tenants: usize,
    /// Serve https with a generated CA (needed by azure-identity, which insists on https).
    pub tls: bool,
    /// Microsoft's real timings: machine actions take minutes, ARM operations ~30 s. Off by
    /// default, so lifecycles (machine actions, ARM operations) finish within seconds.
    pub realistic: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig::new(42, 3)
    }
}

impl SandboxConfig {
    /// A plain-http, fast-lifecycle sandbox with `tenants` tenants seeded from `seed`.
    pub fn new(seed: u64, tenants: usize) -> SandboxConfig {
        SandboxConfig { seed, tenants, tls: false, realistic: false }
    }

    /// Serve https with a generated CA.
    pub fn with_tls(mut self, tls: bool) -> SandboxConfig {
        self.tls = tls;
        self
    }

    /// Use Microsoft's real lifecycle timings instead of seconds.
    pub fn with_realistic(mut self, realistic: bool) -> SandboxConfig {
        self.realistic = realistic;
        self
    }
}

/// What a client needs to use the sandbox: where each API is and which tenants exist.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Describe {
    /// Path of the CA certificate PEM when TLS is on and the describe file was written.
    pub ca_pem: Option<String>,
    pub endpoints: Endpoints,
    pub tenants: Vec<TenantInfo>,
}

/// Base URLs. `graph` is the host root (append `/v1.0/...`), `mde` the MDE API root
/// (`{mde}/api/machines`), `arm` the ARM root (`{arm}/subscriptions/...`), `login` the
/// authority host (`{login}/{tenant}/oauth2/v2.0/token`).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Endpoints {
    pub login: String,
    pub graph: String,
    pub mde: String,
    pub arm: String,
    /// Exchange Online's admin REST root (`{exchange_online}/adminapi/beta/{tenant}/InvokeCommand`).
    #[serde(default)]
    pub exchange_online: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
    /// The tenant's Defender for Cloud Apps portal API root (`{portal}/api/v1/alerts/`). At
    /// Microsoft each tenant has its own host; the sandbox serves them all on its one host.
    #[serde(default)]
    pub cloud_apps: String,
    /// The tenant's Key Vault data-plane root (`{vault}/secrets/...`). At Microsoft each vault is
    /// its own host (`https://{vault}.vault.azure.net`); the sandbox serves each vault under
    /// `/keyvault/{vault}` of its one host.
    #[serde(default)]
    pub key_vault: String,
}

/// A sandbox serving in a background task. Dropping it (or `shutdown`) stops the server.
pub struct RunningSandbox {
    base_url: String,
    ca_pem: Option<String>,
    ca_path: Mutex<Option<String>>,
    state: AppState,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA certificate (PEM) when TLS is on.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub fn describe(&self) -> Describe {
        describe_state(&self.state, self.ca_path.lock().clone())
    }

    /// Writes the describe JSON to `path`. With TLS, also writes the CA next to it as
    /// `<stem>-ca.pem` and records that path in `ca_pem`.
    pub fn write_describe(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(ca) = &self.ca_pem {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("sandbox");
            let ca_file = path.with_file_name(format!("{stem}-ca.pem"));
            std::fs::write(&ca_file, ca)?;
            let abs = std::path::absolute(&ca_file).unwrap_or(ca_file);
            *self.ca_path.lock() = Some(abs.to_string_lossy().into_owned());
        }
        let json = serde_json::to_string_pretty(&self.describe())?;
        std::fs::write(path, json)?;
        Ok(())
    }

    /// Sets the MDE per-tenant quotas (also possible via `POST /_sandbox/settings`).
    pub fn set_mde_limits(&self, per_minute: u32, per_hour: u32) {
        let mut s = self.state.settings.lock();
        s.mde_per_minute = per_minute;
        s.mde_per_hour = per_hour;
    }

    /// Moves the sandbox clock forward (also possible via `POST /_sandbox/clock`).
    /// Returns false if the clock cannot go that far.
    pub fn advance_clock(&self, seconds: u64) -> bool {
        self.state.clock.advance(seconds as f64)
    }

    /// Onboards a second MDE machine under the same DNS name as `machine_id` of `tenant` (as a
    /// re-imaged device shows up twice in MDE), with a new id and no Azure VM or Entra device
    /// link. Returns the new machine's id, or `None` when the tenant or machine is unknown.
    pub fn duplicate_machine(&self, tenant: &str, machine_id: &str) -> Option<String> {
        let mut world = self.state.world.lock();
        let machines = &mut world.tenant_mut(tenant)?.mde.machines;
        let original = machines.iter().find(|m| m.id.eq_ignore_ascii_case(machine_id))?.clone();
        let id = format!("d0d0d0d0{}", &original.id[8..]);
        if machines.iter().any(|m| m.id.eq_ignore_ascii_case(&id)) {
            return None;
        }
        let copy = world::Machine { id: id.clone(), vm: None, aad_device_id: None, isolation: None, ..original };
        machines.push(copy);
        Some(id)
    }

    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn describe_state(state: &AppState, ca_path: Option<String>) -> Describe {
    let b = state.base_url.clone();
    let tenants = state
        .world
        .lock()
        .tenants
        .iter()
        .map(|t| TenantInfo {
            tenant_id: t.tenant_id.clone(),
            client_id: t.client_id.clone(),
            client_secret: t.client_secret.clone(),
            subscription_id: t.subscription_id.clone(),
            cloud_apps: b.clone(),
            key_vault: format!("{b}/keyvault/{}", crate::world::azure_data::DataNames::of(&t.name).vault),
        })
        .collect();
    Describe {
        ca_pem: ca_path,
        endpoints: Endpoints { login: b.clone(), graph: b.clone(), mde: b.clone(), arm: b.clone(), exchange_online: b },
        tenants,
    }
}

/// Binds `listen` (port 0 allowed) and serves in a background tokio task.
pub async fn start(cfg: SandboxConfig, listen: SocketAddr) -> anyhow::Result<RunningSandbox> {
    // Both may already be installed by the host process; that is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();

    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let ip = addr.ip();
    let specific_ip = !(ip.is_unspecified() || ip.is_loopback());
    let host = if specific_ip {
        match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    } else if cfg.tls {
        // The certificate names `localhost`; azure-identity also wants a host name.
        "localhost".to_string()
    } else {
        "127.0.0.1".to_string()
    };
    let scheme = if cfg.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{host}:{}", addr.port());

    let tls = if cfg.tls {
        let extra = if specific_ip { vec![ip.to_string()] } else { Vec::new() };
        Some(tls::generate(&extra)?)
    } else {
        None
    };
    let state = AppState(Arc::new(Shared::new(cfg, base_url.clone())?));
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app(state.clone()));
    let handle = axum_server::Handle::new();
    let task = match &tls {
        Some(m) => {
            let rc = axum_server::tls_rustls::RustlsConfig::from_pem(
                m.cert_pem.clone().into_bytes(),
                m.key_pem.clone().into_bytes(),
            )
            .await?;
            let server = axum_server::from_tcp_rustls(listener, rc)?.handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!("sandbox server stopped: {e}");
                }
            })
        }
        None => {
            let server = axum_server::from_tcp(listener)?.handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!("sandbox server stopped: {e}");
                }
            })
        }
    };
    Ok(RunningSandbox {
        base_url,
        ca_pem: tls.map(|m| m.ca_pem),
        ca_path: Mutex::new(None),
        state,
        handle,
        task: Some(task),
    })
}

/// The whole service: paths normalised to their registered spelling (`paths.rs`), then routed.
pub(crate) fn app(state: AppState) -> paths::Normalize<Router> {
    paths::Normalize(router(state))
}

fn router(state: AppState) -> Router {
    Router::new()
        .merge(login::routes())
        .merge(graph::routes())
        .merge(mde::routes())
        .merge(hunting::routes())
        .merge(arm::routes())
        .merge(cloud_apps::routes())
        .merge(intel::routes())
        .merge(keyvault::routes())
        .merge(exchange::routes())
        .merge(admin::routes())
        .merge(requests::routes())
        .merge(users::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults::edge))
        .layer(axum::middleware::from_fn_with_state(state.clone(), requests::record))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            errors::admin(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError: the sandbox hit an internal error.")
        }))
        .with_state(state)
}

/// Unknown routes answer in the shape of the API family the path belongs to.
async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let family = Family::of_path(path);
    match family {
        // Graph answers unknown segments with 400 BadRequest.
        Family::Graph => {
            let segment = path.trim_start_matches('/').split('/').nth(1).unwrap_or("");
            errors::graph(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Resource not found for the segment '{segment}'."),
                &headers,
            )
        }
        Family::Mde => errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("No resource matches '{path}'.")),
        _ => errors::for_family(
            family,
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No resource matches '{path}'."),
            &headers,
            &state.base_url,
        )
        .into_response(),
    }
}

async fn method_not_allowed(State(state): State<AppState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let family = Family::of_path(uri.path());
    let code = if family == Family::Graph { "Request_BadRequest" } else { "MethodNotAllowed" };
    errors::for_family(
        family,
        StatusCode::METHOD_NOT_ALLOWED,
        code,
        &format!("The requested resource does not support http method '{method}'."),
        &headers,
        &state.base_url,
    )
}
