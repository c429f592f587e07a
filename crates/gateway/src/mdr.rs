//! Seed 002's MDR response API under `/api/v1/mdr`, as the seed describes it:
//!
//! - `POST /isolate` `{hostname, reason, isolation_type: Full|Selective|NetworkOnly, tenant_id}`
//! - `POST /block-ip` `{ip, firewall_type: azure_nsg|aws_sg|defender, reason, priority,
//!   duration_hours, tenant_id}` (+ where to block: the NSG, or the AWS ACL/VPC/instance)
//! - `POST /disable-user` `{upn, reason, tenant_id}`: disable, then revoke sessions
//! - `POST /quarantine-email` `{message_id, user_principal_name, action, reason, tenant_id}`
//! - `GET /actions` (`mdr_actions.rs`) and `GET /status` (`mdr_status.rs`)
//!
//! Each route translates its request into ordinary catalog actions run by the engine (so the
//! same keys, roles, tenant scopes, validation, audit, idempotency and tracking apply), and
//! answers every step it ran with its operation. Engine errors name catalog parameters; they are
//! renamed to the MDR field the caller sent (`deviceIds` → `hostname`). An `Idempotency-Key`
//! header makes the whole request idempotent: each step runs under `mdr-{route}-{step}:{key}`.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::JsonObject;
use crate::mdr_input::{Fields, tenant};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use catalog::Product;
use engine::{ActionRequest, Outcome, Principal};
use serde_json::{Value, json};
use std::time::Duration;

/// What every step of one MDR request shares.
struct Ctx {
    state: AppState,
    principal: Principal,
    tenant: String,
    route: &'static str,
    idempotency_key: Option<String>,
    wait: Option<Duration>,
    /// Catalog parameter → the MDR field the caller knows it as.
    renames: &'static [(&'static str, &'static str)],
}

impl Ctx {
    fn new(
        state: &AppState,
        principal: Principal,
        tenant: String,
        route: &'static str,
        headers: &HeaderMap,
        renames: &'static [(&'static str, &'static str)],
    ) -> Result<Ctx, ApiError> {
        Ok(Ctx {
            state: state.clone(),
            principal,
            tenant,
            route,
            idempotency_key: crate::input::idempotency_key(headers)?,
            wait: crate::input::wait_preference(headers, None)?,
            renames,
        })
    }

    /// One catalog action as an ordinary operation.
    async fn run(&self, step: &str, product: Product, action: &str, params: Value) -> Result<Outcome, ApiError> {
        // Every step builds its params with `json!({...})`: an object.
        let params = params.as_object().cloned().unwrap_or_default();
        let req = ActionRequest {
            tenant: self.tenant.clone(),
            product: Some(product),
            action: action.into(),
            params,
            principal: self.principal.clone(),
            idempotency_key: self.idempotency_key.as_ref().map(|k| format!("mdr-{}-{step}:{k}", self.route)),
            wait: self.wait,
            reveal: false,
        };
        self.state.engine.execute(req).await.map_err(|e| self.rename(ApiError::from(e)))
    }

    /// An error naming a catalog parameter names the caller's field instead.
    fn rename(&self, mut err: ApiError) -> ApiError {
        if let Some((_, mdr)) = self.renames.iter().find(|(param, _)| err.field.as_deref() == Some(*param)) {
            err.field = Some((*mdr).to_string());
        }
        err
    }
}

/// A step of an MDR request: its operation, or why it could not run.
enum Step<'a> {
    Ran(&'a str, &'a Outcome),
    Failed(&'a str, &'a ApiError),
}

impl Step<'_> {
    fn json(&self) -> Value {
        match self {
            Step::Ran(step, o) => json!({
                "step": step,
                "product": o.product.key(),
                "action": o.action,
                "operationId": o.operation_id,
                "operationUrl": format!("/v1/operations/{}", o.operation_id),
                "status": o.status,
                "replayed": o.replayed,
                "upstreamRequestIds": o.upstream_request_ids,
                "data": o.data,
            }),
            Step::Failed(step, err) => json!({ "step": step, "status": "Failed", "error": err.body() }),
        }
    }

    fn status(&self) -> &str {
        match self {
            Step::Ran(_, o) => &o.status,
            Step::Failed(..) => "Failed",
        }
    }

    /// The operation still under way, if this step's is.
    fn pending(&self) -> Option<&Outcome> {
        match self {
            Step::Ran(_, o) if !o.is_terminal() => Some(o),
            _ => None,
        }
    }
}

