//! `Upstream`: the one HTTP client for Microsoft's clouds. A call is a story:
//! resolve the URL → wait for budget → get a token → send → on 429/503 wait as told and try
//! again → on 401 with a cached token refresh once → normalise the answer.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap};
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use crate::api::{Api, ApiRequest, ApiResponse, Budget, Method, Paged};
use crate::budget::{Bucket, Limiters, buckets_for};
use crate::clouds::{Clouds, Endpoint};
use crate::config::{RetryPolicy, TenantCredentials, UpstreamConfig};
use crate::error::{UpstreamError, from_transport, parse_error_body, truncate};
use crate::metrics::UpstreamMetrics;
use crate::retry;
use crate::token::{Target, Token, Tokens};

/// Cheap to clone; all clones share the HTTP pool, token cache, budgets and metrics.
#[derive(Clone)]
pub struct Upstream {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The clouds of tenants without their own.
    clouds: Clouds,
    pub(crate) retry: RetryPolicy,
    pub(crate) limiters: Limiters,
    pub(crate) tokens: Tokens,
    pub(crate) metrics: Arc<UpstreamMetrics>,
    /// AWS assumed-role sessions (`aws.rs`).
    pub(crate) aws: crate::aws::Sessions,
    /// The last call per tenant × family (`activity.rs`).
    pub(crate) activity: crate::activity::Activity,
}

/// Only the clouds: the rest is either secret (tokens) or noise.
impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").field("clouds", &self.inner.clouds).finish_non_exhaustive()
    }
}

/// A request with its URL resolved, its token target and its budgets decided.
struct Prepared {
    api: Api,
    method: Method,
    /// Whose token the request carries.
    target: Target,
    url: Url,
    body: Option<Value>,
    /// A `multipart/form-data` body instead of JSON (MDE library uploads).
    form: Option<Vec<FormField>>,
    buckets: Vec<Bucket>,
}

/// What one attempt's response tells the retry loop.
enum Step {
    Done(Result<ApiResponse, UpstreamError>),
    RetryAfter(Duration),
    RefreshToken,
}

impl Upstream {
    /// Builds the HTTP client (rustls, the process-wide provider, optional extra CA) and the
    /// limiters. Validates configuration so mistakes surface at start-up, not on first call.
    pub fn new(cfg: UpstreamConfig, metrics: Arc<UpstreamMetrics>) -> Result<Upstream, UpstreamError> {
        cfg.clouds.validate()?;
        if cfg.retry.max_attempts == 0 {
            return Err(UpstreamError::Config("retry.max_attempts must be at least 1".into()));
        }
        let http = build_http(&cfg)?;
        let limiters = Limiters::new(&cfg.budgets)?;
        let tokens = Tokens::new(http.clone(), cfg.retry.clone(), metrics.clone());
        Ok(Upstream {
            inner: Arc::new(Inner {
                http,
                clouds: cfg.clouds,
                retry: cfg.retry,
                limiters,
                tokens,
                metrics,
                aws: crate::aws::Sessions::default(),
                activity: crate::activity::Activity::default(),
            }),
        })
    }

    /// Sends one request with budgets, tokens and retries applied.
    pub async fn call(&self, creds: &TenantCredentials, req: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        let (endpoint, target) = self.resolve(creds, req.api)?;
        let path = tenant_rooted(req.api, creds, &req.path);
        let url = build_url(&endpoint.base, &path, &req.query)?;
        let buckets = buckets_for(req.api, req.group, req.method, &path);
        let prepared = Prepared { api: req.api, method: req.method, target, url, body: req.body, form: None, buckets };
        self.execute(creds, &prepared).await
    }

