//! End-to-end harness: a sandbox cloud and a gateway on loopback sockets, wired as `riposte up`
//! wires them. Tests assert effects through the sandbox's own APIs and `/_sandbox` inspection.
#![allow(dead_code)]

use riposte::app;
use serde_json::{Value, json};
use std::time::Duration;

pub struct Harness {
    pub sandbox: sandbox::RunningSandbox,
    pub gateway: String,
    pub admin_key: String,
    pub http: reqwest::Client,
    /// The gateway's data directory. Kept after the test: `tests/e2e_coverage.rs` reads the
    /// audit of every harness of the run.
    pub dir: DataDir,
    pub engine: engine::Engine,
}

/// A harness's data directory under this run's folder (see [`run_dir`]).
pub struct DataDir(std::path::PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let dir = tempfile::Builder::new().prefix("harness-").tempdir_in(run_dir()).expect("a data directory");
        DataDir(dir.keep())
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

/// The folder of this run of the e2e suite: `{CARGO_TARGET_TMPDIR}/e2e-runs/{start}-{pid}`.
/// Folders of earlier runs are removed when a run starts, except the newest few and any
/// younger than an hour.
pub fn run_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-runs");
        std::fs::create_dir_all(&root).expect("the e2e runs folder");
        prune_old_runs(&root, 2);
        let started =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let dir = root.join(format!("{started:012}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("this run's folder");
        dir
    })
}

fn prune_old_runs(root: &std::path::Path, keep: usize) {
    // Only runs older than an hour go: another e2e process may be running beside this one.
    let stale = |p: &std::path::Path| {
        p.metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600))
    };
    let mut runs: Vec<std::path::PathBuf> =
        std::fs::read_dir(root).into_iter().flatten().flatten().map(|e| e.path()).collect();
    runs.sort();
    let excess = runs.len().saturating_sub(keep);
    for old in runs.into_iter().take(excess).filter(|p| stale(p)) {
        let _ = std::fs::remove_dir_all(old);
    }
}

impl Harness {
    pub async fn start(tenants: usize) -> Harness {
        Harness::start_with(tenants, |_| {}).await
    }

    pub async fn start_with(tenants: usize, tweak: impl FnOnce(&mut app::GatewaySettings)) -> Harness {
        riposte::install_crypto_provider();
        let cfg = sandbox::SandboxConfig { seed: 42, tenants, tls: false, realistic: false };
        let sandbox = sandbox::start(cfg, "127.0.0.1:0".parse().unwrap()).await.expect("sandbox starts");
        let dir = DataDir::new();
        let mut settings =
            app::sandbox_settings(&sandbox, dir.path().to_path_buf(), Duration::from_millis(300)).unwrap();
        tweak(&mut settings);
        let gw = app::build(settings).await.expect("gateway builds");
        riposte::sandbox_clock::follow(&gw.engine, riposte::sandbox_clock::clock_url(sandbox.base_url()))
            .await
            .expect("the gateway follows the sandbox clock");
        let admin_key = gateway::auth::generate_key();
        gw.engine
            .store()
            .set_setting(gateway::auth::ADMIN_KEY_SETTING, &gateway::auth::hash_key(&admin_key))
            .await
            .unwrap();
        let (listener, addr) = app::bind("127.0.0.1:0").await.unwrap();
        let router = gw.router;
        tokio::spawn(async move { axum::serve(listener, router).await });
        Harness {
            sandbox,
            gateway: format!("http://{addr}"),
            admin_key,
            http: reqwest::Client::new(),
            dir,
            engine: gw.engine,
        }
    }

    pub fn tenant(&self, i: usize) -> String {
        self.sandbox.describe().tenants[i].tenant_id.clone()
    }

    /// POST a seed-style request to a route with the admin key in x-functions-key.
    pub async fn seed(&self, route: &str, body: Value) -> (u16, Value) {
        self.seed_with_key(route, body, &self.admin_key).await
    }

