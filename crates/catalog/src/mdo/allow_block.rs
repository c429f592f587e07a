//! The tenant allow/block list through Graph. Graph has no API for its entries by value (sender
//! entries are made with Exchange Online's `New-TenantAllowBlockListItems`, `exchange.rs`); what
//! Graph offers is a threat submission carrying `tenantAllowOrBlockListAction`, which makes
//! Microsoft add an allow or block entry for what was submitted. A phishing URL can be submitted
//! on its own, so `BlockPhishingURL` is honest through Graph: a URL submission in category
//! phishing with a block entry (answered 201; the entry shows in the submission's `result`).
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

pub static ACTIONS: &[ActionSpec] = &[ActionSpec {
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
}];
