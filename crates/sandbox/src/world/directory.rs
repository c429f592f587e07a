//! A tenant's Entra directory beyond users: authentication methods, Identity Protection (risky
//! users, risk detections), conditional access (policies, named locations), directory roles and
//! PIM (assignments, schedule instances and requests, eligibilities), directory audits, groups
//! and service principals. Served by `graph/directory.rs` and `graph/auth_methods.rs`.
//!
//! Graph entities the sandbox stores as they are answered (policies, locations, requests,
//! audits) are kept as JSON objects: Graph validates them on the way in (the handlers do), and
//! what is stored is exactly what is read back. The rest is typed where behaviour depends on it.
//!
//! Seeded from its own random stream (the world seed and the tenant index), so adding the
//! directory never shifts the ids drawn for users, machines or alerts.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{User, guid};
use crate::clock::fmt_utc;

/// Built-in directory roles the sandbox knows: (template id = role definition id, name).
/// The ids are Microsoft's documented built-in role template ids.
pub const ROLE_DEFINITIONS: &[(&str, &str)] = &[
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
];

/// One authentication method of a user other than the password (which every user has; see
/// `graph/auth_methods.rs`). `set` is the typed collection's path segment.
#[derive(Clone, Debug)]
pub struct AuthMethod {
    pub id: String,
    pub user_id: String,
    pub set: &'static str,
    /// The entity as Graph answers it, with `@odata.type`.
    pub body: Value,
}

/// The typed method collections: (path segment, `@odata.type`).
pub const METHOD_SETS: &[(&str, &str)] = &[
    ("microsoftAuthenticatorMethods", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"),
    ("phoneMethods", "#microsoft.graph.phoneAuthenticationMethod"),
    ("fido2Methods", "#microsoft.graph.fido2AuthenticationMethod"),
    ("softwareOathMethods", "#microsoft.graph.softwareOathAuthenticationMethod"),
    ("emailMethods", "#microsoft.graph.emailAuthenticationMethod"),
    ("temporaryAccessPassMethods", "#microsoft.graph.temporaryAccessPassAuthenticationMethod"),
    ("windowsHelloForBusinessMethods", "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"),
];

/// A service principal and its credentials (the secret text of a password credential is never
/// kept: Graph shows it once, at addPassword).
#[derive(Clone, Debug)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub password_credentials: Vec<Value>,
    pub key_credentials: Vec<Value>,
}

/// A security group and its direct members (object ids).
#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub members: Vec<String>,
    pub created: OffsetDateTime,
}

#[derive(Default)]
pub struct DirectoryState {
    pub methods: Vec<AuthMethod>,
    /// Users whose `passwordProfile.forceChangePasswordNextSignIn` is set (object ids).
    pub force_change_password: Vec<String>,
    /// `riskyUser` entities (id = the user's object id).
    pub risky_users: Vec<Value>,
    pub risk_detections: Vec<Value>,
    pub ca_policies: Vec<Value>,
    pub named_locations: Vec<Value>,
    /// Active directory role assignments (`roleManagement/directory/roleAssignments`).
    pub role_assignments: Vec<Value>,
    /// PIM: active schedule instances (`roleAssignmentScheduleInstances`), activated or assigned.
    pub assignment_instances: Vec<Value>,
    pub assignment_requests: Vec<Value>,
    /// PIM eligibilities (`roleEligibilitySchedules`) and their requests.
    pub eligibility_schedules: Vec<Value>,
    pub eligibility_requests: Vec<Value>,
    /// `auditLogs/directoryAudits`, newest last.
    pub directory_audits: Vec<Value>,
    pub groups: Vec<Group>,
    pub service_principals: Vec<ServicePrincipal>,
    /// App registrations (`/applications`), one per service principal above, same `appId`.
    pub applications: Vec<crate::graph::applications::Application>,
    /// PIM alert configurations of the directory-role scope (beta `roleManagementAlerts`).
    pub pim_alert_configurations: Vec<Value>,
}

