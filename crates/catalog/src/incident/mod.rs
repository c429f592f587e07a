//! Defender XDR incidents and alerts: the Graph security API (`/security/incidents`,
//! `/security/alerts_v2`, upstream-apis.md §4.5), where Microsoft serves the incidents and alerts
//! of every Defender product. The seed's Incident worker (`/api/DefenderXDRIncidentWorker`)
//! called exactly these.
//!
//! The seed's MDE worker and orchestrator reached the same calls under MDE names (`GetIncidents`,
//! `AddComment`, `GetAllAlerts`), so `mde/alerts.rs` keeps those rows, each this module's row
//! re-keyed to MDE: one declaration of the call and its parameters, two namespaces. Where MDE has
//! its own API under the same name (`UpdateAlert` is `/api/alerts` on the MDE worker), the name is
//! ambiguous without a product and the surfaces answer 400 naming both.
//!
//! Triage follows Microsoft's rule: a determination is only valid with its classification,
//! checked before the call when both are given. Graph spells enum values in camelCase; input is
//! matched case-insensitively.
use crate::mde::{FILTER, graph_list, optional_enum, optional_text, required_text, resource_id, top_up_to};
use crate::*;

pub(crate) mod alerts;
pub(crate) mod bulk;
pub(crate) mod incidents;

/// Every Incident action: alerts_v2, incidents, then the bulk forms.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    alerts::ACTIONS.iter().chain(incidents::ACTIONS).chain(bulk::ACTIONS)
}

// --- Vocabulary (upstream-apis.md §4.5) ------------------------------------------------------------

pub(crate) const ALERT_STATUS: &[&str] = &["new", "inProgress", "resolved"];
pub(crate) const INCIDENT_STATUS: &[&str] = &["active", "inProgress", "resolved", "redirected", "awaitingAction"];
pub(crate) const CLASSIFICATION: &[&str] =
    &["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"];
/// Alerts' determinations by classification (§4.5, with the MDE pairing of §2.8).
pub(crate) const ALERT_DETERMINATIONS: &[(&str, &[&str])] = &[
    ("unknown", &["unknown"]),
    (
        "truePositive",
        &[
            "apt",
            "malware",
            "multiStagedAttack",
            "compromisedUser",
            "phishing",
            "maliciousUserActivity",
            "unwantedSoftware",
            "other",
        ],
    ),
    (
        "informationalExpectedActivity",
        &["securityTesting", "securityPersonnel", "lineOfBusinessApplication", "confirmedUserActivity", "other"],
    ),
    ("falsePositive", &["clean", "insufficientData", "other"]),
];
/// Incidents spell two false-positive determinations differently (§4.5) and the compromised
/// one `compromisedAccount` (§3); both spellings of the latter are accepted.
pub(crate) const INCIDENT_DETERMINATIONS: &[(&str, &[&str])] = &[
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
    (
        "informationalExpectedActivity",
        &["securityTesting", "securityPersonnel", "lineOfBusinessApplication", "confirmedUserActivity", "other"],
    ),
    ("falsePositive", &["notMalicious", "notEnoughDataToValidate", "other"]),
];

// --- Parameters --------------------------------------------------------------------------------

pub(crate) const ALERT_ID: ParamSpec =
    resource_id("alertId", &["id"], "Graph alert id, e.g. da637551227677560813_-961444813");
pub(crate) const ALERT_IDS: ParamSpec = ParamSpec {
    name: "alertIds",
    aliases: &["ids", "alertId"],
    kind: ParamKind::ResourceIds { max: 500 },
    required: true,
    default: None,
    doc: "Graph alert ids: a comma-separated string or an array, at most 500",
};
pub(crate) const INCIDENT_IDS: ParamSpec = ParamSpec {
    name: "incidentIds",
    aliases: &["ids", "incidentId"],
    kind: ParamKind::ResourceIds { max: 500 },
    required: true,
    default: None,
    doc: "Incident ids: a comma-separated string or an array, at most 500",
};
pub(crate) const INCIDENT_ID: ParamSpec = resource_id("incidentId", &["id"], "Incident id, e.g. \"2972395\"");
pub(crate) const ALERT_STATUS_P: ParamSpec = optional_enum("status", &[], ALERT_STATUS, "new, inProgress or resolved");
pub(crate) const INCIDENT_STATUS_P: ParamSpec =
    optional_enum("status", &[], INCIDENT_STATUS, "active, inProgress, resolved, redirected or awaitingAction");
