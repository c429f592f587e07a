//! `/_sandbox`: the sandbox's own control surface (no auth, JSON). Fault injection, time
//! control, settings (quotas, lifecycle timings), state inspection, stats and reset.
//!
//! | Method | Path | Body / result |
//! |---|---|---|
//! | GET, POST, DELETE | `/_sandbox/faults` | POST one rule or an array: `{"path_prefix":"/api/machines","method":"POST","status":429,"rate":0.3,"count":null,"retry_after":1,"delay_ms":0,"tenant":null}`; or `{"path_prefix":"/api/machines/","method":"POST","outcome":"Failed"}` to make the next machine action end Failed (or `TimeOut`). 201 + rule with `id`; GET lists with `fired` counts; DELETE clears |
//! | DELETE | `/_sandbox/faults/{id}` | removes one rule |
//! | GET, POST | `/_sandbox/clock` | `{"advance_seconds": N}` and/or `{"speed": X}` → `{"now","speed","offset_seconds"}` |
//! | GET, POST | `/_sandbox/settings` (alias `/_sandbox/limits`) | partial update of `mde_per_minute`, `mde_per_hour`, `mde_window_scale`, `action_pending_seconds`, `action_run_seconds`, `offline_timeout_seconds`, `arm_reads_per_hour`, `arm_writes_per_hour`, `arm_deletes_per_hour`, `arm_operation_seconds`, `arm_retry_after_seconds`, `graph_operation_seconds`, `graph_retry_after_seconds`, `graph_app_password_reset`, `token_min_seconds`, `token_max_seconds`, `hunting_per_minute`, `hunting_per_hour`, `hunting_timeout_seconds`, `hunting_max_rows`, `live_response_per_minute`, `live_response_max_sessions`, `investigations_per_hour` |
//! | GET | `/_sandbox/state/{tenantId}` | machines (+ `online`, `isolated`, `isolationType`, `codeExecutionRestricted`, `offboarded`, `lastAntivirusScan`, `quarantinedSha1`, `investigationPackages`, `previousIpAddress`, `liveResponse` {`killedProcesses`, `registryChanges`, `putFiles`}), `machineActions` (live response `commands` included), `libraryFiles`, `investigations` (+ `comment`, `requestor`), users (`accountEnabled`, `signInSessionsValidFromDateTime`, `sessionsRevokedAt`, `passwordChangedAt`), `passwordResets` (Graph resetPassword operations: `id`, `userId`, `status`, `createdDateTime`, `lastActionDateTime`, `statusDetail`; never a password), `vms` (`powerState`, `provisioningState`), `arm` {`resources` (id, type, provisioningState, properties), `operations` (ARM status bodies + `resourceId`)}, `alerts` (MDE shape with evidence), `incidents` (Graph-style `status`, `classification`, `determination`, `assignedTo`, `customTags`, `comments`, `alertIds`), `mail` (`messages` with `folder`/`purged`, `inboxRules` with `forwards`, `remediations` with `status`, `submissions`), `identity` (`identityAccounts` with their Active Directory account state, `actions`), `directory` (Entra: `authenticationMethods` (a TAP never with its pass), `forceChangePasswordNextSignIn`, `riskyUsers`, `riskDetections`, `conditionalAccessPolicies`, `namedLocations`, `roleAssignments`, `roleAssignmentScheduleInstances`/`Requests`, `roleEligibilitySchedules`/`Requests`, `directoryAudits`, `groups` with `members`, `servicePrincipals`, `pimAlertConfigurations`) |
//! | GET, POST | `/_sandbox/roles/{tenantId}` | `{"graph":[..],"mde":[..],"cloudApps":[..],"exchangeOnline":[..]}` app permissions put in future tokens; `"arm":[..]` the built-in Azure roles assigned to the app at the subscription (replacing its assignments) |
//! | GET | `/_sandbox/stats` | `token_requests` (tenant → audience → n), `token_failures`, `api_calls` (tenant → api → n), `throttled` (tenant → 429s), `throttled_total`, `faults_injected` |
//! | POST | `/_sandbox/reset` | back to the seeded world; clears faults, quotas, stats, settings |
//! | POST | `/_sandbox/graph/{tenantId}/operations/outcomes` | `{status: failed, statusDetail?, count?}`: the next Graph password resets end `failed` (`graph/auth_methods.rs`) |
//! | POST | `/_sandbox/arm/{tenantId}/outcomes` | `{status: Failed\|Canceled, code?, message?, count?}`: how the next ARM long-running operations end (`arm/mod.rs`) |
//! | GET | `/_sandbox/describe` | the describe document (without `ca_pem`) |

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::{fmt_mde, fmt_utc};
use crate::errors::{admin as admin_error, json_response};
use crate::faults::FaultSpec;
use crate::mde::{self, machine_json};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_sandbox/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_sandbox/faults/{id}", delete(delete_fault))
        .route("/_sandbox/clock", get(get_clock).post(set_clock))
        .route("/_sandbox/settings", get(get_settings).post(set_settings))
        .route("/_sandbox/limits", get(get_settings).post(set_settings))
        .route("/_sandbox/state/{tenant}", get(tenant_state))
        .route("/_sandbox/roles/{tenant}", get(get_roles).post(set_roles))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/describe", get(describe))
        .route("/_sandbox/blobs/packages/{file}", get(package_blob))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| admin_error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

