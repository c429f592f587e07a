//! The permission doctor: what each tenant's app is granted, against what each catalog action
//! needs, so a missing permission shows before an incident rather than in the middle of one.
//!
//! Per tenant it reads:
//! - the application permissions on every API family the tenant calls with an Entra token, from
//!   the `roles` claim of the very token the next call would carry (`Upstream::granted_roles`,
//!   the shared token cache);
//! - where ARM is configured, the Azure role assignments of the app's service principal (its
//!   `oid`): ARM's `GET /subscriptions`, then per subscription
//!   `GET .../providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{oid}'`,
//!   role definitions named from Microsoft's built-in role ids (any other id is read from ARM).
//!
//! Then every supported action's declared permission (`requirement`) is checked: an action that
//! lacks a required grant is `failing`, with the least-privileged fix (the permission the catalog
//! declares, which is the one Microsoft documents as least privileged; a broader grant such as
//! `Directory.ReadWrite.All` also satisfies, see `requirement::broader`); one that lacks a grant
//! only part of it needs is `partial`; what no token or ARM list shows (IAM policies, Key Vault
//! data-plane roles) is `unchecked`, with the reason.

pub(crate) mod requirement;

use crate::{Engine, EngineError, Principal};
use catalog::{ActionSpec, Api, Product};
use requirement::Need;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use upstream::{ApiRequest, TenantCredentials};

/// ARM's role assignments API version (the current GA one).
const ROLE_ASSIGNMENTS_API: &str = "2022-04-01";
/// ARM's subscriptions list API version.
const SUBSCRIPTIONS_API: &str = "2022-12-01";

/// Microsoft's built-in Azure role definition ids (the same in every tenant and cloud).
const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
    ("fb1c8493-542b-48eb-b624-b4c8fea62acd", "Security Admin"),
    ("4d97b98b-1d4f-4787-a291-c67834d212e7", "Network Contributor"),
    ("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor"),
    ("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator"),
];

/// One tenant's diagnosis.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub tenant: String,
    /// App permissions per API family, as the tokens carry them.
    pub grants: Vec<GrantView>,
    /// The service principal's Azure role assignments, when ARM is configured.
    pub azure: Option<AzureView>,
    /// Supported actions checked for this tenant.
    pub checked: usize,
    pub ok: usize,
    /// Actions that would fail: a required grant is missing.
    pub failing: Vec<Finding>,
    /// Actions that work except for a part that needs a missing grant.
    pub partial: Vec<Finding>,
    /// Actions whose permission no token or ARM list shows, with why.
    pub unchecked: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    /// The family's label (`mde`, `graph`, `cloud_apps`, ...).
    pub api: &'static str,
    pub audience: Option<String>,
    pub roles: Vec<String>,
    /// Why no token could be had (then every need on this family is unchecked).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureView {
    pub principal_id: Option<String>,
    /// Role names per subscription.
    pub subscriptions: BTreeMap<String, Vec<String>>,
    pub error: Option<String>,
}

/// One action the doctor has something to say about.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub product: Product,
    pub action: &'static str,
    /// The permission as the catalog declares it.
    pub permission: &'static str,
    /// Each missing need: where, what would do, and the least-privileged fix.
    pub missing: Vec<Missing>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Missing {
    /// `Graph`, `MDE`, ..., `Azure RBAC`, or what could not be checked.
    pub on: String,
    pub any_of: Vec<String>,
    /// What to grant: the least-privileged permission that makes the action work.
    pub fix: String,
}

/// What the tenant holds, as read.
struct Held {
    roles: BTreeMap<Api, Result<Vec<String>, String>>,
    /// Role names per subscription.
    azure: Option<Result<BTreeMap<String, Vec<String>>, String>>,
    principal: Option<String>,
}

impl Engine {
    /// Diagnose one tenant (`GET /v1/tenants/{id}/doctor`, `riposte doctor`). Reads only.
    pub async fn doctor(&self, principal: &Principal, tenant: &str) -> Result<DoctorReport, EngineError> {
        if !principal.may_access(tenant) {
            return Err(EngineError::Forbidden(format!("key '{}' is not scoped to tenant '{tenant}'", principal.name)));
        }
        let creds = self.tenants().get(tenant)?;
        let (grants, held) = self.read_grants(creds, None).await;
        let azure = held.azure.as_ref().map(|list| AzureView {
            principal_id: held.principal.clone(),
            subscriptions: list.clone().unwrap_or_default(),
            error: list.as_ref().err().cloned(),
        });
        let mut report = DoctorReport {
            tenant: creds.tenant_id.clone(),
            grants,
            azure,
            checked: 0,
            ok: 0,
            failing: vec![],
            partial: vec![],
            unchecked: vec![],
        };
        let aws_tenant = creds.credential.serves(Api::Ec2);
        for spec in catalog::all().filter(|s| s.is_supported()) {
            if (spec.product == Product::Aws) != aws_tenant {
                continue;
            }
            report.checked += 1;
            let verdict = check(spec, &held);
            match verdict {
                Verdict::Ok => report.ok += 1,
                Verdict::Failing(m) => report.failing.push(finding(spec, m)),
                Verdict::Partial(m) => report.partial.push(finding(spec, m)),
                Verdict::Unchecked(m) => report.unchecked.push(finding(spec, m)),
            }
        }
        Ok(report)
    }

