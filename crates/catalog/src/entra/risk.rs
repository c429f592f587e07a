//! Identity Protection: risky users (confirm compromised, dismiss) and risk detections.
//!
//! Graph's `confirmCompromised` and `dismiss` take `{"userIds": [...]}` of object ids (not UPNs);
//! the engine resolves the user first, and the procedures send the list.
use super::{USER, USER_OPTIONAL};
use crate::*;

const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter, e.g. riskLevel eq 'high'",
};

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::EntraId,
        name: "ConfirmCompromised",
        summary: "Mark a user as compromised in Identity Protection (risk high; risk-based policies act on it)",
        aliases: &["ConfirmUserCompromised", "ConfirmCompromisedUser"],
        params: &[USER],
        risk: Risk::Contain,
        inverse: Some("DismissRisk"),
        permission: "IdentityRiskyUser.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.risk.confirm_compromised")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "DismissRisk",
        summary: "Dismiss a user's risk in Identity Protection (risk none, state dismissed)",
        aliases: &["DismissRiskyUser", "DisableUserRisk", "DismissUserRisk"],
        params: &[USER],
        risk: Risk::Contain,
        inverse: Some("ConfirmCompromised"),
        permission: "IdentityRiskyUser.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.risk.dismiss")),
    },
    ActionSpec::read(
        Product::EntraId,
        "GetRiskyUsers",
        "List risky users (optionally one user, or an OData filter)",
        &["ListRiskyUsers"],
        &[USER_OPTIONAL, FILTER],
        "IdentityRiskyUser.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/identityProtection/riskyUsers")
            .query(&[("$filter", "filter")])
            .filter_eq(&[("id", "userId")])
            .paged(),
    ),
    ActionSpec::read(
        Product::EntraId,
        "GetRiskDetections",
        "List risk detections (optionally of one user, or an OData filter)",
        &["ListRiskDetections"],
        &[USER_OPTIONAL, FILTER],
        "IdentityRiskEvent.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/identityProtection/riskDetections")
            .query(&[("$filter", "filter")])
            .filter_eq(&[("userId", "userId")])
            .paged(),
    ),
];
