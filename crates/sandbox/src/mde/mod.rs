//! Microsoft Defender for Endpoint: machines and machine actions (upstream-apis.md §2).
//!
//! Machine actions follow the documented lifecycle on the sandbox clock:
//! Pending → InProgress → Succeeded (or Failed when fault-injected). Actions for offline devices
//! stay Pending and end in TimeOut. Lifecycles are evaluated lazily (`advance`) whenever a
//! tenant's state is read, so no background task is needed and clock jumps apply at once.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::auth::{Caller, MdeCaller};
use crate::clock::fmt_mde;
use crate::entity_set;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::{AppState, Settings};
use crate::world::{Machine, Tenant};

pub mod alerts;
pub mod indicators;
pub mod investigations;
pub mod library;
pub mod live_response;
pub mod lookups;
mod tags;
pub mod tvm;

pub fn routes() -> Router<AppState> {
    use crate::paths::route;
    let mut r = Router::new();
    r = route(r, "/api/machines", get(list_machines));
    r = route(r, "/api/machines/{id}", get(get_machine));
    // Machine actions are POSTs named by the last segment (a table, `ActionKind::from_path`).
    r = route(r, "/api/machines/{id}/{sub}", get(no_machine_sub).post(machine_action));
    r = route(r, "/api/machines/{id}/logonusers", get(logon_users));
    r = route(r, "/api/users/{id}/machines", get(lookups::user_machines));
    r = route(r, "/api/machines/{id}/alerts", get(machine_alerts));
    for kind in ["software", "vulnerabilities", "recommendations"] {
        r = route(r, &format!("/api/machines/{{id}}/{kind}"), get(machine_tvm));
    }
    r = route(r, "/api/machineactions/{id}/getPackageUri", get(package_uri));
    r.route("/api/alerts", get(alerts::list_alerts))
        .route("/api/alerts/batchUpdate", axum::routing::post(alerts::batch_update))
        .route("/api/alerts/{id}", get(alerts::get_alert).patch(alerts::patch_alert))
        .route("/api/alerts/{id}/{sub}", get(alerts::alert_related))
        .route("/api/indicators", get(indicators::list).post(indicators::submit))
        .route(
            "/api/indicators/{id}",
            get(indicators::get_one).delete(indicators::delete_one).post(indicators::post_sub),
        )
        .merge(indicator_actions())
        .merge(library::routes())
        .merge(live_response::routes())
        .merge(investigations::routes())
        .merge(tvm::routes())
        .route("/api/machineactions", get(list_actions))
        .route("/api/machineactions/{id}", get(get_action))
        // `GetLiveResponseResultDownloadLink(index=N)` is an OData function segment: routed by
        // parsing, as it carries a parameter.
        .route("/api/machineactions/{id}/{sub}", get(action_get_sub).post(action_post_sub))
}

/// `POST /api/indicators/import` and `/BatchDelete`, matched in any casing.
fn indicator_actions() -> Router<AppState> {
    use crate::paths::route;
    let r = route(Router::new(), "/api/indicators/import", post(indicators::import));
    route(r, "/api/indicators/BatchDelete", post(indicators::batch_delete))
}

/// Documented `$filter` fields for machines (§2.3).
const MACHINE_FILTER: &[&str] = &[
    "computerDnsName",
    "id",
    "version",
    "deviceValue",
    "aadDeviceId",
    "machineTags",
    "lastSeen",
    "exposureLevel",
    "onboardingStatus",
    "lastIpAddress",
    "healthStatus",
    "osPlatform",
    "riskScore",
    "rbacGroupId",
];
const MACHINE_FIELDS: &[&str] = &[
    "id",
    "computerDnsName",
    "firstSeen",
    "lastSeen",
    "osPlatform",
    "osVersion",
    "osProcessor",
    "version",
    "lastIpAddress",
    "lastExternalIpAddress",
    "agentVersion",
    "osBuild",
    "healthStatus",
    "deviceValue",
    "rbacGroupId",
    "rbacGroupName",
    "riskScore",
    "exposureLevel",
    "isAadJoined",
    "aadDeviceId",
    "machineTags",
    "defenderAvStatus",
    "onboardingStatus",
    "osArchitecture",
    "managedBy",
    "managedByStatus",
    "ipAddresses",
    "vmMetadata",
    "isPotentialDuplication",
    "isExcluded",
    "exclusionReason",
];
/// Documented `$filter` fields for machine actions (§2.5).
const ACTION_FILTER: &[&str] = &["id", "status", "machineId", "type", "requestor", "creationDateTimeUtc"];
const ACTION_FIELDS: &[&str] = &[
    "id",
    "type",
    "title",
    "requestor",
    "requestorComment",
    "requestSource",
    "status",
    "machineId",
    "computerDnsName",
    "creationDateTimeUtc",
    "lastUpdateDateTimeUtc",
    "cancellationRequestor",
    "cancellationComment",
    "cancellationDateTimeUtc",
    "errorHResult",
    "scope",
    "externalID",
    "relatedFileInfo",
    "commands",
    "troubleshootInfo",
];
const MAX_TOP: usize = 10_000;

