//! `deviceManagement/managedDevices`: list, get, per-device compliance policy states, and the
//! remote actions (`POST managedDevices/{id}/<action>`, answered 204 with no body).
//!
//! An action Graph has only in beta (`enableLostMode`, `rotateBitLockerKeys`,
//! `rotateFileVaultKey`) is a 400 on v1.0, as an unknown segment is. An action the device's
//! platform cannot carry out is recorded `notSupported`, as Intune reports it. `wipe` checks its
//! flags: the Windows-only flags on another platform, and a Mac's recovery PIN, are 400s naming
//! the property.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{bad_request, not_found, settle, unknown_tenant};
use crate::auth::GraphCaller;
use crate::clock::fmt_utc;
use crate::entity_set;
use crate::errors::json_response;
use crate::query::{Params, project};
use crate::state::AppState;
use crate::world::intune::{ActionResult, ManagedDevice, RecoveryKey, recovery_key};

const READ_ROLES: &[&str] = &[
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
];
const ACT_ROLES: &[&str] =
    &["DeviceManagementManagedDevices.PrivilegedOperations.All", "DeviceManagementManagedDevices.ReadWrite.All"];

const ALL: &[&str] = &["Windows", "macOS", "iOS", "Android"];
const WINDOWS: &[&str] = &["Windows"];
const IOS: &[&str] = &["iOS"];

/// A remote action Graph knows: its segment, the platforms that carry it out, and whether only
/// beta has it.
struct Kind {
    name: &'static str,
    platforms: &'static [&'static str],
    beta_only: bool,
}

const fn kind(name: &'static str, platforms: &'static [&'static str], beta_only: bool) -> Kind {
    Kind { name, platforms, beta_only }
}

const KINDS: &[Kind] = &[
    kind("remoteLock", ALL, false),
    kind("wipe", ALL, false),
    kind("retire", ALL, false),
    kind("syncDevice", ALL, false),
    kind("windowsDefenderScan", WINDOWS, false),
    kind("windowsDefenderUpdateSignatures", WINDOWS, false),
    kind("rebootNow", &["Windows", "iOS"], false),
    kind("shutDown", &["iOS", "macOS"], false),
    kind("enableLostMode", IOS, true),
    kind("disableLostMode", IOS, false),
    kind("resetPasscode", &["iOS", "Android"], false),
    kind("cleanWindowsDevice", WINDOWS, false),
    kind("logoutSharedAppleDeviceActiveUser", IOS, false),
    kind("rotateBitLockerKeys", WINDOWS, true),
    kind("rotateFileVaultKey", &["macOS"], true),
    kind("bypassActivationLock", &["iOS", "macOS"], false),
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        r = r
            .route(&format!("/{v}/deviceManagement/managedDevices"), get(list))
            .route(&format!("/{v}/deviceManagement/managedDevices/{{id}}"), get(get_one))
            .route(&format!("/{v}/deviceManagement/managedDevices/{{id}}/{{segment}}"), get(get_sub).post(act));
    }
    r
}

const SET: entity_set::SetSpec = entity_set::SetSpec {
    entity: "microsoft.graph.managedDevice",
    filterable: &[
        "id",
        "deviceName",
        "operatingSystem",
        "azureADDeviceId",
        "complianceState",
        "managementState",
        "userPrincipalName",
        "userId",
        "serialNumber",
    ],
    sortable: &["deviceName", "lastSyncDateTime", "enrolledDateTime"],
    select: entity_set::Select::Free,
    paging: entity_set::Paging::SkipToken { default: 1000, max: 1000, prefix: "sandbox-managed-devices" },
};

fn is_beta(uri: &Uri) -> bool {
    uri.path().starts_with("/beta/")
}

fn check_in_seconds(state: &AppState) -> i64 {
    state.settings.lock().action_pending_seconds
}

