//! Threat submissions (Graph beta `security/threatSubmission/{emailThreats,urlThreats,fileThreats}`,
//! upstream-apis.md §4.6): a message, URL or file sent to Microsoft for review, answered 201
//! with the submission, whose `status` and `result` Microsoft fills in as the review runs.
//!
//! The seed posted to `/v1.0` with types Graph does not have (`#microsoft.graph.emailThreat`,
//! `recipientEmail`, `fileHash`); the rows send the documented types and fields: an email by its
//! Graph message URL (`emailUrlThreatSubmission`), a URL as `webUrl`, a file as base64
//! `fileContent`. A submission may also ask for a tenant allow/block list entry
//! (`tenantAllowOrBlockListAction`): that is how Graph reaches the allow/block list at all.
//! `ReportPhishingCampaign` created a "campaign" object Graph does not have; reporting phishing
//! to Microsoft is an email submission in category phishing, which is what the row does.
use super::*;

const MESSAGE_URL: ParamSpec = ParamSpec {
    name: "messageUrl",
    aliases: &["messageUri", "graphMessageUrl"],
    kind: ParamKind::Url,
    required: true,
    default: None,
    doc: "Graph URL of the message, e.g. https://graph.microsoft.com/v1.0/users/{id}/messages/{messageId}",
};
const WEB_URL: ParamSpec = ParamSpec {
    name: "webUrl",
    aliases: &["url"],
    kind: ParamKind::Url,
    required: true,
    default: None,
    doc: "The URL submitted",
};
const FILE_NAME: ParamSpec = ParamSpec {
    name: "fileName",
    aliases: &[],
    kind: ParamKind::Text { max: 255 },
    required: true,
    default: None,
    doc: "Name of the file submitted",
};
const FILE_CONTENT: ParamSpec = ParamSpec {
    name: "fileContent",
    aliases: &["content", "fileContentBase64"],
    kind: ParamKind::Text { max: 14_000_000 },
    required: true,
    default: None,
    doc: "The file, base64-encoded (Graph takes the content, not a hash)",
};
pub(super) const LIST_ACTION: ParamSpec = ParamSpec {
    name: "allowOrBlock",
    aliases: &["tenantAllowOrBlockListAction", "listAction"],
    kind: ParamKind::Enum { values: &["allow", "block"] },
    required: false,
    default: None,
    doc: "Also add the submission's sender/URL/file to the tenant allow/block list: allow or block",
};
pub(super) const LIST_DAYS: ParamSpec = ParamSpec {
    name: "expirationDays",
    aliases: &["expirationInDays"],
    kind: ParamKind::Int { min: 1, max: 90 },
    required: false,
    default: None,
    doc: "Days the allow/block entry lasts (1-90)",
};
pub(super) const LIST_NOTE: ParamSpec =
    optional_text("note", &["reason", "notes"], "Note recorded on the allow/block entry");

/// `tenantAllowOrBlockListAction` from the optional list parameters (absent when not asked).
pub(super) const LIST_ENTRY: [(&str, BodyValue); 3] = [
    ("tenantAllowOrBlockListAction/action", BodyValue::Param("allowOrBlock")),
    (
        "tenantAllowOrBlockListAction/expirationDateTime",
        BodyValue::NowPlus { param: "expirationDays", unit_seconds: 86_400 },
    ),
    ("tenantAllowOrBlockListAction/note", BodyValue::Param("note")),
];

const EMAIL_THREATS: Call = Call::new(Api::Graph, Method::Post, "/beta/security/threatSubmission/emailThreats");
pub(super) const URL_THREATS: Call = Call::new(Api::Graph, Method::Post, "/beta/security/threatSubmission/urlThreats");
const FILE_THREATS: Call = Call::new(Api::Graph, Method::Post, "/beta/security/threatSubmission/fileThreats");

const fn submission(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    call: Call,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdo,
        name,
        summary,
        aliases,
        params,
        // Contain: a report to Microsoft; with an allow/block entry it changes filtering.
        risk: Risk::Contain,
        inverse: None,
        permission: SUBMISSION_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(call),
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    submission(
        "SubmitEmailThreat",
        "Submit a delivered message to Microsoft for review (phishing, spam, malware or notSpam), optionally allowing or blocking it",
        &["SubmitEmail", "ReportEmail"],
        &[RECIPIENT, MESSAGE_URL, CATEGORY_EMAIL, LIST_ACTION, LIST_DAYS, LIST_NOTE],
        EMAIL_THREATS.body(&[
            ("@odata.type", BodyValue::Literal("\"#microsoft.graph.security.emailUrlThreatSubmission\"")),
            ("category", BodyValue::Param("category")),
            ("recipientEmailAddress", BodyValue::Param("recipientEmailAddress")),
            ("messageUrl", BodyValue::Param("messageUrl")),
            LIST_ENTRY[0],
            LIST_ENTRY[1],
            LIST_ENTRY[2],
        ]),
    ),
    submission(
        "ReportPhishingCampaign",
        "Report a phishing message to Microsoft (an email submission in category phishing; Graph has no campaign object)",
        &["ReportPhishing"],
        &[RECIPIENT, MESSAGE_URL, LIST_ACTION, LIST_DAYS, LIST_NOTE],
        EMAIL_THREATS.body(&[
            ("@odata.type", BodyValue::Literal("\"#microsoft.graph.security.emailUrlThreatSubmission\"")),
            ("category", BodyValue::Literal("\"phishing\"")),
            ("recipientEmailAddress", BodyValue::Param("recipientEmailAddress")),
            ("messageUrl", BodyValue::Param("messageUrl")),
            LIST_ENTRY[0],
            LIST_ENTRY[1],
            LIST_ENTRY[2],
        ]),
    ),
    submission(
        "SubmitURLThreat",
        "Submit a URL to Microsoft for review, optionally allowing or blocking it",
        &["SubmitUrl", "ReportUrl"],
        &[WEB_URL, CATEGORY_THREAT, LIST_ACTION, LIST_DAYS, LIST_NOTE],
        URL_THREATS.body(&[
            ("@odata.type", BodyValue::Literal("\"#microsoft.graph.security.urlThreatSubmission\"")),
            ("category", BodyValue::Param("category")),
            ("webUrl", BodyValue::Param("webUrl")),
            LIST_ENTRY[0],
            LIST_ENTRY[1],
            LIST_ENTRY[2],
        ]),
    ),
    submission(
        "SubmitFileThreat",
        "Submit a file (base64 content) to Microsoft for review",
        &["SubmitFile", "ReportFile"],
        &[FILE_NAME, FILE_CONTENT, CATEGORY_THREAT],
        FILE_THREATS.body(&[
            ("@odata.type", BodyValue::Literal("\"#microsoft.graph.security.fileContentThreatSubmission\"")),
            ("category", BodyValue::Param("category")),
            ("fileName", BodyValue::Param("fileName")),
            ("fileContent", BodyValue::Param("fileContent")),
        ]),
    ),
];