/// What a collection endpoint serves: which properties filter/sort/select may name.
#[derive(Clone, Copy)]
struct EntitySet {
    filterable: &'static [&'static str],
    fields: &'static [&'static str],
    entity: &'static str,
    context: &'static str,
}

const MACHINES: EntitySet =
    EntitySet { filterable: MACHINE_FILTER, fields: MACHINE_FIELDS, entity: "Machine", context: "Machines" };
const MACHINE_ACTIONS: EntitySet =
    EntitySet { filterable: ACTION_FILTER, fields: ACTION_FIELDS, entity: "MachineAction", context: "MachineActions" };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Isolate,
    Unisolate,
    RunAntiVirusScan,
    RestrictCodeExecution,
    UnrestrictCodeExecution,
    CollectInvestigationPackage,
    Offboard,
    StopAndQuarantineFile,
    /// `runliveresponse` (created by `live_response::run`, not by the generic handler).
    LiveResponse,
}

impl ActionKind {
    /// The path segment after `/api/machines/{id}/`; ASP.NET routing is case-insensitive.
    fn from_path(segment: &str) -> Option<ActionKind> {
        use ActionKind::*;
        [
            Isolate,
            Unisolate,
            RunAntiVirusScan,
            RestrictCodeExecution,
            UnrestrictCodeExecution,
            CollectInvestigationPackage,
            Offboard,
            StopAndQuarantineFile,
        ]
        .into_iter()
        .find(|k| k.path().eq_ignore_ascii_case(segment))
    }

    fn path(self) -> &'static str {
        match self {
            ActionKind::Isolate => "isolate",
            ActionKind::Unisolate => "unisolate",
            ActionKind::RunAntiVirusScan => "runAntiVirusScan",
            ActionKind::RestrictCodeExecution => "restrictCodeExecution",
            ActionKind::UnrestrictCodeExecution => "unrestrictCodeExecution",
            ActionKind::CollectInvestigationPackage => "collectInvestigationPackage",
            ActionKind::Offboard => "offboard",
            ActionKind::StopAndQuarantineFile => "StopAndQuarantineFile",
            ActionKind::LiveResponse => "runliveresponse",
        }
    }

    /// The `type` value of the MachineAction entity.
    pub fn type_name(self) -> &'static str {
        match self {
            ActionKind::Isolate => "Isolate",
            ActionKind::Unisolate => "Unisolate",
            ActionKind::RunAntiVirusScan => "RunAntiVirusScan",
            ActionKind::RestrictCodeExecution => "RestrictCodeExecution",
            ActionKind::UnrestrictCodeExecution => "UnrestrictCodeExecution",
            ActionKind::CollectInvestigationPackage => "CollectInvestigationPackage",
            ActionKind::Offboard => "Offboard",
            ActionKind::StopAndQuarantineFile => "StopAndQuarantineFile",
            ActionKind::LiveResponse => "LiveResponse",
        }
    }

    /// Actions that undo each other share a family: only one of a family may be active per
    /// machine (400 ActiveRequestAlreadyExists otherwise).
    fn family(self) -> &'static str {
        match self {
            ActionKind::Isolate | ActionKind::Unisolate => "isolation",
            ActionKind::RestrictCodeExecution | ActionKind::UnrestrictCodeExecution => "restriction",
            other => other.type_name(),
        }
    }

    fn required_role(self) -> &'static str {
        match self {
            ActionKind::Isolate | ActionKind::Unisolate => "Machine.Isolate",
            ActionKind::RestrictCodeExecution | ActionKind::UnrestrictCodeExecution => "Machine.RestrictExecution",
            ActionKind::RunAntiVirusScan => "Machine.Scan",
            ActionKind::CollectInvestigationPackage => "Machine.CollectForensics",
            ActionKind::Offboard => "Machine.Offboard",
            ActionKind::StopAndQuarantineFile => "Machine.StopAndQuarantine",
            ActionKind::LiveResponse => "Machine.LiveResponse",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ActionKind::Isolate => "Isolate device",
            ActionKind::Unisolate => "Release device from isolation",
            ActionKind::RunAntiVirusScan => "Run antivirus scan",
            ActionKind::RestrictCodeExecution => "Restrict app execution",
            ActionKind::UnrestrictCodeExecution => "Remove app execution restriction",
            ActionKind::CollectInvestigationPackage => "Collect investigation package",
            ActionKind::Offboard => "Offboard device",
            ActionKind::StopAndQuarantineFile => "Stop and quarantine file",
            ActionKind::LiveResponse => "Live response",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    TimeOut,
    Cancelled,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "Pending",
            ActionStatus::InProgress => "InProgress",
            ActionStatus::Succeeded => "Succeeded",
            ActionStatus::Failed => "Failed",
            ActionStatus::TimeOut => "TimeOut",
            ActionStatus::Cancelled => "Cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, ActionStatus::Pending | ActionStatus::InProgress)
    }
}