    /// POSTs a `multipart/form-data` body (MDE `POST /api/libraryfiles`), with budgets, tokens
    /// and retries applied like [`Upstream::call`]. The form is rebuilt for every attempt.
    pub async fn post_form(
        &self,
        creds: &TenantCredentials,
        api: Api,
        path: &str,
        form: Vec<FormField>,
    ) -> Result<ApiResponse, UpstreamError> {
        let (endpoint, target) = self.resolve(creds, api)?;
        let url = build_url(&endpoint.base, path, &[])?;
        let buckets = buckets_for(api, Budget::Default, Method::Post, path);
        let prepared = Prepared { api, method: Method::Post, target, url, body: None, form: Some(form), buckets };
        self.execute(creds, &prepared).await
    }

    /// Downloads a pre-signed blob URL Microsoft handed out (live-response results, investigation
    /// packages). The URL carries its own authorisation (a SAS), so **no token is sent**. Only the
    /// configured host of `api` (in the shared clouds) and Azure Blob hosts over https are
    /// fetched, never more than `max_bytes`.
    pub async fn download(&self, api: Api, url: &str, max_bytes: usize) -> Result<Download, UpstreamError> {
        let url = download_url(self.inner.clouds.base(api), url)?;
        let response = self.inner.http.get(url.clone()).send().await.map_err(|e| {
            self.inner.metrics.record_call(api, None);
            from_transport(&e)
        })?;
        let status = response.status().as_u16();
        self.inner.metrics.record_call(api, Some(status));
        if status >= 400 {
            let body = read_body(response).await.unwrap_or(Value::Null);
            let parts = parse_error_body(status, &body);
            return Err(UpstreamError::Api {
                status,
                code: parts.code,
                message: truncate(&parts.message, 1000),
                request_id: parts.request_id,
            });
        }
        let content_type = header_text(response.headers(), "content-type");
        let mut bytes = Vec::new();
        let mut stream = response;
        while let Some(chunk) = stream.chunk().await.map_err(|e| from_transport(&e))? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(UpstreamError::Api {
                    status,
                    code: "DownloadTooLarge".into(),
                    message: format!("the download from {} exceeds {max_bytes} bytes", origin_text(&url)),
                    request_id: None,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Download { bytes: bytes.into(), content_type })
    }

    /// GETs an absolute URL Microsoft gave us (ARM `Azure-AsyncOperation`/`Location` monitors,
    /// Graph 202 `Location`). Refuses URLs outside the configured host for `api`, so a
    /// response can never make us send a token elsewhere.
    pub async fn get_url(&self, creds: &TenantCredentials, api: Api, url: &str) -> Result<ApiResponse, UpstreamError> {
        let (endpoint, target) = self.resolve(creds, api)?;
        let base = &endpoint.base;
        let url = same_origin(base, url).map_err(|foreign| {
            UpstreamError::Config(format!(
                "refusing to call {foreign}: not on the configured {} host {}",
                api.label(),
                origin_text(base)
            ))
        })?;
        let path = relative_path(base, &url);
        let buckets = buckets_for(api, Budget::Default, Method::Get, &path);
        self.execute(creds, &Prepared { api, method: Method::Get, target, url, body: None, form: None, buckets }).await
    }

    /// GET following `@odata.nextLink` until exhausted or `max_items`; returns all `value` items.
    pub async fn get_paged(
        &self,
        creds: &TenantCredentials,
        req: ApiRequest,
        max_items: usize,
    ) -> Result<Paged, UpstreamError> {
        if req.method != Method::Get {
            return Err(UpstreamError::Config(format!("get_paged needs GET, got {}", req.method)));
        }
        let api = req.api;
        let buckets = buckets_for(api, req.group, req.method, &req.path);
        let (endpoint, target) = self.resolve(creds, api)?;
        let base = endpoint.base.clone();
        let mut page = self.call(creds, req).await?;
        let mut paged = Paged::default();
        loop {
            paged.request_ids.extend(page.request_id.clone());
            let (items, next) = split_page(&page)?;
            take_items(&mut paged, items, max_items);
            let Some(link) = next else { return Ok(paged) };
            if paged.items.len() >= max_items {
                paged.truncated = true;
                return Ok(paged);
            }
            let url = next_link(api, &base, &link, &page)?;
            let prepared = Prepared {
                api,
                method: Method::Get,
                target: target.clone(),
                url,
                body: None,
                form: None,
                buckets: buckets.clone(),
            };
            page = self.execute(creds, &prepared).await?;
        }
    }

    /// For /readyz: can we obtain a token for this tenant and API? (A cached one counts.) For
    /// AWS: its signing keys (an assumed role's session).
    pub async fn check_token(&self, creds: &TenantCredentials, api: Api) -> Result<(), UpstreamError> {
        if !api.uses_entra_token() {
            return self.check_aws(creds).await;
        }
        let (_, target) = self.resolve(creds, api)?;
        self.inner.tokens.get(creds, &target).await.map(|_| ())
    }

    /// A bearer token for another Entra audience with this tenant's credential, from the same
    /// cache (single-flight, refreshed before expiry). Event Hubs' Kafka endpoint takes one over
    /// SASL OAUTHBEARER with the audience `https://{namespace}.servicebus.windows.net`.
    pub async fn entra_token(
        &self,
        creds: &TenantCredentials,
        audience: &str,
    ) -> Result<secrecy::SecretString, UpstreamError> {
        let audience = audience.trim_end_matches('/');
        if !audience.starts_with("https://") {
            return Err(UpstreamError::Config(format!("token audience {audience:?} is not an https URL")));
        }
        let target = Target { login: self.clouds_of(creds).login.clone(), audience: audience.to_string() };
        self.inner.tokens.get(creds, &target).await.map(|t| t.secret)
    }

    /// Every API family this tenant can call: configured in its clouds and served by its
    /// credential (Entra for Microsoft's families, keys for AWS). What `/readyz` checks.
    pub fn configured_apis(&self, creds: &TenantCredentials) -> Vec<Api> {
        self.clouds_of(creds).configured().filter(|&api| creds.credential.serves(api)).collect()
    }

    /// The clouds `creds` lives in: its own, else the shared ones.
    pub fn clouds_of<'a>(&'a self, creds: &'a TenantCredentials) -> &'a Clouds {
        creds.clouds.as_deref().unwrap_or(&self.inner.clouds)
    }

    /// Where `api` is for this tenant and whose token it takes. AWS families are refused here,
    /// before anything is sent: they are signed, not tokened, and go through [`Upstream::ec2`].
    pub(crate) fn resolve<'a>(
        &'a self,
        creds: &'a TenantCredentials,
        api: Api,
    ) -> Result<(&'a Endpoint, Target), UpstreamError> {
        let clouds = self.clouds_of(creds);
        let endpoint = clouds.endpoint(api)?;
        let audience = endpoint.audience.clone().ok_or_else(|| {
            UpstreamError::Config(format!("{api} calls are SigV4-signed Query API calls: use Upstream::ec2"))
        })?;
        if !creds.credential.serves(api) {
            return Err(UpstreamError::Config(format!(
                "tenant {}: a {} credential cannot call {api}",
                creds.tenant_id,
                creds.credential.kind()
            )));
        }
        Ok((endpoint, Target { login: clouds.login.clone(), audience }))
    }

