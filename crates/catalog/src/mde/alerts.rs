//! Alerts and incidents: MDE's own alert API (`/api/alerts`, upstream-apis.md §2.8), and the
//! Graph security API for incidents and `alerts_v2` (§4.5), where Microsoft serves incidents today
//! (the seed's worker called `/api/incidents` on the MDE host, which does not exist).
//!
//! Triage follows Microsoft's rule: a determination is only valid with its classification
//! (TruePositive → Malware, Phishing, ...; FalsePositive → Clean, ...), checked before the call
//! when both are given. MDE spells enum values in PascalCase, Graph in camelCase; input is
//! matched case-insensitively and sent in the API's own spelling.
use super::*;

// --- MDE alerts ---------------------------------------------------------------------------------

const MDE_STATUS: &[&str] = &["New", "InProgress", "Resolved"];
const MDE_CLASSIFICATION: &[&str] = &["TruePositive", "InformationalExpectedActivity", "FalsePositive"];
/// upstream-apis.md §2.8: determinations by classification.
const MDE_DETERMINATIONS: &[(&str, &[&str])] = &[
    (
        "TruePositive",
        &["MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Malware", "Phishing", "UnwantedSoftware", "Other"],
    ),
    ("InformationalExpectedActivity", &["SecurityTesting", "LineOfBusinessApplication", "ConfirmedUserActivity", "Other"]),
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
const MDE_CLASSIFICATION_P: ParamSpec =
    optional_enum("classification", &[], MDE_CLASSIFICATION, "TruePositive, InformationalExpectedActivity or FalsePositive");
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
const EXPAND: ParamSpec = optional_enum("expand", &["$expand"], &["evidence"], "evidence: include each alert's evidence");

const MDE_ALERT: Call = Call::new(Api::Mde, Method::Patch, "/api/alerts/{alertId}");
const MDE_ALERT_BODY: &[(&str, BodyValue)] = &[
    ("status", BodyValue::Param("status")),
    ("assignedTo", BodyValue::Param("assignedTo")),
    ("classification", BodyValue::Param("classification")),
    ("determination", BodyValue::Param("determination")),
    ("comment", BodyValue::Param("comment")),
];

// --- Graph alerts_v2 and incidents --------------------------------------------------------------

const GRAPH_ALERT_STATUS: &[&str] = &["new", "inProgress", "resolved"];
const GRAPH_INCIDENT_STATUS: &[&str] = &["active", "inProgress", "resolved", "redirected", "awaitingAction"];
const GRAPH_CLASSIFICATION: &[&str] = &["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"];
/// upstream-apis.md §4.5 (alerts) with the MDE pairing of §2.8.
const GRAPH_ALERT_DETERMINATIONS: &[(&str, &[&str])] = &[
    ("unknown", &["unknown"]),
    (
        "truePositive",
        &["apt", "malware", "multiStagedAttack", "compromisedUser", "phishing", "maliciousUserActivity", "unwantedSoftware", "other"],
    ),
    ("informationalExpectedActivity", &["securityTesting", "securityPersonnel", "lineOfBusinessApplication", "confirmedUserActivity", "other"]),
    ("falsePositive", &["clean", "insufficientData", "other"]),
];
/// Incidents spell two false-positive determinations differently (§4.5) and the compromised
/// one `compromisedAccount` (§3); both spellings of the latter are accepted.
const GRAPH_INCIDENT_DETERMINATIONS: &[(&str, &[&str])] = &[
    ("unknown", &["unknown"]),
    (
        "truePositive",
        &[
            "apt",
            "malware",
            "multiStagedAttack",
            "compromisedAccount",
            "compromisedUser",
            "phishing",
            "maliciousUserActivity",
            "unwantedSoftware",
            "other",
        ],
    ),
    ("informationalExpectedActivity", &["securityTesting", "securityPersonnel", "lineOfBusinessApplication", "confirmedUserActivity", "other"]),
    ("falsePositive", &["notMalicious", "notEnoughDataToValidate", "other"]),
];

const INCIDENT_ID: ParamSpec = resource_id("incidentId", &["id"], "Incident id, e.g. \"2972395\"");
const GRAPH_ALERT_ID: ParamSpec =
    resource_id("alertId", &["id"], "Graph alert id, e.g. da637551227677560813_-961444813");
const GRAPH_CLASSIFICATION_P: ParamSpec = optional_enum(
    "classification",
    &[],
    GRAPH_CLASSIFICATION,
    "unknown, truePositive, falsePositive or informationalExpectedActivity",
);
const fn graph_determination(pairs: &'static [(&'static str, &'static [&'static str])]) -> ParamSpec {
    ParamSpec {
        name: "determination",
        aliases: &[],
        kind: ParamKind::Determination { classification_param: "classification", pairs },
        required: false,
        default: None,
        doc: "Determination; must go with the classification (e.g. malware with truePositive)",
    }
}
const CUSTOM_TAGS: ParamSpec = ParamSpec {
    name: "customTags",
    aliases: &["tags"],
    kind: ParamKind::TextList { max_items: 50, max_len: 128 },
    required: false,
    default: None,
    doc: "Custom tags; replaces the incident's tag list",
};
const GRAPH_COMMENT: ParamSpec = required_text("comment", &["note", "text"], 1000, "Comment text");
const INCIDENT_EXPAND: ParamSpec = optional_enum("expand", &["$expand"], &["alerts"], "alerts: include each incident's alerts");