/// How a created action will end; decided at creation (machine online? fault injected?).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Succeed,
    Fail,
    /// Device never picks it up (offline): stays Pending until the timeout.
    NeverPickedUp,
    /// Device picks it up but never reports back (injected).
    StallThenTimeOut,
}

#[derive(Clone, Debug)]
pub struct MachineAction {
    pub id: String,
    pub kind: ActionKind,
    pub scope: Option<String>,
    pub requestor: String,
    pub comment: String,
    pub external_id: Option<String>,
    pub status: ActionStatus,
    pub machine_id: String,
    pub computer_dns_name: String,
    pub created: OffsetDateTime,
    pub last_update: OffsetDateTime,
    pub cancellation: Option<(String, String, OffsetDateTime)>,
    pub related_sha1: Option<String>,
    /// Live response commands with their per-command status (empty for other types).
    pub commands: Vec<live_response::Command>,
    plan: Plan,
    start_at: OffsetDateTime,
    finish_at: OffsetDateTime,
}

impl MachineAction {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.type_name(),
            "title": self.kind.title(),
            "requestor": self.requestor,
            "requestorComment": self.comment,
            "requestSource": "PublicApi",
            "status": self.status.as_str(),
            "machineId": self.machine_id,
            "computerDnsName": self.computer_dns_name,
            "creationDateTimeUtc": fmt_mde(self.created),
            "lastUpdateDateTimeUtc": fmt_mde(self.last_update),
            "cancellationRequestor": self.cancellation.as_ref().map(|c| c.0.clone()),
            "cancellationComment": self.cancellation.as_ref().map(|c| c.1.clone()),
            "cancellationDateTimeUtc": self.cancellation.as_ref().map(|c| fmt_mde(c.2)),
            "errorHResult": if self.status == ActionStatus::Failed { -2147467259i64 } else { 0 },
            "scope": self.scope,
            "externalID": self.external_id,
            "relatedFileInfo": self.related_sha1.as_ref().map(|h| json!({"fileIdentifier": h, "fileIdentifierType": "Sha1"})),
            "commands": live_response::commands_json(&self.commands),
            "troubleshootInfo": null,
        })
    }
}

