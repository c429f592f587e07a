//! Defender for Office 365: email remediation, message search, threat submissions, inbox rules and forwarding, the tenant allow/block list (Microsoft Graph; upstream-apis.md §4).
//!
//! The product's issue fills this table; until then the product is in `NOT_YET_IMPLEMENTED`.
use crate::*;

/// Every Mdo action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog once the product leaves `NOT_YET_IMPLEMENTED`, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] = &[
    "SoftDeleteEmails",
    "HardDeleteEmails",
    "MoveToJunk",
    "MoveToInbox",
    "MoveToDeletedItems",
    "BulkEmailSearch",
    "BulkEmailDelete",
    "ZAPPhishing",
    "ZAPMalware",
    "GetAnalyzedEmails",
    "SubmitEmailThreat",
    "SubmitURLThreat",
    "SubmitFileThreat",
    "RemoveMailForwardingRules",
    "GetMailboxForwarders",
    "DisableMailboxForwarding",
    "ReleaseQuarantineEmail",
    "DeleteQuarantineEmail",
    "BulkReleaseQuarantine",
    "ExportQuarantineReport",
    "UpdateQuarantinePolicy",
    "BlockSenderDomain",
    "AddSafeSender",
    "RemoveSafeSender",
    "UpdateSpamPolicy",
    "EnableATPSafeAttachments",
    "ReportPhishingCampaign",
    "BlockPhishingURL",
    "RemovePhishingEmails",
    "TraceEmailPath",
    "SimulatePhishing",
    "RemediateEmail*",
];
