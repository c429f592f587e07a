//! The mock cloud: a counting token endpoint and scripted API responses.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{Value, json};
use url::Url;

use crate::{Api, Budgets, Clouds, RetryPolicy, TenantCredentials, Upstream, UpstreamConfig, UpstreamMetrics};

pub const SECRET: &str = "s3cr3t-VALUE-never-logged";

/// A response the API side returns next.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

pub fn reply(status: u16, body: Value) -> Scripted {
    Scripted { status, headers: Vec::new(), body }
}

impl Scripted {
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Scripted {
        self.headers.push((name, value.into()));
        self
    }
}

/// One API request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub uri: String,
    pub authorization: String,
    pub client_request_id: Option<String>,
}

#[derive(Default)]
pub struct MockState {
    pub token_requests: AtomicUsize,
    pub scopes: Mutex<Vec<String>>,
    /// Client assertions received: (token URL path, client_assertion_type, client_assertion).
    pub assertions: Mutex<Vec<(String, String, String)>>,
    pub token_delay: Mutex<Duration>,
    pub expires_in: AtomicU64,
    issued: AtomicUsize,
    script: Mutex<VecDeque<Scripted>>,
    pub seen: Mutex<Vec<Seen>>,
}

impl MockState {
    pub fn push(&self, reply: Scripted) {
        self.script.lock().push_back(reply);
    }
    pub fn api_hits(&self) -> usize {
        self.seen.lock().len()
    }
    pub fn tokens(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
}

pub struct Mock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
}

impl Mock {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn clouds(&self) -> Clouds {
        let u = |p: &str| Url::parse(&self.url(p)).unwrap();
        Clouds::microsoft()
            .with_login(u("/login"))
            .with_base(Api::Graph, u("/graph"))
            .with_base(Api::Mde, u("/mde"))
            .with_base(Api::Arm, u("/arm/"))
    }

    /// Fast, deterministic retries and no local budgets unless a test sets them.
    pub fn config(&self) -> UpstreamConfig {
        UpstreamConfig {
            clouds: self.clouds(),
            extra_ca_pem: None,
            retry: RetryPolicy {
                max_attempts: 4,
                max_throttled_attempts: 5,
                max_wait: Duration::from_secs(5),
                jitter: false,
                initial_backoff: Duration::from_millis(20),
            },
            budgets: Budgets::unlimited(),
            timeout: Duration::from_secs(5),
        }
    }

    pub fn upstream(&self) -> (Upstream, Arc<UpstreamMetrics>) {
        upstream_with(self.config())
    }
}

pub fn upstream_with(cfg: UpstreamConfig) -> (Upstream, Arc<UpstreamMetrics>) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let metrics = Arc::new(UpstreamMetrics::new());
    (Upstream::new(cfg, metrics.clone()).unwrap(), metrics)
}

pub fn creds() -> TenantCredentials {
    TenantCredentials::new("tenant-a", "client-1", SECRET)
}

pub async fn spawn_mock() -> Mock {
    let state = Arc::new(MockState::default());
    state.expires_in.store(3599, Ordering::SeqCst);
    let app =
        Router::new().route("/login/{tenant}/oauth2/v2.0/token", post(token)).fallback(api).with_state(state.clone());
    let addr = serve(app).await;
    Mock { addr, state }
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Entra-like token endpoint. A wrong secret gets AADSTS7000215; the description echoes the
/// secret it was sent so the tests can prove we scrub it.
async fn token(
    State(state): State<Arc<MockState>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let delay = *state.token_delay.lock();
    tokio::time::sleep(delay).await;
    if let Some(jwt) = form.get("client_assertion") {
        let kind = form.get("client_assertion_type").cloned().unwrap_or_default();
        state.assertions.lock().push((format!("/login/{tenant}/oauth2/v2.0/token"), kind, jwt.clone()));
    }
    let secret = form.get("client_secret").cloned().unwrap_or_default();
    let proven = secret == SECRET || form.contains_key("client_assertion");
    if !proven || form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        let body = json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided ({secret}).\r\nTrace ID: t\r\nCorrelation ID: c"),
            "error_codes": [7000215],
            "trace_id": "trace-xyz",
        });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    state.scopes.lock().push(scope.clone());
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let body = json!({
        "token_type": "Bearer",
        "expires_in": state.expires_in.load(Ordering::SeqCst),
        "access_token": format!("tok-{n}-{tenant}-{scope}"),
    });
    Json(body).into_response()
}

/// Every other path: record, then answer the next scripted reply (default 200 echo).
async fn api(
    State(state): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    state.seen.lock().push(Seen {
        method,
        uri: uri.to_string(),
        authorization: text("authorization").unwrap_or_default(),
        client_request_id: text("client-request-id"),
    });
    let next = state.script.lock().pop_front();
    match next {
        Some(scripted) => render(scripted),
        None => Json(json!({"path": uri.path()})).into_response(),
    }
}

fn render(scripted: Scripted) -> Response {
    let status = StatusCode::from_u16(scripted.status).unwrap();
    let mut response =
        if scripted.body.is_null() { status.into_response() } else { (status, Json(scripted.body)).into_response() };
    for (name, value) in scripted.headers {
        response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_str(&value).unwrap());
    }
    response
}