    /// The last call per tenant × API family, and the last throttling (for health views).
    pub fn activity(&self) -> &crate::activity::Activity {
        &self.inner.activity
    }

    /// Shared counters (the same `Arc` given to `new`).
    pub fn metrics(&self) -> &Arc<UpstreamMetrics> {
        &self.inner.metrics
    }

    /// The retry loop. Every attempt pays budget; a 429 gives it back where Microsoft does not
    /// count throttled calls ([`throttled_calls_count`]), and its `Retry-After` is honoured.
    async fn execute(&self, creds: &TenantCredentials, req: &Prepared) -> Result<ApiResponse, UpstreamError> {
        // A dry run (`dry_run.rs`): a write is written down instead of sent; a read is sent and listed.
        if let Some(recorder) = crate::dry_run::recorder() {
            let write = req.method != Method::Get;
            recorder.push(crate::dry_run::rendered(req.api, req.method, &req.url, dry_run_body(req), !write));
            if write {
                return Ok(crate::dry_run::synthetic_answer());
            }
        }
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut attempts = 0;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let admission = self.wait_for_budget(creds, req, attempts).await?;
            let token = self.inner.tokens.get(creds, &req.target).await?;
            let sent = std::time::Instant::now();
            let response = self.send(req, &token, &client_request_id).await;
            self.inner.metrics.observe_latency(req.api, sent.elapsed());
            let status = response.as_ref().ok().map(|r| r.status().as_u16());
            self.inner.activity.record(&creds.tenant_id, req.api, status, status == Some(429));
            if status == Some(429) && !throttled_calls_count(req.api) {
                self.inner.limiters.refund(&creds.tenant_id, &req.buckets, &admission);
            }
            let step = match response {
                Ok(response) => self.judge(req, response, &token, refreshed, attempts, &client_request_id).await,
                Err(err) => self.judge_transport(req, &err, attempts),
            };
            match step {
                Step::Done(result) => return result,
                Step::RefreshToken => {
                    refreshed = true;
                    self.inner.tokens.invalidate(creds, &req.target, token.id).await;
                }
                Step::RetryAfter(wait) => tokio::time::sleep(wait).await,
            }
            self.inner.metrics.record_retry(req.api);
        }
    }

    /// Waits for every bucket; gives up as `Throttled` when the wait would exceed the bound.
    async fn wait_for_budget(
        &self,
        creds: &TenantCredentials,
        req: &Prepared,
        attempts: u32,
    ) -> Result<crate::budget::Admission, UpstreamError> {
        match self.inner.limiters.admit(&creds.tenant_id, &req.buckets).await {
            Ok(admission) => {
                if !admission.waited.is_zero() {
                    self.inner.metrics.record_budget_wait(req.api);
                    tracing::debug!(api = req.api.label(), waited = ?admission.waited, "waited for local budget");
                }
                Ok(admission)
            }
            Err(needed) => {
                Err(UpstreamError::Throttled { retry_after: Some(needed), request_id: None, attempts: attempts - 1 })
            }
        }
    }

    async fn send(
        &self,
        req: &Prepared,
        token: &Token,
        client_request_id: &str,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut builder = self
            .inner
            .http
            .request(http_method(req.method), req.url.clone())
            .bearer_auth(token.secret.expose_secret())
            .header(ACCEPT, "application/json")
            .header("client-request-id", client_request_id)
            .header("return-client-request-id", "true");
        if let Some(form) = &req.form {
            builder = builder.multipart(multipart(form));
        } else if let Some(body) = &req.body {
            builder = builder.json(body);
        } else if matches!(req.method, Method::Post | Method::Put | Method::Patch) {
            // Some Microsoft front ends answer 411 to a body-less POST without a length.
            builder = builder.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        builder.send().await
    }

    /// Decides what a response means: done, retry after a wait, or refresh the token.
    async fn judge(
        &self,
        req: &Prepared,
        response: reqwest::Response,
        token: &Token,
        refreshed: bool,
        attempts: u32,
        client_request_id: &str,
    ) -> Step {
        let status = response.status().as_u16();
        self.inner.metrics.record_call(req.api, Some(status));
        let request_id = header_request_id(response.headers());
        tracing::debug!(
            api = req.api.label(),
            method = %req.method,
            path = req.url.path(),
            status,
            attempts,
            request_id = request_id.as_deref().unwrap_or("-"),
            client_request_id,
            "upstream call"
        );
        if status == 429 {
            self.inner.metrics.record_throttled(req.api);
        }
        if status == 401 && token.from_cache && !refreshed {
            return Step::RefreshToken;
        }
        if retry::is_retryable_status(status) {
            let asked = retry::retry_after(response.headers());
            let policy = &self.inner.retry;
            let too_long = asked.is_some_and(|a| a > policy.max_wait);
            let limit = if asked.is_some() { policy.max_throttled_attempts } else { policy.max_attempts };
            if attempts < limit && !too_long {
                return Step::RetryAfter(retry::delay(policy, attempts, asked));
            }
            if status == 429 {
                return Step::Done(Err(throttled(response, asked, attempts, client_request_id).await));
            }
        }
        Step::Done(finish(response, attempts, client_request_id).await)
    }

    /// Transport failures: retry only when repeating cannot do the action twice.
    fn judge_transport(&self, req: &Prepared, err: &reqwest::Error, attempts: u32) -> Step {
        self.inner.metrics.record_call(req.api, None);
        tracing::debug!(api = req.api.label(), method = %req.method, path = req.url.path(), error = %err, "upstream transport error");
        if attempts < self.inner.retry.max_attempts && retry::may_retry_transport(&http_method(req.method), err) {
            return Step::RetryAfter(retry::delay(&self.inner.retry, attempts, None));
        }
        Step::Done(Err(from_transport(err)))
    }
}

