//! Defender for Cloud's view of a tenant's subscription (upstream-apis.md §5.5), kept in the ARM
//! store as `Microsoft.Security` extension resources: Defender plans (pricings), the security
//! alerts of seed 004's container attack, recommendations (assessments), the secure score,
//! regulatory compliance standards, a JIT network access policy, and the app's RBAC role
//! assignments that `arm/security.rs` checks every Defender for Cloud, Storage and SQL write
//! against.
//!
//! The container-attack alerts carry the same ids as the `AlertInfo` rows the hunting tables
//! hold for them (`hunting/scenario.rs`), so an analyst can correlate in XDR and respond here.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::arm::{ArmStore, Resource};
use crate::clock::fmt_utc;
use crate::hunting::scenario::{CLOUD_ALERTS, cloud_alert_id, lab_cluster_id};

pub const PRICINGS: &str = "Microsoft.Security/pricings";
pub const ALERTS: &str = "Microsoft.Security/locations/alerts";
pub const ASSESSMENTS: &str = "Microsoft.Security/assessments";
pub const SECURE_SCORES: &str = "Microsoft.Security/secureScores";
pub const COMPLIANCE_STANDARDS: &str = "Microsoft.Security/regulatoryComplianceStandards";
pub const JIT_POLICIES: &str = "Microsoft.Security/locations/jitNetworkAccessPolicies";
pub const DEFENDER_FOR_STORAGE: &str = "Microsoft.Security/defenderForStorageSettings";
pub const ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
pub const WATCHLISTS: &str = "Microsoft.SecurityInsights/watchlists";
pub const WATCHLIST_ITEMS: &str = "Microsoft.SecurityInsights/watchlists/watchlistItems";
pub const AUTOMATION_RULES: &str = "Microsoft.SecurityInsights/automationRules";

/// Defender for Cloud's home region for the subscription (`ascLocation`).
pub const ASC_LOCATION: &str = "westeurope";

/// Built-in role definitions (their ids are the same in every tenant).
pub const ROLES: &[(&str, &str)] = &[
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Security Admin", "fb1c8493-542b-48eb-b624-b4c8fea62acd"),
    ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
    ("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483"),
];

/// Plans and their tier at the start: servers and posture are on, the data plans are off (the
/// plans a response turns on).
const PLANS: &[(&str, &str, Option<&str>)] = &[
    ("VirtualMachines", "Standard", Some("P2")),
    ("SqlServers", "Free", None),
    ("AppServices", "Free", None),
    ("StorageAccounts", "Free", None),
    ("SqlServerVirtualMachines", "Free", None),
    ("KeyVaults", "Free", None),
    ("Arm", "Free", None),
    ("OpenSourceRelationalDatabases", "Free", None),
    ("CosmosDbs", "Free", None),
    ("Containers", "Standard", None),
    ("CloudPosture", "Standard", None),
    ("Api", "Free", None),
];

/// (assessment key, display name, severity, status, resource kind the assessment is about).
const ASSESSMENTS_SEED: &[(&str, &str, &str, &str, &str)] = &[
    (
        "4fb67663-9ab9-475d-b026-8c544cced439",
        "Storage accounts should restrict network access using virtual network rules",
        "Medium",
        "Unhealthy",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        "1c5de8e1-f68d-6a17-e0d2-ec259c42768c",
        "Storage account public access should be disallowed",
        "Medium",
        "Unhealthy",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        "94208a8b-16e8-4e5b-abbd-4e81c9d02bee",
        "Auditing on SQL server should be enabled",
        "Low",
        "Unhealthy",
        "Microsoft.Sql/servers",
    ),
    (
        "1195afff-c881-495e-9bc5-1486211ae03f",
        "Machines should have vulnerability findings resolved",
        "High",
        "Unhealthy",
        "Microsoft.Compute/virtualMachines",
    ),
    (
        "805651bc-6ecd-4c73-9b55-97a19d0582d0",
        "Management ports of virtual machines should be protected with just-in-time network access control",
        "High",
        "Healthy",
        "Microsoft.Compute/virtualMachines",
    ),
];

fn put(store: &mut ArmStore, id: String, kind: &str, body: Value) {
    store.put(Resource::new(id, kind, body));
}

