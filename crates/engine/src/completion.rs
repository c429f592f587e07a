//! One home for completion: what happens after the upstream call, per completion kind.
//!
//! An action's [`Completion`] kind decides three things, all here:
//! 1. how the first answer is read: is it the outcome, or an acceptance to follow
//!    ([`Tracking::from_answer`]);
//! 2. what is kept to follow it: a typed [`Tracking`], stored with the operation (so a restart
//!    picks it up);
//! 3. how it is polled to an end ([`poll`]).
//!
//! | kind | first answer | followed by | end |
//! |---|---|---|---|
//! | `immediate` | the outcome | — | at once |
//! | `machine_action` | a MachineAction per device | one `GET /api/machineactions` per tenant (`track.rs`) | every action terminal |
//! | `arm_operation` | 201/202 + `Azure-AsyncOperation` (preferred) or `Location` | GET the monitor, honouring `Retry-After` | `Succeeded` / `Failed` / `Canceled` (+ ARM `error`) |
//! | `graph_accepted` | 202 + `Location` | GET the operation resource | `succeeded` / `failed` |
//! | `live_response` | a LiveResponse action | the session runner (`procedures/live_response`) | results fetched |
//!
//! The ARM and Graph rules are upstream-apis.md §5 ("Long-running operations") and §4
//! (resetPassword's 202 + `Location`), copied into `docs/reference/upstream-apis.md`.

use crate::{EngineError, OpState};
use catalog::Completion;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use upstream::{Api, ApiResponse, TenantCredentials, Upstream};

/// What an operation keeps to follow its completion. Stored as JSON in the operation's
/// `tracking` column, externally tagged (`{"machineActionIds": [...]}`, `{"armOperation": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Tracking {
    /// MDE machine-action ids, one per device.
    #[serde(rename = "machineActionIds")]
    MachineActions(Vec<String>),
    /// An ARM long-running operation.
    #[serde(rename = "armOperation")]
    ArmOperation(Monitor),
    /// A Graph request answered 202 + `Location`.
    #[serde(rename = "graphAccepted")]
    GraphAccepted(Monitor),
    /// A live-response session; its shape belongs to `procedures::live_response`.
    #[serde(rename = "liveResponse")]
    LiveResponse(Value),
}

/// Where to ask how a long-running operation is going.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Monitor {
    pub url: String,
    /// Which header gave the URL: an `Azure-AsyncOperation` monitor answers a status body; a
    /// `Location` monitor answers 202 until done (ARM), or an operation resource (Graph).
    pub via: MonitorHeader,
    /// Seconds Microsoft asked us to wait before the next poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MonitorHeader {
    #[serde(rename = "Azure-AsyncOperation")]
    AzureAsyncOperation,
    Location,
}

/// What one poll says.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Still running; poll again after `retry_after` (Microsoft's, when it gave one).
    Running { retry_after: Option<Duration> },
    /// Finished: the operation's final state, the final body, and Microsoft's error if it failed.
    Done { state: OpState, body: Value, error: Option<Value> },
}

impl Tracking {
    /// Read a first answer by completion kind: `None` when the answer is itself the outcome.
    pub fn from_answer(completion: Completion, resp: &ApiResponse) -> Option<Tracking> {
        let retry_after_secs = resp.retry_after.map(|d| d.as_secs());
        match completion {
            Completion::ArmOperation => {
                let (url, via) = match (&resp.async_operation, &resp.location) {
                    (Some(u), _) => (u.clone(), MonitorHeader::AzureAsyncOperation),
                    (None, Some(u)) => (u.clone(), MonitorHeader::Location),
                    // 200 (or 201 without a monitor) with a final provisioning state: done.
                    (None, None) => return None,
                };
                Some(Tracking::ArmOperation(Monitor { url, via, retry_after_secs }))
            }
            Completion::GraphAccepted if resp.status == 202 => resp
                .location
                .clone()
                .map(|url| Tracking::GraphAccepted(Monitor { url, via: MonitorHeader::Location, retry_after_secs })),
            Completion::Immediate
            | Completion::GraphAccepted
            | Completion::MachineAction
            | Completion::LiveResponse => None,
        }
    }

    /// The stored form of an operation's tracking; `None` for a missing or foreign shape.
    pub fn of(stored: Option<&Value>) -> Option<Tracking> {
        serde_json::from_value(stored?.clone()).ok()
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("tracking is plain data")
    }
}

/// Poll an ARM or Graph monitor once.
pub async fn poll(
    upstream: &Upstream,
    creds: &TenantCredentials,
    tracking: &Tracking,
) -> Result<Progress, EngineError> {
    match tracking {
        Tracking::ArmOperation(m) => poll_arm(upstream, creds, m).await,
        Tracking::GraphAccepted(m) => poll_graph(upstream, creds, m).await,
        Tracking::MachineActions(_) | Tracking::LiveResponse(_) => {
            Err(EngineError::Internal("machine actions and live response are polled by their own runners".into()))
        }
    }
}