/// What a dry run shows of a request's body: the JSON, or a multipart form's field names.
fn dry_run_body(req: &Prepared) -> Option<Value> {
    match &req.form {
        Some(form) => Some(Value::from(form.iter().map(|f| f.name.clone()).collect::<Vec<_>>())),
        None => req.body.clone(),
    }
}

/// Whether a call Microsoft answered 429 still counts against the family's quota.
///
/// Graph says so ("requests made while throttled still count", upstream-apis.md §4.2 [D]): its
/// 429s keep their place in our windows. The other families document a count of calls served
/// ("100 calls per minute") and a `Retry-After` saying when the next one is taken; a 429 there
/// was not served, so it gives its slot back. Otherwise a throttled call would be paid twice (the
/// refused attempt and the retry) and a tenant answered 20 % 429s would run at 80 % of its
/// documented rate. What keeps us polite is the `Retry-After` we wait before the retry.
fn throttled_calls_count(api: Api) -> bool {
    api == Api::Graph
}

/// The HTTP library's spelling of a vocabulary method (the one place the two meet).
fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Patch => reqwest::Method::PATCH,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Resolves a page's nextLink, refusing any host other than the configured one.
fn next_link(api: Api, base: &Url, link: &str, page: &ApiResponse) -> Result<Url, UpstreamError> {
    same_origin(base, link).map_err(|foreign| UpstreamError::Api {
        status: page.status,
        code: "ForeignNextLink".into(),
        message: format!(
            "refused to follow @odata.nextLink to {foreign}: not the configured {} host {}",
            api.label(),
            origin_text(base)
        ),
        request_id: page.request_id.clone(),
    })
}

