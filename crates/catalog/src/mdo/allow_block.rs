//! The tenant allow/block list. Graph has no API for its entries (they are Exchange Online
//! PowerShell: `New-TenantAllowBlockListItems`, `Remove-TenantAllowBlockListItems`); what Graph
//! offers is a threat submission carrying `tenantAllowOrBlockListAction`, which makes Microsoft
//! add an allow or block entry for what was submitted. A phishing URL can be submitted on its
//! own, so `BlockPhishingURL` is honest through Graph: a URL submission in category phishing
//! with a block entry (answered 201; the entry shows in the submission's `result`). A sender or
//! a domain cannot be submitted without a message, so the sender rows answer 501 and name the
//! submission that can carry the entry.
use super::submissions::{LIST_NOTE, URL_THREATS};
use super::*;

const BLOCK_DAYS: ParamSpec = ParamSpec {
    name: "expirationDays",
    aliases: &["expirationInDays"],
    kind: ParamKind::Int { min: 1, max: 90 },
    required: false,
    default: Some("90"),
    doc: "Days the block entry lasts (1-90, default 90)",
};
const URL: ParamSpec = ParamSpec {
    name: "webUrl",
    aliases: &["url"],
    kind: ParamKind::Url,
    required: true,
    default: None,
    doc: "The phishing URL to block",
};

const NO_SENDER_ENTRIES: &str = "Graph has no API for tenant allow/block list entries by value: a sender or domain entry is \
     created with Exchange Online PowerShell (New-TenantAllowBlockListItems -ListType Sender; Remove-TenantAllowBlockListItems \
     to delete one). Through Graph, an entry is only made from a submitted message: SubmitEmailThreat with allowOrBlock \
     allows or blocks that message's sender.";

const fn sender_entry(name: &'static str, summary: &'static str) -> ActionSpec {
    ActionSpec {
        product: Product::Mdo,
        name,
        summary,
        aliases: &[],
        params: &[],
        risk: Risk::Contain,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason: NO_SENDER_ENTRIES, nearest: Some("SubmitEmailThreat") },
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mdo,
        name: "BlockPhishingURL",
        summary: "Block a phishing URL tenant-wide: a URL submission (category phishing) with a tenant block-list entry",
        aliases: &["BlockUrl", "BlockPhishingLink"],
        params: &[URL, BLOCK_DAYS, LIST_NOTE],
        risk: Risk::Contain,
        inverse: None,
        permission: SUBMISSION_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(URL_THREATS.body(&[
            ("@odata.type", BodyValue::Literal("\"#microsoft.graph.security.urlThreatSubmission\"")),
            ("category", BodyValue::Literal("\"phishing\"")),
            ("webUrl", BodyValue::Param("webUrl")),
            ("tenantAllowOrBlockListAction/action", BodyValue::Literal("\"block\"")),
            (
                "tenantAllowOrBlockListAction/expirationDateTime",
                BodyValue::NowPlus { param: "expirationDays", unit_seconds: 86_400 },
            ),
            ("tenantAllowOrBlockListAction/note", BodyValue::Param("note")),
        ])),
    },
    sender_entry(
        "BlockSenderDomain",
        "Block a sender domain tenant-wide (Exchange Online PowerShell only; see the reason)",
    ),
    sender_entry("AddSafeSender", "Allow a sender tenant-wide (Exchange Online PowerShell only; see the reason)"),
    sender_entry("RemoveSafeSender", "Remove a sender allow entry (Exchange Online PowerShell only; see the reason)"),
];
