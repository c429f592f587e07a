//! Intune (Graph `deviceManagement/managedDevices`, upstream-apis.md §4.7): remote device
//! actions, BitLocker/FileVault keys and passcodes, compliance reads.
//!
//! Every device action is `POST /deviceManagement/managedDevices/{id}/<action>`, answered 204:
//! Intune only queues a command, and the device carries it out when it next checks in. What
//! happened is read back from the device's `deviceActionResults` (`GetManagedDevice`).
//!
//! The device parameter takes any identity of the device ([`ParamKind::ManagedDevice`]): the
//! Intune id, the Entra device id, the MDE machine id of the same device, or its DNS name. The
//! engine resolves it to the Intune id before the operation is recorded, so "lock the device MDE
//! says is compromised" is one call (`engine/src/procedures/intune/devices.rs`).
//!
//! By area: `devices.rs` remote actions and reads, `keys.rs` keys and passcodes (the secrets
//! among the answers are declared `sensitive_results`), `profiles.rs` configuration profiles
//! assigned to one device and removed again, `apps.rs` app uninstall, app protection wipe and
//! Endpoint Privilege Management elevation requests, `unsupported.rs` the seed names with no honest API.
use crate::*;

mod apps;
mod devices;
mod keys;
mod profiles;
mod unsupported;

/// Every Intune action, area by area.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    devices::ACTIONS
        .iter()
        .chain(keys::ACTIONS)
        .chain(profiles::ACTIONS)
        .chain(apps::ACTIONS)
        .chain(unsupported::ACTIONS)
}

/// Effect checks of this product's actions (`verify.rs`). None yet: a device action's effect is
/// a `deviceActionResults` entry that turns `done` only when the device checks in, which can be
/// hours away; the e2e tests assert it in the sandbox instead.
pub static CHECKS: &[verify::Check] = &[];

// --- Shared parameters ------------------------------------------------------------------------

/// The one device an action targets, by any identity (resolved by the engine to the Intune id).
pub(crate) const DEVICE: ParamSpec = ParamSpec {
    name: "deviceId",
    aliases: &["managedDeviceId", "intuneDeviceId", "machineId", "azureADDeviceId", "aadDeviceId", "deviceName"],
    kind: ParamKind::ManagedDevice,
    required: true,
    default: None,
    doc: "The device: its Intune id or Entra device id (GUID), its MDE machine id (40 hex) or its DNS name",
};

/// The device, where an action can do without it (or only checks it).
const OPTIONAL_DEVICE: ParamSpec = ParamSpec { required: false, ..DEVICE };

/// The permission every remote action needs (Graph also accepts
/// DeviceManagementManagedDevices.ReadWrite.All for most of them).
pub(crate) const PRIVILEGED: &str = "DeviceManagementManagedDevices.PrivilegedOperations.All";
const READ: &str = "DeviceManagementManagedDevices.Read.All";

// --- Call shapes ------------------------------------------------------------------------------

/// `POST /v1.0/deviceManagement/managedDevices/{deviceId}/<action>` (answered 204).
const fn device_action(path: &'static str) -> Call {
    Call::new(Api::Graph, Method::Post, path)
}

/// A remote action row: one device, no body beyond what `call` says, answered when Intune queued it.
const fn remote(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    risk: Risk,
    inverse: Option<&'static str>,
    call: Call,
) -> ActionSpec {
    ActionSpec {
        product: Product::Intune,
        name,
        summary,
        aliases,
        params,
        risk,
        inverse,
        permission: PRIVILEGED,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(call),
    }
}

/// A read row of this product.
const fn read(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    call: Call,
) -> ActionSpec {
    ActionSpec::read(Product::Intune, name, summary, aliases, params, READ, call)
}

const fn optional_bool(name: &'static str, default: Option<&'static str>, doc: &'static str) -> ParamSpec {
    ParamSpec { name, aliases: &[], kind: ParamKind::Bool, required: false, default, doc }
}

const fn optional_text(name: &'static str, max: usize, default: Option<&'static str>, doc: &'static str) -> ParamSpec {
    ParamSpec { name, aliases: &[], kind: ParamKind::Text { max }, required: false, default, doc }
}