pub fn machine_json(m: &Machine, now: OffsetDateTime) -> Value {
    json!({
        "id": m.id,
        "computerDnsName": m.computer_dns_name,
        "firstSeen": fmt_mde(m.first_seen),
        "lastSeen": fmt_mde(m.last_seen(now)),
        "osPlatform": m.os_platform,
        "osVersion": null,
        "osProcessor": m.os_processor,
        "version": m.version,
        "lastIpAddress": m.last_ip_address,
        "lastExternalIpAddress": m.last_external_ip_address,
        "agentVersion": m.agent_version,
        "osBuild": m.os_build,
        "healthStatus": m.health_status,
        "deviceValue": m.device_value,
        "rbacGroupId": m.rbac_group_id,
        "rbacGroupName": m.rbac_group_name,
        "riskScore": m.risk_score,
        "exposureLevel": m.exposure_level,
        "isAadJoined": m.is_aad_joined,
        "aadDeviceId": m.aad_device_id,
        "machineTags": m.machine_tags,
        "defenderAvStatus": if m.is_windows() { "Updated" } else { "Unknown" },
        "onboardingStatus": m.onboarding_status,
        "osArchitecture": "64-bit",
        "managedBy": m.managed_by,
        "managedByStatus": "Success",
        "ipAddresses": [{"ipAddress": m.last_ip_address, "macAddress": m.mac_address, "type": "Ethernet", "operationalStatus": "Up"}],
        "vmMetadata": m.vm.as_ref().map(|(vm_id, resource_id, sub)| json!({
            "vmId": vm_id, "cloudProvider": "Azure", "resourceId": resource_id, "subscriptionId": sub
        })),
        "isPotentialDuplication": false,
        "isExcluded": false,
        "exclusionReason": null,
    })
}

/// Moves every action of the tenant to where the clock says it is, applying the effects of
/// actions that succeeded, in completion order.
pub fn advance(tenant: &mut Tenant, now: OffsetDateTime) {
    live_response::advance(tenant, now);
    let mut due: Vec<usize> = tenant
        .mde
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.status.is_final() && a.finish_at <= now)
        .map(|(i, _)| i)
        .collect();
    due.sort_by_key(|i| tenant.mde.actions[*i].finish_at);
    for i in due {
        let a = &mut tenant.mde.actions[i];
        a.status = match a.plan {
            Plan::Succeed => ActionStatus::Succeeded,
            Plan::Fail => ActionStatus::Failed,
            Plan::NeverPickedUp | Plan::StallThenTimeOut => ActionStatus::TimeOut,
        };
        a.last_update = a.finish_at;
        if a.status == ActionStatus::Succeeded {
            let a = a.clone();
            apply_effect(tenant, &a);
        }
    }
    for a in tenant.mde.actions.iter_mut() {
        if a.status == ActionStatus::Pending && a.plan != Plan::NeverPickedUp && a.start_at <= now {
            a.status = ActionStatus::InProgress;
            a.last_update = a.start_at;
        }
    }
}

fn apply_effect(tenant: &mut Tenant, a: &MachineAction) {
    let Some(m) = tenant.machine_mut(&a.machine_id) else {
        return;
    };
    match a.kind {
        ActionKind::Isolate => m.isolation = Some(a.scope.clone().unwrap_or_else(|| "Full".into())),
        ActionKind::Unisolate => m.isolation = None,
        ActionKind::RestrictCodeExecution => m.code_restricted = true,
        ActionKind::UnrestrictCodeExecution => m.code_restricted = false,
        ActionKind::RunAntiVirusScan => m.last_av_scan = Some((a.scope.clone().unwrap_or_default(), a.finish_at)),
        ActionKind::CollectInvestigationPackage => m.investigation_packages += 1,
        ActionKind::Offboard => {
            m.offboarded = true;
            m.health_status = "Inactive".into();
            m.last_seen_fixed = Some(a.finish_at);
        }
        // Live response commands apply their effects as they run (live_response::advance).
        ActionKind::LiveResponse => {}
        ActionKind::StopAndQuarantineFile => {
            if let Some(h) = &a.related_sha1
                && !m.quarantined_sha1.contains(h)
            {
                m.quarantined_sha1.push(h.clone());
            }
        }
    }
}

fn context(state: &AppState, fragment: &str) -> String {
    format!("{}/api/$metadata#{fragment}", state.base_url)
}

/// Stamps an entity with its `@odata.context`, as MDE answers single entities.
fn set_context(entity: &mut Value, context: String) {
    if let Some(o) = entity.as_object_mut() {
        o.insert("@odata.context".into(), context.into());
    }
}

fn forbidden(role: &str) -> Response {
    errors::mde(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!("The application does not have the required permission: {role}."),
    )
}

fn require_read(c: &Caller) -> Result<(), Response> {
    c.require(&["Machine.Read.All", "Machine.ReadWrite.All"])
}

