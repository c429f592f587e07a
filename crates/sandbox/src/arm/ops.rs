//! ARM long-running operations: the status resources behind `Azure-AsyncOperation` and
//! `Location` (upstream-apis.md §5.1).
//!
//! A write that a provider runs asynchronously starts an [`Operation`] that is `InProgress`
//! until its due time on the sandbox clock, then ends `Succeeded`, `Failed` or `Canceled`
//! (failures come from `/_sandbox/arm/outcomes`). Operations settle lazily: every ARM request
//! and every state inspection first completes what is due, so no background task is needed
//! and advancing the clock is enough for tests.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::clock::fmt_utc;
use crate::errors::{self, json_response};
use crate::world::arm::{ArmStore, OpKind, OpStatus, Operation, Planned};

/// What starting an operation needs to know.
pub struct NewOp<'a> {
    pub namespace: &'a str,
    pub location: &'a str,
    pub resource_id: &'a str,
    pub kind: OpKind,
    pub now: OffsetDateTime,
    pub run_seconds: i64,
}

/// Starts an operation; its outcome is the next injected one, or success.
pub fn start(store: &mut ArmStore, op: NewOp) -> Operation {
    let planned = store.injected.pop_front().unwrap_or(Planned::Succeed);
    let o = Operation {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: op.namespace.to_string(),
        location: op.location.to_string(),
        resource_id: op.resource_id.to_string(),
        kind: op.kind,
        status: OpStatus::InProgress,
        started: op.now,
        due: op.now + Duration::seconds(op.run_seconds.max(0)),
        ended: None,
        planned,
        error: None,
    };
    store.operations.push(o.clone());
    o
}

/// Completes every operation whose time has come.
pub fn settle(store: &mut ArmStore, now: OffsetDateTime) {
    let due: Vec<usize> = store
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| o.status == OpStatus::InProgress && o.due <= now)
        .map(|(i, _)| i)
        .collect();
    for i in due {
        finish(store, i, now);
    }
}

/// Ends a running operation early with `Canceled` (e.g. a newer operation preempted it).
pub fn cancel(store: &mut ArmStore, op_id: &str, code: &str, message: &str, now: OffsetDateTime) {
    if let Some(i) = store.operations.iter().position(|o| o.id == op_id) {
        store.operations[i].planned = Planned::Cancel { code: code.into(), message: message.into() };
        finish(store, i, now);
    }
}

fn finish(store: &mut ArmStore, i: usize, now: OffsetDateTime) {
    let op = store.operations[i].clone();
    let (status, error) = match &op.planned {
        Planned::Succeed => (OpStatus::Succeeded, None),
        Planned::Fail { code, message } => (OpStatus::Failed, Some((code.clone(), message.clone()))),
        Planned::Cancel { code, message } => (OpStatus::Canceled, Some((code.clone(), message.clone()))),
    };
    apply(store, &op, status);
    let o = &mut store.operations[i];
    o.status = status;
    o.error = error;
    o.ended = Some(now.max(o.started));
}

/// The effect on the resource when an operation ends.
fn apply(store: &mut ArmStore, op: &Operation, status: OpStatus) {
    let ok = status == OpStatus::Succeeded;
    match (&op.kind, ok) {
        (OpKind::Delete, true) => {
            store.remove_tree(&op.resource_id);
        }
        (OpKind::VmAction { action, previous }, _) => {
            if let Some(r) = store.get_mut(&op.resource_id) {
                super::compute::finish_action(r, action, previous, ok);
            }
        }
        _ => {
            if let Some(r) = store.get_mut(&op.resource_id) {
                r.set_provisioning_state(status.as_str());
            }
        }
    }
}

fn op_path(o: &Operation, sub: &str, result: bool) -> String {
    let kind = if result { "operationResults" } else { "operations" };
    format!("/subscriptions/{sub}/providers/{}/locations/{}/{kind}/{}", o.namespace, o.location, o.id)
}