/// Seeds Defender for Cloud's resources into the tenant's ARM store.
pub fn seed(store: &mut ArmStore, tenant_id: &str, principal_id: &str, now: OffsetDateTime) {
    let sub = store.subscription_scope();
    let every: Vec<(usize, &str, &str)> = ROLES.iter().enumerate().map(|(i, (n, d))| (i, *n, *d)).collect();
    put_assignments(store, principal_id, every);
    seed_pricings(store, &sub, now);
    seed_alerts(store, tenant_id, now);
    seed_assessments(store, &sub);
    seed_scores(store, &sub);
    seed_jit(store, &sub);
}

/// Replaces the app's role assignments at the subscription with `names` (built-in roles of
/// [`ROLES`]; `/_sandbox/roles/{tenant}` `{"arm": [...]}` calls this). Each carries ARM's
/// `principalId` (the app's service principal) and `roleDefinitionId`; `roleName` is the
/// sandbox's own convenience, read by its RBAC check.
pub fn assign_roles(store: &mut ArmStore, principal_id: &str, names: &[&str]) -> Result<(), String> {
    let mut wanted = Vec::new();
    for name in names {
        let (i, (name, def)) = ROLES
            .iter()
            .enumerate()
            .find(|(_, (n, _))| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("no built-in role '{name}' in the sandbox (one of {})", role_names()))?;
        wanted.push((i, *name, *def));
    }
    put_assignments(store, principal_id, wanted);
    Ok(())
}

/// The app's assignments become exactly `wanted` (index in [`ROLES`], name, definition id).
fn put_assignments(store: &mut ArmStore, principal_id: &str, wanted: Vec<(usize, &str, &str)>) {
    let sub = store.subscription_scope();
    let old: Vec<String> = store.list(ROLE_ASSIGNMENTS, &sub).into_iter().map(|r| r.id.clone()).collect();
    for id in old {
        store.remove_tree(&id);
    }
    for (i, name, def) in wanted {
        let id = format!("{sub}/providers/{ROLE_ASSIGNMENTS}/{}", role_assignment_name(i));
        put(
            store,
            id.clone(),
            ROLE_ASSIGNMENTS,
            json!({"id": id, "name": role_assignment_name(i), "type": ROLE_ASSIGNMENTS,
                   "properties": {"roleDefinitionId": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{def}"),
                                  "roleName": name, "principalId": principal_id, "principalType": "ServicePrincipal", "scope": sub}}),
        );
    }
}

