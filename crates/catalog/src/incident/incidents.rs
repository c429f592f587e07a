//! Graph `incidents`: list, read (optionally with alerts), triage, tags, comments; and what one
//! call cannot answer, done by procedures: an incident's alerts and comments, tag appends (read,
//! then PATCH the whole `customTags`), a timeline and statistics computed by Riposte.
use super::*;

const READ: &str = "SecurityIncident.Read.All";
const WRITE: &str = "SecurityIncident.ReadWrite.All";

/// Resolving sends the status and whatever triage was given (the seed defaulted to
/// truePositive/multiStagedAttack; Riposte does not invent a verdict).
const RESOLVE_BODY: &[(&str, BodyValue)] = &[
    ("status", BodyValue::Literal("\"resolved\"")),
    ("classification", BodyValue::Param("classification")),
    ("determination", BodyValue::Param("determination")),
];

pub(crate) const GET_ALL_INCIDENTS: ActionSpec = read(
    "GetAllIncidents",
    "List incidents from the Graph security API, optionally filtered",
    &["GetIncidents", "ListIncidents"],
    &[FILTER, top_up_to(50), INCIDENT_EXPAND],
    READ,
    Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents")
        .query(&[("$filter", "filter"), ("$top", "top"), ("$expand", "expand")])
        .paged()
        .budget(Budget::Incidents),
);
pub(crate) const GET_INCIDENT: ActionSpec = read(
    "GetIncident",
    "Get one incident (optionally with its alerts)",
    // `GetIncident*` is the orchestrator's wildcard label; it normalises to this name.
    &["GetIncidentById"],
    &[INCIDENT_ID, INCIDENT_EXPAND],
    READ,
    Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents/{incidentId}")
        .query(&[("$expand", "expand")])
        .budget(Budget::Incidents),
);
pub(crate) const UPDATE_INCIDENT: ActionSpec = triage(
    "UpdateIncident",
    "Update an incident's status, owner, classification, determination or tags",
    &[],
    &[INCIDENT_ID, INCIDENT_STATUS_P, ASSIGNED_TO, CLASSIFICATION_P, INCIDENT_DETERMINATION, CUSTOM_TAGS],
    WRITE,
    INCIDENT.body(&[
        ("status", BodyValue::Param("status")),
        ("assignedTo", BodyValue::Param("assignedTo")),
        ("classification", BodyValue::Param("classification")),
        ("determination", BodyValue::Param("determination")),
        ("customTags", BodyValue::Param("customTags")),
    ]),
);
pub(crate) const ASSIGN_INCIDENT: ActionSpec = triage(
    "AssignIncident",
    "Assign an incident to an owner",
    &[],
    &[INCIDENT_ID, ASSIGNED_TO_REQUIRED],
    WRITE,
    INCIDENT.body(&[("assignedTo", BodyValue::Param("assignedTo"))]),
);
pub(crate) const RESOLVE_INCIDENT: ActionSpec = ActionSpec {
    inverse: Some("ReopenIncident"),
    ..triage(
        "ResolveIncident",
        "Resolve an incident, optionally classifying it",
        &["CloseIncident"],
        &[INCIDENT_ID, CLASSIFICATION_P, INCIDENT_DETERMINATION],
        WRITE,
        INCIDENT.body(RESOLVE_BODY),
    )
};
pub(crate) const REOPEN_INCIDENT: ActionSpec = ActionSpec {
    inverse: Some("ResolveIncident"),
    ..triage(
        "ReopenIncident",
        "Reopen a resolved incident (status active)",
        &[],
        &[INCIDENT_ID],
        WRITE,
        INCIDENT.body(&[("status", BodyValue::Literal("\"active\""))]),
    )
};
pub(crate) const SET_INCIDENT_TAGS: ActionSpec = triage(
    "SetIncidentTags",
    "Replace an incident's custom tags",
    &["TagIncident", "UpdateIncidentTags"],
    &[INCIDENT_ID, ParamSpec { required: true, ..CUSTOM_TAGS }],
    WRITE,
    INCIDENT.body(&[("customTags", BodyValue::Param("customTags"))]),
);
pub(crate) const ADD_INCIDENT_COMMENT: ActionSpec = triage(
    "AddIncidentComment",
    "Comment on an incident (answers the incident's whole comment list)",
    &["AddComment", "CommentIncident"],
    &[INCIDENT_ID, COMMENT],
    WRITE,
    Call::new(Api::Graph, Method::Post, "/v1.0/security/incidents/{incidentId}/comments")
        .body(COMMENT_BODY)
        .budget(Budget::Incidents),
);
/// The incident as Graph reads it with its alerts: what the procedures below start from.
const GET_WITH_ALERTS: Call = Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents/{incidentId}")
    .query(&[("$expand", "expand")])
    .budget(Budget::Incidents);

