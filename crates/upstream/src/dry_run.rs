//! Dry runs: render, don't send.
//!
//! A caller runs any future inside [`record`]; while it runs, every request that future makes
//! through [`Upstream`](crate::Upstream) is written down in the shape it would go out (method,
//! URL with its query, JSON or form body; never a header, so never a token or a signature), and:
//!
//! - a **read** (`GET`) is sent as usual, because a dry run resolves its targets (a device named
//!   by DNS name becomes a machine id) and a read changes nothing; it is listed with `sent: true`;
//! - a **write** to Microsoft is not sent: the recorder answers it `200 {"dryRun": true}` so the
//!   caller's story goes on to the next request;
//! - an **EC2 write** of [`EC2_VALIDATED`] is sent with `DryRun=true`, AWS's own validation
//!   mode: AWS checks the caller's IAM permission and the parameters and answers
//!   `DryRunOperation` ("would have succeeded") or the refusal (`UnauthorizedOperation`, an
//!   invalid id) without changing anything. The request is listed with what AWS said. Other EC2
//!   writes are written down and not sent: a dry run must change nothing even against an
//!   endpoint that does not honour `DryRun` (moto, which CI runs against, carries out
//!   `CreateNetworkAclEntry` with `DryRun=true`), so only actions whose validation mode is
//!   exercised end to end are sent;
//! - other AWS Query writes (IAM, STS) have no such mode and are not sent.
//!
//! The interception lives here, in the one door to the clouds, so every product's procedures
//! are dry-runnable without a line of their own. The recorder is task-local: work spawned onto
//! other tasks is not covered, which is why the engine refuses dry runs of actions that continue
//! in the background (live response).

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::{Api, ApiResponse, Method};

tokio::task_local! {
    static RECORDER: Arc<Recorder>;
}

/// One request as it would be sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedRequest {
    /// The API family (`Graph`, `MDE`, `ARM`, `EC2`, ...).
    pub api: String,
    pub method: String,
    /// The full URL, query included.
    pub url: String,
    /// The JSON body; for AWS Query calls the form fields as an object; for multipart uploads
    /// the field names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// True when the request would change something (EC2's reads are POSTs too).
    pub write: bool,
    /// True when the request was actually sent: reads that resolve targets, and EC2 writes in
    /// AWS's `DryRun` validation mode.
    pub sent: bool,
    /// What a native validation mode answered (EC2 `DryRun`): `{ok, code, message}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Value>,
}

impl RenderedRequest {
    /// Whether the request would change something.
    pub fn is_write(&self) -> bool {
        self.write
    }
}

/// Collects the requests of one dry run.
#[derive(Default)]
pub(crate) struct Recorder {
    requests: Mutex<Vec<RenderedRequest>>,
}

impl Recorder {
    pub(crate) fn push(&self, r: RenderedRequest) {
        self.requests.lock().push(r);
    }
}

/// Runs `work` in dry-run mode; returns its output and the requests it made, in order.
pub async fn record<F: std::future::Future>(work: F) -> (F::Output, Vec<RenderedRequest>) {
    let recorder = Arc::new(Recorder::default());
    let out = RECORDER.scope(recorder.clone(), work).await;
    let requests = std::mem::take(&mut *recorder.requests.lock());
    (out, requests)
}

/// Whether the current task is in a dry run.
pub fn active() -> bool {
    RECORDER.try_with(|_| ()).is_ok()
}

/// The current dry run's recorder, if any.
pub(crate) fn recorder() -> Option<Arc<Recorder>> {
    RECORDER.try_with(Arc::clone).ok()
}

/// The answer a write gets in a dry run instead of Microsoft's.
pub(crate) fn synthetic_answer() -> ApiResponse {
    ApiResponse {
        status: 200,
        body: json!({ "dryRun": true }),
        request_id: None,
        location: None,
        async_operation: None,
        retry_after: None,
        attempts: 0,
    }
}

/// A Microsoft request as it would go out.
pub(crate) fn rendered(api: Api, method: Method, url: &url::Url, body: Option<Value>, sent: bool) -> RenderedRequest {
    RenderedRequest {
        api: api.label().to_string(),
        method: method.to_string(),
        url: url.to_string(),
        body,
        write: method != Method::Get,
        sent,
        validation: None,
    }
}

/// EC2 writes a dry run sends in AWS's `DryRun` validation mode (each checked end to end against
/// moto in `tests/e2e/platform/doctor.rs` or the AWS tests: it answers `DryRunOperation` and
/// changes nothing).
pub const EC2_VALIDATED: &[&str] = &[
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "ModifyInstanceAttribute",
    "CreateTags",
    "DeleteTags",
];

/// AWS Query actions that only read (and so are sent as usual in a dry run).
pub(crate) fn aws_reads(action: &str) -> bool {
    ["Describe", "Get", "List"].iter().any(|p| action.starts_with(p))
}

/// An AWS Query form body as a JSON object (the `Action`, `Version` and parameters).
pub(crate) fn form_json(body: &str) -> Value {
    let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect();
    Value::Object(map)
}
