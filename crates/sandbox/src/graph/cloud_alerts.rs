//! Seed 004's container attack in Defender XDR: the Defender for Cloud alerts of the lab's AKS
//! cluster (`world/mdc.rs` serves them through ARM) are also Graph security `alerts_v2`, with the
//! SAME ids (`hunting/scenario.rs` gives their `AlertInfo` rows those ids too), grouped in one
//! incident, so "correlate in XDR, then respond" works: list the incident in Graph, find its
//! alert ids in Defender for Cloud, act there.
//!
//! Defender for Cloud alerts carry the cluster and the pod as evidence
//! (`azureResourceEvidence`, `kubernetesPodEvidence`), added by [`evidence`] to every
//! `microsoftDefenderForCloud` alert Graph renders.
//!
//! One status: Microsoft syncs an alert's state between Defender for Cloud and Defender XDR, so
//! a state action on the ARM alert (dismiss, resolve, activate, inProgress) moves the Graph
//! alert ([`sync_from_defender_for_cloud`]), and a Graph `PATCH` of its status moves the ARM
//! alert ([`sync_to_defender_for_cloud`]).

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::hunting::scenario::{CLOUD_ALERTS, cloud_alert_id, lab_cluster_id};
use crate::mde::alerts::{
    Alert, AlertStatus, DetectionSource, Incident, IncidentStatus, ServiceSource, Severity, Triage, sync_incident,
};
use crate::world::Tenant;
use crate::world::mdc::ALERTS;

/// Who the Graph alert's change is attributed to when Defender for Cloud's state moved it.
const SYNCED_BY: &str = "Microsoft Defender for Cloud";

/// The namespace and pod the simulation attacks (as `world/mdc.rs` names them).
const NAMESPACE: &str = "mdc-simulation";
const POD: &str = "mdc-simulation-victim";

/// The incident's title, as Defender XDR names a multi-stage single-resource incident.
pub const INCIDENT_TITLE: &str =
    "Multi-stage incident involving Execution & Credential access on one cloud resource (DefenderLabAKS)";

fn severity(s: &str) -> Severity {
    match s {
        "High" => Severity::High,
        "Medium" => Severity::Medium,
        "Low" => Severity::Low,
        _ => Severity::Informational,
    }
}

/// Appends the container-attack alerts and their incident. The times match `world/mdc.rs`
/// (two days ago, two minutes apart per step), and the incident id follows the last one seeded.
pub fn seed(tenant_id: &str, now: OffsetDateTime, alerts: &mut Vec<Alert>, incidents: &mut Vec<Incident>) {
    let incident_id = incidents.iter().map(|i| i.id).max().unwrap_or(1_000) + 1_000;
    let start = now - Duration::days(2);
    let mut last = start;
    for (n, (title, intent, sev, technique, step)) in CLOUD_ALERTS.iter().enumerate() {
        let at = start + Duration::minutes(*step as i64 * 2 + 3);
        last = last.max(at);
        alerts.push(Alert {
            id: cloud_alert_id(tenant_id, n),
            incident_id,
            service_source: ServiceSource::Cloud,
            investigation_id: None,
            investigation_state: "UnsupportedAlertType",
            assigned_to: None,
            severity: severity(sev),
            status: AlertStatus::New,
            classification: None,
            determination: None,
            detection_source: DetectionSource::CustomDetection,
            detector_id: format!("5e1d0004-0000-4000-8000-{:012}", n + 1),
            category: intent,
            threat_family_name: None,
            title: (*title).into(),
            description: format!("{title} in pod {POD} of cluster DefenderLabAKS."),
            recommended_actions: "Review the pod's processes and network activity. Isolate or delete the pod if the activity is not expected.".into(),
            mitre_techniques: vec![technique],
            created: at,
            first_event: at,
            last_event: at,
            last_update: at,
            resolved: None,
            machine_id: String::new(),
            computer_dns_name: String::new(),
            rbac_group_name: String::new(),
            aad_tenant_id: tenant_id.to_string(),
            user: None,
            comments: Vec::new(),
            evidence: Vec::new(),
        });
    }
    incidents.push(Incident {
        id: incident_id,
        display_name: INCIDENT_TITLE.into(),
        description: String::new(),
        created: start + Duration::minutes(3),
        last_update: last.min(now),
        resolved: None,
        status: IncidentStatus::Active,
        assigned_to: None,
        classification: None,
        determination: None,
        custom_tags: Vec::new(),
        system_tags: vec!["Defender for Cloud".into()],
        comments: Vec::new(),
        redirect_incident_id: None,
        history: Vec::new(),
    });
}

/// Defender for Cloud's alert status (`Active`, `InProgress`, `Resolved`, `Dismissed`) as
/// Graph's: a dismissed alert is resolved in Defender XDR.
fn graph_status(defender_for_cloud: &str) -> Option<AlertStatus> {
    match defender_for_cloud {
        "Active" => Some(AlertStatus::New),
        "InProgress" => Some(AlertStatus::InProgress),
        "Resolved" | "Dismissed" => Some(AlertStatus::Resolved),
        _ => None,
    }
}