/// One field of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormField {
    pub name: String,
    pub value: FormValue,
}

#[derive(Debug, Clone)]
pub enum FormValue {
    Text(String),
    File { file_name: String, bytes: bytes::Bytes },
}

/// The bytes of a pre-signed download.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: bytes::Bytes,
    pub content_type: Option<String>,
}

fn multipart(fields: &[FormField]) -> reqwest::multipart::Form {
    fields.iter().fold(reqwest::multipart::Form::new(), |form, f| match &f.value {
        FormValue::Text(t) => form.text(f.name.clone(), t.clone()),
        FormValue::File { file_name, bytes } => {
            form.part(f.name.clone(), reqwest::multipart::Part::stream(bytes.clone()).file_name(file_name.clone()))
        }
    })
}

/// Blob hosts of Microsoft's clouds that hand out SAS download links.
const BLOB_HOST_SUFFIXES: &[&str] =
    &[".blob.core.windows.net", ".blob.core.usgovcloudapi.net", ".blob.core.chinacloudapi.cn"];

/// A pre-signed URL we agree to fetch: on the API's own origin, or an Azure Blob host over https.
fn download_url(base: Option<&Url>, link: &str) -> Result<Url, UpstreamError> {
    if let Some(url) = base.and_then(|b| same_origin(b, link).ok()) {
        return Ok(url);
    }
    let url =
        Url::parse(link).map_err(|_| UpstreamError::Config(format!("not a download URL: {}", truncate(link, 200))))?;
    let blob = url.scheme() == "https"
        && url.username().is_empty()
        && url.host_str().is_some_and(|h| BLOB_HOST_SUFFIXES.iter().any(|s| h.ends_with(s)));
    if blob {
        Ok(url)
    } else {
        Err(UpstreamError::Config(format!(
            "refusing to download from {}: not the configured host nor Azure Blob",
            origin_text(&url)
        )))
    }
}

