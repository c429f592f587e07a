//! Seed names Graph has no API for: each answers 501 with the true reason (the Exchange Online
//! PowerShell cmdlet or portal page that does it) and the nearest real action, never a fake
//! success. The seed called endpoints under `security/collaboration/...` that do not exist
//! (`quarantine/emailMessages`, `spamFilterPolicies`, `attachmentProtection/policies`,
//! `analyzedEmails/zapPhishing`) and `mailboxSettings.forwardingSmtpAddress`, which is not a
//! Graph property.
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

const QUARANTINE: &str = "Graph has no quarantine API: quarantined messages are released, deleted and reported with \
     Exchange Online PowerShell (Get-QuarantineMessage, Release-QuarantineMessage, Delete-QuarantineMessage) or the \
     Defender portal. A message delivered to a mailbox can be moved back to the Inbox through Graph remediation.";
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
    unsupported(
        "ReleaseQuarantineEmail",
        "Release a quarantined message (Exchange Online PowerShell only)",
        QUARANTINE,
        Some("MoveToInbox"),
    ),
    unsupported(
        "BulkReleaseQuarantine",
        "Release several quarantined messages (Exchange Online PowerShell only)",
        QUARANTINE,
        Some("MoveToInbox"),
    ),
    unsupported(
        "DeleteQuarantineEmail",
        "Delete a quarantined message (Exchange Online PowerShell only)",
        QUARANTINE,
        Some("ExportQuarantineReport"),
    ),
    unsupported(
        "UpdateQuarantinePolicy",
        "Change a quarantine policy (Exchange Online PowerShell only)",
        "Quarantine policies are Exchange Online PowerShell (New-QuarantinePolicy, Set-QuarantinePolicy) or the Defender \
         portal; Graph has no API for them (the seed POSTed to security/collaboration/quarantine/policies, which does not \
         exist, and created a policy under an 'update' name).",
        Some("ExportQuarantineReport"),
    ),
    unsupported(
        "UpdateSpamPolicy",
        "Change an anti-spam policy (Exchange Online PowerShell only)",
        "Anti-spam policies are Exchange Online PowerShell (Set-HostedContentFilterPolicy) or the Defender portal; Graph \
         has no API for them (the seed POSTed to security/collaboration/inboundFlow/spamFilterPolicies, which does not \
         exist). Reporting a missed message as spam is the nearest Graph action.",
        Some("SubmitEmailThreat"),
    ),
    unsupported(
        "EnableATPSafeAttachments",
        "Turn on Safe Attachments (Exchange Online PowerShell only)",
        "Safe Attachments policies are Exchange Online PowerShell (New-SafeAttachmentPolicy, Set-SafeAttachmentPolicy, \
         New-SafeAttachmentRule) or the Defender portal; Graph has no API for them. Submitting a malicious file for \
         review is the nearest Graph action.",
        Some("SubmitFileThreat"),
    ),
    unsupported(
        "DisableMailboxForwarding",
        "Turn off a mailbox's SMTP forwarding (Exchange Online PowerShell only)",
        "Mailbox-level forwarding (ForwardingSmtpAddress, ForwardingAddress) is an Exchange property set with \
         Set-Mailbox; Graph's mailboxSettings has no forwarding property (the seed's PATCH of \
         mailboxSettings.forwardingSmtpAddress is refused). Graph can remove the inbox rules that forward mail.",
        Some("RemoveMailForwardingRules"),
    ),
];
