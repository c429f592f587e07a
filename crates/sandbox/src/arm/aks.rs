//! Microsoft.ContainerService (AKS): a managed cluster's `runCommand` (upstream-apis.md §5),
//! which runs `kubectl` inside the cluster without network access to its API server.
//!
//! POST `.../managedClusters/{name}/runCommand` answers 202 with a `Location` to
//! `.../commandResults/{id}`; that answers 202 while the command runs and 200 with
//! `{properties: {provisioningState, exitCode, logs}}` when done (the REST spec's
//! `ManagedClusters_RunCommand` / `GetCommandResult`). The sandbox keeps the cluster's pods as
//! sandbox-only child records (`{cluster}/sandboxPods/{namespace}.{pod}`, never served by ARM)
//! and understands `kubectl delete pod {pod} -n {namespace}`; any other command exits 0 with an
//! empty log.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, method_not_allowed, ok_json, ops, types};
use crate::errors;
use crate::world::arm::{ArmStore, Resource};

pub use crate::world::arm::{AKS_CLUSTERS, AKS_COMMAND_RESULTS};

/// POST `runCommand`.
pub fn run_command(req: &Req, store: &mut ArmStore, cluster_id: &str, tail: &str) -> Result<Response, Response> {
    if !tail.eq_ignore_ascii_case("runCommand") {
        return Err(types::unknown("Microsoft.ContainerService", &format!("managedClusters/{tail}"), &req.api_version));
    }
    if req.method != Method::POST {
        return Err(method_not_allowed(&req.method));
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(command) = body.get("command").and_then(Value::as_str).filter(|c| !c.trim().is_empty()) else {
        return Err(errors::arm(StatusCode::BAD_REQUEST, "InvalidParameter", "The request body needs a 'command'."));
    };
    let (exit_code, logs) = execute(store, cluster_id, command);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let result_id = format!("{cluster_id}/commandResults/{id}");
    let due = req.now + time::Duration::seconds(req.run_seconds.max(0));
    store.put(Resource::new(
        result_id.clone(),
        AKS_COMMAND_RESULTS,
        json!({"id": id, "properties": {"provisioningState": "Succeeded", "exitCode": exit_code, "logs": logs,
                                        "startedAt": crate::clock::fmt_utc(req.now), "finishedAt": crate::clock::fmt_utc(due)},
               "sandboxDue": due.unix_timestamp()}),
    ));
    let mut resp = ops::empty(StatusCode::ACCEPTED);
    let url = format!("{}{}?api-version={}", req.base, result_id, req.api_version);
    if let Ok(v) = HeaderValue::from_str(&url) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(req.retry_after));
    Ok(resp)
}

/// GET `commandResults/{id}`: 202 until the command's time has come, then its result.
pub fn command_result(req: &Req, store: &ArmStore, result_id: &str) -> Result<Response, Response> {
    let r = store.get(result_id).ok_or_else(|| {
        errors::arm(StatusCode::NOT_FOUND, "NotFound", format!("Command result {result_id} was not found."))
    })?;
    let due = r.body.get("sandboxDue").and_then(Value::as_i64).unwrap_or(0);
    if req.now.unix_timestamp() < due {
        let mut resp = ops::empty(StatusCode::ACCEPTED);
        if let Ok(v) = HeaderValue::from_str(&format!("{}{}?api-version={}", req.base, r.id, req.api_version)) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(req.retry_after));
        return Ok(resp);
    }
    let mut body = r.body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("sandboxDue");
    }
    Ok(ok_json(body))
}

/// What `kubectl` prints for the commands the sandbox understands.
fn execute(store: &mut ArmStore, cluster_id: &str, command: &str) -> (i64, String) {
    let words: Vec<&str> = command.split_whitespace().collect();
    let ["kubectl", "delete", "pod", pod, rest @ ..] = words.as_slice() else {
        return (0, String::new());
    };
    let namespace = rest.windows(2).find(|w| w[0] == "-n" || w[0] == "--namespace").map(|w| w[1]).unwrap_or("default");
    let id = format!("{cluster_id}/sandboxPods/{namespace}.{pod}");
    if store.remove_tree(&id) > 0 {
        (0, format!("pod \"{pod}\" force deleted\n"))
    } else {
        (1, format!("Error from server (NotFound): pods \"{pod}\" not found\n"))
    }
}