    /// Whether `spec` would be refused for lack of a grant, as the doctor reads the tenant now:
    /// the missing needs, empty when nothing is missing (the dry run's permission check).
    /// Only the families the action needs are read: an MDE action's check takes the MDE token
    /// from the cache and sends nothing else.
    pub(crate) async fn missing_grants(&self, creds: &TenantCredentials, spec: &ActionSpec) -> Vec<Missing> {
        let needs = requirement::of(spec);
        let families: Vec<Api> = needs
            .all
            .iter()
            .filter_map(|n| match n {
                Need::AppRole { api, .. } => Some(*api),
                Need::AzureRole { .. } => Some(Api::Arm),
                Need::Unchecked(_) => None,
            })
            .collect();
        let (_, held) = self.read_grants(creds, Some(&families)).await;
        match check(spec, &held) {
            Verdict::Failing(m) => m,
            _ => vec![],
        }
    }

    /// The grants of every family the tenant calls with an Entra token (`only`: of these).
    async fn read_grants(&self, creds: &TenantCredentials, only: Option<&[Api]>) -> (Vec<GrantView>, Held) {
        let upstream = self.upstream();
        let mut views = Vec::new();
        let mut held = Held { roles: BTreeMap::new(), azure: None, principal: None };
        for api in upstream.configured_apis(creds) {
            if !api.uses_entra_token() || only.is_some_and(|o| !o.contains(&api)) {
                continue;
            }
            match upstream.granted_roles(creds, api).await {
                Ok(g) => {
                    held.principal = held.principal.or(g.object_id.clone());
                    if api != Api::Arm && api != Api::KeyVault {
                        held.roles.insert(api, Ok(g.roles.clone()));
                        views.push(GrantView {
                            api: api.label(),
                            audience: Some(g.audience),
                            roles: g.roles,
                            error: None,
                        });
                    }
                    if api == Api::Arm {
                        held.azure = Some(Ok(BTreeMap::new()));
                    }
                }
                Err(e) => {
                    let error = e.to_string();
                    if api == Api::Arm {
                        held.azure = Some(Err(error.clone()));
                    } else {
                        held.roles.insert(api, Err(error.clone()));
                    }
                    views.push(GrantView { api: api.label(), audience: None, roles: vec![], error: Some(error) });
                }
            }
        }
        if matches!(held.azure, Some(Ok(_))) {
            held.azure = Some(self.azure_roles(creds, held.principal.as_deref()).await);
        }
        (views, held)
    }