async fn list_faults(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, json!({"faults": state.faults.lock().list()}))
}

/// Accepts one rule object or an array of rules.
async fn add_fault(State(state): State<AppState>, body: Bytes) -> Response {
    let value: Value = match parse(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let specs: Vec<Value> = match value {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut added = Vec::new();
    let mut faults = state.faults.lock();
    for spec in specs {
        let spec: FaultSpec = match serde_json::from_value(spec) {
            Ok(s) => s,
            Err(e) => {
                return admin_error(StatusCode::BAD_REQUEST, format!("invalid fault rule: {e}"));
            }
        };
        match faults.add(spec) {
            Ok(rule) => added.push(rule),
            Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
        }
    }
    if added.len() == 1 {
        json_response(StatusCode::CREATED, serde_json::to_value(&added[0]).unwrap_or(Value::Null))
    } else {
        json_response(StatusCode::CREATED, json!({"faults": added}))
    }
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.faults.lock().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_fault(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(n) if state.faults.lock().remove(n) => StatusCode::NO_CONTENT.into_response(),
        _ => admin_error(StatusCode::NOT_FOUND, format!("no fault rule {id}")),
    }
}

fn clock_json(state: &AppState) -> Value {
    json!({
        "now": fmt_mde(state.clock.now()),
        "speed": state.clock.speed(),
        "offset_seconds": state.clock.offset_seconds(),
    })
}

async fn get_clock(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, clock_json(&state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    advance_seconds: Option<f64>,
    speed: Option<f64>,
}

async fn set_clock(State(state): State<AppState>, body: Bytes) -> Response {
    let change: ClockChange = match parse(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if change.advance_seconds.is_none() && change.speed.is_none() {
        return admin_error(StatusCode::BAD_REQUEST, "give advance_seconds and/or speed");
    }
    if let Some(a) = change.advance_seconds {
        // Lifecycles are evaluated lazily and assume time never runs backwards.
        if !a.is_finite() || !(0.0..=10.0 * 365.0 * 86400.0).contains(&a) {
            return admin_error(StatusCode::BAD_REQUEST, "advance_seconds must be between 0 and ten years");
        }
        if !state.clock.advance(a) {
            return admin_error(StatusCode::BAD_REQUEST, "the clock cannot go that far");
        }
    }
    if let Some(s) = change.speed {
        if !s.is_finite() || s <= 0.0 || s > 100_000.0 {
            return admin_error(StatusCode::BAD_REQUEST, "speed must be > 0 and <= 100000");
        }
        state.clock.set_speed(s);
    }
    json_response(StatusCode::OK, clock_json(&state))
}

async fn get_settings(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(&*state.settings.lock()).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    mde_per_minute: Option<u32>,
    mde_per_hour: Option<u32>,
    mde_window_scale: Option<f64>,
    action_pending_seconds: Option<i64>,
    action_run_seconds: Option<i64>,
    offline_timeout_seconds: Option<i64>,
    arm_reads_per_hour: Option<u32>,
    arm_writes_per_hour: Option<u32>,
    arm_deletes_per_hour: Option<u32>,
    arm_operation_seconds: Option<i64>,
    arm_retry_after_seconds: Option<u64>,
    graph_operation_seconds: Option<i64>,
    graph_retry_after_seconds: Option<u64>,
    graph_app_password_reset: Option<bool>,
    token_min_seconds: Option<i64>,
    token_max_seconds: Option<i64>,
    hunting_per_minute: Option<u32>,
    hunting_per_hour: Option<u32>,
    hunting_timeout_seconds: Option<u64>,
    hunting_max_rows: Option<usize>,
    live_response_per_minute: Option<u32>,
    live_response_max_sessions: Option<u32>,
    investigations_per_hour: Option<u32>,
}

/// Partial update; unknown keys are refused so a typo does not silently do nothing.
async fn set_settings(State(state): State<AppState>, body: Bytes) -> Response {
    let c: SettingsChange = match parse(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    for v in [
        c.action_pending_seconds,
        c.action_run_seconds,
        c.offline_timeout_seconds,
        c.arm_operation_seconds,
        c.graph_operation_seconds,
    ]
    .into_iter()
    .flatten()
    {
        if v < 0 {
            return admin_error(StatusCode::BAD_REQUEST, "durations must not be negative");
        }
    }
    for v in [c.token_min_seconds, c.token_max_seconds].into_iter().flatten() {
        if v < 1 {
            return admin_error(StatusCode::BAD_REQUEST, "token lifetimes must be at least 1 second");
        }
    }
    if c.mde_window_scale.is_some_and(|v| !(1.0..=3600.0).contains(&v)) {
        return admin_error(StatusCode::BAD_REQUEST, "mde_window_scale must be between 1 and 3600");
    }
    let mut s = state.settings.lock();
    if let Some(v) = c.mde_window_scale {
        s.mde_window_scale = v;
    }
    if let Some(v) = c.mde_per_minute {
        s.mde_per_minute = v;
    }
    if let Some(v) = c.mde_per_hour {
        s.mde_per_hour = v;
    }
    if let Some(v) = c.action_pending_seconds {
        s.action_pending_seconds = v;
    }
    if let Some(v) = c.action_run_seconds {
        s.action_run_seconds = v;
    }
    if let Some(v) = c.offline_timeout_seconds {
        s.offline_timeout_seconds = v;
    }
    if let Some(v) = c.arm_reads_per_hour {
        s.arm_reads_per_hour = v;
    }
    if let Some(v) = c.arm_writes_per_hour {
        s.arm_writes_per_hour = v;
    }
    if let Some(v) = c.arm_deletes_per_hour {
        s.arm_deletes_per_hour = v;
    }
    if let Some(v) = c.arm_operation_seconds {
        s.arm_operation_seconds = v;
    }
    if let Some(v) = c.arm_retry_after_seconds {
        s.arm_retry_after_seconds = v;
    }
    if let Some(v) = c.graph_operation_seconds {
        s.graph_operation_seconds = v;
    }
    if let Some(v) = c.graph_retry_after_seconds {
        s.graph_retry_after_seconds = v;
    }
    if let Some(v) = c.graph_app_password_reset {
        s.graph_app_password_reset = v;
    }
    if let Some(v) = c.token_min_seconds {
        s.token_min_seconds = v;
    }
    if let Some(v) = c.token_max_seconds {
        s.token_max_seconds = v;
    }
    if let Some(v) = c.live_response_per_minute {
        s.live_response_per_minute = v;
    }
    if let Some(v) = c.live_response_max_sessions {
        s.live_response_max_sessions = v;
    }
    if let Some(v) = c.investigations_per_hour {
        s.investigations_per_hour = v;
    }
    if let Some(v) = c.hunting_per_minute {
        s.hunting.hunting_per_minute = v;
    }
    if let Some(v) = c.hunting_per_hour {
        s.hunting.hunting_per_hour = v;
    }
    if let Some(v) = c.hunting_timeout_seconds {
        s.hunting.hunting_timeout_seconds = v;
    }
    if let Some(v) = c.hunting_max_rows {
        s.hunting.hunting_max_rows = v;
    }
    if s.token_min_seconds > s.token_max_seconds {
        s.token_max_seconds = s.token_min_seconds;
    }
    json_response(StatusCode::OK, serde_json::to_value(&*s).unwrap_or(Value::Null))
}

async fn tenant_state(State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&tenant) else {
        return admin_error(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    };
    mde::advance(t, now);
    let machines: Vec<Value> = t
        .mde
        .machines
        .iter()
        .map(|m| {
            let mut v = machine_json(m, now);
            if let Some(o) = v.as_object_mut() {
                o.insert("online".into(), m.is_online().into());
                o.insert("isolated".into(), m.isolation.is_some().into());
                o.insert("isolationType".into(), m.isolation.clone().into());
                o.insert("codeExecutionRestricted".into(), m.code_restricted.into());
                o.insert("offboarded".into(), m.offboarded.into());
                o.insert(
                    "lastAntivirusScan".into(),
                    m.last_av_scan.as_ref().map(|(ty, at)| json!({"scanType": ty, "completed": fmt_mde(*at)})).into(),
                );
                o.insert("quarantinedSha1".into(), m.quarantined_sha1.clone().into());
                o.insert("investigationPackages".into(), m.investigation_packages.into());
                o.insert(
                    "previousIpAddress".into(),
                    m.previous_ip.as_ref().map(|(ip, until)| json!({"ipAddress": ip, "until": fmt_mde(*until)})).into(),
                );
                o.insert("liveResponse".into(), mde::live_response::machine_state_json(t, m));
            }
            v
        })
        .collect();
    crate::graph::auth_methods::settle(&mut t.graph, now);
    let users: Vec<Value> = t
        .graph
        .users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "userPrincipalName": u.user_principal_name,
                "displayName": u.display_name,
                "accountEnabled": u.account_enabled,
                "department": u.department,
                "jobTitle": u.job_title,
                "signInSessionsValidFromDateTime": fmt_utc(u.sign_in_sessions_valid_from),
                "sessionsRevokedAt": u.sessions_revoked_at.map(fmt_utc),
                "passwordChangedAt": u.password_changed_at.map(fmt_utc),
            })
        })
        .collect();
    crate::arm::settle(&mut t.arm, now);
    t.mail.settle(now);
    crate::graph::intune::settle(&mut t.intune, now, state.settings.lock().action_pending_seconds);
    let (vms, arm) = crate::arm::state_json(&t.arm);
    json_response(
        StatusCode::OK,
        json!({
            "tenantId": t.tenant_id,
            "name": t.name,
            "domain": t.domain(),
            "subscriptionId": t.subscription_id,
            "now": fmt_mde(now),
            "machines": machines,
            "machineActions": t.mde.actions.iter().map(mde::MachineAction::to_json).collect::<Vec<_>>(),
            "users": users,
            "vms": vms,
            "arm": arm,
            "alerts": t.mde.alerts.iter().map(|a| a.mde_json(true)).collect::<Vec<_>>(),
            "incidents": t.mde.incidents.iter().map(|i| mde::alerts::incident_state_json(i, &t.mde.alerts)).collect::<Vec<_>>(),
            "indicators": t.mde.indicators.iter().map(mde::indicators::Indicator::to_json).collect::<Vec<_>>(),
            "detectionRules": t.graph.detection_rules.items,
            "passwordResets": t.graph.password_resets.ops.iter().map(|o| o.state_json(now)).collect::<Vec<_>>(),
            "directory": crate::graph::directory::state_json(t, now),
            "libraryFiles": t.mde.library.iter().map(mde::library::LibraryFile::to_json).collect::<Vec<_>>(),
            "investigations": mde::investigations::state_json(t, now),
            "intune": crate::graph::intune::state_json(&t.intune, &t.graph.directory.groups),
            "cloudApps": crate::world::cloud_apps::state_json(&t.cloud_apps),
            "mail": t.mail.state_json(now),
            "identity": t.identity.state_json(),
        }),
    )
}

async fn stats(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(&*state.stats.lock()).unwrap_or(Value::Null))
}