/// reqwest with rustls; redirects off so a token is never replayed to a host we did not pick.
fn build_http(cfg: &UpstreamConfig) -> Result<reqwest::Client, UpstreamError> {
    let mut builder = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(30)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("riposte-upstream/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &cfg.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| UpstreamError::Config(format!("extra_ca_pem: {e}")))?;
        if certs.is_empty() {
            return Err(UpstreamError::Config("extra_ca_pem holds no certificate".into()));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| UpstreamError::Config(format!("HTTP client: {e}")))
}

/// The path as the family roots it: Exchange Online's admin API lives under the tenant
/// (`/adminapi/beta/{tenantId}/InvokeCommand`), so its catalog paths (`/InvokeCommand`) are
/// rooted at the caller's tenant here, where the credentials are known.
fn tenant_rooted(api: Api, creds: &TenantCredentials, path: &str) -> String {
    match api {
        Api::ExchangeOnline => format!("/adminapi/beta/{}{path}", encode(&creds.tenant_id)),
        _ => path.to_owned(),
    }
}

/// `{base}{path}?{query}`. Spaces become `%20` (not `+`) because OData filters are picky.
fn build_url(base: &Url, path: &str, query: &[(String, String)]) -> Result<Url, UpstreamError> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains('#') {
        return Err(UpstreamError::Config(format!("path must start with a single '/': {path:?}")));
    }
    let text = format!("{}{path}", base.as_str().trim_end_matches('/'));
    let mut url = Url::parse(&text).map_err(|e| UpstreamError::Config(format!("URL {text}: {e}")))?;
    if !query.is_empty() {
        let mut encoded: Vec<String> = url.query().map(|q| vec![q.to_owned()]).unwrap_or_default();
        encoded.extend(query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))));
        url.set_query(Some(&encoded.join("&")));
    }
    if same_origin(base, url.as_str()).is_err() {
        return Err(UpstreamError::Config(format!("path {path:?} leaves the configured host")));
    }
    Ok(url)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Parses `link` (absolute, or relative to `base`) and accepts it only on `base`'s origin.
fn same_origin(base: &Url, link: &str) -> Result<Url, String> {
    let url = base.join(link).map_err(|_| link.to_owned())?;
    if url.origin() == base.origin() && url.username().is_empty() && url.password().is_none() {
        Ok(url)
    } else {
        Err(origin_text(&url))
    }
}

fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `url`'s path relative to the base path, so budget rules see `/v1.0/security/...`.
fn relative_path(base: &Url, url: &Url) -> String {
    let prefix = base.path().trim_end_matches('/');
    url.path().strip_prefix(prefix).unwrap_or(url.path()).to_owned()
}

/// Appends a page's items, stopping at `max_items`.
fn take_items(paged: &mut Paged, items: &[Value], max_items: usize) {
    let room = max_items.saturating_sub(paged.items.len());
    if items.len() > room {
        paged.truncated = true;
    }
    paged.items.extend(items.iter().take(room).cloned());
}

/// An OData collection page: `value` array plus optional `@odata.nextLink`.
fn split_page(page: &ApiResponse) -> Result<(&[Value], Option<String>), UpstreamError> {
    let items = page.body.get("value").and_then(Value::as_array).ok_or_else(|| UpstreamError::Api {
        status: page.status,
        code: "UnexpectedResponse".into(),
        message: "expected an OData collection with a `value` array".into(),
        request_id: page.request_id.clone(),
    })?;
    let next = page.body.get("@odata.nextLink").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok((items.as_slice(), next))
}

