//! Defender for Cloud Apps: its own per-tenant portal host and token audience (`Api::CloudApps`); OAuth apps and consents through Graph where Cloud Apps has no API.
//!
//! The product's issue fills this table; until then the product is in `NOT_YET_IMPLEMENTED`.
use crate::*;

/// Every Mcas action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog once the product leaves `NOT_YET_IMPLEMENTED`, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] = &[
    "RevokeOAuthPermissions",
    "BanRiskyApp",
    "RevokeUserConsent",
    "TerminateActiveSession",
    "BlockUserFromApp",
    "RequireReAuthentication",
    "QuarantineCloudFile",
    "RemoveExternalSharing",
    "ApplySensitivityLabel",
    "RestoreFromQuarantine",
    "BlockUnsanctionedApp",
    "RemoveAppAccess",
    "GetOAuthApps",
    "GetUserAppConsents",
    "ApplyDLPPolicy",
    "BlockFileDownload",
    "RevokeFileSharing",
    "DeleteSensitiveFile",
    "BanCloudApp",
    "SanctionCloudApp",
    "BlockAppCategory",
    "EnableAppGovernance",
    "CreateSessionPolicy",
    "BlockDownloadSession",
    "EnableMonitorOnly",
    "ForceReAuthentication",
];