fn odata_error(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "ODataError", msg)
}

/// Filters, sorts, pages and projects a collection per the request's OData options, through
/// the shared entity-set layer (`entity_set.rs`).
///
/// Paging choice (MDE documents `$top` ≤ 10,000 and `$skip` but no page size for these lists):
/// without `$top` we return up to 10,000 rows and a nextLink if more remain; with `$top` we
/// return that many and a nextLink (same query, `$skip` advanced) whenever more rows remain.
fn collection(
    state: &AppState,
    uri: &Uri,
    params: &Params,
    items: Vec<Value>,
    set: &EntitySet,
) -> Result<Response, Response> {
    if let Some(opt) = params.unknown_system_option(&["$filter", "$top", "$skip", "$orderby", "$select", "$count"]) {
        return Err(odata_error(format!(
            "Query option '{opt}' is not allowed. Supported options: $filter, $top, $skip, $orderby, $select, $count."
        )));
    }
    let spec = entity_set::SetSpec {
        entity: set.entity,
        filterable: set.filterable,
        sortable: set.fields,
        select: entity_set::Select::Known(set.fields),
        paging: entity_set::Paging::Skip { default: MAX_TOP, max: MAX_TOP, link_top: false },
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&spec, params, items, &link).map_err(|e| query_error(e, set.entity))?;
    let body = page.body(context(state, set.context), params);
    Ok(json_response(StatusCode::OK, body))
}

/// MDE's wording of a refused OData query (`ODataError`).
fn query_error(e: entity_set::QueryError, entity: &str) -> Response {
    use entity_set::QueryError as Q;
    odata_error(match e {
        Q::Filter(e) => format!("Invalid filter clause: {e}"),
        Q::OrderBy(e) => e,
        Q::Top(t) => format!("Invalid value '{t}' for $top; expected a non-negative integer."),
        Q::TopTooLarge(n, max) => format!(
            "The limit of '{max}' for Top query has been exceeded. The value from the incoming request is '{n}'."
        ),
        Q::Skip(s) => format!("Invalid value '{s}' for $skip; expected a non-negative integer."),
        Q::Select(p) => format!("Could not find a property named '{p}' on type '{entity}'."),
        Q::SkipToken => "Invalid $skiptoken.".to_string(),
    })
}

/// A per-endpoint quota on top of the tenant-wide one (e.g. batchUpdate 10/min, indicator
/// import 30/min), counted in the same limiter under `{tenant}#{endpoint}`.
fn endpoint_quota(
    state: &AppState,
    c: &Caller,
    endpoint: &str,
    per_minute: u32,
    per_hour: u32,
) -> Result<(), Response> {
    let key = format!("{}#{endpoint}", c.tenant_id);
    let limited = state.limiter.lock().check(&key, std::time::Instant::now(), per_minute, per_hour);
    limited.map_err(|retry_after| {
        let mut resp = errors::mde(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Rate limit is exceeded for {endpoint} ({per_minute} calls per minute, {per_hour} per hour). Try again in {retry_after} seconds."
            ),
        );
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(retry_after),
        );
        resp
    })
}

fn respond(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

fn machine_not_found(id: &str) -> Response {
    errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("Machine {id} was not found"))
}

fn action_not_found(id: &str) -> Response {
    errors::mde(StatusCode::NOT_FOUND, "ResourceNotFound", format!("MachineAction {id} was not found"))
}

/// Runs `f` on the caller's tenant after bringing its lifecycles up to date.
fn with_tenant<T>(
    state: &AppState,
    caller: &Caller,
    f: impl FnOnce(&mut Tenant, OffsetDateTime) -> T,
) -> Result<T, Response> {
    let now = state.clock.now();
    let mut world = state.world.lock();
    let tenant = world
        .tenant_mut(&caller.tenant_id)
        .ok_or_else(|| errors::mde(StatusCode::UNAUTHORIZED, "Unauthorized", "Unknown tenant."))?;
    advance(tenant, now);
    Ok(f(tenant, now))
}

async fn list_machines(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_read(&c)?;
    let params = Params::parse(q.as_deref());
    let items =
        with_tenant(&state, &c, |t, now| t.mde.machines.iter().map(|m| machine_json(m, now)).collect::<Vec<_>>())?;
    collection(&state, &uri, &params, items, &MACHINES)
}

