//! What Graph cannot do for Defender for Office 365, done through **Exchange Online PowerShell's
//! REST endpoint**: the call Microsoft's ExchangeOnlineManagement V3 module makes for every cmdlet,
//! `POST https://outlook.office365.com/adminapi/beta/{tenantId}/InvokeCommand` with
//! `{"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}` (the tenant segment is added by
//! `upstream`, which knows the credentials: catalog paths are `/InvokeCommand`).
//!
//! Needs an app-only token for `https://outlook.office365.com` with the application permission
//! `Exchange.ManageAsApp`, and an Exchange RBAC role for the app's service principal (Security
//! Administrator covers quarantine, the allow/block list and the protection policies;
//! `Set-Mailbox` needs Exchange Administrator or a Recipient Management role).
//!
//! Honest limits: Microsoft documents the cmdlets (parameter names and output properties, which
//! these rows follow), not this transport, which is the module's; a change in it would break
//! these rows even though the cmdlets stay. Zero-hour auto purge stays unsupported (it is
//! automatic; `unsupported.rs`).
use super::*;

/// Exchange Online's permission for an app-only caller (plus an Exchange RBAC role, see above).
const EXO: &str = "Exchange.ManageAsApp";
/// Every cmdlet goes through the same call; rows differ by body.
const INVOKE: Call = Call::new(Api::ExchangeOnline, Method::Post, "/InvokeCommand");

const fn cmdlet(name: &'static str) -> (&'static str, BodyValue) {
    ("CmdletInput/CmdletName", BodyValue::Literal(name))
}

const QUARANTINE_ID: ParamSpec = ParamSpec {
    name: "identity",
    aliases: &["quarantineId", "quarantineIdentity", "messageIdentity", "id"],
    kind: ParamKind::Text { max: 200 },
    required: true,
    default: None,
    doc: "The quarantined message's Identity from GetQuarantineMessages ({message guid}\\{recipient guid})",
};
const QUARANTINE_IDS: ParamSpec = ParamSpec {
    name: "identities",
    aliases: &["quarantineIds", "identity", "ids"],
    kind: ParamKind::TextList { max_items: 100, max_len: 200 },
    required: true,
    default: None,
    doc: "Identities of the quarantined messages (from GetQuarantineMessages), at most 100",
};
const SENDERS: ParamSpec = ParamSpec {
    name: "senders",
    aliases: &["sender", "senderDomain", "domain", "domains", "senderAddress", "entries"],
    kind: ParamKind::SenderEntries { max: 20 },
    required: true,
    default: None,
    doc: "Sender domains or email addresses (at most 20)",
};
const NOTES: ParamSpec = optional_text("notes", &["note", "reason"], "A note kept with the entry");
const BLOCK_DAYS: ParamSpec = ParamSpec {
    name: "expirationDays",
    aliases: &["expirationInDays"],
    kind: ParamKind::Int { min: 1, max: 90 },
    required: false,
    default: None,
    doc: "Days the block lasts (1-90); absent: Exchange's default of 30 days, unless noExpiration",
};
const NO_EXPIRATION: ParamSpec = ParamSpec {
    name: "noExpiration",
    aliases: &[],
    kind: ParamKind::Bool,
    required: false,
    default: None,
    doc: "Block until removed (New-TenantAllowBlockListItems -NoExpiration)",
};
const POLICY: ParamSpec = ParamSpec {
    name: "identity",
    aliases: &["policyName", "policy", "name"],
    kind: ParamKind::Text { max: 256 },
    required: true,
    default: None,
    doc: "The policy's name (Identity)",
};
const SPAM_ACTIONS: &[&str] = &["MoveToJmf", "AddXHeader", "ModifySubject", "Redirect", "Delete", "Quarantine"];
const fn spam_action(name: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        aliases: &[],
        kind: ParamKind::Enum { values: SPAM_ACTIONS },
        required: false,
        default: None,
        doc,
    }
}