/// The request's status: the one step's, else the steps' together.
fn overall(steps: &[Step]) -> String {
    match steps {
        [only] => only.status().to_string(),
        many if many.iter().any(|s| s.pending().is_some()) => engine::status::IN_PROGRESS.into(),
        many if many.iter().all(|s| s.status() == engine::status::SUCCEEDED) => engine::status::SUCCEEDED.into(),
        many if many.iter().all(|s| s.status() == "Failed") => "Failed".into(),
        _ => "PartiallySucceeded".into(),
    }
}

/// The answer: 200 when every step is terminal, else 202 with the first unfinished step's
/// operation in `Location`.
fn respond(kind: &str, ctx: &Ctx, mut body: Value, steps: &[Step]) -> Response {
    body["success"] = true.into();
    body["type"] = kind.into();
    body["tenant_id"] = ctx.tenant.clone().into();
    body["status"] = overall(steps).into();
    body["steps"] = steps.iter().map(Step::json).collect();
    match steps.iter().find_map(Step::pending) {
        Some(pending) => {
            let location = format!("/v1/operations/{}", pending.operation_id);
            (StatusCode::ACCEPTED, [("location", location)], Json(body)).into_response()
        }
        None => (StatusCode::OK, Json(body)).into_response(),
    }
}

fn reason_or(fields: &Fields, default: &str) -> Result<String, ApiError> {
    Ok(fields.text("reason")?.unwrap_or_else(|| default.to_string()))
}

// --- isolate -----------------------------------------------------------------------------------

/// MDE has no network-only isolation: Full isolation cuts every connection but the Defender
/// service's, which is what "network only" asks for (Selective also keeps Outlook and Teams).
const NETWORK_ONLY_NOTE: &str = "MDE has no NetworkOnly isolation type: Full isolation cuts every network connection except the Defender for Endpoint service's, which is the nearest real option (Selective would also keep Outlook, Teams and Skype)";

/// `POST /api/v1/mdr/isolate`
pub async fn isolate(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let f = Fields::new(body, &["hostname", "reason", "isolation_type", "tenant_id"])?;
    let hostname = f.required("hostname", "ws-finance-01.contoso.com")?;
    if hostname.contains([',', ' ', ';']) {
        return Err(ApiError::bad_request(
            "hostname",
            format!("'{hostname}' is not one hostname"),
            "send one device's DNS name (ws-01 or ws-01.contoso.com); isolate devices one request each",
        ));
    }
    let requested = f.choice("isolation_type", &["Full", "Selective", "NetworkOnly"], "Full")?;
    let applied = if requested == "NetworkOnly" { "Full" } else { requested };
    let reason = reason_or(&f, "Isolated via the MDR API")?;
    let tenant = tenant(&state.engine, &principal, f.text("tenant_id")?)?;
    let ctx =
        Ctx::new(&state, principal, tenant, "isolate", &headers, &[("deviceIds", "hostname"), ("comment", "reason")])?;
    let params = json!({ "deviceIds": hostname, "comment": reason, "isolationType": applied });
    let outcome = ctx.run("isolate", Product::Mde, "IsolateDevice", params).await?;
    let device = resolved_device(&state, &outcome).await;
    let mut isolation = json!({ "requested": requested, "applied": applied });
    if requested != applied {
        isolation["note"] = NETWORK_ONLY_NOTE.into();
    }
    let body = json!({ "hostname": hostname, "deviceId": device, "isolation_type": isolation, "reason": reason });
    Ok(respond("isolate", &ctx, body, &[Step::Ran("isolate", &outcome)]))
}