async fn get_machine(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    if lookups::is_find_by_ip(&id) {
        return lookups::find_by_ip(&state, &c, &id);
    }
    require_read(&c)?;
    let m = with_tenant(&state, &c, |t, now| t.machine(&id).map(|m| machine_json(m, now)))?
        .ok_or_else(|| machine_not_found(&id))?;
    let mut v = m;
    set_context(&mut v, context(&state, "Machines/$entity"));
    Ok(json_response(StatusCode::OK, v))
}

/// `GET /api/machines/{id}/{unknown}`.
async fn no_machine_sub(MdeCaller(c): MdeCaller, Path((_, sub)): Path<(String, String)>) -> Result<Response, Response> {
    require_read(&c)?;
    Err(errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("No resource '{sub}' on machines.")))
}

/// `GET /api/machines/{id}/alerts`.
async fn machine_alerts(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    alerts::machine_alerts(&state, &c, &id, &uri, q.as_deref())
}

/// `GET /api/machines/{id}/{software|vulnerabilities|recommendations}`.
async fn machine_tvm(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    let kind = tvm::Kind::from_segment(uri.path().rsplit('/').next().unwrap_or(""))
        .expect("routes register only tvm kinds here");
    tvm::machine_items(&state, &c, kind, &id, &uri, q.as_deref())
}

/// `GET /api/machines/{id}/logonusers`.
async fn logon_users(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    // Microsoft documents this read's one application permission as MDE's User.Read.All.
    c.require(&["User.Read.All"])?;
    let users = with_tenant(&state, &c, |t, now| {
        let idx = t.mde.machines.iter().position(|m| m.id.eq_ignore_ascii_case(&id))?;
        let m = &t.mde.machines[idx];
        let users: Vec<Value> = lookups::logged_on(idx, t.graph.users.len())
            .enumerate()
            .map(|(k, ui)| {
                let u = &t.graph.users[ui];
                let account = u.mail_nickname.clone();
                json!({
                    "id": format!("{}\\{}", t.name, account),
                    "accountName": account,
                    "accountDomain": t.name,
                    "accountSid": format!("S-1-5-21-1004336348-1177238915-682003330-{}", 1100 + (idx * 7 + k * 13) % t.graph.users.len()),
                    "firstSeen": fmt_mde(m.first_seen),
                    "lastSeen": fmt_mde(m.last_seen(now)),
                    "logonTypes": "Interactive",
                    "isDomainAdmin": false,
                    "isOnlyNetworkUser": false,
                })
            })
            .collect();
        Some(users)
    })?
    .ok_or_else(|| machine_not_found(&id))?;
    Ok(json_response(StatusCode::OK, json!({"@odata.context": context(&state, "Users"), "value": users})))
}

fn invalid_body(msg: impl Into<String>) -> Response {
    errors::mde(StatusCode::BAD_REQUEST, "InvalidRequestBody", msg)
}

/// MDE body keys are case-sensitive: a key that differs only in case is an invalid body, a
/// missing key is a missing parameter.
fn body_str(body: &Map<String, Value>, key: &str, required: bool) -> Result<Option<String>, Response> {
    match body.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            if let Some(k) = body.keys().find(|k| k.as_str() != key && k.eq_ignore_ascii_case(key)) {
                return Err(invalid_body(format!(
                    "Request body is invalid: unknown parameter '{k}'. Parameter names are case-sensitive; did you mean '{key}'?"
                )));
            }
            if required {
                Err(errors::mde(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredParameter",
                    format!("Parameter '{key}' is missing or empty."),
                ))
            } else {
                Ok(None)
            }
        }
        Some(other) => Err(invalid_body(format!("Request body is invalid: '{key}' must be a string, got {other}."))),
    }
}

fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, Response> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(invalid_body("Request body is missing."));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_body("Request body must be a JSON object.")),
        Err(e) => Err(invalid_body(format!("Request body is not valid JSON: {e}."))),
    }
}

