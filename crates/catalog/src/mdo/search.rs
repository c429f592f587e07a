//! Message search across every mailbox of the tenant: Graph's analyzed emails
//! (`GET /beta/security/collaboration/analyzedEmails`), one record per delivered copy with its
//! sender, subject, recipient, threat verdicts and where it was delivered and where it is now
//! (`originalDelivery`, `latestDelivery`). Graph requires a time window (`startTime`,
//! `endTime`); the seed's `GetAnalyzedEmails` sent none and was refused.
//!
//! The seed's `BulkEmailSearch` ran a `$search` over each mailbox one user at a time (one call
//! per user, failures skipped); analyzed emails answer the same question for every mailbox in
//! one call, so it is this row's alias: sender, subject and recipient become `$filter` clauses.
//! `TraceEmailPath` asked a message-trace endpoint Graph does not have (message trace is
//! Exchange Online's `Get-MessageTraceV2`); a message's delivery path as Graph knows it is its
//! analyzed email: original and latest delivery location, directionality, policy actions.
//! `ExportQuarantineReport` read a quarantine API Graph does not have; the quarantined messages
//! are the analyzed emails whose latest delivery location is `quarantine`.
use super::*;

const PERMISSION: &str = "SecurityAnalyzedMessage.Read.All";
const PATH: &str = "/beta/security/collaboration/analyzedEmails";

const START: ParamSpec = ParamSpec {
    name: "startTime",
    aliases: &["startDate"],
    kind: ParamKind::DateTime,
    required: true,
    default: None,
    doc: "Start of the search window (RFC 3339); Graph requires it",
};
const END: ParamSpec = ParamSpec {
    name: "endTime",
    aliases: &["endDate"],
    kind: ParamKind::DateTime,
    required: true,
    default: None,
    doc: "End of the search window (RFC 3339); Graph requires it",
};
const SENDER: ParamSpec = ParamSpec {
    name: "senderAddress",
    aliases: &["sender", "from", "senderEmailAddress", "fromAddress"],
    kind: ParamKind::EmailAddress,
    required: false,
    default: None,
    doc: "Only messages from this address (senderDetail/fromAddress)",
};
const SUBJECT: ParamSpec = ParamSpec {
    name: "subject",
    // The seed's BulkEmailSearch sent a free-text `searchQuery`; Graph filters analyzed emails by
    // equality, so it is matched as the exact subject (never dropped, which would answer everything).
    aliases: &["emailSubject", "searchQuery"],
    kind: ParamKind::Text { max: 255 },
    required: false,
    default: None,
    doc: "Only messages with exactly this subject (the seed's searchQuery is taken as the subject)",
};
const RECIPIENT_FILTER: ParamSpec =
    ParamSpec { required: false, doc: "Only copies delivered to this address", ..RECIPIENT };
const MESSAGE_ID: ParamSpec = ParamSpec {
    name: "networkMessageId",
    aliases: &["messageId", "emailId"],
    kind: ParamKind::ResourceId,
    required: false,
    default: None,
    doc: "Only the copies of this message (its networkMessageId)",
};
const INTERNET_MESSAGE_ID: ParamSpec = ParamSpec {
    name: "internetMessageId",
    aliases: &[],
    kind: ParamKind::Text { max: 500 },
    required: false,
    default: None,
    doc: "Only the copies with this RFC 2822 Message-ID",
};
const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter over analyzed emails, joined with the clauses above",
};
const TOP: ParamSpec = ParamSpec {
    name: "top",
    aliases: &["$top"],
    kind: ParamKind::Int { min: 1, max: 1000 },
    required: false,
    default: None,
    doc: "Most messages per page; all pages are read when absent",
};
/// A fixed delivery location, so the quarantine report is one declared filter clause.
const QUARANTINE: ParamSpec = ParamSpec {
    name: "deliveryLocation",
    aliases: &[],
    kind: ParamKind::Enum { values: &["quarantine"] },
    required: false,
    default: Some("quarantine"),
    doc: "The latest delivery location reported on (quarantine)",
};

const CLAUSES: &[(&str, &str)] = &[
    ("senderDetail/fromAddress", "senderAddress"),
    ("subject", "subject"),
    ("recipientEmailAddress", "recipientEmailAddress"),
    ("networkMessageId", "networkMessageId"),
    ("internetMessageId", "internetMessageId"),
];

const fn list(filter_eq: &'static [(&'static str, &'static str)]) -> Call {
    Call::new(Api::Graph, Method::Get, PATH)
        .query(&[("startTime", "startTime"), ("endTime", "endTime"), ("$filter", "filter"), ("$top", "top")])
        .filter_eq(filter_eq)
        .paged()
}

const fn read(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    call: Call,
) -> ActionSpec {
    ActionSpec::read(Product::Mdo, name, summary, aliases, params, PERMISSION, call)
}

pub static ACTIONS: &[ActionSpec] = &[
    read(
        "GetAnalyzedEmails",
        "Search delivered messages across all mailboxes by sender, subject, recipient and time window (analyzed emails)",
        &["BulkEmailSearch", "SearchEmails", "ListAnalyzedEmails"],
        &[START, END, SENDER, SUBJECT, RECIPIENT_FILTER, MESSAGE_ID, INTERNET_MESSAGE_ID, FILTER, TOP],
        list(CLAUSES),
    ),
    read(
        "TraceEmailPath",
        "A message's delivery path: each copy's original and latest delivery location and policy (analyzed emails; message trace proper is Exchange PowerShell)",
        &["TraceEmail", "GetEmailDeliveryPath"],
        &[START, END, ParamSpec { required: true, ..MESSAGE_ID }, RECIPIENT_FILTER, FILTER, TOP],
        list(&[("networkMessageId", "networkMessageId"), ("recipientEmailAddress", "recipientEmailAddress")]),
    ),
    read(
        "ExportQuarantineReport",
        "Messages whose latest delivery location is quarantine, in a time window (Graph analyzed emails; GetQuarantineMessages lists Exchange's quarantine with the identities release and delete take)",
        &["GetQuarantinedEmails"],
        &[START, END, QUARANTINE, SENDER, RECIPIENT_FILTER, FILTER, TOP],
        list(&[
            ("latestDelivery/location", "deliveryLocation"),
            ("senderDetail/fromAddress", "senderAddress"),
            ("recipientEmailAddress", "recipientEmailAddress"),
        ]),
    ),
];