fn role_names() -> String {
    ROLES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Stable role-assignment names, so tests and scripts can delete one.
fn role_assignment_name(i: usize) -> String {
    format!("5a5e0000-0000-4000-8000-{:012}", i + 1)
}

fn seed_pricings(store: &mut ArmStore, sub: &str, now: OffsetDateTime) {
    for (plan, tier, sub_plan) in PLANS {
        let id = format!("{sub}/providers/{PRICINGS}/{plan}");
        let mut props = json!({"pricingTier": tier, "freeTrialRemainingTime": "PT0S", "deprecated": false});
        if *tier == "Standard" {
            props["enablementTime"] = fmt_utc(now - Duration::days(120)).into();
        }
        if let Some(s) = sub_plan {
            props["subPlan"] = (*s).into();
        }
        put(store, id.clone(), PRICINGS, json!({"id": id, "name": plan, "type": PRICINGS, "properties": props}));
    }
}

/// The container-attack alerts of seed 004, raised on the lab's AKS cluster.
fn seed_alerts(store: &mut ArmStore, tenant_id: &str, now: OffsetDateTime) {
    let cluster = lab_cluster_id(&store.subscription_id);
    let scope = format!("{}/resourceGroups/DefenderLabRG", store.subscription_scope());
    let start = now - Duration::days(2);
    for (n, (title, intent, severity, technique, step)) in CLOUD_ALERTS.iter().enumerate() {
        let name = cloud_alert_id(tenant_id, n);
        let id = format!("{scope}/providers/Microsoft.Security/locations/{ASC_LOCATION}/alerts/{name}");
        let at = fmt_utc(start + Duration::minutes(*step as i64 * 2 + 3));
        let body = json!({
            "id": id, "name": name, "type": "Microsoft.Security/Locations/alerts",
            "properties": {
                "version": "2022-01-01.0", "status": "Active", "severity": severity, "intent": intent,
                "alertDisplayName": title, "alertType": format!("K8S.NODE_{}", technique.replace(['.', 'T'], "")),
                "systemAlertId": name, "productComponentName": "Containers", "productName": "Microsoft Defender for Cloud",
                "vendorName": "Microsoft", "description": format!("{title} in pod mdc-simulation-victim of cluster DefenderLabAKS."),
                "startTimeUtc": at, "endTimeUtc": at, "timeGeneratedUtc": at, "processingEndTimeUtc": at,
                "resourceIdentifiers": [{"type": "AzureResource", "azureResourceId": cluster}],
                "compromisedEntity": "DefenderLabAKS", "isIncident": false, "correlationKey": format!("mdc-simulation/{n}"),
                "techniques": [technique], "subTechniques": [],
                "remediationSteps": ["Review the pod's processes and network activity.", "Isolate or delete the pod if the activity is not expected."],
                "entities": [{"$id": "1", "type": "K8s-cluster", "cloudResource": cluster},
                             {"$id": "2", "type": "K8s-pod", "name": "mdc-simulation-victim", "namespace": "mdc-simulation"}],
                "extendedProperties": {"namespace": "mdc-simulation", "pod": "mdc-simulation-victim"},
                "alertUri": format!("https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/alertId/{name}/subscriptionId/{}/referencedFrom/alertDeepLink/location/{ASC_LOCATION}", store.subscription_id),
            },
        });
        put(store, id, ALERTS, body);
    }
}

/// Assessments on the first resource of each kind they are about (resources the seed created).
fn seed_assessments(store: &mut ArmStore, sub: &str) {
    for (key, name, severity, status, kind) in ASSESSMENTS_SEED {
        let Some(resource) = store.list(kind, sub).first().map(|r| r.id.clone()) else { continue };
        let id = format!("{resource}/providers/{ASSESSMENTS}/{key}");
        let mut st = json!({"code": status});
        if *status == "Unhealthy" {
            st["cause"] = "".into();
            st["description"] = format!("{name}: not compliant").into();
        }
        put(
            store,
            id.clone(),
            ASSESSMENTS,
            json!({"id": id, "name": key, "type": ASSESSMENTS,
                   "properties": {"displayName": name, "status": st,
                                  "resourceDetails": {"Source": "Azure", "Id": resource},
                                  "metadata": {"displayName": name, "severity": severity, "assessmentType": "BuiltIn",
                                               "implementationEffort": "Low", "userImpact": "Low"}}}),
        );
    }
}

/// The secure score and the standards' compliance summary, derived from the seeded assessments.
fn seed_scores(store: &mut ArmStore, sub: &str) {
    let id = format!("{sub}/providers/{SECURE_SCORES}/ascScore");
    put(
        store,
        id.clone(),
        SECURE_SCORES,
        json!({"id": id, "name": "ascScore", "type": SECURE_SCORES,
               "properties": {"displayName": "ASC score", "score": {"max": 58, "current": 37.52, "percentage": 0.6469}, "weight": 24}}),
    );
    for (name, state, passed, failed) in [
        ("Microsoft-cloud-security-benchmark", "Failed", 41, 12),
        ("PCI-DSS-4", "Failed", 88, 9),
        ("ISO-27001-2013", "Passed", 114, 0),
    ] {
        let id = format!("{sub}/providers/{COMPLIANCE_STANDARDS}/{name}");
        put(
            store,
            id.clone(),
            COMPLIANCE_STANDARDS,
            json!({"id": id, "name": name, "type": COMPLIANCE_STANDARDS,
                   "properties": {"state": state, "passedControls": passed, "failedControls": failed,
                                  "skippedControls": 0, "unsupportedControls": 3}}),
        );
    }
}

/// A JIT policy on the production VMs: SSH and RDP, three hours at most.
fn seed_jit(store: &mut ArmStore, sub: &str) {
    let vms: Vec<Value> = store
        .vms()
        .into_iter()
        .filter(|v| v.resource_group().eq_ignore_ascii_case("rg-prod-servers"))
        .map(|v| json!({"id": v.id, "ports": jit_ports()}))
        .collect();
    let id = format!(
        "{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Security/locations/{ASC_LOCATION}/jitNetworkAccessPolicies/default"
    );
    put(
        store,
        id.clone(),
        JIT_POLICIES,
        json!({"id": id, "name": "default", "type": "Microsoft.Security/locations/jitNetworkAccessPolicies",
               "kind": "Basic", "location": ASC_LOCATION,
               "properties": {"virtualMachines": vms, "requests": [], "provisioningState": "Succeeded"}}),
    );
}

/// The ports a JIT policy opens on request: SSH and RDP over TCP, from anywhere, for 3 hours.
pub fn jit_ports() -> Value {
    json!([
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"},
        {"number": 3389, "protocol": "TCP", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"},
    ])
}
