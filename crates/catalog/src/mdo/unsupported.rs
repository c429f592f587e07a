//! Seed names no Microsoft API does: each answers 501 with the true reason and the nearest real
//! action, never a fake success. Only zero-hour auto purge is left: it is automatic (the seed
//! called `analyzedEmails/zapPhishing`, which does not exist). The seed's other invented
//! endpoints (`quarantine/emailMessages`, `spamFilterPolicies`, `attachmentProtection/policies`,
//! `mailboxSettings.forwardingSmtpAddress`) are served by Exchange Online cmdlets (`exchange.rs`).
use super::*;

const fn unsupported(
    name: &'static str,
    summary: &'static str,
    reason: &'static str,
    nearest: Option<&'static str>,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdo,
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

const ZAP: &str = "Zero-hour auto purge runs automatically in Exchange Online when a verdict changes; no API triggers it, \
     and Graph has no campaign object to target (the seed called analyzedEmails/zapPhishing and zapMalware, which do \
     not exist). ZAP moves messages to quarantine, which Graph cannot do either; remediate the messages themselves \
     (soft delete, or move to junk) by their networkMessageIds instead.";

pub static ACTIONS: &[ActionSpec] = &[
    unsupported(
        "ZAPPhishing",
        "Trigger zero-hour auto purge for phishing (automatic; see the reason)",
        ZAP,
        Some("SoftDeleteEmails"),
    ),
    unsupported(
        "ZAPMalware",
        "Trigger zero-hour auto purge for malware (automatic; see the reason)",
        ZAP,
        Some("SoftDeleteEmails"),
    ),
];