    pub async fn seed_with_key(&self, route: &str, body: Value, key: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/api/{route}", self.gateway))
            .header("x-functions-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn mde(&self, tenant: &str, action: &str, params: Value) -> (u16, Value) {
        let mut body = json!({ "action": action, "tenantId": tenant });
        merge(&mut body, params);
        self.seed("DefenderXDRMDEWorker", body).await
    }

    pub async fn entra(&self, tenant: &str, action: &str, params: Value) -> (u16, Value) {
        let mut body = json!({ "action": action, "tenantId": tenant });
        merge(&mut body, params);
        self.seed("DefenderXDREntraIDWorker", body).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp =
            self.http.get(format!("{}{path}", self.gateway)).header("x-api-key", &self.admin_key).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The part of a `riposte.toml` that points a process of its own at this harness's sandbox:
    /// `[clouds]`, then one `[[tenants]]` per tenant. Tables a test appends follow it.
    pub fn process_config(&self) -> String {
        let d = self.sandbox.describe();
        let quoted = |s: &str| serde_json::to_string(s).unwrap(); // a JSON string is a TOML basic string
        let mut c = format!(
            "[clouds]\nlogin = {}\ngraph = {}\nmde = {}\narm = {}\n",
            quoted(&d.endpoints.login),
            quoted(&d.endpoints.graph),
            quoted(&d.endpoints.mde),
            quoted(&d.endpoints.arm)
        );
        for t in &d.tenants {
            c.push_str(&format!(
                "\n[[tenants]]\ntenant_id = {}\nclient_id = {}\nclient_secret = {}\n",
                quoted(&t.tenant_id),
                quoted(&t.client_id),
                quoted(&t.client_secret)
            ));
        }
        c
    }

    /// The sandbox's inspection view of one tenant.
    pub async fn state(&self, tenant: &str) -> Value {
        self.http
            .get(format!("{}/_sandbox/state/{tenant}", self.sandbox.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sandbox_admin(&self, path: &str, body: Value) -> Value {
        let resp =
            self.http.post(format!("{}/_sandbox/{path}", self.sandbox.base_url())).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "sandbox admin {path} failed: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    pub async fn sandbox_stats(&self) -> Value {
        self.http.get(format!("{}/_sandbox/stats", self.sandbox.base_url())).send().await.unwrap().json().await.unwrap()
    }

    /// Machines of a tenant that are online (so their actions complete).
    pub async fn online_machines(&self, tenant: &str) -> Vec<Value> {
        let state = self.state(tenant).await;
        state["machines"].as_array().unwrap().iter().filter(|m| is_online(m)).cloned().collect()
    }

    pub async fn offline_machine(&self, tenant: &str) -> Value {
        let state = self.state(tenant).await;
        state["machines"].as_array().unwrap().iter().find(|m| !is_online(m)).cloned().expect("an offline machine")
    }

    /// A native MDE action call (`POST /v1/tenants/{t}/actions/MDE/{action}`): (status, outcome).
    pub async fn native_mde(&self, tenant: &str, action: &str, params: Value) -> (u16, Value) {
        let url = format!("{}/v1/tenants/{tenant}/actions/MDE/{action}", self.gateway);
        let resp = self.http.post(url).header("x-api-key", &self.admin_key).json(&params).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Put a file in Riposte's live-response library for the tenant (201 expected).
    pub async fn upload(&self, tenant: &str, name: &str, bytes: &[u8]) {
        let url = format!("{}/v1/library?tenant={tenant}&fileName={name}", self.gateway);
        let resp = self.http.post(url).header("x-api-key", &self.admin_key).body(bytes.to_vec()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 201, "library upload {name}");
    }

    /// One alert of the sandbox's state (MDE shape with evidence).
    pub async fn alert(&self, tenant: &str, id: &str) -> Value {
        self.state_item(tenant, "alerts", id).await
    }

    /// One incident of the sandbox's state.
    pub async fn incident(&self, tenant: &str, id: &str) -> Value {
        self.state_item(tenant, "incidents", id).await
    }

    async fn state_item(&self, tenant: &str, list: &str, id: &str) -> Value {
        let state = self.state(tenant).await;
        state[list]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} not in {list}"))
    }

    /// Open (not resolved) alerts of the tenant, by id.
    pub async fn open_alerts(&self, tenant: &str) -> Vec<String> {
        let state = self.state(tenant).await;
        let alerts = state["alerts"].as_array().cloned().unwrap_or_default();
        alerts.iter().filter(|a| a["status"] != "Resolved").filter_map(|a| a["id"].as_str().map(String::from)).collect()
    }

    /// How many machine actions of a type the sandbox holds for a machine.
    pub async fn count_actions(&self, tenant: &str, kind: &str, machine: &str) -> usize {
        self.machine_actions(tenant).await.iter().filter(|a| a["type"] == kind && a["machineId"] == machine).count()
    }

    pub async fn machine_actions(&self, tenant: &str) -> Vec<Value> {
        self.state(tenant).await["machineActions"].as_array().cloned().unwrap_or_default()
    }

    /// Wait until the operation reaches a terminal state; returns it.
    pub async fn wait_operation(&self, id: &str) -> Value {
        for _ in 0..200 {
            let (_, op) = self.get(&format!("/v1/operations/{id}")).await;
            if engine::status::is_terminal(op["status"].as_str().unwrap_or("")) {
                return op;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("operation {id} did not finish");
    }
}

impl Harness {
    /// Like [`Harness::wait_operation`], for operations that queue behind others (up to ~2 min).
    pub async fn wait_operation_long(&self, id: &str) -> Value {
        for _ in 0..1200 {
            let (_, op) = self.get(&format!("/v1/operations/{id}")).await;
            if engine::status::is_terminal(op["status"].as_str().unwrap_or("")) {
                return op;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("operation {id} did not finish");
    }
}

pub fn is_online(m: &Value) -> bool {
    m["online"] == true
}

pub fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

/// Reads the sandbox's MDE API directly with the tenant's own credentials.
pub struct Mde {
    pub base: String,
    pub token: String,
}

impl Mde {
    pub async fn connect(h: &Harness, tenant: &str) -> Mde {
        let d = h.sandbox.describe();
        let t = d.tenants.iter().find(|t| t.tenant_id == tenant).unwrap();
        let token: Value = h
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", d.endpoints.login.trim_end_matches('/')))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", t.client_id.as_str()),
                ("client_secret", t.client_secret.as_str()),
                ("scope", "https://api.securitycenter.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Mde {
            base: d.endpoints.mde.trim_end_matches('/').to_string(),
            token: token["access_token"].as_str().expect("a token").into(),
        }
    }

    pub async fn list(&self, h: &Harness, path: &str) -> Vec<Value> {
        let resp = h.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        body["value"].as_array().unwrap().clone()
    }

    /// One entity (or any JSON answer) at `path`, with the HTTP status.
    pub async fn get(&self, h: &Harness, path: &str) -> (u16, Value) {
        let resp = h.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }
}