/// Builds the final answer: `ApiResponse` below 400, normalised `Api` error otherwise.
async fn finish(
    response: reqwest::Response,
    attempts: u32,
    client_request_id: &str,
) -> Result<ApiResponse, UpstreamError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_body(response).await?;
    let header_id = header_request_id(&headers);
    if status < 400 {
        return Ok(ApiResponse {
            status,
            body,
            request_id: header_id.or_else(|| Some(client_request_id.to_owned())),
            location: header_text(&headers, "location"),
            async_operation: header_text(&headers, "azure-asyncoperation"),
            retry_after: retry::retry_after(&headers),
            attempts,
        });
    }
    let parts = parse_error_body(status, &body);
    Err(UpstreamError::Api {
        status,
        code: parts.code,
        message: truncate(&parts.message, 1000),
        request_id: header_id.or(parts.request_id).or_else(|| Some(client_request_id.to_owned())),
    })
}

/// The give-up answer after the last 429.
async fn throttled(
    response: reqwest::Response,
    retry_after: Option<Duration>,
    attempts: u32,
    client_request_id: &str,
) -> UpstreamError {
    let status = response.status().as_u16();
    let header_id = header_request_id(response.headers());
    let body = read_body(response).await.unwrap_or(Value::Null);
    let parts = parse_error_body(status, &body);
    UpstreamError::Throttled {
        retry_after,
        request_id: header_id.or(parts.request_id).or_else(|| Some(client_request_id.to_owned())),
        attempts,
    }
}

/// JSON when it parses, `Null` when empty, the text otherwise.
async fn read_body(response: reqwest::Response) -> Result<Value, UpstreamError> {
    let bytes = response.bytes().await.map_err(|e| from_transport(&e))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

/// Graph and MDE send `request-id`; ARM sends `x-ms-request-id`.
fn header_request_id(headers: &HeaderMap) -> Option<String> {
    header_text(headers, "request-id").or_else(|| header_text(headers, "x-ms-request-id"))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn builds_urls_under_base_path() {
        let b = base("http://127.0.0.1:9/mde/");
        let url = build_url(&b, "/api/machines", &[("$filter".into(), "healthStatus eq 'Active'".into())]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/mde/api/machines?%24filter=healthStatus%20eq%20%27Active%27");
        assert!(build_url(&b, "api/x", &[]).is_err());
        assert!(build_url(&b, "//evil.example/x", &[]).is_err());
    }

    #[test]
    fn same_origin_refuses_other_hosts_and_ports() {
        let b = base("https://graph.microsoft.com");
        assert!(same_origin(&b, "https://graph.microsoft.com/v1.0/users?$skiptoken=x").is_ok());
        assert!(same_origin(&b, "https://evil.example/v1.0/users").is_err());
        assert!(same_origin(&b, "http://graph.microsoft.com/v1.0/users").is_err());
        assert!(same_origin(&b, "https://graph.microsoft.com:444/v1.0").is_err());
        assert!(same_origin(&b, "https://user@graph.microsoft.com/v1.0").is_err());
    }

    #[test]
    fn downloads_only_from_the_cloud_or_azure_blob() {
        let b = base("http://127.0.0.1:9/mde");
        let b = Some(&b);
        assert!(download_url(b, "http://127.0.0.1:9/_sandbox/blobs/x?sig=1").is_ok());
        assert!(download_url(b, "https://acct.blob.core.windows.net/c/x?sig=1").is_ok());
        assert!(download_url(b, "http://acct.blob.core.windows.net/c/x").is_err());
        assert!(download_url(b, "https://evil.example/x.blob.core.windows.net").is_err());
        assert!(download_url(b, "https://acct.blob.core.windows.net.evil.example/x").is_err());
        assert!(download_url(b, "file:///etc/passwd").is_err());
    }

    #[test]
    fn relative_path_strips_base_prefix() {
        let b = base("http://127.0.0.1:9/graph");
        let u = base("http://127.0.0.1:9/graph/v1.0/security/alerts_v2");
        assert_eq!(relative_path(&b, &u), "/v1.0/security/alerts_v2");
    }
}