const INCIDENT: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/security/incidents/{incidentId}");
const INCIDENT_BODY: &[(&str, BodyValue)] = &[
    ("status", BodyValue::Param("status")),
    ("assignedTo", BodyValue::Param("assignedTo")),
    ("classification", BodyValue::Param("classification")),
    ("determination", BodyValue::Param("determination")),
    ("customTags", BodyValue::Param("customTags")),
];
const GRAPH_ALERT: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/security/alerts_v2/{alertId}");
const GRAPH_COMMENT_BODY: &[(&str, BodyValue)] = &[
    ("@odata.type", BodyValue::Literal("\"microsoft.graph.security.alertComment\"")),
    ("comment", BodyValue::Param("comment")),
];

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
        plan: Plan::Call(Call::new(Api::Mde, Method::Post, "/api/alerts/batchUpdate").body(&[
            ("alertIds", BodyValue::Param("alertIds")),
            ("status", BodyValue::Param("status")),
            ("assignedTo", BodyValue::Param("assignedTo")),
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
            ("comment", BodyValue::Param("comment")),
        ])),
    },
    // --- Graph alerts_v2 ---
    ActionSpec {
        product: Product::Mde,
        name: "GetAllAlerts",
        summary: "List alerts from the Graph security API (alerts_v2), optionally filtered",
        aliases: &["GetSecurityAlerts", "ListSecurityAlerts", "GetAlertsV2"],
        params: &[FILTER, top_up_to(2000)],
        risk: Risk::Read,
        inverse: None,
        permission: "SecurityAlert.Read.All",
        completion: Completion::Immediate,
        plan: Plan::Call(graph_list("/v1.0/security/alerts_v2")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetSecurityAlert",
        summary: "Get one alert from the Graph security API (alerts_v2)",
        aliases: &["GetAlertV2"],
        params: &[GRAPH_ALERT_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "SecurityAlert.Read.All",
        completion: Completion::Immediate,
        plan: Plan::Call(Call::new(Api::Graph, Method::Get, "/v1.0/security/alerts_v2/{alertId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UpdateSecurityAlert",
        summary: "Update a Graph alert's status, owner, classification or determination",
        aliases: &["UpdateAlertV2"],
        params: &[
            GRAPH_ALERT_ID,
            optional_enum("status", &[], GRAPH_ALERT_STATUS, "new, inProgress or resolved"),
            ASSIGNED_TO,
            GRAPH_CLASSIFICATION_P,
            graph_determination(GRAPH_ALERT_DETERMINATIONS),
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityAlert.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(GRAPH_ALERT.body(&[
            ("status", BodyValue::Param("status")),
            ("assignedTo", BodyValue::Param("assignedTo")),
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddSecurityAlertComment",
        summary: "Comment on a Graph alert (answers the alert's whole comment list)",
        aliases: &["AddAlertCommentV2"],
        params: &[GRAPH_ALERT_ID, GRAPH_COMMENT],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityAlert.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/security/alerts_v2/{alertId}/comments").body(GRAPH_COMMENT_BODY),
        ),
    },
    // --- Graph incidents ---
    ActionSpec {
        product: Product::Mde,
        name: "GetAllIncidents",
        summary: "List incidents from the Graph security API, optionally filtered",
        aliases: &["GetIncidents", "ListIncidents"],
        params: &[FILTER, top_up_to(50), INCIDENT_EXPAND],
        risk: Risk::Read,
        inverse: None,
        permission: "SecurityIncident.Read.All",
        completion: Completion::Immediate,
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents")
                .query(&[("$filter", "filter"), ("$top", "top"), ("$expand", "expand")])
                .paged(),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetIncident",
        summary: "Get one incident (optionally with its alerts)",
        // `GetIncident*` is the orchestrator's wildcard label; it normalises to this name.
        aliases: &["GetIncidentById"],
        params: &[INCIDENT_ID, INCIDENT_EXPAND],
        risk: Risk::Read,
        inverse: None,
        permission: "SecurityIncident.Read.All",
        completion: Completion::Immediate,
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents/{incidentId}").query(&[("$expand", "expand")]),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UpdateIncident",
        summary: "Update an incident's status, owner, classification, determination or tags",
        aliases: &[],
        params: &[
            INCIDENT_ID,
            optional_enum("status", &[], GRAPH_INCIDENT_STATUS, "active, inProgress, resolved, redirected or awaitingAction"),
            ASSIGNED_TO,
            GRAPH_CLASSIFICATION_P,
            graph_determination(GRAPH_INCIDENT_DETERMINATIONS),
            CUSTOM_TAGS,
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityIncident.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(INCIDENT.body(INCIDENT_BODY)),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AssignIncident",
        summary: "Assign an incident to an owner",
        aliases: &[],
        params: &[INCIDENT_ID, ASSIGNED_TO_REQUIRED],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityIncident.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(INCIDENT.body(&[("assignedTo", BodyValue::Param("assignedTo"))])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "ResolveIncident",
        summary: "Resolve an incident, optionally classifying it",
        aliases: &["CloseIncident"],
        params: &[INCIDENT_ID, GRAPH_CLASSIFICATION_P, graph_determination(GRAPH_INCIDENT_DETERMINATIONS)],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityIncident.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(INCIDENT.body(&[
            ("status", BodyValue::Literal("\"resolved\"")),
            ("classification", BodyValue::Param("classification")),
            ("determination", BodyValue::Param("determination")),
        ])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "SetIncidentTags",
        summary: "Replace an incident's custom tags",
        aliases: &["TagIncident", "UpdateIncidentTags"],
        params: &[INCIDENT_ID, ParamSpec { required: true, ..CUSTOM_TAGS }],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityIncident.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(INCIDENT.body(&[("customTags", BodyValue::Param("customTags"))])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "AddIncidentComment",
        summary: "Comment on an incident (answers the incident's whole comment list)",
        aliases: &["AddComment", "CommentIncident"],
        params: &[INCIDENT_ID, GRAPH_COMMENT],
        risk: Risk::Contain,
        inverse: None,
        permission: "SecurityIncident.ReadWrite.All",
        completion: Completion::Immediate,
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/security/incidents/{incidentId}/comments").body(GRAPH_COMMENT_BODY),
        ),
    },
];
