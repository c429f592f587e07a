//! Defender for Endpoint's hooks into carrying out a call ([`super::ApiHooks`]).
//!
//! MDE allows one pending action of a kind per machine and has no idempotency key, so:
//! - every machine action carries `[riposte:{op}]` in its Comment ([`Marker`]), after who asked
//!   (`(by alice@contoso.com via Riposte)`: an Entra ID user, or an API key's name);
//! - on a resumed run MDE is asked for an action with that marker, created since the operation
//!   began, before one is submitted again;
//! - a refusal `ActiveRequestAlreadyExists` is either this operation's own request that landed
//!   after the restart looked for it (adopted by its marker), or another action pending there,
//!   answered as a conflict that names it.

use super::{ApiHooks, Marker, Target};
use crate::EngineError;
use catalog::{Api, Completion, Method};
use futures::future::BoxFuture;
use serde_json::Value;
use upstream::{ApiRequest, ApiResponse, TenantCredentials, Upstream};

/// MDE's refusal of a second pending action of a kind on one machine.
const CONFLICT: &str = "ActiveRequestAlreadyExists";
/// How far before the operation's start a resumed run looks for its action (clock skew).
const LOOK_BACK_MINUTES: i64 = 5;

pub(super) struct Mde;

impl ApiHooks for Mde {
    fn mark(&self, target: &Target<'_>, req: &mut ApiRequest) {
        if !creates_machine_action(target) {
            return;
        }
        if let Some(Value::Object(body)) = req.body.as_mut() {
            let comment = body.get("Comment").and_then(Value::as_str).unwrap_or_default().trim().to_string();
            let (by, tag) = (super::by_line(target.by), target.marker.tag());
            let parts = [comment.as_str(), by.as_str(), tag.as_str()];
            let tagged = parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
            body.insert("Comment".into(), Value::String(tagged));
        }
    }

    fn already_done<'a>(&'a self, target: &'a Target<'a>) -> BoxFuture<'a, Result<Option<ApiResponse>, EngineError>> {
        Box::pin(async move {
            let (true, Some(machine)) = (creates_machine_action(target), machine_of(target)) else { return Ok(None) };
            let Some(found) = already_created(target.upstream, target.creds, &machine, target.marker).await? else {
                return Ok(None);
            };
            tracing::info!(operation = %target.marker.op, machine = %machine, "resumed: machine action already in MDE, attached");
            Ok(Some(attached(found)))
        })
    }

    fn refused<'a>(
        &'a self,
        target: &'a Target<'a>,
        err: EngineError,
    ) -> BoxFuture<'a, Result<ApiResponse, EngineError>> {
        Box::pin(async move {
            let conflict = matches!(&err, EngineError::UpstreamRejected { code, .. } if code == CONFLICT);
            let Some(machine) = machine_of(target).filter(|_| conflict) else { return Err(err) };
            let pending = find_pending_action(target.upstream, target.creds, &machine).await;
            // A request sent before a crash may land after the restart looked for it: MDE then
            // refuses the second one, and the pending action carrying our marker is our own.
            if let Some(own) = pending.as_ref().filter(|p| creates_machine_action(target) && carries(p, target.marker))
            {
                return Ok(attached(own.clone()));
            }
            Err(explain_conflict(target.spec.name, &machine, pending))
        })
    }
}

/// Whether the call creates an MDE machine action (and so carries the marker in its comment).
fn creates_machine_action(target: &Target<'_>) -> bool {
    target.spec.completion == Completion::MachineAction
        && target.call.api == Api::Mde
        && target.call.method == Method::Post
}

/// The machine a call acts on: its fanned-out element, or the machine id among its params.
fn machine_of(target: &Target<'_>) -> Option<String> {
    match target.each {
        Some((_, machine)) => Some(machine.to_string()),
        None => target
            .params
            .values()
            .find_map(|v| v.as_str().filter(|s| catalog::params::is_machine_id(s)).map(String::from)),
    }
}

fn carries(action: &Value, marker: Marker) -> bool {
    action["requestorComment"].as_str().is_some_and(|c| c.contains(&marker.tag()))
}

/// On a resumed run: the machine action this operation already created on `machine_id`, if MDE
/// has one carrying its marker (created since the operation started).
async fn already_created(
    upstream: &Upstream,
    creds: &TenantCredentials,
    machine_id: &str,
    marker: Marker,
) -> Result<Option<Value>, EngineError> {
    let Some(since) = marker.resume_since else { return Ok(None) };
    let since = (since - time::Duration::minutes(LOOK_BACK_MINUTES))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    let filter = format!("machineId eq '{machine_id}' and creationDateTimeUtc ge {since}");
    let page = upstream.get_paged(creds, actions_request(filter), 1000).await?;
    Ok(page.items.into_iter().find(|a| carries(a, marker)))
}

/// The newest action still pending (or in progress) on a machine.
async fn find_pending_action(upstream: &Upstream, creds: &TenantCredentials, machine_id: &str) -> Option<Value> {
    let page = upstream.get_paged(creds, actions_request(format!("machineId eq '{machine_id}'")), 1000).await.ok()?;
    page.items
        .into_iter()
        .filter(|a| matches!(a["status"].as_str(), Some("Pending" | "InProgress")))
        .max_by(|a, b| a["creationDateTimeUtc"].as_str().cmp(&b["creationDateTimeUtc"].as_str()))
}

fn actions_request(filter: String) -> ApiRequest {
    ApiRequest::get(upstream::Api::Mde, "/api/machineactions").with_query("$filter", filter)
}

/// MDE's refusal as a conflict that names the pending action.
fn explain_conflict(action: &str, machine_id: &str, pending: Option<Value>) -> EngineError {
    let message = match &pending {
        Some(p) => format!(
            "{action} on machine {machine_id} conflicts with pending action {} ({}, {}) requested by {}",
            p["id"].as_str().unwrap_or("?"),
            p["type"].as_str().unwrap_or("?"),
            p["status"].as_str().unwrap_or("?"),
            p["requestor"].as_str().unwrap_or("?"),
        ),
        None => format!("{action} on machine {machine_id} conflicts with an action already pending there"),
    };
    EngineError::PendingConflict { message, pending }
}

/// A machine action found upstream, as if this run had just created it.
fn attached(action: Value) -> ApiResponse {
    ApiResponse {
        status: 201,
        body: action,
        request_id: None,
        location: None,
        async_operation: None,
        retry_after: None,
        attempts: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_conflict_names_the_pending_action_or_says_there_is_one() {
        let pending = json!({"id": "a1", "type": "Isolate", "status": "Pending", "requestor": "soc@contoso.com"});
        let EngineError::PendingConflict { message, pending } = explain_conflict("IsolateDevice", "m1", Some(pending))
        else {
            panic!()
        };
        assert!(message.contains("pending action a1 (Isolate, Pending) requested by soc@contoso.com"), "{message}");
        assert_eq!(pending.expect("kept")["id"], "a1");
        let EngineError::PendingConflict { message, .. } = explain_conflict("IsolateDevice", "m1", None) else {
            panic!()
        };
        assert!(message.contains("already pending there"), "{message}");
    }

    #[test]
    fn the_marker_is_recognised_in_the_requestor_comment() {
        let marker = Marker { op: uuid::Uuid::nil(), resume_since: None };
        assert_eq!(super::super::by_line("alice@contoso.com"), "(by alice@contoso.com via Riposte)");
        assert_eq!(super::super::by_line(" "), "");
        assert!(carries(&json!({"requestorComment": format!("isolate {}", marker.tag())}), marker));
        assert!(!carries(&json!({"requestorComment": "isolate"}), marker));
    }
}
