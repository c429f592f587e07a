//! Graph `alerts_v2`: list, read, triage and comment. Status is `new | inProgress | resolved`: Graph has no suppressed state, so
//! the seed's `SuppressAlert` (which sent `dismissed`, refused by Graph) answers 501.
use super::*;

const READ: &str = "SecurityAlert.Read.All";
const WRITE: &str = "SecurityAlert.ReadWrite.All";

pub(crate) const GET_ALERTS: ActionSpec = read(
    "GetAlerts",
    "List alerts from the Graph security API (alerts_v2), optionally filtered",
    &["GetAllAlerts", "ListAlerts", "GetSecurityAlerts", "ListSecurityAlerts", "GetAlertsV2"],
    &[FILTER, top_up_to(2000)],
    READ,
    graph_list("/v1.0/security/alerts_v2"),
);
pub(crate) const GET_ALERT: ActionSpec = read(
    "GetAlert",
    "Get one alert (alerts_v2), evidence included",
    // GetAlertEvidence read the same alert and answered its `evidence`.
    &["GetAlertById", "GetAlertEvidence", "GetSecurityAlert", "GetAlertV2"],
    &[ALERT_ID],
    READ,
    Call::new(Api::Graph, Method::Get, "/v1.0/security/alerts_v2/{alertId}"),
);
pub(crate) const UPDATE_ALERT: ActionSpec = triage(
    "UpdateAlert",
    "Update an alert's status, owner, classification or determination",
    &["UpdateSecurityAlert", "UpdateAlertV2"],
    &[ALERT_ID, ALERT_STATUS_P, ASSIGNED_TO, CLASSIFICATION_P, ALERT_DETERMINATION],
    WRITE,
    ALERT.body(&[
        ("status", BodyValue::Param("status")),
        ("assignedTo", BodyValue::Param("assignedTo")),
        ("classification", BodyValue::Param("classification")),
        ("determination", BodyValue::Param("determination")),
    ]),
);
pub(crate) const RESOLVE_ALERT: ActionSpec = triage(
    "ResolveAlert",
    "Resolve an alert, optionally classifying it",
    &["CloseAlert"],
    &[ALERT_ID, CLASSIFICATION_P, ALERT_DETERMINATION],
    WRITE,
    ALERT.body(&[
        ("status", BodyValue::Literal("\"resolved\"")),
        ("classification", BodyValue::Param("classification")),
        ("determination", BodyValue::Param("determination")),
    ]),
);
pub(crate) const CLASSIFY_ALERT: ActionSpec = triage(
    "ClassifyAlert",
    "Set an alert's classification and determination",
    &[],
    &[ALERT_ID, CLASSIFICATION_REQUIRED, ALERT_DETERMINATION],
    WRITE,
    ALERT.body(TRIAGE_BODY),
);
pub(crate) const ASSIGN_ALERT: ActionSpec = triage(
    "AssignAlert",
    "Assign an alert to an owner",
    &[],
    &[ALERT_ID, ASSIGNED_TO_REQUIRED],
    WRITE,
    ALERT.body(&[("assignedTo", BodyValue::Param("assignedTo"))]),
);
pub(crate) const ADD_ALERT_COMMENT: ActionSpec = triage(
    "AddAlertComment",
    "Comment on an alert (answers the alert's whole comment list)",
    &["AddSecurityAlertComment", "AddAlertCommentV2", "CommentAlert"],
    &[ALERT_ID, COMMENT],
    WRITE,
    Call::new(Api::Graph, Method::Post, "/v1.0/security/alerts_v2/{alertId}/comments").body(COMMENT_BODY),
);
const NO_SUPPRESS: &str = "Graph alerts_v2 has no suppressed or dismissed status (only new, inProgress and resolved; \
     the seed's 'dismissed' is refused by Graph). Suppression is an alert-tuning rule in the Defender portal, which has \
     no API; resolve the alert instead.";

pub(crate) const GET_ALERT_STATISTICS: ActionSpec = procedure(
    read(
        "GetAlertStatistics",
        "Counts of alerts by status, severity, classification, product and category, computed by Riposte from every page of the list",
        &["GetAlertStats"],
        &[FILTER],
        READ,
        Call::new(Api::Graph, Method::Get, "/v1.0/security/alerts_v2").query(&[("$filter", "filter")]),
    ),
    "incident.stats.alerts",
);

pub static ACTIONS: &[ActionSpec] = &[
    GET_ALERT_STATISTICS,
    GET_ALERTS,
    GET_ALERT,
    UPDATE_ALERT,
    RESOLVE_ALERT,
    CLASSIFY_ALERT,
    ASSIGN_ALERT,
    ADD_ALERT_COMMENT,
    ActionSpec {
        name: "SuppressAlert",
        summary: "Suppress an alert (no Graph API; see the reason)",
        aliases: &[],
        plan: Plan::Unsupported { reason: NO_SUPPRESS, nearest: Some("ResolveAlert") },
        ..RESOLVE_ALERT
    },
    ActionSpec {
        name: "BulkSuppressAlerts",
        summary: "Suppress several alerts (no Graph API; see the reason)",
        aliases: &[],
        params: &[ALERT_IDS],
        plan: Plan::Unsupported { reason: NO_SUPPRESS, nearest: Some("BulkResolveAlerts") },
        ..RESOLVE_ALERT
    },
];