/// The managedDevice as Graph answers it. Beta action results carry their derived type (a
/// `resetPasscodeActionResult` with the passcode the device reported); v1.0 has only the base.
pub(super) fn device_json(d: &ManagedDevice, beta: bool) -> Value {
    let results: Vec<Value> = d
        .actions
        .iter()
        .map(|a| {
            let mut r = json!({
                "actionName": a.action_name,
                "actionState": a.state,
                "startDateTime": fmt_utc(a.start),
                "lastUpdatedDateTime": fmt_utc(a.updated),
            });
            if beta && a.action_name == "resetPasscode" {
                r["@odata.type"] = "#microsoft.graph.resetPasscodeActionResult".into();
                r["passcode"] = a.passcode.clone().into();
            }
            r
        })
        .collect();
    let mut v = json!({
        "id": d.id,
        "userId": d.user_id,
        "deviceName": d.device_name,
        "managedDeviceOwnerType": "company",
        "enrolledDateTime": fmt_utc(d.enrolled),
        "lastSyncDateTime": fmt_utc(d.last_sync),
        "operatingSystem": d.operating_system,
        "osVersion": d.os_version,
        "complianceState": d.compliance_state,
        "managementState": d.management_state,
        "managementAgent": "mdm",
        "jailBroken": "False",
        "azureADRegistered": true,
        "azureADDeviceId": d.azure_ad_device_id,
        "deviceRegistrationState": "registered",
        "isSupervised": d.is_supervised,
        "isEncrypted": d.is_encrypted,
        "userPrincipalName": d.user_principal_name,
        "userDisplayName": d.user_display_name,
        "emailAddress": d.user_principal_name,
        "model": d.model,
        "manufacturer": d.manufacturer,
        "serialNumber": d.serial_number,
        "deviceActionResults": results,
    });
    if beta {
        v["lostModeState"] = if d.effects.lost_mode { "enabled" } else { "disabled" }.into();
    }
    v
}

async fn list(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let params = Params::parse(q.as_deref());
    let rows: Vec<Value> = {
        let wait = check_in_seconds(&state);
        let mut world = state.world.lock();
        let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        settle(&mut t.intune, state.clock.now(), wait);
        t.intune.devices.iter().map(|d| device_json(d, is_beta(&uri))).collect()
    };
    let link = format!("{}{}", state.base_url, uri.path());
    let page = entity_set::query(&SET, &params, rows, &link).map_err(|e| query_error(e, &headers))?;
    let ctx = format!("{}/{}/$metadata#deviceManagement/managedDevices", state.base_url, version(&uri));
    Ok(json_response(StatusCode::OK, page.body(ctx, &params)))
}

fn version(uri: &Uri) -> &'static str {
    if is_beta(uri) { "beta" } else { "v1.0" }
}

fn query_error(e: entity_set::QueryError, headers: &HeaderMap) -> Response {
    use entity_set::QueryError as Q;
    let message = match e {
        Q::Filter(m) => format!("Invalid filter clause: {m}"),
        Q::OrderBy(m) => format!("Invalid $orderby: {m}"),
        Q::Top(t) | Q::Skip(t) | Q::Select(t) => format!("Invalid query option value '{t}'."),
        Q::TopTooLarge(n, max) => format!("The $top value {n} exceeds the maximum of {max}."),
        Q::SkipToken => "The $skiptoken is invalid or has expired.".to_string(),
    };
    bad_request(message, headers)
}

