//! Remote device actions and device reads.
//!
//! Paths are v1.0 where Graph has the action there; `enableLostMode`, `rotateBitLockerKeys` and
//! `rotateFileVaultKey` exist only in beta (their v1.0 segments answer 400).
use super::*;

const KEEP_ENROLLMENT_DATA: ParamSpec = optional_bool(
    "keepEnrollmentData",
    Some("false"),
    "Windows only: keep the enrollment state and provisioning data (doWipePersistProvisionedData)",
);
const KEEP_USER_DATA: ParamSpec =
    optional_bool("keepUserData", Some("false"), "Windows only: keep user accounts and data (doWipePersistUserData)");

/// The six-digit recovery PIN a Mac needs to be wiped: a secret, sent to Graph and nowhere else.
const MAC_UNLOCK_CODE: ParamSpec = ParamSpec {
    name: "macOsUnlockCode",
    aliases: &["macOSUnlockCode", "unlockCode", "recoveryPin"],
    kind: ParamKind::Secret { max: 6 },
    required: false,
    default: None,
    doc: "macOS only: the six-digit recovery PIN the Mac asks for after the wipe",
};

const PERSIST_ESIM: ParamSpec =
    optional_bool("persistEsimDataPlan", None, "Keep the eSIM data plan through the wipe (iOS/iPadOS)");

const SCAN_TYPE: ParamSpec = ParamSpec {
    name: "scanType",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Quick", "Full"] },
    required: false,
    default: Some("Quick"),
    doc: "Quick or Full Defender Antivirus scan",
};

const LOST_MESSAGE: ParamSpec = optional_text(
    "message",
    160,
    Some("This device has been reported as lost. Please contact IT."),
    "Message on the lock screen",
);
const LOST_PHONE: ParamSpec = optional_text("phoneNumber", 40, None, "Phone number on the lock screen");
const LOST_FOOTER: ParamSpec = optional_text("footer", 160, None, "Footnote on the lock screen");

const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter on managed devices, e.g. operatingSystem eq 'Windows'",
};
const TOP: ParamSpec = ParamSpec {
    name: "top",
    aliases: &["$top"],
    kind: ParamKind::Int { min: 1, max: 1000 },
    required: false,
    default: None,
    doc: "Most devices per page (1-1000); every page is read",
};
/// The compliance view of the device list: what the seed's GetDeviceComplianceStatus selected.
const COMPLIANCE_SELECT: ParamSpec = ParamSpec {
    name: "select",
    aliases: &["$select"],
    kind: ParamKind::Text { max: 500 },
    required: false,
    default: Some("id,deviceName,operatingSystem,complianceState,lastSyncDateTime,azureADDeviceId,userPrincipalName"),
    doc: "Properties to return ($select)",
};

const DEVICES: &str = "/v1.0/deviceManagement/managedDevices";

