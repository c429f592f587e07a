//! Intune on Graph: `deviceManagement/managedDevices`, their remote actions and
//! `deviceActionResults` lifecycle (`devices.rs`), and the BitLocker recovery keys Entra ID keeps
//! for them (`keys.rs`). State lives in `world/intune.rs`.
//!
//! Permissions are checked per application role, as Graph does: device reads need one of the
//! DeviceManagementManagedDevices roles, remote actions PrivilegedOperations.All (or
//! ReadWrite.All, which the current docs also accept), recovery keys BitlockerKey.ReadBasic.All
//! for their ids and BitlockerKey.Read.All for `$select=key`; a missing role is Graph's 403
//! `Authorization_RequestDenied`.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock::fmt_utc;
use crate::errors;
use crate::state::AppState;
use crate::world::intune::{IntuneState, ManagedDevice};

mod apps;
mod devices;
mod epm;
mod keys;
mod profiles;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(devices::routes())
        .merge(keys::routes())
        .merge(profiles::routes())
        .merge(apps::routes())
        .merge(epm::routes())
}

/// Devices whose pending actions are due have checked in: the actions are done and their effects
/// applied. Called before every read of Intune state, on the sandbox clock.
pub fn settle(intune: &mut IntuneState, now: OffsetDateTime, check_in_seconds: i64) {
    let IntuneState { devices, recovery_keys, .. } = intune;
    for d in devices.iter_mut().filter(|d| d.online) {
        let due: Vec<usize> = (0..d.actions.len())
            .filter(|&i| {
                let a = &d.actions[i];
                a.state == "pending" && now >= a.start + time::Duration::seconds(check_in_seconds)
            })
            .collect();
        for i in due {
            let at = d.actions[i].start + time::Duration::seconds(check_in_seconds);
            let name = d.actions[i].action_name.clone();
            devices::complete(d, i, &name, at, recovery_keys);
            if !d.online {
                break;
            }
        }
    }
}

/// The sandbox state view of a tenant's Intune data (`/_sandbox/state/{tenant}`): devices with
/// their action results, effects and the profiles that reach them (assigned to a group holding
/// the device), profiles with their assignments, and the recovery keys (the sandbox's own view:
/// the keys are shown so tests can check that Riposte never stores them).
pub fn state_json(intune: &IntuneState, groups: &[crate::world::directory::Group]) -> Value {
    let holding = |d: &ManagedDevice| -> Vec<String> {
        groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&d.entra_object_id)))
            .map(|g| g.id.to_ascii_lowercase())
            .collect()
    };
    let targets =
        |t: &Value, groups: &[String]| t["groupId"].as_str().is_some_and(|g| groups.contains(&g.to_ascii_lowercase()));
    let reaching = |d: &ManagedDevice| -> Vec<Value> {
        let groups = holding(d);
        intune
            .profiles
            .iter()
            .filter(|p| p.assignments.iter().any(|(_, t)| targets(t, &groups)))
            .map(|p| Value::String(p.id.clone()))
            .collect()
    };
    // Apps whose assignment reaches the device through a group holding it, with the intent.
    let app_intents = |d: &ManagedDevice| -> Vec<Value> {
        let groups = holding(d);
        intune
            .mobile_apps
            .iter()
            .flat_map(|a| {
                a.assignments
                    .iter()
                    .filter(|x| targets(&x["target"], &groups))
                    .map(|x| json!({ "appId": a.id, "displayName": a.display_name, "intent": x["intent"] }))
            })
            .collect()
    };
    json!({
        "managedDevices": intune.devices.iter().map(|d| {
            let mut v = device_state_json(d);
            v["entraObjectId"] = d.entra_object_id.clone().into();
            v["assignedProfiles"] = reaching(d).into();
            v["appIntents"] = app_intents(d).into();
            v
        }).collect::<Vec<_>>(),
        "configurationProfiles": intune.profiles.iter().map(|p| {
            let mut v = profiles::profile_json(p);
            v["assignments"] = p.assignments.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>().into();
            v
        }).collect::<Vec<_>>(),
        "mobileApps": intune.mobile_apps.iter().map(|a| json!({
            "id": a.id, "displayName": a.display_name, "@odata.type": a.odata_type, "assignments": a.assignments,
        })).collect::<Vec<_>>(),
        "appRegistrations": intune.app_registrations.iter().map(apps::registration_json).collect::<Vec<_>>(),
        "elevationRequests": intune.elevation_requests.iter().map(epm::request_json).collect::<Vec<_>>(),
        "bitlockerRecoveryKeys": intune.recovery_keys.iter().map(|k| json!({
            "id": k.id, "deviceId": k.device_id, "createdDateTime": fmt_utc(k.created), "key": k.key,
        })).collect::<Vec<_>>(),
    })
}

fn device_state_json(d: &ManagedDevice) -> Value {
    let e = &d.effects;
    let mut v = devices::device_json(d, true);
    v["online"] = d.online.into();
    v["activationLockBypassCode"] = d.activation_lock_bypass_code.clone().into();
    v["effects"] = json!({
        "locked": e.locked_at.is_some(),
        "lockedAt": e.locked_at.map(fmt_utc),
        "wiped": e.wiped,
        "retired": e.retired,
        "lostMode": e.lost_mode,
        "lastDefenderScan": e.last_scan.map(|(kind, at)| json!({"scanType": kind, "completed": fmt_utc(at)})),
        "signaturesUpdatedAt": e.signatures_updated_at.map(fmt_utc),
        "rebootedAt": e.rebooted_at.map(fmt_utc),
        "shutDown": e.shut_down,
        "cleaned": e.cleaned,
        "sharedUserLoggedOutAt": e.shared_user_logged_out_at.map(fmt_utc),
        "passcodeResetAt": e.passcode_reset_at.map(fmt_utc),
        "bitLockerKeyRotations": e.bitlocker_rotations,
        "fileVaultKeyRotations": e.filevault_rotations,
        "activationLockBypassed": e.activation_lock_bypassed,
    });
    v
}

fn bad_request(message: impl Into<String>, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::BAD_REQUEST, "BadRequest", message, headers)
}

fn not_found(what: &str, id: &str, headers: &HeaderMap) -> Response {
    errors::graph(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The {what} '{id}' was not found."), headers)
}

fn unknown_tenant(headers: &HeaderMap) -> Response {
    errors::graph(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        headers,
    )
}