fn enum_value(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    required: bool,
) -> Result<Option<String>, Response> {
    match body_str(body, key, required)? {
        None => Ok(None),
        Some(v) => allowed.iter().find(|a| a.eq_ignore_ascii_case(&v)).map(|a| Some(a.to_string())).ok_or_else(|| {
            invalid_body(format!("Invalid value '{v}' for '{key}'. Allowed values: {}.", allowed.join(", ")))
        }),
    }
}

fn plan_timings(s: &Settings, now: OffsetDateTime, plan: Plan) -> (OffsetDateTime, OffsetDateTime) {
    let start = now.saturating_add(Duration::seconds(s.action_pending_seconds.max(0)));
    let finish = match plan {
        Plan::Succeed | Plan::Fail => start.saturating_add(Duration::seconds(s.action_run_seconds.max(0))),
        Plan::NeverPickedUp | Plan::StallThenTimeOut => {
            now.saturating_add(Duration::seconds(s.offline_timeout_seconds.max(0)))
        }
    };
    (start, finish.max(start))
}

async fn machine_action(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path((id, sub)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Response> {
    if sub.eq_ignore_ascii_case("runliveresponse") {
        return live_response::run(&state, &c, &id, &method, &uri, &body);
    }
    if sub.eq_ignore_ascii_case("startInvestigation") {
        return investigations::start(&state, &c, &id, &method, &uri, &body);
    }
    if sub.eq_ignore_ascii_case("tags") {
        return tags::update(&state, &c, &id, &method, &body);
    }
    let kind = ActionKind::from_path(&sub).ok_or_else(|| {
        errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("Machine action '{sub}' does not exist."))
    })?;
    c.require(&[kind.required_role()])?;
    let body = parse_body(&body)?;
    let comment = body_str(&body, "Comment", true)?.unwrap_or_default();
    let external_id = body_str(&body, "ExternalID", false)?;
    let (scope, sha1) = match kind {
        ActionKind::Isolate => (
            Some(
                enum_value(&body, "IsolationType", &["Full", "Selective", "UnManagedDevice"], false)?
                    .unwrap_or_else(|| "Full".into()),
            ),
            None,
        ),
        // Documented as required (run-av-scan).
        ActionKind::RunAntiVirusScan => (enum_value(&body, "ScanType", &["Quick", "Full"], true)?, None),
        ActionKind::StopAndQuarantineFile => {
            let sha1 = body_str(&body, "Sha1", true)?.unwrap_or_default();
            if sha1.len() != 40 || !sha1.chars().all(|ch| ch.is_ascii_hexdigit()) {
                return Err(errors::mde(
                    StatusCode::BAD_REQUEST,
                    "InvalidHashValue",
                    format!("Sha1 '{sha1}' is not a valid SHA-1 hash (40 hexadecimal characters)."),
                ));
            }
            (None, Some(sha1.to_ascii_lowercase()))
        }
        _ => (None, None),
    };
    let settings = state.settings.lock().clone();
    let created = with_tenant(&state, &c, |t, now| -> Result<MachineAction, Response> {
        let m = t.machine(&id).ok_or_else(|| machine_not_found(&id))?;
        let platform_ok = match kind {
            ActionKind::Offboard | ActionKind::StopAndQuarantineFile => m.is_windows(),
            ActionKind::Isolate if scope.as_deref() == Some("Selective") => m.is_windows(),
            _ => true,
        };
        if !platform_ok {
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "OsPlatformNotSupported",
                format!("{} is not supported on OS platform {} (machine {}).", kind.type_name(), m.os_platform, m.id),
            ));
        }
        if t.mde
            .actions
            .iter()
            .any(|a| a.machine_id == m.id && !a.status.is_final() && a.kind.family() == kind.family())
        {
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "ActiveRequestAlreadyExists",
                "Action is already in progress",
            ));
        }
        let online = m.is_online();
        let injected = state.faults.lock().take_outcome(&method, uri.path(), &t.tenant_id);
        let plan = match (online, injected.as_deref()) {
            (false, _) => Plan::NeverPickedUp,
            (true, Some("Failed")) => Plan::Fail,
            (true, Some("TimeOut")) => Plan::StallThenTimeOut,
            (true, _) => Plan::Succeed,
        };
        let (start_at, finish_at) = plan_timings(&settings, now, plan);
        let action = MachineAction {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            scope: scope.clone(),
            requestor: c.app_id.clone(),
            comment: comment.clone(),
            external_id: external_id.clone(),
            status: ActionStatus::Pending,
            machine_id: m.id.clone(),
            computer_dns_name: m.computer_dns_name.clone(),
            created: now,
            last_update: now,
            cancellation: None,
            related_sha1: sha1.clone(),
            commands: Vec::new(),
            plan,
            start_at,
            finish_at,
        };
        t.mde.actions.push(action.clone());
        Ok(action)
    })??;
    let mut v = created.to_json();
    set_context(&mut v, context(&state, "MachineActions/$entity"));
    Ok(json_response(StatusCode::CREATED, v))
}

