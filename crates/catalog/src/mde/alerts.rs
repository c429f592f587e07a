//! Alerts and incidents: MDE's own alert API (`/api/alerts`, upstream-apis.md §2.8), and the
//! Graph security API for incidents and `alerts_v2` (§4.5), where Microsoft serves incidents today
//! (the seed's worker called `/api/incidents` on the MDE host, which does not exist). The Graph
//! calls belong to the Incident product (`incident/`); the rows here give them the names the
//! seed's MDE worker and orchestrator used.
//!
//! Triage follows Microsoft's rule: a determination is only valid with its classification
//! (TruePositive → Malware, Phishing, ...; FalsePositive → Clean, ...), checked before the call
//! when both are given. MDE spells enum values in PascalCase, Graph in camelCase; input is
//! matched case-insensitively and sent in the API's own spelling.
use super::*;
use crate::incident::{alerts, incidents};

// --- MDE alerts ---------------------------------------------------------------------------------

const MDE_STATUS: &[&str] = &["New", "InProgress", "Resolved"];
const MDE_CLASSIFICATION: &[&str] = &["TruePositive", "InformationalExpectedActivity", "FalsePositive"];
/// upstream-apis.md §2.8: determinations by classification.
const MDE_DETERMINATIONS: &[(&str, &[&str])] = &[
    (
        "TruePositive",
        &[
            "MultiStagedAttack",
            "MaliciousUserActivity",
            "CompromisedUser",
            "Malware",
            "Phishing",
            "UnwantedSoftware",
            "Other",
        ],
    ),
    (
        "InformationalExpectedActivity",
        &["SecurityTesting", "LineOfBusinessApplication", "ConfirmedUserActivity", "Other"],
    ),
    ("FalsePositive", &["Clean", "InsufficientData", "Other"]),
];

const ALERT_ID: ParamSpec =
    resource_id("alertId", &["id"], "Alert id as MDE returns it, e.g. da637472900382838869_1364969609");
const ALERT_IDS: ParamSpec = ParamSpec {
    name: "alertIds",
    aliases: &["ids", "alertId"],
    kind: ParamKind::ResourceIds { max: 500 },
    required: true,
    default: None,
    doc: "Alert ids: a comma-separated string or an array, at most 500",
};
const MDE_STATUS_P: ParamSpec = optional_enum("status", &[], MDE_STATUS, "New, InProgress or Resolved");
const MDE_CLASSIFICATION_P: ParamSpec = optional_enum(
    "classification",
    &[],
    MDE_CLASSIFICATION,
    "TruePositive, InformationalExpectedActivity or FalsePositive",
);
const MDE_CLASSIFICATION_REQUIRED: ParamSpec = ParamSpec { required: true, ..MDE_CLASSIFICATION_P };
const MDE_DETERMINATION: ParamSpec = ParamSpec {
    name: "determination",
    aliases: &[],
    kind: ParamKind::Determination { classification_param: "classification", pairs: MDE_DETERMINATIONS },
    required: false,
    default: None,
    doc: "Determination; must go with the classification (e.g. Malware with TruePositive)",
};
const ASSIGNED_TO: ParamSpec = optional_text("assignedTo", &["assignee", "owner"], 256, "Owner (usually a UPN)");
const ASSIGNED_TO_REQUIRED: ParamSpec = ParamSpec { required: true, ..ASSIGNED_TO };
const MDE_COMMENT: ParamSpec = optional_text("comment", &["note"], 1000, "Comment added to the alert");
const MDE_COMMENT_REQUIRED: ParamSpec = ParamSpec { required: true, ..MDE_COMMENT };
const EXPAND: ParamSpec =
    optional_enum("expand", &["$expand"], &["evidence"], "evidence: include each alert's evidence");

const MDE_ALERT: Call = Call::new(Api::Mde, Method::Patch, "/api/alerts/{alertId}");
const MDE_ALERT_BODY: &[(&str, BodyValue)] = &[
    ("status", BodyValue::Param("status")),
    ("assignedTo", BodyValue::Param("assignedTo")),
    ("classification", BodyValue::Param("classification")),
    ("determination", BodyValue::Param("determination")),
    ("comment", BodyValue::Param("comment")),
];

// --- Graph alerts_v2 and incidents ---------------------------------------------------------------

