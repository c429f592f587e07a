//! Defender for Cloud (`Microsoft.Security` on ARM, upstream-apis.md §5.5): alerts and their
//! state, recommendations (assessments), secure score, regulatory compliance, Defender plans
//! (pricings) and JIT policies.
//!
//! The seed's Defender for Cloud worker read MDE's vulnerability APIs under these names; here
//! each is the `Microsoft.Security` call at a current api-version. An alert's state changes
//! through its own actions (`dismiss`, `activate`, `resolve`, `inProgress`, 204), on the alert's
//! full id: callers know an alert by name, so a procedure finds it in the subscription's list
//! first (its resource group and location are part of the id). The Azure product re-keys these
//! rows under the names its seed handler used (`azure/security.rs`).
use crate::azure::SUBSCRIPTION as SUBSCRIPTION_ID;
use crate::*;

/// Every Mdc action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

/// Defender for Cloud plans as `pricings` names them.
pub(crate) const PLANS: &[&str] = &[
    "VirtualMachines",
    "SqlServers",
    "AppServices",
    "StorageAccounts",
    "SqlServerVirtualMachines",
    "KeyVaults",
    "Arm",
    "OpenSourceRelationalDatabases",
    "CosmosDbs",
    "Containers",
    "CloudPosture",
    "Api",
];

const PLAN: ParamSpec = ParamSpec {
    name: "planName",
    aliases: &["defenderPlan", "plan", "pricingName"],
    kind: ParamKind::Enum { values: PLANS },
    required: true,
    default: None,
    doc: "Defender plan, e.g. VirtualMachines, StorageAccounts, SqlServers, Containers, KeyVaults",
};
const SUB_PLAN: ParamSpec = ParamSpec {
    name: "subPlan",
    aliases: &[],
    kind: ParamKind::Text { max: 40 },
    required: false,
    default: None,
    doc: "The plan's sub-plan where it has several (VirtualMachines: P1 or P2; StorageAccounts: DefenderForStorageV2)",
};
const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData filter Riposte applies to the alerts (eq ne gt ge lt le, and or not, contains/startswith/endswith), e.g. properties/status eq 'Active'",
};
const ALERT: ParamSpec = ParamSpec {
    name: "alertId",
    aliases: &["alertName", "id", "name"],
    kind: ParamKind::Text { max: 600 },
    required: true,
    default: None,
    doc: "The alert's name (as listed) or its full resource id",
};

/// An alert state as the caller names it; the procedure maps it to Microsoft's action.
const fn status(values: &'static [&'static str], default: Option<&'static str>) -> ParamSpec {
    ParamSpec {
        name: "status",
        aliases: &["state"],
        kind: ParamKind::Enum { values },
        required: default.is_none(),
        default,
        doc: "Dismissed, Active, Resolved or InProgress",
    }
}

const fn read(name: &'static str, summary: &'static str, aliases: &'static [&'static str], call: Call) -> ActionSpec {
    ActionSpec::read(Product::Mdc, name, summary, aliases, &[SUBSCRIPTION_ID], "Azure RBAC: Security Reader", call)
}

/// An alert-state row: one procedure finds the alert by name and posts the state's action.
const fn alert_state(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    inverse: Option<&'static str>,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdc,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse,
        permission: "Azure RBAC: Security Admin (Microsoft.Security/locations/alerts/*/action)",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mdc.alerts.set_status")),
    }
}

const ALERT_STATES: &[&str] = &["Dismissed", "Active", "Resolved", "InProgress"];

const PRICING: Call = Call::new(
    Api::Arm,
    Method::Put,
    "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings/{planName}?api-version=2024-01-01",
);

