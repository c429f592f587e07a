//! Graph `incidents`: list, read (optionally with alerts), triage, tags, comments.
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
        .paged(),
);
pub(crate) const GET_INCIDENT: ActionSpec = read(
    "GetIncident",
    "Get one incident (optionally with its alerts)",
    // `GetIncident*` is the orchestrator's wildcard label; it normalises to this name.
    &["GetIncidentById"],
    &[INCIDENT_ID, INCIDENT_EXPAND],
    READ,
    Call::new(Api::Graph, Method::Get, "/v1.0/security/incidents/{incidentId}").query(&[("$expand", "expand")]),
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
    Call::new(Api::Graph, Method::Post, "/v1.0/security/incidents/{incidentId}/comments").body(COMMENT_BODY),
);
pub static ACTIONS: &[ActionSpec] = &[
    GET_ALL_INCIDENTS,
    GET_INCIDENT,
    UPDATE_INCIDENT,
    ASSIGN_INCIDENT,
    RESOLVE_INCIDENT,
    REOPEN_INCIDENT,
    SET_INCIDENT_TAGS,
    ADD_INCIDENT_COMMENT,
];