async fn get_one(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    let params = Params::parse(q.as_deref());
    let device = {
        let wait = check_in_seconds(&state);
        let mut world = state.world.lock();
        let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
        settle(&mut t.intune, state.clock.now(), wait);
        let d = t.intune.device_mut(&id).ok_or_else(|| not_found("managed device", &id, &headers))?;
        let mut v = device_json(d, is_beta(&uri));
        // Returned only when asked for by name, as on Graph.
        v["activationLockBypassCode"] = d.activation_lock_bypass_code.clone().into();
        v
    };
    let select: Vec<String> = params
        .get("$select")
        .map(|s| s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let device = match device {
        mut v if !select.iter().any(|s| s.eq_ignore_ascii_case("activationLockBypassCode")) => {
            v["activationLockBypassCode"] = Value::Null;
            v
        }
        v => v,
    };
    let mut v = project(vec![device], &select).pop().unwrap_or(Value::Null);
    v["@odata.context"] =
        format!("{}/{}/$metadata#deviceManagement/managedDevices/$entity", state.base_url, version(&uri)).into();
    Ok(json_response(StatusCode::OK, v))
}

/// `GET managedDevices/{id}/deviceCompliancePolicyStates`: the device against its compliance
/// policy (the sandbox assigns every device Intune's default policy).
async fn get_sub(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, segment)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Response> {
    c.require(READ_ROLES)?;
    if !segment.eq_ignore_ascii_case("deviceCompliancePolicyStates") {
        return Err(bad_request(format!("Resource not found for the segment '{segment}'."), &headers));
    }
    let wait = check_in_seconds(&state);
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    settle(&mut t.intune, state.clock.now(), wait);
    let d = t.intune.device_mut(&id).ok_or_else(|| not_found("managed device", &id, &headers))?;
    let platform = match d.operating_system.as_str() {
        "Windows" => "windows10AndLater",
        "macOS" => "macOS",
        "iOS" => "iOS",
        _ => "android",
    };
    let policy = json!({
        "id": format!("{}_default", d.id),
        "displayName": "Default Device Compliance Policy",
        "version": 1,
        "platformType": platform,
        "state": d.compliance_state,
        "settingCount": 3,
        "settingStates": [],
    });
    let ctx = format!(
        "{}/{}/$metadata#deviceManagement/managedDevices('{}')/deviceCompliancePolicyStates",
        state.base_url,
        version(&uri),
        d.id
    );
    Ok(json_response(StatusCode::OK, json!({ "@odata.context": ctx, "value": [policy] })))
}

/// `POST managedDevices/{id}/<action>`: the action is queued (`pending`) and answered 204.
async fn act(
    State(state): State<AppState>,
    GraphCaller(c): GraphCaller,
    Path((id, segment)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let kind = KINDS
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(&segment))
        .filter(|k| is_beta(&uri) || !k.beta_only)
        .ok_or_else(|| bad_request(format!("Resource not found for the segment '{segment}'."), &headers))?;
    c.require(ACT_ROLES)?;
    let body = parse_body(&body, &headers)?;
    let now = state.clock.now();
    let wait = check_in_seconds(&state);
    let mut world = state.world.lock();
    let t = world.tenant_mut(&c.tenant_id).ok_or_else(|| unknown_tenant(&headers))?;
    settle(&mut t.intune, now, wait);
    let d = t.intune.device_mut(&id).ok_or_else(|| not_found("managed device", &id, &headers))?;
    check_body(kind.name, &body, d).map_err(|m| bad_request(m, &headers))?;
    let supported = kind.platforms.iter().any(|p| d.is(p));
    queue(d, kind.name, supported, now);
    if kind.name == "windowsDefenderScan" {
        let quick = body.get("quickScan").and_then(Value::as_bool).unwrap_or(false);
        if let Some(a) = d.actions.last_mut() {
            a.quick_scan = Some(quick);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_body(body: &[u8], headers: &HeaderMap) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("The request body must be a JSON object.", headers)),
        Err(e) => Err(bad_request(format!("Unable to read JSON request payload: {e}."), headers)),
    }
}

/// The action's parameters, checked as Graph and the device platform require; the message names
/// the property.
fn check_body(action: &str, body: &Map<String, Value>, d: &ManagedDevice) -> Result<(), String> {
    let flag = |name: &str| -> Result<bool, String> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(format!("Cannot convert the literal '{v}' to the expected type 'Edm.Boolean' ({name}).")),
        }
    };
    let text = |name: &str| -> Result<Option<String>, String> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("Cannot convert the value of '{name}' to the expected type 'Edm.String'.")),
        }
    };
    match action {
        "wipe" => {
            let windows_only = flag("keepEnrollmentData")? || flag("keepUserData")?;
            flag("persistEsimDataPlan")?;
            if windows_only && !d.is("Windows") {
                return Err(format!(
                    "keepEnrollmentData and keepUserData apply to Windows devices only; device '{}' runs {}.",
                    d.id, d.operating_system
                ));
            }
            match text("macOsUnlockCode")? {
                Some(code) if !(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit())) => {
                    return Err("macOsUnlockCode must be a six-digit recovery PIN.".into());
                }
                Some(_) if !d.is("macOS") => {
                    return Err(format!(
                        "macOsUnlockCode applies to macOS devices only; device '{}' runs {}.",
                        d.id, d.operating_system
                    ));
                }
                None if d.is("macOS") => {
                    return Err("macOsUnlockCode is required to wipe a macOS device: a six-digit recovery PIN.".into());
                }
                _ => {}
            }
        }
        "windowsDefenderScan" => {
            flag("quickScan")?;
        }
        "cleanWindowsDevice" => {
            flag("keepUserData")?;
        }
        "enableLostMode" => {
            let message = text("message")?;
            let phone = text("phoneNumber")?;
            text("footer")?;
            if message.as_deref().unwrap_or("").is_empty() && phone.as_deref().unwrap_or("").is_empty() {
                return Err("enableLostMode needs a message or a phoneNumber to show on the lock screen.".into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Record the action as `deviceActionResults` shows it: Intune keeps the latest result per action.
fn queue(d: &mut ManagedDevice, action: &str, supported: bool, now: OffsetDateTime) {
    d.actions.retain(|a| a.action_name != action);
    let state = if supported { "pending" } else { "notSupported" };
    d.actions.push(ActionResult {
        action_name: action.to_string(),
        state: state.to_string(),
        start: now,
        updated: now,
        passcode: None,
        quick_scan: None,
    });
    if supported {
        match action {
            "wipe" => d.management_state = "wipePending".into(),
            "retire" => d.management_state = "retirePending".into(),
            _ => {}
        }
    }
}

/// The device checked in at `at` and carried out action `i`.
pub(super) fn complete(d: &mut ManagedDevice, i: usize, action: &str, at: OffsetDateTime, keys: &mut Vec<RecoveryKey>) {
    let mut rng = StdRng::seed_from_u64(rand::random());
    d.actions[i].state = "done".into();
    d.actions[i].updated = at;
    d.last_sync = at;
    let e = &mut d.effects;
    match action {
        "remoteLock" => e.locked_at = Some(at),
        "wipe" => {
            e.wiped = true;
            d.management_state = "wipeIssued".into();
        }
        "retire" => {
            e.retired = true;
            d.management_state = "retireIssued".into();
        }
        "windowsDefenderScan" => {
            let quick = d.actions[i].quick_scan.unwrap_or(false);
            e.last_scan = Some((if quick { "Quick" } else { "Full" }, at));
        }
        "windowsDefenderUpdateSignatures" => e.signatures_updated_at = Some(at),
        "rebootNow" => e.rebooted_at = Some(at),
        "shutDown" => {
            e.shut_down = true;
            d.online = false;
        }
        "enableLostMode" => e.lost_mode = true,
        "disableLostMode" => e.lost_mode = false,
        "resetPasscode" => {
            e.passcode_reset_at = Some(at);
            // Android device administrator reports a new passcode; iOS removes the passcode.
            if d.operating_system == "Android" {
                d.actions[i].passcode = Some(format!("{:08}", rand::Rng::random_range(&mut rng, 0..100_000_000u32)));
            }
        }
        "cleanWindowsDevice" => e.cleaned = true,
        "logoutSharedAppleDeviceActiveUser" => e.shared_user_logged_out_at = Some(at),
        "rotateBitLockerKeys" => {
            e.bitlocker_rotations += 1;
            keys.push(recovery_key(&mut rng, &d.azure_ad_device_id, at));
        }
        "rotateFileVaultKey" => e.filevault_rotations += 1,
        "bypassActivationLock" => e.activation_lock_bypassed = true,
        _ => {}
    }
}