/// The machine id the hostname resolved to, as the operation recorded it.
async fn resolved_device(state: &AppState, outcome: &Outcome) -> Value {
    let Ok(op) = state.engine.operation(outcome.operation_id).await else { return Value::Null };
    match &op.params["deviceIds"] {
        Value::Array(ids) => ids.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

// --- block-ip ----------------------------------------------------------------------------------

const FIREWALLS: &[&str] = &["azure_nsg", "aws_sg", "defender"];
/// Where an Azure NSG block goes (the seed's request has no place for it; the NSG must be named).
const NSG_FIELDS: &[&str] = &["subscription_id", "resource_group", "nsg_name", "priority"];
/// Where an AWS block goes: one ACL, a VPC's, an instance's subnets', or every ACL of the region.
const AWS_FIELDS: &[&str] = &["network_acl_id", "vpc_id", "instance_id"];
/// The engine's parameter for a time-boxed action (`engine::reverts`).
const REVERT_AFTER: &str = "revertAfter";
/// The longest block: a year.
const MAX_DURATION_HOURS: i64 = 8760;

/// `POST /api/v1/mdr/block-ip`. The block reverts itself after `duration_hours` (default 24):
/// MDE's indicator carries the expiration itself; NSG and ACL blocks are time-boxed actions
/// whose inverse runs when the time is up.
pub async fn block_ip(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let mut allowed = vec!["ip", "firewall_type", "reason", "duration_hours", "tenant_id"];
    allowed.extend(NSG_FIELDS.iter().chain(AWS_FIELDS));
    let f = Fields::new(body, &allowed)?;
    let ip = f.required("ip", "203.0.113.7")?;
    let firewall = f.choice("firewall_type", FIREWALLS, "defender")?;
    let hours = f.int("duration_hours", 1, MAX_DURATION_HOURS)?.unwrap_or(24);
    refuse_foreign_fields(&f, firewall)?;
    let reason = reason_or(&f, "Blocked via the MDR API")?;
    let tenant = tenant(&state.engine, &principal, f.text("tenant_id")?)?;
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
    let (product, action, params, renames): (_, _, _, &'static [(&str, &str)]) = match firewall {
        "defender" => (
            Product::Mde,
            "AddIPIndicator",
            json!({
                "indicatorValue": ip,
                "indicatorAction": "Block",
                "title": format!("MDR block of {ip}"),
                "description": reason,
                "expirationTime": rfc3339(expires),
            }),
            &[("indicatorValue", "ip"), ("description", "reason"), ("expirationTime", "duration_hours")],
        ),
        "azure_nsg" => (
            Product::Azure,
            "AddNSGDenyRule",
            nsg_params(&f, &ip)?,
            &[
                ("sourceIp", "ip"),
                ("subscriptionId", "subscription_id"),
                ("resourceGroup", "resource_group"),
                ("nsgName", "nsg_name"),
                (REVERT_AFTER, "duration_hours"),
            ],
        ),
        _ => (
            Product::Aws,
            "BlockIPInNetworkAcl",
            aws_params(&f, &ip)?,
            &[
                ("ip", "ip"),
                ("networkAclId", "network_acl_id"),
                ("vpcId", "vpc_id"),
                ("instanceId", "instance_id"),
                (REVERT_AFTER, "duration_hours"),
            ],
        ),
    };
    let mut params = params;
    if firewall != "defender" {
        // A time-boxed action: the engine schedules the inverse (RemoveNSGDenyRule,
        // UnblockIPInNetworkAcl) with the operation, durably, and runs it when due.
        params[REVERT_AFTER] = (hours * 3600).into();
    }
    let ctx = Ctx::new(&state, principal, tenant, "block-ip", &headers, renames)?;
    let outcome = ctx.run("block", product, action, params).await?;
    let revert = if firewall == "defender" {
        json!({ "by": "the indicator's own expirationTime", "at": rfc3339(expires) })
    } else {
        json!({
            "by": format!("a time-boxed action: {} when due", inverse_of(action)),
            "at": rfc3339(expires),
            "reverts": format!("/v1/reverts?operation={}", outcome.operation_id),
        })
    };
    let body = json!({
        "ip": ip,
        "firewall_type": firewall,
        "reason": reason,
        "duration_hours": hours,
        "expires_at": rfc3339(expires),
        "revert": revert,
    });
    Ok(respond("block-ip", &ctx, body, &[Step::Ran("block", &outcome)]))
}

/// The catalog's declared inverse of a block (what the scheduled revert runs).
fn inverse_of(action: &str) -> &'static str {
    catalog::all().find(|a| a.name == action).and_then(|a| a.inverse).unwrap_or("its inverse")
}

/// A field that belongs to another firewall type is refused, not ignored.
fn refuse_foreign_fields(f: &Fields, firewall: &str) -> Result<(), ApiError> {
    let own: &[&str] = match firewall {
        "azure_nsg" => NSG_FIELDS,
        "aws_sg" => AWS_FIELDS,
        _ => &[],
    };
    let foreign = NSG_FIELDS.iter().chain(AWS_FIELDS).find(|name| !own.contains(name) && f.has(name));
    match foreign {
        Some(name) => Err(ApiError::bad_request(
            name,
            format!("{name} does not apply to firewall_type {firewall}"),
            "priority, subscription_id, resource_group and nsg_name are for azure_nsg; network_acl_id, vpc_id and instance_id for aws_sg",
        )),
        None => Ok(()),
    }
}

fn nsg_params(f: &Fields, ip: &str) -> Result<Value, ApiError> {
    let mut params = json!({
        "sourceIp": ip,
        "subscriptionId": f.required("subscription_id", "00000000-0000-0000-0000-000000000000")?,
        "resourceGroup": f.required("resource_group", "rg-perimeter")?,
        "nsgName": f.required("nsg_name", "nsg-perimeter")?,
    });
    if let Some(p) = f.int("priority", 100, 4096)? {
        params["priority"] = p.into();
    }
    Ok(params)
}

fn aws_params(f: &Fields, ip: &str) -> Result<Value, ApiError> {
    let mut params = json!({ "ip": ip });
    for (field, param) in [("network_acl_id", "networkAclId"), ("vpc_id", "vpcId"), ("instance_id", "instanceId")] {
        if let Some(v) = f.text(field)? {
            params[param] = v.into();
        }
    }
    Ok(params)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap_or(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// --- disable-user ------------------------------------------------------------------------------

/// `POST /api/v1/mdr/disable-user`: sign-in blocked, then every session revoked; both steps
/// reported. A failed first step is the answer (nothing changed); a failed revoke after a
/// disable is reported as that step's error, the request `PartiallySucceeded`.
pub async fn disable_user(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let f = Fields::new(body, &["upn", "reason", "tenant_id"])?;
    let upn = f.required("upn", "user@contoso.com")?;
    let reason = reason_or(&f, "Disabled via the MDR API")?;
    let tenant = tenant(&state.engine, &principal, f.text("tenant_id")?)?;
    let ctx = Ctx::new(&state, principal, tenant, "disable-user", &headers, &[("userId", "upn")])?;
    let disabled = ctx.run("disable", Product::EntraId, "DisableUser", json!({ "userId": upn })).await?;
    let body = json!({ "upn": upn, "reason": reason });
    let revoked = ctx.run("revoke_sessions", Product::EntraId, "RevokeSessions", json!({ "userId": upn })).await;
    let second = match &revoked {
        Ok(o) => Step::Ran("revoke_sessions", o),
        Err(e) => Step::Failed("revoke_sessions", e),
    };
    Ok(respond("disable-user", &ctx, body, &[Step::Ran("disable", &disabled), second]))
}

// --- quarantine-email --------------------------------------------------------------------------

/// How far back a message is looked for when no recipient is named (Graph's analyzed emails
/// keep 30 days).
const SEARCH_DAYS: i64 = 30;

/// `POST /api/v1/mdr/quarantine-email`. `message_id` is the message's `networkMessageId`; the
/// remediation acts on the named recipient's copy, or, with no `user_principal_name`, on every
/// copy the message's delivery path lists (a read step, reported too).
pub async fn quarantine_email(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let f = Fields::new(body, &["message_id", "user_principal_name", "action", "reason", "tenant_id"])?;
    let message = f.required("message_id", "9d4e2b61-7f0c-4a35-b0a8-2f1c5e6d7a80")?;
    let action = f.choice("action", &["softDelete", "hardDelete", "moveToJunk"], "softDelete")?;
    let reason = reason_or(&f, "Quarantined via the MDR API")?;
    let tenant = tenant(&state.engine, &principal, f.text("tenant_id")?)?;
    let renames: &[(&str, &str)] = &[
        ("networkMessageIds", "message_id"),
        ("messageId", "message_id"),
        ("recipientEmailAddresses", "user_principal_name"),
        ("description", "reason"),
    ];
    let ctx = Ctx::new(&state, principal, tenant, "quarantine-email", &headers, renames)?;
    let (recipients, trace) = match f.text("user_principal_name")? {
        Some(upn) => (vec![upn], None),
        None => {
            let (recipients, outcome) = recipients_of(&ctx, &message).await?;
            (recipients, Some(outcome))
        }
    };
    let row = match action {
        "hardDelete" => "HardDeleteEmails",
        "moveToJunk" => "MoveToJunk",
        _ => "SoftDeleteEmails",
    };
    let params = json!({
        "networkMessageIds": vec![message.clone(); recipients.len()],
        "recipientEmailAddresses": recipients,
        "displayName": format!("MDR quarantine-email ({action})"),
        "description": reason,
    });
    let outcome = ctx.run("remediate", Product::Mdo, row, params).await?;
    let body = json!({ "message_id": message, "recipients": recipients, "action": action, "reason": reason });
    let mut steps = vec![];
    if let Some(t) = &trace {
        steps.push(Step::Ran("find_recipients", t));
    }
    steps.push(Step::Ran("remediate", &outcome));
    Ok(respond("quarantine-email", &ctx, body, &steps))
}

/// Every recipient of a message, from its delivery path (`TraceEmailPath`, a read operation).
async fn recipients_of(ctx: &Ctx, message: &str) -> Result<(Vec<String>, Outcome), ApiError> {
    let now = time::OffsetDateTime::now_utc();
    let params = json!({
        "messageId": message,
        "startTime": rfc3339(now - time::Duration::days(SEARCH_DAYS)),
        "endTime": rfc3339(now),
    });
    let outcome = ctx.run("find_recipients", Product::Mdo, "TraceEmailPath", params).await?;
    let mut recipients: Vec<String> = outcome.data["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["recipientEmailAddress"].as_str().map(String::from))
        .collect();
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "MessageNotFound",
            format!("no delivered copy of message '{message}' in the last {SEARCH_DAYS} days"),
        )
        .field("message_id")
        .hint("message_id is the message's networkMessageId; or name the mailbox in user_principal_name"));
    }
    Ok((recipients, outcome))
}

/// `Map` of an object literal (a helper for tests of the step bodies).
#[cfg(test)]
fn object(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_another_firewall_are_refused() {
        let f = Fields::new(object(json!({"ip": "1.2.3.4", "priority": 200})), &["ip", "priority"]).unwrap();
        assert_eq!(refuse_foreign_fields(&f, "defender").unwrap_err().field.as_deref(), Some("priority"));
        assert!(refuse_foreign_fields(&f, "azure_nsg").is_ok());
        let f = Fields::new(object(json!({"ip": "1.2.3.4", "vpc_id": "vpc-1"})), &["ip", "vpc_id"]).unwrap();
        assert_eq!(refuse_foreign_fields(&f, "azure_nsg").unwrap_err().field.as_deref(), Some("vpc_id"));
        assert_eq!(aws_params(&f, "1.2.3.4").unwrap(), json!({"ip": "1.2.3.4", "vpcId": "vpc-1"}));
    }
}
