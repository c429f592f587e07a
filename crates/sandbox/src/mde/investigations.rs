//! Automated investigations (upstream-apis.md §2.4): `POST /api/machines/{id}/startInvestigation`
//! returns an Investigation entity (not a MachineAction), limited to 50 calls per hour;
//! `GET /api/investigations` (OData) and `GET /api/investigations/{id}`.
//!
//! Microsoft documents no cancel endpoint for investigations, so there is none here.
//!
//! Lifecycle (states are documented, the transitions are our choice): `Running` for
//! `action_pending_seconds + action_run_seconds`, then `SuccessfullyRemediated` on devices whose
//! risk score is Medium or High (something was found) and `Benign` otherwise; `Failed` when a
//! fault rule with `outcome: Failed` matched. AIR supports Windows only: other platforms end at
//! once in `UnsupportedOs`. Offline devices wait in `PendingResource` until the offline timeout,
//! then end `TerminatedBySystem`. The state is computed from the clock when read.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{
    EntitySet, body_str, collection, context, endpoint_quota, forbidden, machine_not_found, parse_body, set_context,
    with_tenant,
};
use crate::auth::{Caller, MdeCaller};
use crate::clock::fmt_mde;
use crate::errors;
use crate::query::Params;
use crate::state::{AppState, Settings};
use crate::world::Tenant;

const FIELDS: &[&str] = &[
    "id",
    "startTime",
    "endTime",
    "state",
    "cancelledBy",
    "statusDetails",
    "machineId",
    "computerDnsName",
    "triggeringAlertId",
];
const INVESTIGATIONS: EntitySet =
    EntitySet { filterable: FIELDS, fields: FIELDS, entity: "Investigation", context: "Investigations" };
/// Investigation ids are numeric strings (documented example: "63004").
const FIRST_ID: u64 = 63_000;

#[derive(Clone, Debug)]
pub struct Investigation {
    pub id: String,
    pub machine_id: String,
    pub computer_dns_name: String,
    pub comment: String,
    pub requestor: String,
    pub start_time: OffsetDateTime,
    /// Until then the investigation is `waiting_state`; from then on it is `final_state`.
    pub end_time: OffsetDateTime,
    pub waiting_state: &'static str,
    pub final_state: &'static str,
    pub status_details: Option<String>,
}

impl Investigation {
    pub fn state(&self, now: OffsetDateTime) -> &'static str {
        if now >= self.end_time { self.final_state } else { self.waiting_state }
    }

    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.end_time
    }

    pub fn to_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "id": self.id,
            "startTime": fmt_mde(self.start_time),
            "endTime": if self.is_active(now) { None } else { Some(fmt_mde(self.end_time)) },
            "state": self.state(now),
            "cancelledBy": null,
            "statusDetails": if self.is_active(now) { None } else { self.status_details.clone() },
            "machineId": self.machine_id,
            "computerDnsName": self.computer_dns_name,
            "triggeringAlertId": null,
        })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/investigations", get(list)).route("/api/investigations/{id}", get(get_one))
}

fn require_read(c: &Caller) -> Result<(), Response> {
    if c.has_any_role(&["Alert.Read.All", "Alert.ReadWrite.All"]) { Ok(()) } else { Err(forbidden("Alert.Read.All")) }
}

/// How an investigation started now will go.
fn plan(
    s: &Settings,
    now: OffsetDateTime,
    windows: bool,
    online: bool,
    risky: bool,
    injected: Option<&str>,
) -> (&'static str, OffsetDateTime, &'static str, Option<String>) {
    let run = Duration::seconds((s.action_pending_seconds + s.action_run_seconds).max(1));
    if !windows {
        return (
            "UnsupportedOs",
            now,
            "UnsupportedOs",
            Some("Automated investigation supports Windows devices only.".into()),
        );
    }
    if !online {
        return (
            "PendingResource",
            now + Duration::seconds(s.offline_timeout_seconds.max(0)),
            "TerminatedBySystem",
            Some("The device did not report in before the investigation timed out.".into()),
        );
    }
    match injected {
        Some("Failed") | Some("TimeOut") => {
            ("Running", now + run, "Failed", Some("The investigation failed (injected fault).".into()))
        }
        _ if risky => {
            ("Running", now + run, "SuccessfullyRemediated", Some("Threats were found and remediated.".into()))
        }
        _ => ("Running", now + run, "Benign", Some("No threats were found.".into())),
    }
}

/// `POST /api/machines/{id}/startInvestigation`.
pub fn start(
    state: &AppState,
    c: &Caller,
    machine_id: &str,
    method: &Method,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, Response> {
    c.require(&["Alert.ReadWrite.All"])?;
    let settings = state.settings.lock().clone();
    endpoint_quota(state, c, "startInvestigation", u32::MAX, settings.investigations_per_hour)?;
    let body = parse_body(body)?;
    let comment = body_str(&body, "Comment", true)?.unwrap_or_default();
    let inv = with_tenant(state, c, |t, now| -> Result<Investigation, Response> {
        let m = t.machine(machine_id).ok_or_else(|| machine_not_found(machine_id))?;
        // [T] SOAR clients treat this code as the answer for a duplicate investigation.
        if t.mde.investigations.iter().any(|i| i.machine_id == m.id && i.is_active(now)) {
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "ActiveRequestAlreadyExists",
                format!("An automated investigation is already running on machine {}.", m.id),
            ));
        }
        let injected = state.faults.lock().take_outcome(method, uri.path(), &t.tenant_id);
        let risky = matches!(m.risk_score.as_str(), "Medium" | "High");
        let (waiting, end, final_state, details) =
            plan(&settings, now, m.is_windows(), m.is_online(), risky, injected.as_deref());
        let inv = Investigation {
            id: (FIRST_ID + t.mde.investigations.len() as u64).to_string(),
            machine_id: m.id.clone(),
            computer_dns_name: m.computer_dns_name.clone(),
            comment: comment.clone(),
            requestor: c.app_id.clone(),
            start_time: now,
            end_time: end,
            waiting_state: waiting,
            final_state,
            status_details: details,
        };
        t.mde.investigations.push(inv.clone());
        Ok(inv)
    })??;
    let mut v = inv.to_json(state.clock.now());
    set_context(&mut v, context(state, "Investigations/$entity"));
    Ok(errors::json_response(StatusCode::CREATED, v))
}

async fn list(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_read(&c)?;
    let params = Params::parse(q.as_deref());
    let items = with_tenant(&state, &c, |t, now| t.mde.investigations.iter().map(|i| i.to_json(now)).collect())?;
    collection(&state, &uri, &params, items, &INVESTIGATIONS)
}

async fn get_one(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    require_read(&c)?;
    let v = with_tenant(&state, &c, |t, now| t.mde.investigations.iter().find(|i| i.id == id).map(|i| i.to_json(now)))?
        .ok_or_else(|| {
            errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("Investigation {id} was not found"))
        })?;
    let mut v = v;
    set_context(&mut v, context(&state, "Investigations/$entity"));
    Ok(errors::json_response(StatusCode::OK, v))
}

/// Investigations for `/_sandbox/state/{tenant}` (with the comment and requestor, which the
/// entity does not carry).
pub fn state_json(t: &Tenant, now: OffsetDateTime) -> Value {
    Value::Array(
        t.mde
            .investigations
            .iter()
            .map(|i| {
                let mut v = i.to_json(now);
                if let Some(o) = v.as_object_mut() {
                    o.insert("comment".into(), i.comment.clone().into());
                    o.insert("requestor".into(), i.requestor.clone().into());
                }
                v
            })
            .collect(),
    )
}