impl DirectoryState {
    pub fn methods_of<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a AuthMethod> + 'a {
        self.methods.iter().filter(move |m| m.user_id == user_id)
    }

    /// Appends a directory audit record (Graph's `directoryAudit`).
    pub fn audit(&mut self, now: OffsetDateTime, category: &str, activity: &str, target: &str, result: &str) {
        self.directory_audits.push(json!({
            "id": format!("Directory_{}", uuid::Uuid::new_v4()),
            "category": category,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "result": result,
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": fmt_utc(now),
            "loggedByService": if category == "RoleManagement" { "PIM" } else { "Core Directory" },
            "operationType": "Update",
            "initiatedBy": {"app": {"displayName": "Riposte sandbox caller", "servicePrincipalId": null}, "user": null},
            "targetResources": [{"id": target, "type": "User"}],
            "additionalDetails": [],
        }));
    }
}

/// The directory of tenant `index`: every user gets one to three methods besides the password,
/// a handful are risky with detections, a few hold roles (some activated through PIM, some
/// eligible), and the tenant has groups, service principals with credentials, and a baseline
/// of conditional-access policies and named locations.
pub fn seed(seed: u64, index: usize, users: &[User], now: OffsetDateTime) -> DirectoryState {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0D1E_C70E ^ (index as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut d = DirectoryState::default();
    for (i, u) in users.iter().enumerate() {
        seed_methods(&mut d, &mut rng, i, u, now);
    }
    for (i, u) in users.iter().enumerate().filter(|(i, _)| i % 5 == 1) {
        seed_risk(&mut d, &mut rng, i, u, now);
    }
    seed_roles(&mut d, &mut rng, users, now);
    seed_groups(&mut d, &mut rng, users, now);
    seed_service_principals(&mut d, &mut rng, now);
    d.applications = crate::graph::applications::seed(seed, index, &d.service_principals, now);
    seed_conditional_access(&mut d, &mut rng, now);
    d.pim_alert_configurations = pim_alerts(users.first().map(|_| index).unwrap_or(index));
    d
}

/// PIM's built-in directory-role alerts; two of them off, as tenants often leave them.
fn pim_alerts(_index: usize) -> Vec<Value> {
    [
        ("TooManyGlobalAdminsAssignedToTenantAlert", "tooManyGlobalAdminsAssignedToTenantAlertConfiguration", true),
        (
            "RolesAssignedOutsidePrivilegedIdentityManagementAlert",
            "rolesAssignedOutsidePrivilegedIdentityManagementAlertConfiguration",
            false,
        ),
        ("NoMfaOnRoleActivationAlert", "noMfaOnRoleActivationAlertConfiguration", false),
        ("StaleSignInAlert", "staleSignInAlertConfiguration", true),
    ]
    .iter()
    .map(|(def, ty, enabled)| {
        json!({
            "@odata.type": format!("#microsoft.graph.{ty}"),
            "id": format!("DirectoryRole_{def}"),
            "alertDefinitionId": format!("DirectoryRole_{def}"),
            "scopeType": "DirectoryRole",
            "scopeId": "/",
            "isEnabled": enabled,
        })
    })
    .collect()
}

fn seed_methods(d: &mut DirectoryState, rng: &mut StdRng, i: usize, u: &User, now: OffsetDateTime) {
    let created = fmt_utc(now - Duration::days(rng.random_range(10..400)));
    let authenticator = json!({
        "@odata.type": METHOD_SETS[0].1,
        "id": guid(rng),
        "displayName": format!("{}'s iPhone", u.given_name),
        "deviceTag": "SoftwareTokenActivated",
        "phoneAppVersion": "6.8.7",
        "createdDateTime": created,
    });
    d.methods.push(AuthMethod {
        id: id_of(&authenticator),
        user_id: u.id.clone(),
        set: METHOD_SETS[0].0,
        body: authenticator,
    });
    // Phone methods have documented fixed ids per phone type.
    let phone = json!({
        "@odata.type": METHOD_SETS[1].1,
        "id": "3179e48a-750b-4051-897c-87b9720928f7",
        "phoneNumber": u.mobile_phone.clone().unwrap_or_else(|| "+1 4255550100".into()),
        "phoneType": "mobile",
        "smsSignInState": "notAllowedByPolicy",
    });
    d.methods.push(AuthMethod { id: id_of(&phone), user_id: u.id.clone(), set: METHOD_SETS[1].0, body: phone });
    if i.is_multiple_of(3) {
        let fido = json!({
            "@odata.type": METHOD_SETS[2].1,
            "id": format!("{}", base64_id(rng)),
            "displayName": "YubiKey 5 NFC",
            "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
            "model": "YubiKey 5 NFC",
            "attestationLevel": "attested",
            "createdDateTime": created,
        });
        d.methods.push(AuthMethod { id: id_of(&fido), user_id: u.id.clone(), set: METHOD_SETS[2].0, body: fido });
    }
}

fn base64_id(rng: &mut StdRng) -> String {
    use base64::Engine;
    let bytes: [u8; 24] = rng.random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

fn seed_risk(d: &mut DirectoryState, rng: &mut StdRng, i: usize, u: &User, now: OffsetDateTime) {
    let level = ["high", "medium", "low"][i % 3];
    let at = now - Duration::hours(rng.random_range(1..96));
    d.risky_users.push(json!({
        "id": u.id,
        "isDeleted": false,
        "isProcessing": false,
        "riskLastUpdatedDateTime": fmt_utc(at),
        "riskLevel": level,
        "riskState": "atRisk",
        "riskDetail": "none",
        "userDisplayName": u.display_name,
        "userPrincipalName": u.user_principal_name,
    }));
    for (event, source) in [("unfamiliarFeatures", "IdentityProtection"), ("anonymizedIPAddress", "IdentityProtection")]
        .iter()
        .take(1 + i % 2)
    {
        let when = at - Duration::minutes(rng.random_range(1..600));
        d.risk_detections.push(json!({
            "id": hex::encode(rng.random::<[u8; 32]>()),
            "requestId": guid(rng),
            "correlationId": guid(rng),
            "riskEventType": event,
            "riskState": "atRisk",
            "riskLevel": level,
            "riskDetail": "none",
            "source": source,
            "detectionTimingType": "realtime",
            "activity": "signin",
            "tokenIssuerType": "AzureAD",
            "ipAddress": format!("185.220.{}.{}", rng.random_range(0..255), rng.random_range(1..255)),
            "location": {"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL"},
            "activityDateTime": fmt_utc(when),
            "detectedDateTime": fmt_utc(when),
            "lastUpdatedDateTime": fmt_utc(at),
            "userId": u.id,
            "userDisplayName": u.display_name,
            "userPrincipalName": u.user_principal_name,
        }));
    }
}

fn seed_roles(d: &mut DirectoryState, rng: &mut StdRng, users: &[User], now: OffsetDateTime) {
    // Users 2, 5, 8, 11 hold a permanent active role; 3, 6 activated one through PIM (eligible
    // too); 4, 7 are only eligible.
    for (k, i) in [2usize, 5, 8, 11].iter().enumerate() {
        let Some(u) = users.get(*i) else { continue };
        let role = ROLE_DEFINITIONS[k % ROLE_DEFINITIONS.len()].0;
        let id = guid(rng);
        d.role_assignments.push(assignment(&id, &u.id, role));
        d.assignment_instances.push(instance(rng, &id, &u.id, role, "Assigned", now - Duration::days(200), None));
    }
    for (k, i) in [3usize, 6].iter().enumerate() {
        let Some(u) = users.get(*i) else { continue };
        let role = ROLE_DEFINITIONS[(k + 1) % ROLE_DEFINITIONS.len()].0;
        let id = guid(rng);
        d.role_assignments.push(assignment(&id, &u.id, role));
        let start = now - Duration::minutes(30);
        d.assignment_instances.push(instance(
            rng,
            &id,
            &u.id,
            role,
            "Activated",
            start,
            Some(start + Duration::hours(8)),
        ));
        d.eligibility_schedules.push(eligibility(rng, &u.id, role, now));
        d.audit(start, "RoleManagement", "Add member to role completed (PIM activation)", &u.id, "success");
    }
    for (k, i) in [4usize, 7].iter().enumerate() {
        let Some(u) = users.get(*i) else { continue };
        let role = ROLE_DEFINITIONS[(k + 2) % ROLE_DEFINITIONS.len()].0;
        d.eligibility_schedules.push(eligibility(rng, &u.id, role, now));
    }
    // One activation request granted for later today, not yet provisioned: cancelable.
    if let Some(u) = users.get(9) {
        d.assignment_requests.push(json!({
            "id": guid(rng),
            "status": "Granted",
            "action": "selfActivate",
            "principalId": u.id,
            "roleDefinitionId": ROLE_DEFINITIONS[0].0,
            "directoryScopeId": "/",
            "justification": "Scheduled maintenance window",
            "createdDateTime": fmt_utc(now - Duration::minutes(5)),
            "isValidationOnly": false,
            "scheduleInfo": {"startDateTime": fmt_utc(now + Duration::hours(6)), "expiration": {"type": "afterDuration", "duration": "PT4H"}},
        }));
    }
}

fn assignment(id: &str, principal: &str, role: &str) -> Value {
    json!({"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"})
}

fn instance(
    rng: &mut StdRng,
    origin: &str,
    principal: &str,
    role: &str,
    kind: &str,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
) -> Value {
    json!({
        "id": guid(rng),
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "appScopeId": null,
        "startDateTime": fmt_utc(start),
        "endDateTime": end.map(fmt_utc),
        "assignmentType": kind,
        "memberType": "Direct",
        "roleAssignmentOriginId": origin,
        "roleAssignmentScheduleId": guid(rng),
    })
}

fn eligibility(rng: &mut StdRng, principal: &str, role: &str, now: OffsetDateTime) -> Value {
    json!({
        "id": guid(rng),
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "memberType": "Direct",
        "status": "Provisioned",
        "createdDateTime": fmt_utc(now - Duration::days(60)),
        "scheduleInfo": {"startDateTime": fmt_utc(now - Duration::days(60)), "expiration": {"type": "noExpiration"}},
    })
}

fn seed_groups(d: &mut DirectoryState, rng: &mut StdRng, users: &[User], now: OffsetDateTime) {
    for (g, name) in ["Finance Team", "Engineering All", "VPN Users", "Privileged Admins"].iter().enumerate() {
        let members = users.iter().enumerate().filter(|(i, _)| i % 4 == g).map(|(_, u)| u.id.clone()).collect();
        d.groups.push(Group {
            id: guid(rng),
            display_name: name.to_string(),
            description: format!("{name} (security group)"),
            members,
            created: now - Duration::days(rng.random_range(100..900)),
        });
    }
}

fn seed_service_principals(d: &mut DirectoryState, rng: &mut StdRng, now: OffsetDateTime) {
    for name in ["Contoso Payroll Sync", "Legacy CRM Connector", "Marketing Automation"] {
        let pw = json!({
            "keyId": guid(rng),
            "displayName": "automation secret",
            "hint": "abc",
            "secretText": null,
            "customKeyIdentifier": null,
            "startDateTime": fmt_utc(now - Duration::days(90)),
            "endDateTime": fmt_utc(now + Duration::days(275)),
        });
        let key = json!({
            "keyId": guid(rng),
            "displayName": format!("CN={name}"),
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "customKeyIdentifier": hex::encode_upper(rng.random::<[u8; 20]>()),
            "startDateTime": fmt_utc(now - Duration::days(30)),
            "endDateTime": fmt_utc(now + Duration::days(335)),
            "key": null,
        });
        d.service_principals.push(ServicePrincipal {
            id: guid(rng),
            app_id: guid(rng),
            display_name: name.to_string(),
            account_enabled: true,
            password_credentials: vec![pw],
            key_credentials: vec![key],
        });
    }
}

fn seed_conditional_access(d: &mut DirectoryState, rng: &mut StdRng, now: OffsetDateTime) {
    let created = fmt_utc(now - Duration::days(120));
    d.named_locations.push(json!({
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": guid(rng),
        "displayName": "Corporate egress",
        "createdDateTime": created,
        "modifiedDateTime": created,
        "isTrusted": true,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}],
    }));
    d.ca_policies.push(json!({
        "id": guid(rng),
        "templateId": null,
        "displayName": "Require MFA for administrators",
        "createdDateTime": created,
        "modifiedDateTime": null,
        "state": "enabled",
        "conditions": {
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": []},
            "users": {"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                      "includeRoles": [ROLE_DEFINITIONS[0].0, ROLE_DEFINITIONS[1].0], "excludeRoles": []},
            "locations": null, "platforms": null,
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []},
        "sessionControls": null,
    }));
}
