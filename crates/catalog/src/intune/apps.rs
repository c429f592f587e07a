//! Apps and elevation: uninstalling an Intune app from one device, the app protection selective
//! wipe, and Endpoint Privilege Management's support-approved elevation requests.
//!
//! What the seed did under these names was not what they say: `UninstallApp` assigned an
//! uninstall to every licensed user (tenant-wide), `WipeAppData` called an action Graph does not
//! have, and the EPM names called resources that do not exist. Here:
//! - `UninstallApp` adds an `uninstall` assignment for a group holding only the device, keeping
//!   the app's other assignments (Graph's `assign` replaces them all);
//! - `WipeAppData` is Intune's selective wipe, which removes the corporate data of *every*
//!   app-protection-managed app of the device's user on that device: Intune cannot wipe one app,
//!   so an `appId` is refused rather than silently widened;
//! - `RevokeElevation` revokes an approved elevation request, `BlockElevationRequest` denies the
//!   pending requests to run an application elevated on a device (beta `elevationRequests`).
use super::*;

const APP_ID: ParamSpec = ParamSpec {
    name: "appId",
    aliases: &["mobileAppId", "applicationId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The Intune app's id (deviceAppManagement/mobileApps)",
};

/// Declared so that it is refused with the reason, not ignored (ignoring it would wipe more apps
/// than the caller named).
const ONE_APP: ParamSpec = ParamSpec {
    name: "appId",
    aliases: &["mobileAppId", "applicationId", "bundleId", "packageId"],
    kind: ParamKind::Text { max: 200 },
    required: false,
    default: None,
    doc: "Not accepted: the selective wipe covers every protected app of the user on the device; leave it out",
};

const ELEVATION_ID: ParamSpec = ParamSpec {
    name: "elevationId",
    aliases: &["elevationRequestId", "requestId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The elevation request's id (deviceManagement/elevationRequests)",
};

const APPLICATION_PATH: ParamSpec = ParamSpec {
    name: "applicationPath",
    aliases: &["filePath", "path"],
    kind: ParamKind::Text { max: 260 },
    required: true,
    default: None,
    doc: r"The application's full path (C:\Tools\setup.exe), or its file name (setup.exe)",
};

const FILE_HASH: ParamSpec = ParamSpec {
    name: "fileHash",
    aliases: &["sha256", "hash"],
    kind: ParamKind::Sha256,
    required: false,
    default: None,
    doc: "Only requests for the file of this SHA-256",
};

const JUSTIFICATION: ParamSpec = optional_text(
    "justification",
    500,
    Some("Refused by the security team (Riposte)"),
    "The reviewer's justification the user sees",
);

const fn procedure(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    risk: Risk,
    permission: &'static str,
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Intune,
        name,
        summary,
        aliases,
        params,
        risk,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

const EPM: &str = "DeviceManagementConfiguration.Read.All (as documented for elevation request actions)";

pub static ACTIONS: &[ActionSpec] = &[
    procedure(
        "UninstallApp",
        "Uninstall an Intune app from one device: an uninstall assignment for a group holding only the device (its other assignments are kept; a Required assignment that also reaches the device wins)",
        &["RemoveAppFromDevice"],
        &[DEVICE, APP_ID],
        Risk::Remediate,
        "DeviceManagementApps.ReadWrite.All, Group.ReadWrite.All, Device.Read.All",
        "intune.apps.uninstall",
    ),
    procedure(
        "WipeAppData",
        "Selective wipe: remove the corporate data of every app-protection-managed app of the device's user on that device (Intune cannot wipe a single app)",
        &["SelectiveWipe", "WipeManagedAppData"],
        &[DEVICE, ONE_APP],
        Risk::Destructive,
        "DeviceManagementApps.ReadWrite.All",
        "intune.apps.wipe_app_data",
    ),
    procedure(
        "RevokeElevation",
        "Revoke an approved Endpoint Privilege Management elevation request (checked against the device when one is given)",
        &["RevokeElevationRequest"],
        &[ELEVATION_ID, OPTIONAL_DEVICE, JUSTIFICATION],
        Risk::Contain,
        EPM,
        "intune.epm.revoke",
    ),
    procedure(
        "BlockElevationRequest",
        "Deny a device's pending Endpoint Privilege Management requests to run an application elevated (by path or file name, optionally its SHA-256)",
        &["DenyElevationRequest", "DenyElevation"],
        &[DEVICE, APPLICATION_PATH, FILE_HASH, JUSTIFICATION],
        Risk::Contain,
        EPM,
        "intune.epm.deny_pending",
    ),
];