/// A procedure, not a call: ARM's 2022-01-01 alert list documents no `$filter` and ignores one,
/// so the engine lists every page and applies the caller's filter (`engine/.../mdc/filter.rs`).
pub(crate) const GET_SECURITY_ALERTS: ActionSpec = ActionSpec {
    params: &[SUBSCRIPTION_ID, FILTER],
    plan: Plan::Procedure(ProcedureId("mdc.alerts.list")),
    ..read(
        "GetSecurityAlerts",
        "List the subscription's Defender for Cloud security alerts, optionally filtered (Riposte applies the filter)",
        &["ListSecurityAlerts", "GetMdcAlerts"],
        Call::new(
            Api::Arm,
            Method::Get,
            "/subscriptions/{subscriptionId}/providers/Microsoft.Security/alerts?api-version=2022-01-01",
        ),
    )
};
pub(crate) const UPDATE_SECURITY_ALERT: ActionSpec = alert_state(
    "UpdateSecurityAlert",
    "Set a Defender for Cloud alert's state: Dismissed, Active, Resolved or InProgress",
    &["UpdateMdcAlert", "SetSecurityAlertState"],
    &[SUBSCRIPTION_ID, ALERT, status(ALERT_STATES, None)],
    None,
);
pub(crate) const DISMISS_SECURITY_ALERT: ActionSpec = alert_state(
    "DismissSecurityAlert",
    "Dismiss a Defender for Cloud alert",
    &["DismissMdcAlert"],
    &[SUBSCRIPTION_ID, ALERT, status(&["Dismissed"], Some("Dismissed"))],
    Some("ActivateSecurityAlert"),
);
pub(crate) const RESOLVE_SECURITY_ALERT: ActionSpec = alert_state(
    "ResolveSecurityAlert",
    "Resolve a Defender for Cloud alert",
    &["ResolveMdcAlert"],
    &[SUBSCRIPTION_ID, ALERT, status(&["Resolved"], Some("Resolved"))],
    None,
);
pub(crate) const ACTIVATE_SECURITY_ALERT: ActionSpec = alert_state(
    "ActivateSecurityAlert",
    "Make a dismissed or resolved Defender for Cloud alert active again",
    &["ReactivateSecurityAlert"],
    &[SUBSCRIPTION_ID, ALERT, status(&["Active"], Some("Active"))],
    Some("DismissSecurityAlert"),
);
pub(crate) const GET_RECOMMENDATIONS: ActionSpec = read(
    "GetRecommendations",
    "List Defender for Cloud recommendations (assessments) across the subscription, with their status",
    &["GetAssessments", "ListRecommendations"],
    Call::new(
        Api::Arm,
        Method::Get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Security/assessments?api-version=2021-06-01",
    )
    .paged(),
);
pub(crate) const GET_SECURE_SCORE: ActionSpec = read(
    "GetSecureScore",
    "Read the subscription's secure score",
    &["GetSecureScores"],
    Call::new(
        Api::Arm,
        Method::Get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Security/secureScores?api-version=2020-01-01",
    )
    .paged(),
);
pub(crate) const GET_DEFENDER_PLANS: ActionSpec = read(
    "GetDefenderPlans",
    "List the Defender for Cloud plans (pricings) and their tiers",
    &["GetPricings", "ListDefenderPlans"],
    Call::new(
        Api::Arm,
        Method::Get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings?api-version=2024-01-01",
    ),
);
pub(crate) const GET_REGULATORY_COMPLIANCE: ActionSpec = read(
    "GetRegulatoryCompliance",
    "List the regulatory compliance standards and how many controls pass",
    &["GetComplianceStandards"],
    Call::new(Api::Arm, Method::Get, "/subscriptions/{subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards?api-version=2019-01-01-preview").paged(),
);
pub(crate) const GET_JIT_POLICIES: ActionSpec = read(
    "GetJitAccessPolicies",
    "List the subscription's just-in-time VM access policies and their requests",
    &["GetJITPolicies", "ListJitNetworkAccessPolicies"],
    Call::new(
        Api::Arm,
        Method::Get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Security/jitNetworkAccessPolicies?api-version=2020-01-01",
    )
    .paged(),
);
pub(crate) const ENABLE_DEFENDER_PLAN: ActionSpec = ActionSpec {
    product: Product::Mdc,
    name: "EnableDefenderPlan",
    summary: "Turn a Defender for Cloud plan on for the subscription (pricing tier Standard)",
    aliases: &["EnableDefender", "SetDefenderPlan"],
    params: &[SUBSCRIPTION_ID, PLAN, SUB_PLAN],
    risk: Risk::Contain,
    inverse: Some("DisableDefenderPlan"),
    permission: "Azure RBAC: Security Admin (Microsoft.Security/pricings/write)",
    completion: Completion::Immediate,
    sensitive_results: &[],
    plan: Plan::Call(PRICING.body(&[
        ("properties/pricingTier", BodyValue::Literal("\"Standard\"")),
        ("properties/subPlan", BodyValue::Param("subPlan")),
    ])),
};
pub(crate) const DISABLE_DEFENDER_PLAN: ActionSpec = ActionSpec {
    name: "DisableDefenderPlan",
    summary: "Turn a Defender for Cloud plan off for the subscription (pricing tier Free)",
    aliases: &[],
    params: &[SUBSCRIPTION_ID, PLAN],
    inverse: Some("EnableDefenderPlan"),
    plan: Plan::Call(PRICING.body(&[("properties/pricingTier", BodyValue::Literal("\"Free\""))])),
    ..ENABLE_DEFENDER_PLAN
};

pub static ACTIONS: &[ActionSpec] = &[
    GET_SECURITY_ALERTS,
    UPDATE_SECURITY_ALERT,
    DISMISS_SECURITY_ALERT,
    RESOLVE_SECURITY_ALERT,
    ACTIVATE_SECURITY_ALERT,
    GET_RECOMMENDATIONS,
    GET_SECURE_SCORE,
    GET_DEFENDER_PLANS,
    ENABLE_DEFENDER_PLAN,
    DISABLE_DEFENDER_PLAN,
    GET_REGULATORY_COMPLIANCE,
    GET_JIT_POLICIES,
];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[verify::Check {
    product: Product::Mdc,
    action: "EnableDefenderPlan",
    read: Call::new(
        Api::Arm,
        Method::Get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings/{planName}?api-version=2024-01-01",
    ),
    query: &[],
    expect: &[("/properties/pricingTier", "\"Standard\"")],
}];