pub static ACTIONS: &[ActionSpec] = &[
    remote(
        "RemoteLock",
        "Lock the device's screen now (the user unlocks it with their PIN or password)",
        &["LockDevice", "RemoteLockDevice"],
        &[DEVICE],
        Risk::Contain,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/remoteLock"),
    ),
    remote(
        "WipeDevice",
        "Factory-reset the device (Windows may keep enrollment and user data; a Mac needs its recovery PIN)",
        &["Wipe", "FactoryResetDevice"],
        &[DEVICE, KEEP_ENROLLMENT_DATA, KEEP_USER_DATA, MAC_UNLOCK_CODE, PERSIST_ESIM],
        Risk::Destructive,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/wipe").body(&[
            ("keepEnrollmentData", BodyValue::Param("keepEnrollmentData")),
            ("keepUserData", BodyValue::Param("keepUserData")),
            ("macOsUnlockCode", BodyValue::Param("macOsUnlockCode")),
            ("persistEsimDataPlan", BodyValue::Param("persistEsimDataPlan")),
        ]),
    ),
    remote(
        "RetireDevice",
        "Remove company data, apps and profiles and unenroll the device; personal data stays",
        &["Retire"],
        &[DEVICE],
        Risk::Destructive,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/retire"),
    ),
    remote(
        "SyncDevice",
        "Make the device check in with Intune now; the check-in also re-evaluates its compliance \
         (Graph has no separate re-evaluate action, so TriggerComplianceEvaluation is this sync)",
        &["Sync", "TriggerComplianceEvaluation", "ReevaluateCompliance"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/syncDevice"),
    ),
    remote(
        "DefenderScan",
        "Start a Microsoft Defender Antivirus scan on a Windows device through Intune",
        &["WindowsDefenderScan", "RunDefenderScan"],
        &[DEVICE, SCAN_TYPE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/windowsDefenderScan").body(&[(
            "quickScan",
            BodyValue::Mapped { param: "scanType", table: &[("Quick", "true"), ("Full", "false")] },
        )]),
    ),
    remote(
        "UpdateDefenderSignatures",
        "Make Microsoft Defender Antivirus on a Windows device fetch the latest security intelligence",
        &["WindowsDefenderUpdateSignatures", "UpdateSignatures"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/windowsDefenderUpdateSignatures"),
    ),
    remote(
        "RebootDeviceNow",
        "Restart the device now",
        &["RebootNow", "RebootDevice", "RestartDevice"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/rebootNow"),
    ),
    remote(
        "ShutdownDevice",
        "Shut the device down (it stays off until someone turns it on)",
        &["ShutDown", "ShutDownDevice"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/shutDown"),
    ),
    remote(
        "EnableLostMode",
        "Put a supervised iOS/iPadOS device in lost mode: locked, showing a message and phone number",
        &["LostModeOn"],
        &[DEVICE, LOST_MESSAGE, LOST_PHONE, LOST_FOOTER],
        Risk::Contain,
        Some("DisableLostMode"),
        device_action("/beta/deviceManagement/managedDevices/{deviceId}/enableLostMode").body(&[
            ("message", BodyValue::Param("message")),
            ("phoneNumber", BodyValue::Param("phoneNumber")),
            ("footer", BodyValue::Param("footer")),
        ]),
    ),
    remote(
        "DisableLostMode",
        "Take an iOS/iPadOS device out of lost mode",
        &["LostModeOff"],
        &[DEVICE],
        Risk::Contain,
        Some("EnableLostMode"),
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/disableLostMode"),
    ),
    remote(
        "CleanWindowsDevice",
        "Fresh start: reinstall Windows and remove apps the manufacturer did not ship, optionally keeping user data",
        &["FreshStart"],
        &[DEVICE, KEEP_USER_DATA],
        Risk::Destructive,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/cleanWindowsDevice")
            .body(&[("keepUserData", BodyValue::Param("keepUserData"))]),
    ),
    remote(
        "LogoutSharedAppleDevice",
        "Sign the current user out of a Shared iPad",
        &["LogoutSharedAppleDeviceActiveUser"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/logoutSharedAppleDeviceActiveUser"),
    ),
    read(
        "GetManagedDevices",
        "List Intune managed devices, optionally filtered",
        &["ListManagedDevices", "GetIntuneDevices"],
        &[FILTER, TOP],
        Call::new(Api::Graph, Method::Get, DEVICES).query(&[("$filter", "filter"), ("$top", "top")]).paged(),
    ),
    read(
        "GetDeviceComplianceStatus",
        "List managed devices with their compliance state and last check-in",
        &["GetComplianceStatus"],
        &[COMPLIANCE_SELECT, FILTER, TOP],
        Call::new(Api::Graph, Method::Get, DEVICES)
            .query(&[("$select", "select"), ("$filter", "filter"), ("$top", "top")])
            .paged(),
    ),
    read(
        "GetManagedDevice",
        "Get one managed device, with the state of the remote actions sent to it (deviceActionResults)",
        &["GetIntuneDevice", "GetDeviceActionResults"],
        &[DEVICE],
        Call::new(Api::Graph, Method::Get, "/v1.0/deviceManagement/managedDevices/{deviceId}"),
    ),
    read(
        "GetDeviceCompliancePolicyStates",
        "Get one device's state against each compliance policy assigned to it",
        &["GetDeviceCompliance"],
        &[DEVICE],
        Call::new(
            Api::Graph,
            Method::Get,
            "/v1.0/deviceManagement/managedDevices/{deviceId}/deviceCompliancePolicyStates",
        ),
    ),
];
