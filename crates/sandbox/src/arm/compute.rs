//! Microsoft.Compute rules: VM power actions (upstream-apis.md §5.4), the instance view that
//! reports them, and snapshots of managed disks.
//!
//! A power action moves the VM to a transition state (`PowerState/stopping`, ...) with
//! `provisioningState` `Updating` while its operation runs, then to the final power state and
//! `Succeeded`; a failed action leaves the power state where it was and `provisioningState`
//! `Failed`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock::fmt_utc;
use crate::errors;
use crate::world::arm::{ArmStore, Resource};

/// (action, transition power state, final power state).
const ACTIONS: &[(&str, &str, &str)] = &[
    ("powerOff", "stopping", "stopped"),
    ("deallocate", "deallocating", "deallocated"),
    ("start", "starting", "running"),
    ("restart", "starting", "running"),
    ("redeploy", "starting", "running"),
];

/// The canonical action name, if `name` is a VM action we emulate.
pub fn action(name: &str) -> Option<&'static str> {
    ACTIONS.iter().find(|(a, _, _)| a.eq_ignore_ascii_case(name)).map(|(a, _, _)| *a)
}

/// Starts an action: returns the power state to restore if it fails.
pub fn begin_action(vm: &mut Resource, action: &str) -> String {
    let previous = vm.power_state.clone().unwrap_or_else(|| "running".into());
    if let Some((_, transition, _)) = ACTIONS.iter().find(|(a, _, _)| *a == action) {
        vm.power_state = Some((*transition).to_string());
    }
    vm.set_provisioning_state("Updating");
    previous
}

pub fn finish_action(vm: &mut Resource, action: &str, previous: &str, ok: bool) {
    let fin = ACTIONS.iter().find(|(a, _, _)| *a == action).map(|(_, _, f)| *f).unwrap_or("running");
    vm.power_state = Some(if ok { fin } else { previous }.to_string());
    vm.set_provisioning_state(if ok { "Succeeded" } else { "Failed" });
}

/// `GET .../virtualMachines/{vm}/instanceView`, also embedded by `$expand=instanceView`.
pub fn instance_view(vm: &Resource) -> Value {
    let power = vm.power_state.as_deref().unwrap_or("running");
    let prov = vm.provisioning_state().unwrap_or("Succeeded");
    let linux = vm.body.pointer("/properties/storageProfile/osDisk/osType").and_then(Value::as_str) == Some("Linux");
    json!({
        "computerName": vm.body.pointer("/properties/osProfile/computerName").cloned().unwrap_or_else(|| vm.name().into()),
        "osName": if linux { "ubuntu" } else { "Windows Server 2019 Datacenter" },
        "statuses": [
            {"code": format!("ProvisioningState/{}", prov.to_ascii_lowercase()), "level": "Info", "displayStatus": format!("Provisioning {}", prov.to_ascii_lowercase())},
            {"code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {}", power)}
        ]
    })
}

/// The VM as GET returns it, with the instance view when `$expand=instanceView`.
pub fn render_vm(vm: &Resource, expand_instance_view: bool) -> Value {
    let mut body = vm.body.clone();
    if expand_instance_view && let Some(p) = body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("instanceView".into(), instance_view(vm));
    }
    body
}

/// Server-side fields of a new or replaced VM: a `vmId` (kept on replace) and a running VM.
pub fn prepare_vm(old: Option<&Resource>, new: &mut Resource) {
    let vm_id = old
        .and_then(|o| o.body.pointer("/properties/vmId").cloned())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string().into());
    if let Some(p) = new.body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("vmId".into(), vm_id);
    }
    new.power_state = Some(old.and_then(|o| o.power_state.clone()).unwrap_or_else(|| "running".into()));
}

/// A snapshot copies a disk (or snapshot) named by `creationData.sourceResourceId`: the source
/// must exist; size and OS type come from it. Compute answers a missing source with
/// `NotFound` "The entity was not found in this Azure location." [I].
pub fn prepare_snapshot(store: &ArmStore, snap: &mut Resource, now: time::OffsetDateTime) -> Result<(), Response> {
    let source_id =
        snap.body.pointer("/properties/creationData/sourceResourceId").and_then(Value::as_str).map(str::to_owned);
    let Some(source_id) = source_id else {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "Required parameter 'creationData.sourceResourceId' is missing (null).",
        ));
    };
    let Some(source) = store.get(&source_id) else {
        return Err(errors::arm(StatusCode::NOT_FOUND, "NotFound", "The entity was not found in this Azure location."));
    };
    let size = source.body.pointer("/properties/diskSizeGB").cloned();
    let os = source.body.pointer("/properties/osType").cloned();
    if let Some(p) = snap.body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("diskSizeGB".into(), size.unwrap_or_else(|| 128.into()));
        if let Some(os) = os {
            p.insert("osType".into(), os);
        }
        p.insert("timeCreated".into(), fmt_utc(now).into());
        p.insert("uniqueId".into(), uuid::Uuid::new_v4().to_string().into());
        p.insert("diskState".into(), "Unattached".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_actions_move_through_transitions() {
        let mut vm = Resource::new(
            "/x/virtualMachines/vm".into(),
            "Microsoft.Compute/virtualMachines",
            json!({"properties": {"provisioningState": "Succeeded"}}),
        );
        vm.power_state = Some("running".into());
        let prev = begin_action(&mut vm, "powerOff");
        assert_eq!(instance_view(&vm)["statuses"][1]["code"], "PowerState/stopping");
        assert_eq!(vm.provisioning_state(), Some("Updating"));
        finish_action(&mut vm, "powerOff", &prev, true);
        assert_eq!(vm.power_state.as_deref(), Some("stopped"));
        let prev = begin_action(&mut vm, "start");
        finish_action(&mut vm, "start", &prev, false);
        assert_eq!(vm.power_state.as_deref(), Some("stopped"));
        assert_eq!(vm.provisioning_state(), Some("Failed"));
        assert_eq!(action("POWEROFF"), Some("powerOff"));
    }
}
