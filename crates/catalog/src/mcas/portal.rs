//! The Cloud Apps portal API (`https://{tenant}.{region}.portal.cloudappsecurity.com/api/...`,
//! token audience `05a65629-4c1b-48c1-a78b-804c4abdd4af`, 30 requests a minute per tenant).
//!
//! Lists are POSTs with `{"filters": {field: {operator: value}}, "skip", "limit"}` (api-alerts,
//! api-activities, api-files). Closing alerts is by filter: Riposte sends the given ids as
//! `{"id": {"eq": [...]}}`, and Cloud Apps answers how many it closed (`{"closed_benign": n}`).
//! The docs map the old dismiss to close-false-positive and the old resolve to close-true-positive,
//! so those names are aliases of the close rows.
use super::*;

const READ: &str = "Investigation.read";
const MANAGE: &str = "Investigation.manage";

const FILTERS: ParamSpec = ParamSpec {
    name: "filters",
    aliases: &["filter"],
    kind: ParamKind::JsonObject,
    required: false,
    default: None,
    doc: "Cloud Apps filters, {field: {operator: value}}, e.g. {\"alertOpen\": {\"eq\": true}}",
};
const SKIP: ParamSpec = ParamSpec {
    name: "skip",
    aliases: &[],
    kind: ParamKind::Int { min: 0, max: 1_000_000 },
    required: false,
    default: None,
    doc: "Items to skip (paging)",
};
const LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    aliases: &["top", "$top"],
    kind: ParamKind::Int { min: 1, max: 100 },
    required: false,
    default: None,
    doc: "Items to return, at most 100",
};
const ALERT_IDS: ParamSpec = ParamSpec {
    name: "cloudAppsAlertIds",
    aliases: &["alertIds", "alertId", "ids", "id"],
    kind: ParamKind::ResourceIds { max: 100 },
    required: true,
    default: None,
    doc: "Cloud Apps alert ids (24 hex digits): a comma-separated string or an array",
};
const ALERT_ID: ParamSpec = ParamSpec {
    name: "cloudAppsAlertId",
    aliases: &["alertId", "id"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "A Cloud Apps alert id (24 hex digits)",
};
const COMMENT: ParamSpec = ParamSpec {
    name: "comment",
    aliases: &["note"],
    kind: ParamKind::Text { max: 1000 },
    required: false,
    default: None,
    doc: "Why the alerts are closed",
};
const fn reason(doc: &'static str) -> ParamSpec {
    ParamSpec {
        name: "reasonId",
        aliases: &["reason"],
        kind: ParamKind::Int { min: 0, max: 6 },
        required: false,
        default: None,
        doc,
    }
}
const BENIGN_REASON: ParamSpec =
    reason("2 actual severity is lower, 4 other, 5 confirmed with end user, 6 triggered by test");
const FALSE_POSITIVE_REASON: ParamSpec =
    reason("0 not of interest, 1 too many similar alerts, 3 alert is not accurate, 4 other");
const FORMAT: ParamSpec = ParamSpec {
    name: "format",
    aliases: &["applianceFormat"],
    kind: ParamKind::Enum { values: &["102", "104", "108", "112", "120", "129", "135"] },
    required: true,
    default: None,
    doc: "The appliance: 102 BlueCoat ProxySG, 104 Cisco ASA, 108 Fortinet FortiGate, 112 Palo Alto, 120 Zscaler, 129 Juniper SRX, 135 Websense",
};
const SCRIPT_TYPE: ParamSpec = ParamSpec {
    name: "scriptType",
    aliases: &["type"],
    kind: ParamKind::Enum { values: &["banned"] },
    required: false,
    default: Some("banned"),
    doc: "banned: the apps tagged unsanctioned (the one type the API documents)",
};

const LIST_BODY: &[(&str, BodyValue)] = &[
    ("filters", BodyValue::Param("filters")),
    ("skip", BodyValue::Param("skip")),
    ("limit", BodyValue::Param("limit")),
];

const fn list(path: &'static str) -> Call {
    Call::new(Api::CloudApps, Method::Post, path).body(LIST_BODY)
}

const fn read(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    call: Call,
) -> ActionSpec {
    ActionSpec::read(Product::Mcas, name, summary, aliases, params, READ, call)
}

/// Closing by id: the ids become the `id` filter (a key with `/` is a path into the JSON body).
const CLOSE_BODY: &[(&str, BodyValue)] =
    &[("filters/id/eq", BodyValue::Param("cloudAppsAlertIds")), ("comment", BodyValue::Param("comment"))];
/// The benign and false-positive forms also take a reason.
const CLOSE_WITH_REASON: &[(&str, BodyValue)] = &[
    ("filters/id/eq", BodyValue::Param("cloudAppsAlertIds")),
    ("comment", BodyValue::Param("comment")),
    ("reasonId", BodyValue::Param("reasonId")),
];

/// A close form: POST `path` with `body`.
const fn close(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    path: &'static str,
    body: &'static [(&'static str, BodyValue)],
) -> ActionSpec {
    ActionSpec {
        risk: Risk::Contain,
        permission: MANAGE,
        ..read(name, summary, aliases, params, Call::new(Api::CloudApps, Method::Post, path).body(body))
    }
}