async fn reset(State(state): State<AppState>) -> Response {
    state.reset();
    json_response(StatusCode::OK, json!({"reset": true}))
}

async fn describe(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, serde_json::to_value(crate::describe_state(&state, None)).unwrap_or(Value::Null))
}

/// The "SAS URL" getPackageUri hands out: an (empty) zip archive.
async fn package_blob(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let id = file.trim_end_matches(".zip");
    let known = state.world.lock().tenants.iter().any(|t| t.mde.actions.iter().any(|a| a.id.eq_ignore_ascii_case(id)));
    if !known {
        return admin_error(StatusCode::NOT_FOUND, "BlobNotFound: The specified blob does not exist.");
    }
    // End-of-central-directory record only: a valid, empty zip file.
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend_from_slice(&[0u8; 18]);
    ([(header::CONTENT_TYPE, "application/zip")], zip).into_response()
}

fn roles_json(t: &crate::world::Tenant) -> Value {
    json!({"graph": t.graph_roles, "mde": t.mde_roles, "exchangeOnline": t.mail.exchange.app_roles,
           "cloudApps": t.cloud_apps.roles, "arm": crate::arm::security::assigned_roles(&t.arm)})
}

async fn get_roles(State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    match state.world.lock().tenant(&tenant) {
        Some(t) => json_response(StatusCode::OK, roles_json(t)),
        None => admin_error(StatusCode::NOT_FOUND, format!("no tenant {tenant}")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesChange {
    graph: Option<Vec<String>>,
    mde: Option<Vec<String>>,
    #[serde(rename = "exchangeOnline")]
    exchange_online: Option<Vec<String>>,
    #[serde(rename = "cloudApps")]
    cloud_apps: Option<Vec<String>>,
    /// Built-in Azure roles assigned to the app at the subscription.
    arm: Option<Vec<String>>,
}

/// Replaces the app permissions of a tenant's app; tokens issued afterwards carry them (so
/// tests can provoke 403s). Existing tokens keep their roles, as with Entra.
async fn set_roles(State(state): State<AppState>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let change: RolesChange = match parse(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut world = state.world.lock();
    let Some(t) = world.tenant_mut(&tenant) else {
        return admin_error(StatusCode::NOT_FOUND, format!("no tenant {tenant}"));
    };
    if let Some(g) = change.graph {
        t.graph_roles = g;
    }
    if let Some(m) = change.mde {
        t.mde_roles = m;
    }
    if let Some(x) = change.exchange_online {
        t.mail.exchange.app_roles = x;
    }
    if let Some(c) = change.cloud_apps {
        t.cloud_apps.roles = c;
    }
    if let Some(a) = change.arm {
        let names: Vec<&str> = a.iter().map(String::as_str).collect();
        let principal = t.sp_object_id.clone();
        if let Err(e) = crate::world::mdc::assign_roles(&mut t.arm, &principal, &names) {
            return admin_error(StatusCode::BAD_REQUEST, e);
        }
    }
    json_response(StatusCode::OK, roles_json(t))
}