/// ARM: an `Azure-AsyncOperation` monitor answers `{status, error}`; a `Location` monitor
/// answers 202 while running and 200/204 (the final resource) when done. A failed operation's
/// `Location` poll answers the ARM error itself, which the upstream layer returns as an error.
async fn poll_arm(upstream: &Upstream, creds: &TenantCredentials, m: &Monitor) -> Result<Progress, EngineError> {
    let resp = match upstream.get_url(creds, Api::Arm, &m.url).await {
        Ok(r) => r,
        Err(upstream::UpstreamError::Api { status, code, message, .. })
            if m.via == MonitorHeader::Location && status < 500 =>
        {
            let error = serde_json::json!({ "code": code, "message": message, "status": status });
            return Ok(Progress::Done { state: OpState::Failed, body: Value::Null, error: Some(error) });
        }
        Err(e) => return Err(e.into()),
    };
    match m.via {
        MonitorHeader::Location if resp.status == 202 => Ok(Progress::Running { retry_after: resp.retry_after }),
        MonitorHeader::Location => Ok(Progress::Done { state: OpState::Succeeded, body: resp.body, error: None }),
        MonitorHeader::AzureAsyncOperation => {
            let status = resp.body.get("status").and_then(Value::as_str).unwrap_or("InProgress");
            Ok(match arm_state(status) {
                Some(state) => Progress::Done { state, error: resp.body.get("error").cloned(), body: resp.body },
                None => Progress::Running { retry_after: resp.retry_after },
            })
        }
    }
}

/// ARM's terminal statuses; anything else (`InProgress`, `Accepted`, resource-provider specific
/// values) means still running.
fn arm_state(status: &str) -> Option<OpState> {
    match status.to_ascii_lowercase().as_str() {
        "succeeded" => Some(OpState::Succeeded),
        "failed" => Some(OpState::Failed),
        "canceled" | "cancelled" => Some(OpState::Cancelled),
        _ => None,
    }
}

/// Graph: the `Location` is an operation resource with `status` (`notStarted`, `running`,
/// `succeeded`, `failed`) and, on failure, `statusDetail`.
async fn poll_graph(upstream: &Upstream, creds: &TenantCredentials, m: &Monitor) -> Result<Progress, EngineError> {
    let resp = match upstream.get_url(creds, Api::Graph, &m.url).await {
        Ok(r) => r,
        // The operation is gone or refused (404 `itemNotFound`, 403): it will not end well.
        Err(upstream::UpstreamError::Api { status, code, message, .. })
            if (400..500).contains(&status) && status != 429 =>
        {
            let error = serde_json::json!({ "code": code, "message": message, "status": status });
            return Ok(Progress::Done { state: OpState::Failed, body: Value::Null, error: Some(error) });
        }
        Err(e) => return Err(e.into()),
    };
    // Every documented operation carries `status`; an answer without one is not the end.
    let status = resp.body.get("status").and_then(Value::as_str).map(str::to_ascii_lowercase);
    Ok(match status.as_deref() {
        Some("succeeded") => Progress::Done { state: OpState::Succeeded, body: resp.body, error: None },
        Some("failed") => {
            let detail = resp.body.get("statusDetail").cloned().unwrap_or(Value::Null);
            Progress::Done {
                state: OpState::Failed,
                error: Some(serde_json::json!({ "code": "OperationFailed", "statusDetail": detail })),
                body: resp.body,
            }
        }
        // notStarted, running, unknownFutureValue, or no status yet.
        _ => Progress::Running { retry_after: resp.retry_after },
    })
}

/// Poll until the operation ends or `deadline` passes, waiting as Microsoft asks (at least
/// `min_interval` between polls). The tracker uses [`poll`] one step at a time; this is for
/// procedures that must finish one long-running step before the next.
pub async fn follow(
    upstream: &Upstream,
    creds: &TenantCredentials,
    tracking: &Tracking,
    min_interval: Duration,
    deadline: Duration,
) -> Result<Progress, EngineError> {
    let until = tokio::time::Instant::now() + deadline;
    let mut wait = match tracking {
        Tracking::ArmOperation(m) | Tracking::GraphAccepted(m) => m.retry_after_secs.map(Duration::from_secs),
        _ => None,
    };
    loop {
        let pause = wait.unwrap_or(min_interval).max(min_interval).min(MAX_POLL_INTERVAL);
        if tokio::time::Instant::now() + pause > until {
            return Ok(Progress::Running { retry_after: wait });
        }
        tokio::time::sleep(pause).await;
        match poll(upstream, creds, tracking).await? {
            Progress::Running { retry_after } => wait = retry_after,
            done => return Ok(done),
        }
    }
}

