//! Defender for Office 365 through Microsoft Graph (upstream-apis.md §4.6): email remediation
//! (`security/collaboration/analyzedEmails/remediate`), message search over analyzed emails,
//! threat submissions, inbox rules that forward mail, and the nearest Graph has to the tenant
//! allow/block list (a submission carrying `tenantAllowOrBlockListAction`), and phishing
//! simulations (attack simulation training).
//!
//! Much of what the seed named lives only in Exchange Online PowerShell (quarantine, anti-spam
//! and Safe Attachments policies, the allow/block list by value, mailbox-level forwarding):
//! those rows call the cmdlets through the EXO V3 module's REST endpoint (`exchange.rs`; Microsoft
//! documents the cmdlets, not that transport). Zero-hour auto purge answers 501 (`unsupported.rs`). The
//! table is split by area, one submodule each; this module holds what they share.
use crate::*;

mod allow_block;
mod exchange;
mod remediation;
mod rules;
mod search;
mod simulation;
mod submissions;
mod unsupported;

/// Every Mdo action, area by area.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    remediation::ACTIONS
        .iter()
        .chain(search::ACTIONS)
        .chain(submissions::ACTIONS)
        .chain(rules::ACTIONS)
        .chain(simulation::ACTIONS)
        .chain(allow_block::ACTIONS)
        .chain(exchange::ACTIONS)
        .chain(unsupported::ACTIONS)
}

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

// --- Shared parameters ------------------------------------------------------------------------

/// Most messages one remediation names (a Riposte bound: keeps one request one Action Center entry).
pub(super) const MAX_MESSAGES: usize = 500;

/// The analyzed emails acted on: their `networkMessageId`s (the seed's `emailIds`).
pub(super) const NETWORK_MESSAGE_IDS: ParamSpec = ParamSpec {
    name: "networkMessageIds",
    aliases: &["networkMessageId", "emailIds", "emailId", "messageIds", "messageId"],
    kind: ParamKind::PairedIds { max: MAX_MESSAGES },
    required: true,
    default: None,
    doc: "networkMessageId of each message (from GetAnalyzedEmails), paired item by item with recipientEmailAddresses",
};
/// The mailbox each message sits in: remediation acts on one recipient's copy.
pub(super) const RECIPIENTS: ParamSpec = ParamSpec {
    name: "recipientEmailAddresses",
    aliases: &["recipientEmailAddress", "recipients", "recipient", "recipientEmail"],
    kind: ParamKind::EmailAddresses { max: MAX_MESSAGES },
    required: true,
    default: None,
    doc: "Recipient address of each message, item by item with networkMessageIds",
};
pub(super) const RECIPIENT: ParamSpec = ParamSpec {
    name: "recipientEmailAddress",
    aliases: &["recipientEmail", "recipient"],
    kind: ParamKind::EmailAddress,
    required: true,
    default: None,
    doc: "The mailbox the message was delivered to",
};
pub(super) const CATEGORY_EMAIL: ParamSpec = ParamSpec {
    name: "category",
    aliases: &[],
    kind: ParamKind::Enum { values: &["phishing", "spam", "malware", "notSpam"] },
    required: false,
    default: Some("phishing"),
    doc: "Verdict the submission asks Microsoft to review: phishing, spam, malware or notSpam",
};
pub(super) const CATEGORY_THREAT: ParamSpec = ParamSpec {
    name: "category",
    aliases: &[],
    kind: ParamKind::Enum { values: &["phishing", "malware", "spam", "notSpam"] },
    required: false,
    default: Some("malware"),
    doc: "Verdict the submission asks Microsoft to review",
};
pub(super) const USER: ParamSpec = ParamSpec {
    name: "userId",
    aliases: &["userPrincipalName", "upn", "user", "mailbox"],
    kind: ParamKind::UserRef,
    required: true,
    default: None,
    doc: "The mailbox owner: object id (GUID) or UPN",
};
pub(super) const fn optional_text(
    name: &'static str,
    aliases: &'static [&'static str],
    doc: &'static str,
) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::Text { max: 1000 }, required: false, default: None, doc }
}

/// Threat submission and the submission-made allow/block entries need this role.
pub(super) const SUBMISSION_PERMISSION: &str = "ThreatSubmission.ReadWrite.All";
