//! Seed names for which Microsoft has no honest API: each answers 501 with the reason and the
//! nearest real action, never a fake success.
use super::*;

const fn unsupported(
    name: &'static str,
    summary: &'static str,
    reason: &'static str,
    nearest: Option<&'static str>,
) -> ActionSpec {
    ActionSpec {
        product: Product::Intune,
        name,
        summary,
        aliases: &[],
        params: &[],
        risk: Risk::Remediate,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason, nearest },
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    unsupported(
        "DisableBitLocker",
        "Not available: Intune cannot decrypt a drive",
        "Intune has no setting or device action that decrypts a BitLocker drive: unassigning or deleting an encryption profile leaves the drive encrypted (the seed created an unassigned settings-catalog policy that reached no device). Decryption is Disable-BitLocker / manage-bde -off on the device, and weakening a device under investigation is rarely what a responder wants; to get at the data, read the recovery key.",
        Some("GetBitLockerRecoveryKey"),
    ),
    unsupported(
        "BlockApp",
        "Not available: Intune has no per-app block action",
        "Intune has no API that blocks an app by name: the seed created a Windows Information Protection policy, which is deprecated and never blocked an app. Blocking an executable is App Control for Business / AppLocker policy, or a Defender for Endpoint file indicator by hash; on a single device, a managed app is removed by its uninstall assignment. The nearest is MDE's file indicator (product MDE).",
        Some("AddFileIndicator"),
    ),
    unsupported(
        "RemoveManagedApp",
        "Not available: app protection registrations cannot be deleted",
        "Graph exposes managedAppRegistrations read-only (no DELETE), and managedAppStatuses cannot be filtered by user as the seed did. Removing a user's corporate app data is an app protection selective wipe of the device, which Intune applies to every protected app of that user, not one app.",
        Some("RetireDevice"),
    ),
];
