//! Intune (Graph `deviceManagement/managedDevices`): remote actions, BitLocker/FileVault keys, compliance, configuration profiles.
//!
//! The product's issue fills this table; until then the product is in `NOT_YET_IMPLEMENTED`.
use crate::*;

/// Every Intune action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog once the product leaves `NOT_YET_IMPLEMENTED`, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] = &[
    "RemoteLock",
    "WipeDevice",
    "RetireDevice",
    "SyncDevice",
    "DefenderScan",
    "ResetDevicePasscode",
    "RebootDeviceNow",
    "ShutdownDevice",
    "EnableLostMode",
    "DisableLostMode",
    "TriggerComplianceEvaluation",
    "UpdateDefenderSignatures",
    "BypassActivationLock",
    "CleanWindowsDevice",
    "LogoutSharedAppleDevice",
    "EnableBitLocker",
    "RotateBitLockerKey",
    "DisableBitLocker",
    "GetBitLockerRecoveryKey",
    "EnableFileVault",
    "RotateFileVaultKey",
    "DeployConfigProfile",
    "RemoveConfigProfile",
    "EnableFirewall",
    "DisableUSBStorage",
    "EnableDeviceEncryption",
    "BlockCamera",
    "UninstallApp",
    "BlockApp",
    "WipeAppData",
    "RemoveManagedApp",
    "RevokeElevation",
    "BlockElevationRequest",
    "GetManagedDevices",
    "GetDeviceComplianceStatus",
];