/// After a state action on Defender for Cloud's alerts: each container alert's Graph status
/// follows its ARM status (and the incident follows its alerts, as Graph's own PATCH does).
pub fn sync_from_defender_for_cloud(t: &mut Tenant, now: OffsetDateTime) {
    let statuses: Vec<(String, AlertStatus)> = t
        .arm
        .list(ALERTS, "")
        .iter()
        .filter_map(|r| {
            let status = graph_status(r.body.pointer("/properties/status")?.as_str()?)?;
            Some((r.body["name"].as_str()?.to_owned(), status))
        })
        .collect();
    let mut incidents = Vec::new();
    for (id, status) in statuses {
        let Some(a) = t.mde.alerts.iter_mut().find(|a| a.service_source == ServiceSource::Cloud && a.id == id) else {
            continue;
        };
        if a.status != status {
            let pair = (a.classification, a.determination);
            a.apply(Some(status), pair, &Triage::default(), SYNCED_BY, now);
            incidents.push(a.incident_id);
        }
    }
    for incident in incidents {
        sync_incident(t, incident, now);
    }
}

/// After a Graph `PATCH` of alert `id`: a container alert's Defender for Cloud status follows
/// (a Graph-resolved alert Defender for Cloud already dismissed stays dismissed).
pub fn sync_to_defender_for_cloud(t: &mut Tenant, id: &str) {
    let Some((status, id)) = t
        .mde
        .alerts
        .iter()
        .find(|a| a.service_source == ServiceSource::Cloud && a.id.eq_ignore_ascii_case(id))
        .map(|a| (a.status, a.id.clone()))
    else {
        return;
    };
    let Some(arm_id) = t.arm.list(ALERTS, "").iter().find(|r| r.body["name"] == id).map(|r| r.id.clone()) else {
        return;
    };
    let Some(alert) = t.arm.get_mut(&arm_id) else { return };
    let current = alert.body.pointer("/properties/status").and_then(Value::as_str).and_then(graph_status);
    if current != Some(status) {
        alert.body["properties"]["status"] = match status {
            AlertStatus::New => "Active",
            AlertStatus::InProgress => "InProgress",
            AlertStatus::Resolved => "Resolved",
        }
        .into();
    }
}

/// The evidence Defender for Cloud's container alerts carry: the AKS cluster as an Azure
/// resource, and the pod in its namespace on that cluster.
pub fn evidence(subscription_id: &str, created: &str) -> Vec<Value> {
    let cluster_id = lab_cluster_id(subscription_id);
    let common = |v: Value| {
        let mut v = v;
        v["createdDateTime"] = created.into();
        v["verdict"] = "suspicious".into();
        v["remediationStatus"] = "none".into();
        v["remediationStatusDetails"] = Value::Null;
        v["tags"] = json!([]);
        v["detailedRoles"] = json!([]);
        v
    };
    let resource = json!({
        "@odata.type": "#microsoft.graph.security.azureResourceEvidence",
        "resourceId": cluster_id,
        "resourceName": "DefenderLabAKS",
        "resourceType": "Microsoft.ContainerService/managedClusters",
        "roles": [],
    });
    let cluster = json!({
        "@odata.type": "#microsoft.graph.security.kubernetesClusterEvidence",
        "name": "DefenderLabAKS",
        "cloudResource": resource.clone(),
        "distribution": "AKS",
        "platform": "aks",
        "roles": [],
    });
    let pod = json!({
        "@odata.type": "#microsoft.graph.security.kubernetesPodEvidence",
        "name": POD,
        "namespace": {
            "@odata.type": "#microsoft.graph.security.kubernetesNamespaceEvidence",
            "name": NAMESPACE, "cluster": cluster, "labels": {"values": []},
        },
        "containers": [],
        "initContainers": [],
        "ephemeralContainers": [],
        "labels": {"values": []},
        "annotations": {"values": []},
        "podIp": null,
        "controller": null,
        "serviceAccount": null,
        "roles": ["compromised"],
    });
    vec![common(resource), common(pod)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    #[test]
    fn the_container_alerts_are_one_incident_with_the_mdc_alert_ids() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let w = World::generate(7, 1, now);
        let t = &w.tenants[0];
        let inc = t.mde.incidents.iter().find(|i| i.display_name == INCIDENT_TITLE).expect("the incident");
        let ids: Vec<&str> = inc.alerts(&t.mde.alerts).map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), CLOUD_ALERTS.len());
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(*id, cloud_alert_id(&t.tenant_id, n));
            let arm =
                t.arm.list(crate::world::mdc::ALERTS, "").iter().any(|r| r.id.ends_with(&format!("/alerts/{id}")));
            assert!(arm, "Defender for Cloud holds alert {id}");
        }
        assert!(inc.alerts(&t.mde.alerts).all(|a| a.service_source == ServiceSource::Cloud && a.machine_id.is_empty()));
        assert_eq!(inc.severity(&t.mde.alerts), Severity::High);
    }
}
