//! Azure: Defender plans, recommendations, JIT, Sentinel watchlists and automation rules.
//!
//! The Defender for Cloud reads and plan switches are the MDC product's rows (`mdc/`) under the
//! names the seed's Azure handler gave them. JIT access is per VM and per region: the policy
//! lives at the VM's location, so enabling, removing and requesting JIT read the VM first
//! (procedures). Sentinel watchlists and automation rules are `Microsoft.SecurityInsights`
//! resources on the workspace. The app-credential names are Entra ID's app-registration rows.
use super::{RESOURCE_GROUP, SUBSCRIPTION as SUBSCRIPTION_ID, arm_name};
use crate::entra::applications as entra_apps;
use crate::mdc;
use crate::*;

/// An MDC row under the Azure product's name and spellings (one declaration, two keys).
const fn mdc_row(spec: ActionSpec, name: &'static str, aliases: &'static [&'static str]) -> ActionSpec {
    ActionSpec { product: Product::Azure, name, aliases, ..spec }
}

/// An Entra ID row (app registrations are `microsoft.graph` directory objects) under the name
/// the seed's Azure worker gave it; same procedure, same Graph calls.
const fn entra_row(spec: ActionSpec, name: &'static str) -> ActionSpec {
    ActionSpec { product: Product::Azure, name, aliases: &[], ..spec }
}

const VM: ParamSpec = arm_name("vmName", &["virtualMachineName", "vm"], "Virtual machine name");
const VM_PARAMS: &[ParamSpec] = &[SUBSCRIPTION_ID, RESOURCE_GROUP, VM];
const POLICY: ParamSpec = ParamSpec {
    name: "policyName",
    aliases: &["jitPolicyName"],
    kind: ParamKind::ArmName,
    required: false,
    default: None,
    doc: "JIT policy holding the VM (default: the policy named after the VM, as EnableJITVMAccess creates it)",
};
const SOURCE_IP: ParamSpec = ParamSpec {
    name: "sourceIp",
    aliases: &["allowedSourceAddressPrefix", "ipAddress"],
    kind: ParamKind::Ip,
    required: true,
    default: None,
    doc: "The address the ports open to",
};
const PORTS: ParamSpec = ParamSpec {
    name: "ports",
    aliases: &["port"],
    kind: ParamKind::PortRanges { max: 10 },
    required: false,
    default: Some("22"),
    doc: "Port numbers to open (default 22)",
};
const HOURS: ParamSpec = ParamSpec {
    name: "durationHours",
    aliases: &["hours"],
    kind: ParamKind::Int { min: 1, max: 24 },
    required: false,
    default: Some("1"),
    doc: "How long the ports stay open (1-24 hours, within the policy's maximum; default 1)",
};
const JUSTIFICATION: ParamSpec = ParamSpec {
    name: "justification",
    aliases: &["reason", "comment"],
    kind: ParamKind::Text { max: 1000 },
    required: false,
    default: None,
    doc: "Why access is requested (recorded on the request)",
};
const WORKSPACE: ParamSpec =
    arm_name("workspaceName", &["workspace"], "Log Analytics workspace Microsoft Sentinel runs on");
const WATCHLIST: ParamSpec = arm_name("watchlistAlias", &["watchlist", "alias"], "Watchlist alias");
const ITEMS: ParamSpec = ParamSpec {
    name: "items",
    aliases: &["watchlistItems"],
    kind: ParamKind::JsonObjects { max: 500 },
    required: true,
    default: None,
    doc: "Watchlist rows: an array of objects (column → value), each holding the search key column",
};
const DISPLAY_NAME: ParamSpec = ParamSpec {
    name: "displayName",
    aliases: &[],
    kind: ParamKind::Text { max: 256 },
    required: false,
    default: None,
    doc: "Watchlist display name when it is created (default: the alias)",
};
const SEARCH_KEY: ParamSpec = ParamSpec {
    name: "searchKey",
    aliases: &["itemsSearchKey"],
    kind: ParamKind::Text { max: 128 },
    required: false,
    default: Some("Indicator"),
    doc: "The column watchlist lookups search (default Indicator)",
};
const PLAYBOOK: ParamSpec =
    arm_name("playbookName", &["logicAppName"], "Logic App (playbook) in the workspace's resource group");
const RULE: ParamSpec = ParamSpec {
    name: "analyticRuleId",
    aliases: &["ruleId", "alertRuleId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The analytics rule (GUID) whose incidents run the playbook",
};

const fn procedure(
    name: &'static str,
    summary: &'static str,
    params: &'static [ParamSpec],
    risk: Risk,
    inverse: Option<&'static str>,
    permission: &'static str,
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases: &[],
        params,
        risk,
        inverse,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

const fn unsupported(
    name: &'static str,
    summary: &'static str,
    reason: &'static str,
    nearest: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases: &[],
        params: &[],
        risk: Risk::Remediate,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported { reason, nearest: Some(nearest) },
    }
}

const ARC_MACHINE: ParamSpec =
    arm_name("machineName", &["arcMachineName", "serverName"], "Azure Arc-enabled server name");
/// The service principal, as Entra ID's rows take it (`entra/apps.rs`).
const SERVICE_PRINCIPAL: ParamSpec = ParamSpec {
    name: "servicePrincipalId",
    aliases: &["spId", "objectId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The service principal's object id",
};
/// Entra ID's call (`entra/apps.rs` declares it too, privately): the seed's Azure handler
/// disabled service principals through Graph.
const SERVICE_PRINCIPAL_PATCH: Call =
    Call::new(Api::Graph, Method::Patch, "/v1.0/servicePrincipals/{servicePrincipalId}");

const APP_SERVICES_PLAN: Call = Call::new(
    Api::Arm,
    Method::Put,
    "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings/AppServices?api-version=2024-01-01",
);

pub static ACTIONS: &[ActionSpec] = &[
    // --- Defender for Cloud, as the MDC product declares it ---
    mdc_row(mdc::ENABLE_DEFENDER_PLAN, "EnableDefenderPlan", &["EnableDefender"]),
    mdc_row(mdc::DISABLE_DEFENDER_PLAN, "DisableDefenderPlan", &[]),
    mdc_row(mdc::GET_DEFENDER_PLANS, "GetDefenderPlans", &["GetPricings"]),
    mdc_row(mdc::GET_SECURE_SCORE, "GetSecureScore", &["GetSecureScores"]),
    mdc_row(mdc::GET_RECOMMENDATIONS, "GetSecurityRecommendations", &["GetRecommendations", "GetAssessments"]),
    mdc_row(mdc::GET_REGULATORY_COMPLIANCE, "GetRegulatoryCompliance", &[]),
    mdc_row(mdc::GET_JIT_POLICIES, "GetJitAccessPolicies", &["GetJITPolicies"]),
    ActionSpec {
        product: Product::Azure,
        name: "EnableAppServiceDefender",
        summary: "Turn on Defender for App Service for the subscription (the plan has no per-app switch)",
        aliases: &[],
        params: &[SUBSCRIPTION_ID],
        risk: Risk::Contain,
        inverse: None,
        permission: "Azure RBAC: Security Admin (Microsoft.Security/pricings/write)",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(APP_SERVICES_PLAN.body(&[("properties/pricingTier", BodyValue::Literal("\"Standard\""))])),
    },
    ActionSpec {
        product: Product::Azure,
        name: "EnableDefenderArc",
        summary: "Turn on Defender for Servers (plan 1) for one Arc-enabled server (resource-level pricing; Defender deploys MDE to it)",
        aliases: &[],
        params: &[SUBSCRIPTION_ID, RESOURCE_GROUP, ARC_MACHINE],
        risk: Risk::Contain,
        inverse: None,
        permission: "Azure RBAC: Security Admin (Microsoft.Security/pricings/write)",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(
                Api::Arm,
                Method::Put,
                "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.HybridCompute/machines/{machineName}/providers/Microsoft.Security/pricings/VirtualMachines?api-version=2024-01-01",
            )
            .body(&[
                ("properties/pricingTier", BodyValue::Literal("\"Standard\"")),
                ("properties/subPlan", BodyValue::Literal("\"P1\"")),
            ]),
        ),
    },
    // --- Identities in Azure: the service principal switch, through Graph ---
    ActionSpec {
        product: Product::Azure,
        name: "DisableServicePrincipal",
        summary: "Stop a service principal from signing in to Azure and every other resource (accountEnabled = false)",
        aliases: &[],
        params: &[SERVICE_PRINCIPAL],
        risk: Risk::Contain,
        inverse: Some("EnableServicePrincipal"),
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SERVICE_PRINCIPAL_PATCH.body(&[("accountEnabled", BodyValue::Literal("false"))])),
    },
    ActionSpec {
        product: Product::Azure,
        name: "EnableServicePrincipal",
        summary: "Let a service principal sign in again (accountEnabled = true)",
        aliases: &[],
        params: &[SERVICE_PRINCIPAL],
        risk: Risk::Contain,
        inverse: Some("DisableServicePrincipal"),
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SERVICE_PRINCIPAL_PATCH.body(&[("accountEnabled", BodyValue::Literal("true"))])),
    },
    // --- App registrations' credentials, as Entra ID declares them (`entra/applications.rs`) ---
    entra_row(entra_apps::REMOVE_CREDENTIALS, "RemoveAppCredentials"),
    entra_row(entra_apps::REMOVE_CERTIFICATES, "RevokeAppCertificates"),
    // --- Just-in-time VM access ---
    procedure(
        "EnableJITVMAccess",
        "Put a VM under just-in-time access: SSH and RDP closed until requested, at most 3 hours at a time",
        VM_PARAMS,
        Risk::Contain,
        Some("DisableJITVMAccess"),
        "Azure RBAC: Security Admin (Microsoft.Security/locations/jitNetworkAccessPolicies/write)",
        "azure.security.enable_jit",
    ),
    procedure(
        "DisableJITVMAccess",
        "Remove a VM's just-in-time access policy",
        VM_PARAMS,
        Risk::Contain,
        Some("EnableJITVMAccess"),
        "Azure RBAC: Security Admin (Microsoft.Security/locations/jitNetworkAccessPolicies/delete)",
        "azure.security.disable_jit",
    ),
    procedure(
        "RequestJITAccess",
        "Open a VM's JIT ports to one address for a while (initiate a JIT request)",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, VM, SOURCE_IP, PORTS, HOURS, POLICY, JUSTIFICATION],
        Risk::Contain,
        None,
        "Azure RBAC: Security Admin (Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action)",
        "azure.security.request_jit",
    ),
    unsupported(
        "BlockJITRequest",
        "Not available: JIT requests are not approved, so none can be refused",
        "Defender for Cloud opens a JIT window as soon as a caller with the initiate permission asks; there is no pending request to deny and no API to revoke an open window (the seed only returned blocked=true without calling anything). Remove the VM's JIT policy to stop new requests, or deny the address with an NSG rule to close an open window.",
        "DisableJITVMAccess",
    ),
    unsupported(
        "ApplySecurityRecommendation",
        "Not available: each recommendation has its own remediation",
        "Defender for Cloud has no API that applies a recommendation: each control is remediated by changing the resource it is about (the seed only created a governance assignment with a due date). Use the action that makes the change, e.g. DisableStoragePublicAccess, EnableSQLAudit or EnableJITVMAccess.",
        "GetSecurityRecommendations",
    ),
    unsupported(
        "ExcludeVulnerability",
        "Not available: exemptions are Azure Policy exemptions on a named assignment",
        "A resource is exempted from a recommendation by an Azure Policy exemption (Microsoft.Authorization/policyExemptions) naming the policy assignment and definition reference behind it; the seed's rule id names neither, and Riposte does not guess which assignment to exempt.",
        "GetSecurityRecommendations",
    ),
    // --- Microsoft Sentinel ---
    procedure(
        "AddSentinelWatchlist",
        "Add rows to a Sentinel watchlist, creating the watchlist when it does not exist",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE, WATCHLIST, ITEMS, DISPLAY_NAME, SEARCH_KEY],
        Risk::Contain,
        None,
        "Azure RBAC: Microsoft Sentinel Contributor (Microsoft.SecurityInsights/watchlists/write)",
        "azure.sentinel.add_watchlist_items",
    ),
    procedure(
        "EnableSentinelPlaybook",
        "Run a playbook on every incident an analytics rule creates (a Sentinel automation rule)",
        &[SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE, PLAYBOOK, RULE],
        Risk::Contain,
        None,
        "Azure RBAC: Microsoft Sentinel Automation Contributor (Microsoft.SecurityInsights/automationRules/write)",
        "azure.sentinel.enable_playbook",
    ),
];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