/// Adds the monitor headers of a started operation: `Azure-AsyncOperation` always, `Location`
/// when `with_location` (DELETE and POST actions), and `Retry-After`.
pub fn monitor_headers(
    resp: &mut Response,
    o: &Operation,
    base: &str,
    sub: &str,
    api_version: &str,
    retry_after: u64,
    with_location: bool,
) {
    let h = resp.headers_mut();
    let url = |result| format!("{base}{}?api-version={api_version}", op_path(o, sub, result));
    if let Ok(v) = HeaderValue::from_str(&url(false)) {
        h.insert("azure-asyncoperation", v);
    }
    if with_location && let Ok(v) = HeaderValue::from_str(&url(true)) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
}

/// The `Azure-AsyncOperation` status body.
pub fn status_json(o: &Operation, sub: &str) -> Value {
    let mut v = json!({
        "id": op_path(o, sub, false),
        "name": o.id,
        "status": o.status.as_str(),
        "startTime": fmt_utc(o.started),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(end) = o.ended {
            obj.insert("endTime".into(), fmt_utc(end).into());
            obj.insert("percentComplete".into(), 100.into());
        }
        if let Some((code, message)) = &o.error {
            obj.insert("error".into(), json!({"code": code, "message": message}));
        }
    }
    v
}

/// GET on `.../operations/{id}`: always 200 with the status; `Retry-After` while running.
pub fn poll_status(o: &Operation, sub: &str, retry_after: u64) -> Response {
    let mut resp = json_response(StatusCode::OK, status_json(o, sub));
    if o.status == OpStatus::InProgress {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    resp
}

/// GET on `.../operationResults/{id}`: 202 (+ `Location`, `Retry-After`) while running; when
/// done, 200 with the resource (PUT), 204 (DELETE, actions). A failed or canceled operation
/// answers with its ARM error; the status code is not documented, so we use 500 for Failed
/// and 409 for Canceled.
pub fn poll_result(o: &Operation, resource: Option<Value>, poll_url: &str, retry_after: u64) -> Response {
    match (o.status, &o.error) {
        (OpStatus::InProgress, _) => {
            let mut resp = json_response(StatusCode::ACCEPTED, Value::Null);
            *resp.body_mut() = axum::body::Body::empty();
            let h = resp.headers_mut();
            h.remove(header::CONTENT_TYPE);
            if let Ok(v) = HeaderValue::from_str(poll_url) {
                h.insert(header::LOCATION, v);
            }
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            resp
        }
        (OpStatus::Failed, Some((code, msg))) => errors::arm(StatusCode::INTERNAL_SERVER_ERROR, code, msg.clone()),
        (OpStatus::Canceled, Some((code, msg))) => errors::arm(StatusCode::CONFLICT, code, msg.clone()),
        _ => match (&o.kind, resource) {
            (OpKind::Put, Some(body)) => json_response(StatusCode::OK, body),
            _ => empty(StatusCode::NO_CONTENT),
        },
    }
}

pub fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::arm::Resource;

    #[test]
    fn operations_end_at_their_due_time_with_the_injected_outcome() {
        let mut s = ArmStore::new("sub");
        let id = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n";
        s.put(Resource::new(
            id.into(),
            crate::world::arm::NSGS,
            json!({"properties": {"provisioningState": "Updating"}}),
        ));
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        s.injected.push_back(Planned::Fail { code: "InternalServerError".into(), message: "boom".into() });
        let new = |kind| NewOp {
            namespace: "Microsoft.Network",
            location: "westeurope",
            resource_id: id,
            kind,
            now,
            run_seconds: 5,
        };
        let failed = start(&mut s, new(OpKind::Put));
        settle(&mut s, now + Duration::seconds(4));
        assert_eq!(s.operation(&failed.id).unwrap().status, OpStatus::InProgress);
        settle(&mut s, now + Duration::seconds(5));
        let o = s.operation(&failed.id).unwrap();
        assert_eq!(o.status, OpStatus::Failed);
        assert_eq!(status_json(o, "sub")["error"]["code"], "InternalServerError");
        assert_eq!(s.get(id).unwrap().provisioning_state(), Some("Failed"));
        let del = start(&mut s, new(OpKind::Delete));
        settle(&mut s, now + Duration::seconds(10));
        assert_eq!(s.operation(&del.id).unwrap().status, OpStatus::Succeeded);
        assert!(s.get(id).is_none());
    }
}