/// ARM may ask for long pauses; never wait longer than this between polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, async_op: Option<&str>, location: Option<&str>) -> ApiResponse {
        ApiResponse {
            status,
            body: Value::Null,
            request_id: None,
            location: location.map(String::from),
            async_operation: async_op.map(String::from),
            retry_after: Some(Duration::from_secs(3)),
            attempts: 1,
        }
    }

    #[test]
    fn arm_prefers_azure_async_operation_and_falls_back_to_location() {
        let t = Tracking::from_answer(
            Completion::ArmOperation,
            &answer(201, Some("https://arm/op"), Some("https://arm/loc")),
        )
        .unwrap();
        assert_eq!(
            t,
            Tracking::ArmOperation(Monitor {
                url: "https://arm/op".into(),
                via: MonitorHeader::AzureAsyncOperation,
                retry_after_secs: Some(3)
            })
        );
        let t = Tracking::from_answer(Completion::ArmOperation, &answer(202, None, Some("https://arm/loc"))).unwrap();
        assert!(matches!(t, Tracking::ArmOperation(Monitor { via: MonitorHeader::Location, .. })));
        assert_eq!(Tracking::from_answer(Completion::ArmOperation, &answer(200, None, None)), None);
    }

    #[test]
    fn graph_follows_only_a_202_with_location() {
        assert!(
            Tracking::from_answer(Completion::GraphAccepted, &answer(202, None, Some("https://graph/op"))).is_some()
        );
        assert_eq!(
            Tracking::from_answer(Completion::GraphAccepted, &answer(200, None, Some("https://graph/op"))),
            None
        );
        assert_eq!(Tracking::from_answer(Completion::Immediate, &answer(202, None, Some("https://graph/op"))), None);
    }

    #[test]
    fn stored_shape_is_externally_tagged_and_keeps_the_machine_action_form() {
        let t = Tracking::MachineActions(vec!["a".into()]);
        assert_eq!(t.to_json(), json!({ "machineActionIds": ["a"] }));
        assert_eq!(Tracking::of(Some(&json!({ "machineActionIds": ["a"] }))), Some(t));
        let arm =
            Tracking::ArmOperation(Monitor { url: "u".into(), via: MonitorHeader::Location, retry_after_secs: None });
        assert_eq!(arm.to_json(), json!({ "armOperation": { "url": "u", "via": "Location" } }));
        assert_eq!(Tracking::of(Some(&arm.to_json())), Some(arm));
    }

    #[test]
    fn arm_terminal_states() {
        assert_eq!(arm_state("Succeeded"), Some(OpState::Succeeded));
        assert_eq!(arm_state("Failed"), Some(OpState::Failed));
        assert_eq!(arm_state("Canceled"), Some(OpState::Cancelled));
        assert_eq!(arm_state("InProgress"), None);
        assert_eq!(arm_state("Updating"), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Effect verification
// ---------------------------------------------------------------------------------------------

/// What reading the target back showed (`operation.result.verification`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub verified: bool,
    /// The last answer read (the part the check looked at), or the read's error.
    pub read: Value,
    pub attempts: u32,
}

/// Read the target back until the declared effect shows, or `within` passes. `None` when the
/// action declares no check (`catalog::verify`).
pub async fn verify(
    upstream: &Upstream,
    creds: &TenantCredentials,
    spec: &catalog::ActionSpec,
    params: &catalog::Params,
    within: Duration,
) -> Option<Verification> {
    let check = catalog::verify::check_for(spec.product, spec.name)?;
    let until = tokio::time::Instant::now() + within;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let read = read_back(upstream, creds, check, params).await;
        let shown = read.as_ref().is_ok_and(|body| holds(check, body));
        let seen = match read {
            Ok(body) => looked_at(check, &body),
            Err(e) => serde_json::json!({ "error": crate::error_json(&e) }),
        };
        if shown || tokio::time::Instant::now() >= until {
            return Some(Verification { verified: shown, read: seen, attempts });
        }
        tokio::time::sleep(Duration::from_millis(500).min(until - tokio::time::Instant::now())).await;
    }
}

async fn read_back(
    upstream: &Upstream,
    creds: &TenantCredentials,
    check: &catalog::verify::Check,
    params: &catalog::Params,
) -> Result<Value, EngineError> {
    let mut req = crate::plan::request(&check.read, params, None)?;
    req.query.extend(check.query.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Ok(upstream.call(creds, req).await?.body)
}

/// Every expectation holds in the answer.
fn holds(check: &catalog::verify::Check, body: &Value) -> bool {
    check.expect.iter().all(|(pointer, literal)| {
        let want: Value = serde_json::from_str(literal).unwrap_or(Value::Null);
        body.pointer(pointer) == Some(&want)
    })
}

/// Only the fields the check looked at, so the record never keeps more of the target than needed.
fn looked_at(check: &catalog::verify::Check, body: &Value) -> Value {
    let mut seen = serde_json::Map::new();
    for (pointer, _) in check.expect {
        seen.insert(pointer.to_string(), body.pointer(pointer).cloned().unwrap_or(Value::Null));
    }
    Value::Object(seen)
}
