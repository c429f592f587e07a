//! Keys and passcodes: rotating BitLocker and FileVault keys, resetting a passcode, bypassing
//! Activation Lock, and reading BitLocker recovery keys.
//!
//! The secrets among the answers (a new passcode, a recovery key) are declared
//! `sensitive_results`: redacted before the result is stored, audited or logged, and shown once
//! to a caller who sends `Prefer: reveal-secrets`.
use super::*;

/// The caller's explicit "yes, disclose the key": without it the read lists the keys' ids only.
const REVEAL_KEY: ParamSpec = ParamSpec {
    name: "revealKey",
    aliases: &["includeKey", "showKey"],
    kind: ParamKind::Bool,
    required: true,
    default: None,
    doc: "true to read the recovery keys themselves (audited by Entra under KeyManagement); false lists their ids only",
};

/// Graph returns the bypass code only when it is `$select`ed.
const ACTIVATION_LOCK_SELECT: ParamSpec = ParamSpec {
    name: "select",
    aliases: &["$select"],
    kind: ParamKind::Text { max: 200 },
    required: false,
    default: Some("id,deviceName,operatingSystem,activationLockBypassCode"),
    doc: "Properties to return ($select); the code is returned only when selected",
};

pub static ACTIONS: &[ActionSpec] = &[
    remote(
        "RotateBitLockerKey",
        "Make a Windows device create a new BitLocker recovery password and escrow it to Entra ID",
        &["RotateBitLockerKeys"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/beta/deviceManagement/managedDevices/{deviceId}/rotateBitLockerKeys"),
    ),
    remote(
        "RotateFileVaultKey",
        "Make a Mac create a new FileVault personal recovery key and escrow it to Intune",
        &["RotateFileVaultKeys"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/beta/deviceManagement/managedDevices/{deviceId}/rotateFileVaultKey"),
    ),
    remote(
        "BypassActivationLock",
        "Clear Activation Lock on a supervised Apple device so it can be reactivated without the user's Apple ID",
        &["DisableActivationLock"],
        &[DEVICE],
        Risk::Remediate,
        None,
        device_action("/v1.0/deviceManagement/managedDevices/{deviceId}/bypassActivationLock"),
    ),
    ActionSpec {
        product: Product::Intune,
        name: "GetActivationLockBypassCode",
        summary: "Read the code that clears Activation Lock on a supervised iPhone, iPad or Mac (answered once)",
        aliases: &["GetBypassCode"],
        params: &[DEVICE, ACTIVATION_LOCK_SELECT],
        // Destructive, not Read: admins only; the code lets anyone holding the device reactivate it.
        risk: Risk::Destructive,
        inverse: None,
        permission: "DeviceManagementManagedDevices.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &["/activationLockBypassCode"],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Get, "/v1.0/deviceManagement/managedDevices/{deviceId}")
                .query(&[("$select", "select")]),
        ),
    },
    ActionSpec {
        product: Product::Intune,
        name: "ResetDevicePasscode",
        summary: "Reset the device passcode; Android device-admin devices get a new one, answered once (iOS removes it)",
        aliases: &["ResetPasscode"],
        params: &[DEVICE],
        risk: Risk::Remediate,
        inverse: None,
        permission: PRIVILEGED,
        completion: Completion::Immediate,
        sensitive_results: &["/passcode"],
        plan: Plan::Procedure(ProcedureId("intune.keys.reset_passcode")),
    },
    ActionSpec {
        product: Product::Intune,
        name: "GetBitLockerRecoveryKey",
        summary: "Read a device's BitLocker recovery keys from Entra ID (the keys only with revealKey: true)",
        aliases: &["GetBitLockerRecoveryKeys", "GetBitLockerKey"],
        params: &[DEVICE, REVEAL_KEY],
        // Destructive, not Read: the class is what policy keys off, and only admins may disclose a
        // key that unlocks a disk (a responder who needs one asks an admin).
        risk: Risk::Destructive,
        inverse: None,
        permission: "BitlockerKey.Read.All (BitlockerKey.ReadBasic.All for the ids only), DeviceManagementManagedDevices.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &["/value/*/key"],
        plan: Plan::Procedure(ProcedureId("intune.keys.bitlocker_recovery_keys")),
    },
];