/// `Remove-TenantAllowBlockListItems -ListType Sender -Entries ...`: removes the entry of each
/// value, allow or block alike (a value is on one side only).
const REMOVE_SENDERS: Call = INVOKE.body(&[
    cmdlet("\"Remove-TenantAllowBlockListItems\""),
    ("CmdletInput/Parameters/ListType", BodyValue::Literal("\"Sender\"")),
    ("CmdletInput/Parameters/Entries", BodyValue::Param("senders")),
]);

const fn exo(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    risk: Risk,
    inverse: Option<&'static str>,
    call: Call,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdo,
        name,
        summary,
        aliases,
        params,
        risk,
        inverse,
        permission: EXO,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(call),
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::Mdo,
        "GetQuarantineMessages",
        "List quarantined messages (Get-QuarantineMessage through the EXO V3 module's REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["ListQuarantine", "GetQuarantine"],
        &[
            ParamSpec {
                name: "senderAddress",
                aliases: &["sender"],
                kind: ParamKind::EmailAddress,
                required: false,
                default: None,
                doc: "Only messages from this sender",
            },
            ParamSpec {
                name: "recipientAddress",
                aliases: &["recipient"],
                kind: ParamKind::EmailAddress,
                required: false,
                default: None,
                doc: "Only messages to this recipient",
            },
            ParamSpec {
                name: "type",
                aliases: &["quarantineType"],
                kind: ParamKind::Enum {
                    values: &["Spam", "Phish", "Malware", "Bulk", "HighConfPhish", "TransportRule"],
                },
                required: false,
                default: None,
                doc: "Only this quarantine reason",
            },
        ],
        EXO,
        INVOKE.body(&[
            cmdlet("\"Get-QuarantineMessage\""),
            ("CmdletInput/Parameters/SenderAddress", BodyValue::Param("senderAddress")),
            ("CmdletInput/Parameters/RecipientAddress", BodyValue::Param("recipientAddress")),
            ("CmdletInput/Parameters/Type", BodyValue::Param("type")),
        ]),
    ),
    exo(
        "ReleaseQuarantineEmail",
        "Release a quarantined message to all its recipients (Release-QuarantineMessage -ReleaseToAll through the EXO V3 module's REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["ReleaseQuarantineMessage", "ReleaseFromQuarantine"],
        &[
            QUARANTINE_ID,
            ParamSpec {
                name: "reportFalsePositive",
                aliases: &[],
                kind: ParamKind::Bool,
                required: false,
                default: None,
                doc: "Also report the message to Microsoft as a false positive",
            },
        ],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Release-QuarantineMessage\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("identity")),
            ("CmdletInput/Parameters/ReleaseToAll", BodyValue::Literal("true")),
            ("CmdletInput/Parameters/ReportFalsePositive", BodyValue::Param("reportFalsePositive")),
        ]),
    ),
    exo(
        "BulkReleaseQuarantine",
        "Release several quarantined messages to all their recipients (Release-QuarantineMessage -Identities -ReleaseToAll, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["ReleaseQuarantineMessages"],
        &[QUARANTINE_IDS],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Release-QuarantineMessage\""),
            ("CmdletInput/Parameters/Identities", BodyValue::Param("identities")),
            ("CmdletInput/Parameters/ReleaseToAll", BodyValue::Literal("true")),
        ]),
    ),
    exo(
        "DeleteQuarantineEmail",
        "Delete a quarantined message (Delete-QuarantineMessage, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["DeleteQuarantineMessage"],
        &[QUARANTINE_ID],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Delete-QuarantineMessage\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("identity")),
        ]),
    ),
    ActionSpec::read(
        Product::Mdo,
        "GetTenantAllowBlockList",
        "List tenant allow/block list entries of one type (Get-TenantAllowBlockListItems, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["GetAllowBlockList"],
        &[ParamSpec {
            name: "listType",
            aliases: &["type"],
            kind: ParamKind::Enum { values: &["Sender", "Url", "FileHash", "IP"] },
            required: false,
            default: Some("Sender"),
            doc: "Sender, Url, FileHash or IP",
        }],
        EXO,
        INVOKE.body(&[
            cmdlet("\"Get-TenantAllowBlockListItems\""),
            ("CmdletInput/Parameters/ListType", BodyValue::Param("listType")),
        ]),
    ),
    exo(
        "BlockSenderDomain",
        "Block sender domains or addresses tenant-wide (New-TenantAllowBlockListItems -ListType Sender -Block, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["BlockSender", "BlockSenders"],
        &[SENDERS, BLOCK_DAYS, NO_EXPIRATION, NOTES],
        Risk::Contain,
        Some("UnblockSenderDomain"),
        INVOKE.body(&[
            cmdlet("\"New-TenantAllowBlockListItems\""),
            ("CmdletInput/Parameters/ListType", BodyValue::Literal("\"Sender\"")),
            ("CmdletInput/Parameters/Block", BodyValue::Literal("true")),
            ("CmdletInput/Parameters/Entries", BodyValue::Param("senders")),
            (
                "CmdletInput/Parameters/ExpirationDate",
                BodyValue::NowPlus { param: "expirationDays", unit_seconds: 86_400 },
            ),
            ("CmdletInput/Parameters/NoExpiration", BodyValue::Param("noExpiration")),
            ("CmdletInput/Parameters/Notes", BodyValue::Param("notes")),
        ]),
    ),
    exo(
        "UnblockSenderDomain",
        "Remove sender block entries (Remove-TenantAllowBlockListItems -ListType Sender, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["UnblockSender"],
        &[SENDERS],
        Risk::Contain,
        Some("BlockSenderDomain"),
        REMOVE_SENDERS,
    ),
    exo(
        "AddSafeSender",
        "Allow senders tenant-wide (New-TenantAllowBlockListItems -ListType Sender -Allow -RemoveAfter 45, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator). Microsoft honours sender allow entries only against spam, bulk and non-high-confidence phishing verdicts, never malware or high-confidence phishing, and removes them 45 days after last use",
        &["AllowSender"],
        &[SENDERS, NOTES],
        Risk::Remediate,
        Some("RemoveSafeSender"),
        INVOKE.body(&[
            cmdlet("\"New-TenantAllowBlockListItems\""),
            ("CmdletInput/Parameters/ListType", BodyValue::Literal("\"Sender\"")),
            ("CmdletInput/Parameters/Allow", BodyValue::Literal("true")),
            ("CmdletInput/Parameters/Entries", BodyValue::Param("senders")),
            ("CmdletInput/Parameters/RemoveAfter", BodyValue::Literal("45")),
            ("CmdletInput/Parameters/Notes", BodyValue::Param("notes")),
        ]),
    ),
    exo(
        "RemoveSafeSender",
        "Remove sender allow entries (Remove-TenantAllowBlockListItems -ListType Sender, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["RemoveAllowedSender"],
        &[SENDERS],
        Risk::Remediate,
        Some("AddSafeSender"),
        REMOVE_SENDERS,
    ),
    ActionSpec::read(
        Product::Mdo,
        "GetMailboxForwarding",
        "A mailbox's SMTP forwarding settings (Get-Mailbox ForwardingSmtpAddress/ForwardingAddress, EXO V3 REST endpoint; Exchange.ManageAsApp + an Exchange recipient role)",
        &["GetMailboxForwardingSettings"],
        &[USER],
        EXO,
        INVOKE.body(&[cmdlet("\"Get-Mailbox\""), ("CmdletInput/Parameters/Identity", BodyValue::Param("userId"))]),
    ),
    exo(
        "DisableMailboxForwarding",
        "Turn off a mailbox's forwarding (Set-Mailbox -ForwardingSmtpAddress $null -ForwardingAddress $null -DeliverToMailboxAndForward $false, EXO V3 REST endpoint; Exchange.ManageAsApp + Exchange Administrator or Recipient Management). Inbox rules that forward are separate: RemoveMailForwardingRules",
        &["RemoveMailboxForwarding"],
        &[USER],
        Risk::Contain,
        None,
        INVOKE.body(&[
            cmdlet("\"Set-Mailbox\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("userId")),
            ("CmdletInput/Parameters/ForwardingSmtpAddress", BodyValue::Literal("null")),
            ("CmdletInput/Parameters/ForwardingAddress", BodyValue::Literal("null")),
            ("CmdletInput/Parameters/DeliverToMailboxAndForward", BodyValue::Literal("false")),
        ]),
    ),
    exo(
        "UpdateQuarantinePolicy",
        "Change a custom quarantine policy's end-user permissions and notifications (Set-QuarantinePolicy, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator). Built-in policies cannot be changed",
        &["SetQuarantinePolicy"],
        &[
            POLICY,
            ParamSpec {
                name: "endUserQuarantinePermissionsValue",
                aliases: &["permissions"],
                kind: ParamKind::Int { min: 0, max: 255 },
                required: false,
                default: None,
                doc: "The end-user permission bits (0: none; 27: full access)",
            },
            ParamSpec {
                name: "esnEnabled",
                aliases: &["notificationsEnabled"],
                kind: ParamKind::Bool,
                required: false,
                default: None,
                doc: "Quarantine notifications to users",
            },
        ],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Set-QuarantinePolicy\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("identity")),
            (
                "CmdletInput/Parameters/EndUserQuarantinePermissionsValue",
                BodyValue::Param("endUserQuarantinePermissionsValue"),
            ),
            ("CmdletInput/Parameters/ESNEnabled", BodyValue::Param("esnEnabled")),
        ]),
    ),
    exo(
        "UpdateSpamPolicy",
        "Change an anti-spam policy's verdict actions and bulk threshold (Set-HostedContentFilterPolicy, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator)",
        &["SetSpamPolicy", "UpdateAntiSpamPolicy"],
        &[
            ParamSpec { default: Some("Default"), required: false, ..POLICY },
            spam_action("spamAction", "Action for spam"),
            spam_action("highConfidenceSpamAction", "Action for high-confidence spam"),
            spam_action("phishSpamAction", "Action for phishing"),
            spam_action("highConfidencePhishAction", "Action for high-confidence phishing"),
            spam_action("bulkSpamAction", "Action for bulk mail"),
            ParamSpec {
                name: "bulkThreshold",
                aliases: &[],
                kind: ParamKind::Int { min: 1, max: 9 },
                required: false,
                default: None,
                doc: "Bulk complaint level threshold (1-9)",
            },
        ],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Set-HostedContentFilterPolicy\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("identity")),
            ("CmdletInput/Parameters/SpamAction", BodyValue::Param("spamAction")),
            ("CmdletInput/Parameters/HighConfidenceSpamAction", BodyValue::Param("highConfidenceSpamAction")),
            ("CmdletInput/Parameters/PhishSpamAction", BodyValue::Param("phishSpamAction")),
            ("CmdletInput/Parameters/HighConfidencePhishAction", BodyValue::Param("highConfidencePhishAction")),
            ("CmdletInput/Parameters/BulkSpamAction", BodyValue::Param("bulkSpamAction")),
            ("CmdletInput/Parameters/BulkThreshold", BodyValue::Param("bulkThreshold")),
        ]),
    ),
    exo(
        "EnableATPSafeAttachments",
        "Turn on a Safe Attachments policy (Set-SafeAttachmentPolicy -Enable $true -Action, EXO V3 REST endpoint; Exchange.ManageAsApp + Security Administrator). It applies to the recipients of its Safe Attachments rule",
        &["EnableSafeAttachments"],
        &[
            POLICY,
            ParamSpec {
                name: "attachmentAction",
                aliases: &[],
                kind: ParamKind::Enum { values: &["Block", "DynamicDelivery"] },
                required: false,
                default: Some("Block"),
                doc: "Block or DynamicDelivery",
            },
        ],
        Risk::Remediate,
        None,
        INVOKE.body(&[
            cmdlet("\"Set-SafeAttachmentPolicy\""),
            ("CmdletInput/Parameters/Identity", BodyValue::Param("identity")),
            ("CmdletInput/Parameters/Enable", BodyValue::Literal("true")),
            ("CmdletInput/Parameters/Action", BodyValue::Param("attachmentAction")),
        ]),
    ),
];