async fn list_actions(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    require_read(&c)?;
    let params = Params::parse(q.as_deref());
    let items = with_tenant(&state, &c, |t, _| t.mde.actions.iter().map(MachineAction::to_json).collect::<Vec<_>>())?;
    collection(&state, &uri, &params, items, &MACHINE_ACTIONS)
}

fn action_entity(state: &AppState, a: &MachineAction) -> Value {
    let mut v = a.to_json();
    set_context(&mut v, context(state, "MachineActions/$entity"));
    v
}

async fn get_action(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    require_read(&c)?;
    let a = with_tenant(&state, &c, |t, _| t.mde.actions.iter().find(|a| a.id.eq_ignore_ascii_case(&id)).cloned())?
        .ok_or_else(|| action_not_found(&id))?;
    Ok(json_response(StatusCode::OK, action_entity(&state, &a)))
}

async fn action_get_sub(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path((id, sub)): Path<(String, String)>,
) -> Result<Response, Response> {
    match live_response::parse_link_segment(&sub) {
        Some(index) => live_response::download_link(&state, &c, &id, index),
        None => Err(errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("No resource '{sub}' on machineactions."))),
    }
}

/// `GET /api/machineactions/{id}/getPackageUri`.
async fn package_uri(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    c.require(&["Machine.CollectForensics", "Machine.Read.All", "Machine.ReadWrite.All"])?;
    let a = with_tenant(&state, &c, |t, _| t.mde.actions.iter().find(|a| a.id.eq_ignore_ascii_case(&id)).cloned())?
        .ok_or_else(|| action_not_found(&id))?;
    if a.kind != ActionKind::CollectInvestigationPackage {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Machine action {id} is of type {}, not CollectInvestigationPackage.", a.kind.type_name()),
        ));
    }
    if a.status != ActionStatus::Succeeded {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "The investigation package of machine action {id} is not available (status {}).",
                a.status.as_str()
            ),
        ));
    }
    let expiry = state.clock.now().saturating_add(Duration::minutes(30));
    let url = format!(
        "{}/_sandbox/blobs/packages/{}.zip?sv=2020-08-04&sr=b&sp=r&se={}&sig=sandbox",
        state.base_url,
        a.id,
        fmt_mde(expiry).replace(':', "%3A")
    );
    Ok(json_response(StatusCode::OK, json!({"@odata.context": context(&state, "Edm.String"), "value": url})))
}

async fn action_post_sub(
    State(state): State<AppState>,
    MdeCaller(c): MdeCaller,
    Path((id, sub)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Response> {
    if !sub.eq_ignore_ascii_case("cancel") {
        return Err(errors::mde(StatusCode::NOT_FOUND, "NotFound", format!("No action '{sub}' on machineactions.")));
    }
    let body = parse_body(&body)?;
    let comment = body_str(&body, "Comment", true)?.unwrap_or_default();
    let a = with_tenant(&state, &c, |t, now| -> Result<MachineAction, Response> {
        let a =
            t.mde.actions.iter_mut().find(|a| a.id.eq_ignore_ascii_case(&id)).ok_or_else(|| action_not_found(&id))?;
        c.require(&[a.kind.required_role()])?;
        if a.status.is_final() {
            // Undocumented upstream; upstream-apis.md suggests 400 BadRequest.
            return Err(errors::mde(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Machine action {} is in final state {} and cannot be cancelled.", a.id, a.status.as_str()),
            ));
        }
        a.status = ActionStatus::Cancelled;
        a.last_update = now;
        a.cancellation = Some((c.app_id.clone(), comment.clone(), now));
        Ok(a.clone())
    })??;
    Ok(json_response(StatusCode::OK, action_entity(&state, &a)))
}