pub(crate) const CLASSIFICATION_P: ParamSpec = optional_enum(
    "classification",
    &[],
    CLASSIFICATION,
    "unknown, truePositive, falsePositive or informationalExpectedActivity",
);
pub(crate) const CLASSIFICATION_REQUIRED: ParamSpec = ParamSpec { required: true, ..CLASSIFICATION_P };
pub(crate) const fn determination(pairs: &'static [(&'static str, &'static [&'static str])]) -> ParamSpec {
    ParamSpec {
        name: "determination",
        aliases: &[],
        kind: ParamKind::Determination { classification_param: "classification", pairs },
        required: false,
        default: None,
        doc: "Determination; must go with the classification (e.g. malware with truePositive)",
    }
}
pub(crate) const ALERT_DETERMINATION: ParamSpec = determination(ALERT_DETERMINATIONS);
pub(crate) const INCIDENT_DETERMINATION: ParamSpec = determination(INCIDENT_DETERMINATIONS);
pub(crate) const ASSIGNED_TO: ParamSpec =
    optional_text("assignedTo", &["assignee", "owner"], 256, "Owner (usually a UPN)");
pub(crate) const ASSIGNED_TO_REQUIRED: ParamSpec = ParamSpec { required: true, ..ASSIGNED_TO };
pub(crate) const CUSTOM_TAGS: ParamSpec = ParamSpec {
    name: "customTags",
    aliases: &["tags"],
    kind: ParamKind::TextList { max_items: 50, max_len: 128 },
    required: false,
    default: None,
    doc: "Custom tags; replaces the incident's tag list",
};
pub(crate) const TAGS_REQUIRED: ParamSpec =
    ParamSpec { required: true, doc: "Custom tags to add or remove (the others are kept)", ..CUSTOM_TAGS };
pub(crate) const COMMENT: ParamSpec = required_text("comment", &["note", "text"], 1000, "Comment text");
pub(crate) const INCIDENT_EXPAND: ParamSpec =
    optional_enum("expand", &["$expand"], &["alerts"], "alerts: include each incident's alerts");

// --- Call shapes -------------------------------------------------------------------------------

pub(crate) const ALERT: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/security/alerts_v2/{alertId}");
/// Incident calls name the XDR incidents limit (50/min, 1,500/h per tenant) besides Graph's
/// `/security` one (150/min), which `upstream` applies together; a test holds every row to it.
pub(crate) const INCIDENT: Call =
    Call::new(Api::Graph, Method::Patch, "/v1.0/security/incidents/{incidentId}").budget(Budget::Incidents);
/// Graph's comment body: the alertComment type and the text (the answer is the whole list).
pub(crate) const COMMENT_BODY: &[(&str, BodyValue)] = &[
    ("@odata.type", BodyValue::Literal("\"microsoft.graph.security.alertComment\"")),
    ("comment", BodyValue::Param("comment")),
];
pub(crate) const TRIAGE_BODY: &[(&str, BodyValue)] =
    &[("classification", BodyValue::Param("classification")), ("determination", BodyValue::Param("determination"))];

/// A row carried out by a procedure of `engine/src/procedures/incident/` (key `incident.<area>.<verb>`).
pub(crate) const fn procedure(spec: ActionSpec, key: &'static str) -> ActionSpec {
    ActionSpec { plan: Plan::Procedure(ProcedureId(key)), ..spec }
}

/// A read of one or more Graph security entities.
pub(crate) const fn read(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    permission: &'static str,
    call: Call,
) -> ActionSpec {
    ActionSpec::read(Product::Incident, name, summary, aliases, params, permission, call)
}

/// A triage change (status, owner, classification, comment): reversible by another change.
pub(crate) const fn triage(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    permission: &'static str,
    call: Call,
) -> ActionSpec {
    ActionSpec { risk: Risk::Contain, ..read(name, summary, aliases, params, permission, call) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call on Graph's incidents draws the XDR incidents budget (the issue found it
    /// declared and never requested); alerts_v2 calls draw only the `/security` one.
    #[test]
    fn incident_calls_draw_the_xdr_incidents_budget() {
        let calls = crate::all().filter_map(|a| match a.plan {
            Plan::Call(c) => Some((a.name, c)),
            _ => None,
        });
        let mut seen = 0;
        for (name, c) in calls.filter(|(_, c)| c.api == Api::Graph && c.path.contains("/security/incidents")) {
            assert_eq!(c.budget, Budget::Incidents, "{name}: {}", c.path);
            seen += 1;
        }
        assert!(seen >= 8, "the incident rows (and MDE's re-keyed ones) were checked: {seen}");
        for a in alerts::ACTIONS {
            if let Plan::Call(c) = a.plan {
                assert_eq!(c.budget, Budget::Default, "{}", a.name);
            }
        }
    }
}