pub(super) static ACTIONS: &[ActionSpec] = &[
    read(
        "GetCloudAppsAlerts",
        "List Cloud Apps alerts, optionally filtered (skip/limit paging, at most 100 a call)",
        &["ListCloudAppsAlerts", "GetMcasAlerts"],
        &[FILTERS, SKIP, LIMIT],
        list("/api/v1/alerts/"),
    ),
    read(
        "GetCloudAppsAlert",
        "Get one Cloud Apps alert",
        &["GetMcasAlert", "FetchCloudAppsAlert"],
        &[ALERT_ID],
        Call::new(Api::CloudApps, Method::Get, "/api/v1/alerts/{cloudAppsAlertId}/"),
    ),
    close(
        "CloseCloudAppsAlertsBenign",
        "Close Cloud Apps alerts as benign (suspicious but authorized, e.g. a penetration test)",
        &["CloseCloudAppsAlertBenign"],
        &[ALERT_IDS, COMMENT, BENIGN_REASON],
        "/api/v1/alerts/close_benign/",
        CLOSE_WITH_REASON,
    ),
    close(
        "CloseCloudAppsAlertsFalsePositive",
        "Close Cloud Apps alerts as false positive (what the old dismiss does now)",
        &["CloseCloudAppsAlertFalsePositive", "DismissCloudAppsAlert", "DismissCloudAppsAlerts"],
        &[ALERT_IDS, COMMENT, FALSE_POSITIVE_REASON],
        "/api/v1/alerts/close_false_positive/",
        CLOSE_WITH_REASON,
    ),
    close(
        "CloseCloudAppsAlertsTruePositive",
        "Close Cloud Apps alerts as true positive (what the old resolve does now)",
        &["CloseCloudAppsAlertTruePositive", "ResolveCloudAppsAlert", "ResolveCloudAppsAlerts"],
        &[ALERT_IDS, COMMENT],
        "/api/v1/alerts/close_true_positive/",
        CLOSE_BODY,
    ),
    read(
        "GetCloudAppsActivities",
        "List Cloud Apps activities, optionally filtered (skip/limit paging, at most 100 a call)",
        &["ListCloudAppsActivities", "GetMcasActivities"],
        &[FILTERS, SKIP, LIMIT],
        list("/api/v1/activities/"),
    ),
    read(
        "GetCloudAppsFiles",
        "List files Cloud Apps sees in connected apps, optionally filtered (skip/limit paging)",
        &["ListCloudAppsFiles", "GetMcasFiles"],
        &[FILTERS, SKIP, LIMIT],
        list("/api/v1/files/"),
    ),
    ActionSpec {
        permission: "Discovery.read",
        ..read(
            "GetBlockScript",
            "Generate the block script of every unsanctioned app for a network appliance (Cloud Discovery); import it into the appliance to block them",
            &["GenerateBlockScript", "GetDiscoveryBlockScript"],
            &[FORMAT, SCRIPT_TYPE],
            Call::new(Api::CloudApps, Method::Get, "/api/discovery_block_scripts/")
                .query(&[("format", "format"), ("type", "scriptType")]),
        )
    },
];