    /// The Azure role names assigned to the service principal, per subscription it can see.
    async fn azure_roles(
        &self,
        creds: &TenantCredentials,
        principal: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<String>>, String> {
        let principal = principal.ok_or("the ARM token carries no oid: whose role assignments to read is unknown")?;
        let upstream = self.upstream();
        let subs = upstream
            .get_paged(
                creds,
                ApiRequest::get(Api::Arm, "/subscriptions").with_query("api-version", SUBSCRIPTIONS_API),
                1000,
            )
            .await
            .map_err(|e| format!("listing subscriptions: {e}"))?;
        let mut out = BTreeMap::new();
        for sub in subs.items.iter().filter_map(|s| s.get("subscriptionId").and_then(Value::as_str)) {
            let path = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments");
            let req = ApiRequest::get(Api::Arm, path)
                .with_query("api-version", ROLE_ASSIGNMENTS_API)
                .with_query("$filter", format!("principalId eq '{principal}'"));
            let assignments =
                upstream.get_paged(creds, req, 1000).await.map_err(|e| format!("role assignments of {sub}: {e}"))?;
            let mut names = Vec::new();
            for a in &assignments.items {
                if let Some(def) = a.pointer("/properties/roleDefinitionId").and_then(Value::as_str) {
                    names.push(self.role_name(creds, def).await);
                }
            }
            names.sort();
            names.dedup();
            out.insert(sub.to_string(), names);
        }
        Ok(out)
    }

    /// A role definition's name: Microsoft's built-in ids by table, any other read from ARM.
    async fn role_name(&self, creds: &TenantCredentials, definition_id: &str) -> String {
        let guid = definition_id.rsplit('/').next().unwrap_or(definition_id);
        if let Some((_, name)) = BUILT_IN_ROLES.iter().find(|(id, _)| id.eq_ignore_ascii_case(guid)) {
            return name.to_string();
        }
        let req = ApiRequest::get(Api::Arm, definition_id).with_query("api-version", ROLE_ASSIGNMENTS_API);
        match self.upstream().call(creds, req).await {
            Ok(r) => r.body.pointer("/properties/roleName").and_then(Value::as_str).unwrap_or(guid).to_string(),
            Err(_) => guid.to_string(),
        }
    }
}

enum Verdict {
    Ok,
    Failing(Vec<Missing>),
    Partial(Vec<Missing>),
    Unchecked(Vec<Missing>),
}

fn finding(spec: &'static ActionSpec, missing: Vec<Missing>) -> Finding {
    Finding { product: spec.product, action: spec.name, permission: spec.permission, missing }
}

/// One action against what the tenant holds.
fn check(spec: &ActionSpec, held: &Held) -> Verdict {
    let req = requirement::of(spec);
    let mut failing = Vec::new();
    let mut unchecked = Vec::new();
    for need in &req.all {
        match judge(need, held) {
            Judged::Held => {}
            Judged::Missing(m) => failing.push(m),
            Judged::Unknown(m) => unchecked.push(m),
        }
    }
    if !failing.is_empty() {
        return Verdict::Failing(failing);
    }
    if !unchecked.is_empty() {
        return Verdict::Unchecked(unchecked);
    }
    let partial: Vec<Missing> = req
        .conditional
        .iter()
        .filter_map(|n| match judge(n, held) {
            Judged::Missing(m) => Some(m),
            _ => None,
        })
        .collect();
    if partial.is_empty() { Verdict::Ok } else { Verdict::Partial(partial) }
}

enum Judged {
    Held,
    Missing(Missing),
    Unknown(Missing),
}

fn judge(need: &Need, held: &Held) -> Judged {
    match need {
        Need::AppRole { api, any_of } => match held.roles.get(api) {
            None => Judged::Unknown(Missing {
                on: api_name(*api),
                any_of: any_of.clone(),
                fix: format!("configure {} for this tenant (no endpoint or credential for it)", api_name(*api)),
            }),
            Some(Err(e)) => Judged::Unknown(Missing {
                on: api_name(*api),
                any_of: any_of.clone(),
                fix: format!("no {} token could be had: {e}", api_name(*api)),
            }),
            Some(Ok(granted)) => {
                if any_of.iter().any(|r| requirement::satisfied_by(r, granted).is_some()) {
                    return Judged::Held;
                }
                Judged::Missing(Missing {
                    on: api_name(*api),
                    any_of: any_of.clone(),
                    fix: format!(
                        "grant the application permission {} on {} and give admin consent (least privileged{})",
                        any_of[0],
                        api_name(*api),
                        broader_note(&any_of[0])
                    ),
                })
            }
        },
        Need::AzureRole { any_of } => match &held.azure {
            None => Judged::Unknown(Missing {
                on: "Azure RBAC".into(),
                any_of: any_of.clone(),
                fix: "configure ARM for this tenant to check Azure role assignments".into(),
            }),
            Some(Err(e)) => Judged::Unknown(Missing {
                on: "Azure RBAC".into(),
                any_of: any_of.clone(),
                fix: format!("the role assignments could not be read: {e}"),
            }),
            Some(Ok(by_subscription)) => {
                let mut roles = by_subscription.values().flatten();
                if roles.any(|h| any_of.iter().any(|r| h.eq_ignore_ascii_case(r))) {
                    return Judged::Held;
                }
                Judged::Missing(Missing {
                    on: "Azure RBAC".into(),
                    any_of: any_of.clone(),
                    fix: format!(
                        "assign the Azure role '{}' to the app's service principal at the subscription (or the resource group it acts on)",
                        any_of[0]
                    ),
                })
            }
        },
        Need::Unchecked(why) => {
            Judged::Unknown(Missing { on: "unchecked".into(), any_of: vec![], fix: why.to_string() })
        }
    }
}

/// "; User.ReadWrite.All or Directory.ReadWrite.All would also do, with more than it needs".
fn broader_note(role: &str) -> String {
    let broader = requirement::broader(role);
    if broader.is_empty() {
        return String::new();
    }
    format!("; {} would also do, with more than it needs", broader.join(" or "))
}

fn api_name(api: Api) -> String {
    match api {
        Api::Mde => "WindowsDefenderATP (MDE)".into(),
        Api::Graph => "Microsoft Graph".into(),
        Api::CloudApps => "Microsoft Cloud App Security".into(),
        Api::ExchangeOnline => "Office 365 Exchange Online".into(),
        other => other.label().into(),
    }
}
