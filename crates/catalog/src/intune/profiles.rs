//! Configuration profiles that reach one device: created, assigned to a security group holding
//! only that device, and removed again (profile and group) by `RemoveConfigProfile`.
//!
//! The seed created these profiles and never assigned them, so they reached no device; here each
//! is honest and reversible: `BlockCamera` on a Windows device is a `windows10GeneralConfiguration`
//! with `cameraBlocked`, assigned to a group whose one member is the device's Entra object. The
//! setting is picked by the device's platform; a platform Intune has no such setting for is a 400.
//! The answer carries `profileId` and `groupId`; `RemoveConfigProfile` with that `profileId`
//! undoes it (the catalog's `inverse` pairs it with `DeployConfigProfile`, its one exact inverse).
use super::*;

/// Intune configuration plus the group and device reads the assignment needs.
const PERMISSION: &str = "DeviceManagementConfiguration.ReadWrite.All, Group.ReadWrite.All, Device.Read.All, DeviceManagementManagedDevices.Read.All";

const fn setting(name: &'static str, summary: &'static str, aliases: &'static [&'static str]) -> ActionSpec {
    ActionSpec {
        product: Product::Intune,
        name,
        summary,
        aliases,
        params: &[DEVICE],
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("intune.profiles.deploy_setting")),
    }
}

/// The seed's `profileName`; an id is taken too (a GUID is looked up as the profile's id).
const PROFILE: ParamSpec = ParamSpec {
    name: "profileName",
    aliases: &["profileId", "profile", "displayName", "configurationId"],
    kind: ParamKind::Text { max: 200 },
    required: true,
    default: None,
    doc: "The existing profile: its display name or its id",
};

const PROFILE_ID: ParamSpec = ParamSpec {
    name: "profileId",
    aliases: &["configurationId", "deviceConfigurationId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The configuration profile's id, as a Riposte profile action answered it",
};

pub static ACTIONS: &[ActionSpec] = &[
    setting(
        "BlockCamera",
        "Block the camera on one device: a device-restrictions profile (Windows, iOS/iPadOS, Android) assigned to it alone",
        &["DisableCamera"],
    ),
    setting(
        "DisableUSBStorage",
        "Block removable storage on one device: a device-restrictions profile (Windows, Android) assigned to it alone",
        &["BlockUSBStorage", "BlockRemovableStorage"],
    ),
    setting(
        "EnableFirewall",
        "Turn the firewall on for one device: an endpoint-protection profile (Windows: every network profile; macOS) assigned to it alone",
        &["TurnOnFirewall"],
    ),
    setting(
        "EnableBitLocker",
        "Require BitLocker encryption on one Windows device: an endpoint-protection profile assigned to it alone",
        &["RequireBitLocker"],
    ),
    setting(
        "EnableFileVault",
        "Require FileVault on one Mac, with a personal recovery key escrowed to Intune: an endpoint-protection profile assigned to it alone",
        &["RequireFileVault"],
    ),
    setting(
        "EnableDeviceEncryption",
        "Require disk encryption on one device: BitLocker on Windows, FileVault on macOS (an endpoint-protection profile assigned to it alone)",
        &["RequireDeviceEncryption"],
    ),
    ActionSpec {
        product: Product::Intune,
        name: "DeployConfigProfile",
        summary: "Assign an existing configuration profile to one more device (a group holding the device is added to the profile's assignments, the others are kept)",
        aliases: &["AssignConfigProfile"],
        params: &[DEVICE, PROFILE],
        risk: Risk::Contain,
        inverse: Some("RemoveConfigProfile"),
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("intune.profiles.deploy_existing")),
    },
    ActionSpec {
        product: Product::Intune,
        name: "RemoveConfigProfile",
        summary: "Undo a Riposte profile assignment: remove the groups Riposte made for the device (or for every device) from the profile's assignments and delete them; a profile Riposte created is deleted once nothing is assigned",
        aliases: &["UnassignConfigProfile"],
        params: &[PROFILE_ID, OPTIONAL_DEVICE],
        risk: Risk::Contain,
        inverse: Some("DeployConfigProfile"),
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("intune.profiles.remove")),
    },
];
