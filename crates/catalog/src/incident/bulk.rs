//! Bulk triage: the seed's `Bulk*` names, and the forms a SOC needs beside them (classify,
//! reopen, assign alerts). Graph has no batch endpoint for incidents or alerts_v2, so each item
//! is its own PATCH, under the `/security` budget (incidents also under the XDR incidents one),
//! with a result per item. The procedures (`engine/src/procedures/incident/bulk.rs`) keep their
//! progress in the operation, so a restart resumes after the last item done without PATCHing
//! any item twice.
use super::*;

const INCIDENT_WRITE: &str = "SecurityIncident.ReadWrite.All";
const ALERT_WRITE: &str = "SecurityAlert.ReadWrite.All";

/// `updates`: the seed's object of incident fields, sent as the PATCH body of every item.
const UPDATES: ParamSpec = ParamSpec {
    name: "updates",
    aliases: &["changes", "properties"],
    kind: ParamKind::JsonObject,
    required: false,
    default: None,
    doc: "Incident fields to set on every item: status, assignedTo, classification, determination, customTags",
};

/// A bulk row: one PATCH per id by procedure `key`, resumable, with per-item results.
const fn bulk(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    permission: &'static str,
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Incident,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    bulk(
        "BulkUpdateIncidents",
        "Update many incidents (status, owner, classification, determination, tags): one PATCH each, per-item results",
        &[],
        &[INCIDENT_IDS, UPDATES, INCIDENT_STATUS_P, ASSIGNED_TO, CLASSIFICATION_P, INCIDENT_DETERMINATION, CUSTOM_TAGS],
        INCIDENT_WRITE,
        "incident.bulk.update_incidents",
    ),
    bulk(
        "BulkAssignIncidents",
        "Assign many incidents to an owner: one PATCH each, per-item results",
        &[],
        &[INCIDENT_IDS, ASSIGNED_TO_REQUIRED],
        INCIDENT_WRITE,
        "incident.bulk.assign_incidents",
    ),
    ActionSpec {
        inverse: Some("BulkReopenIncidents"),
        ..bulk(
            "BulkResolveIncidents",
            "Resolve many incidents, optionally classifying them: one PATCH each, per-item results",
            &["BulkCloseIncidents"],
            &[INCIDENT_IDS, CLASSIFICATION_P, INCIDENT_DETERMINATION],
            INCIDENT_WRITE,
            "incident.bulk.resolve_incidents",
        )
    },
    ActionSpec {
        inverse: Some("BulkResolveIncidents"),
        ..bulk(
            "BulkReopenIncidents",
            "Reopen many incidents (status active): one PATCH each, per-item results",
            &[],
            &[INCIDENT_IDS],
            INCIDENT_WRITE,
            "incident.bulk.reopen_incidents",
        )
    },
    bulk(
        "BulkClassifyIncidents",
        "Classify many incidents (classification and determination): one PATCH each, per-item results",
        &[],
        &[INCIDENT_IDS, CLASSIFICATION_REQUIRED, INCIDENT_DETERMINATION],
        INCIDENT_WRITE,
        "incident.bulk.classify_incidents",
    ),
    bulk(
        "BulkResolveAlerts",
        "Resolve many alerts, optionally classifying them: one PATCH each, per-item results",
        &["BulkCloseAlerts"],
        &[ALERT_IDS, CLASSIFICATION_P, ALERT_DETERMINATION],
        ALERT_WRITE,
        "incident.bulk.resolve_alerts",
    ),
    bulk(
        "BulkClassifyAlerts",
        "Classify many alerts (classification and determination): one PATCH each, per-item results",
        &[],
        &[ALERT_IDS, CLASSIFICATION_REQUIRED, ALERT_DETERMINATION],
        ALERT_WRITE,
        "incident.bulk.classify_alerts",
    ),
    bulk(
        "BulkAssignAlerts",
        "Assign many alerts to an owner: one PATCH each, per-item results",
        &[],
        &[ALERT_IDS, ASSIGNED_TO_REQUIRED],
        ALERT_WRITE,
        "incident.bulk.assign_alerts",
    ),
];