pub(crate) const GET_INCIDENT_ALERTS: ActionSpec = procedure(
    read(
        "GetIncidentAlerts",
        "An incident's alerts, evidence included (GET incident with $expand=alerts)",
        &["ListIncidentAlerts"],
        &[INCIDENT_ID],
        READ,
        GET_WITH_ALERTS,
    ),
    "incident.incidents.alerts",
);
pub(crate) const GET_INCIDENT_COMMENTS: ActionSpec = procedure(
    read(
        "GetIncidentComments",
        "An incident's comments (read from the incident)",
        &["ListIncidentComments"],
        &[INCIDENT_ID],
        READ,
        GET_WITH_ALERTS,
    ),
    "incident.incidents.comments",
);
pub(crate) const GET_INCIDENT_TIMELINE: ActionSpec = procedure(
    read(
        "GetIncidentTimeline",
        "A timeline of an incident computed by Riposte from its alerts, evidence and comments (Graph has no timeline API)",
        &[],
        &[INCIDENT_ID],
        READ,
        GET_WITH_ALERTS,
    ),
    "incident.incidents.timeline",
);
pub(crate) const GET_INCIDENT_STATISTICS: ActionSpec = procedure(
    read(
        "GetIncidentStatistics",
        "Counts of incidents by status, severity, classification, determination, owner and alert product, computed by Riposte from every page of the list",
        &["GetIncidentStats"],
        &[FILTER],
        READ,
        Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents")
            .query(&[("$filter", "filter")])
            .budget(Budget::Incidents),
    ),
    "incident.stats.incidents",
);
/// Adding tags: Graph's PATCH replaces `customTags`, so the current tags are read and the
/// union written back (a concurrent edit between the two can be lost; Graph has no ETag here).
pub(crate) const ADD_INCIDENT_TAG: ActionSpec = ActionSpec {
    inverse: Some("RemoveIncidentTag"),
    ..procedure(
        triage(
            "AddIncidentTag",
            "Add custom tags to an incident, keeping its others (reads the tags, PATCHes the union)",
            &["AddIncidentTags", "AppendIncidentTags"],
            &[INCIDENT_ID, TAGS_REQUIRED],
            WRITE,
            INCIDENT.body(&[("customTags", BodyValue::Param("customTags"))]),
        ),
        "incident.incidents.add_tags",
    )
};
pub(crate) const REMOVE_INCIDENT_TAG: ActionSpec = ActionSpec {
    inverse: Some("AddIncidentTag"),
    ..procedure(
        triage(
            "RemoveIncidentTag",
            "Remove custom tags from an incident, keeping its others (reads the tags, PATCHes the rest)",
            &["RemoveIncidentTags"],
            &[INCIDENT_ID, TAGS_REQUIRED],
            WRITE,
            INCIDENT.body(&[("customTags", BodyValue::Param("customTags"))]),
        ),
        "incident.incidents.remove_tags",
    )
};

pub static ACTIONS: &[ActionSpec] = &[
    GET_INCIDENT_ALERTS,
    GET_INCIDENT_COMMENTS,
    GET_INCIDENT_TIMELINE,
    GET_INCIDENT_STATISTICS,
    ADD_INCIDENT_TAG,
    REMOVE_INCIDENT_TAG,
    GET_ALL_INCIDENTS,
    GET_INCIDENT,
    UPDATE_INCIDENT,
    ASSIGN_INCIDENT,
    RESOLVE_INCIDENT,
    REOPEN_INCIDENT,
    SET_INCIDENT_TAGS,
    ADD_INCIDENT_COMMENT,
];