/// An Incident-product row (the Graph security call, declared once in `incident/`) under the
/// name and spellings the seed's MDE worker and orchestrator gave it.
const fn graph(spec: ActionSpec, name: &'static str, aliases: &'static [&'static str]) -> ActionSpec {
    ActionSpec { product: Product::Mde, name, aliases, inverse: None, ..spec }
}

pub static ACTIONS: &[ActionSpec] = &[
    // --- MDE alerts ---
    ActionSpec {
        product: Product::Mde,
        name: "GetAlerts",
        summary: "List MDE alerts, optionally filtered",
        aliases: &["ListAlerts", "GetMdeAlerts"],
        params: &[FILTER, TOP, EXPAND],
        risk: Risk::Read,
        inverse: None,
        permission: "Alert.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Get, "/api/alerts")
                .query(&[("$filter", "filter"), ("$top", "top"), ("$expand", "expand")])
                .paged(),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetAlert",
        summary: "Get one MDE alert",
        aliases: &["GetAlertById", "GetMdeAlert"],
        params: &[ALERT_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Alert.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/alerts/{alertId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UpdateAlert",
        summary: "Update an MDE alert's status, owner, classification, determination or comment",
        aliases: &["UpdateMdeAlert"],
        params: &[ALERT_ID, MDE_STATUS_P, ASSIGNED_TO, MDE_CLASSIFICATION_P, MDE_DETERMINATION, MDE_COMMENT],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(MDE_ALERT.body(MDE_ALERT_BODY)),
    },
    ActionSpec {
        product: Product::Mde,
        name: "ResolveAlert",
        summary: "Resolve an MDE alert, optionally classifying it",
        aliases: &["CloseAlert"],
        params: &[ALERT_ID, MDE_CLASSIFICATION_P, MDE_DETERMINATION, MDE_COMMENT],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(MDE_ALERT.body(&[
            ("status", BodyValue::Literal("\"Resolved\"")),
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
            ("comment", BodyValue::Param("comment")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "ClassifyAlert",
        summary: "Set an MDE alert's classification and determination",
        aliases: &[],
        params: &[ALERT_ID, MDE_CLASSIFICATION_REQUIRED, MDE_DETERMINATION],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(MDE_ALERT.body(&[
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AssignAlert",
        summary: "Assign an MDE alert to an owner",
        aliases: &[],
        params: &[ALERT_ID, ASSIGNED_TO_REQUIRED],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(MDE_ALERT.body(&[("assignedTo", BodyValue::Param("assignedTo"))])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddAlertComment",
        summary: "Comment on an MDE alert",
        aliases: &["CommentAlert"],
        params: &[ALERT_ID, MDE_COMMENT_REQUIRED],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(MDE_ALERT.body(&[("comment", BodyValue::Param("comment"))])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "BatchUpdateAlerts",
        summary: "Update several MDE alerts at once (status, owner, classification, determination, comment)",
        aliases: &["BulkUpdateAlerts"],
        params: &[ALERT_IDS, MDE_STATUS_P, ASSIGNED_TO, MDE_CLASSIFICATION_P, MDE_DETERMINATION, MDE_COMMENT],
        risk: Risk::Contain,
        inverse: None,
        permission: "Alert.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Post, "/api/alerts/batchUpdate").body(&[
            ("alertIds", BodyValue::Param("alertIds")),
            ("status", BodyValue::Param("status")),
            ("assignedTo", BodyValue::Param("assignedTo")),
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
            ("comment", BodyValue::Param("comment")),
        ])),
    },
    // --- Graph alerts_v2 and incidents, as the Incident product declares them ---
    graph(alerts::GET_ALERTS, "GetAllAlerts", &["GetSecurityAlerts", "ListSecurityAlerts", "GetAlertsV2"]),
    graph(alerts::GET_ALERT, "GetSecurityAlert", &["GetAlertV2"]),
    graph(alerts::UPDATE_ALERT, "UpdateSecurityAlert", &["UpdateAlertV2"]),
    graph(alerts::ADD_ALERT_COMMENT, "AddSecurityAlertComment", &["AddAlertCommentV2"]),
    graph(incidents::GET_ALL_INCIDENTS, "GetAllIncidents", &["GetIncidents", "ListIncidents"]),
    // `GetIncident*` is the orchestrator's wildcard label; it normalises to this name.
    graph(incidents::GET_INCIDENT, "GetIncident", &["GetIncidentById"]),
    graph(incidents::UPDATE_INCIDENT, "UpdateIncident", &[]),
    graph(incidents::ASSIGN_INCIDENT, "AssignIncident", &[]),
    graph(incidents::RESOLVE_INCIDENT, "ResolveIncident", &["CloseIncident"]),
    graph(incidents::SET_INCIDENT_TAGS, "SetIncidentTags", &["TagIncident", "UpdateIncidentTags"]),
    graph(incidents::ADD_INCIDENT_COMMENT, "AddIncidentComment", &["AddComment", "CommentIncident"]),
];
