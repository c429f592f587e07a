//! Defender for Identity through Microsoft Graph (upstream-apis.md §4.8): identity accounts and
//! their response actions (`security/identities/identityAccounts/{id}/invokeAction`), identity
//! alerts (alerts_v2 with `serviceSource eq 'microsoftDefenderForIdentity'`), and reads MDI
//! has no API for, answered from advanced hunting and Secure Score.
//!
//! invokeAction paths use `/beta`: v1.0 supports only on-premises Active Directory and Okta
//! (disable/enable: activeDirectory, okta; forcePasswordReset: activeDirectory;
//! revokeAllSessions: okta), beta adds Entra ID (disable, enable, revokeAllSessions). Graph
//! refuses an action a provider does not support with 400; the provider defaults to
//! `activeDirectory`, the one MDI sensors act on.
//!
//! The seed's `GetLateralMovementPaths` and `GetExposedCredentials` filtered alerts by category
//! or title. MDI's lateral-movement-path and clear-text-credential reports have no API; the
//! rows here run fixed advanced hunting queries (Graph `runHuntingQuery`) over
//! `IdentityLogonEvents`, and say so in their summaries (`engine/src/procedures/mdi/`).
use crate::incident::alerts as graph_alerts;
use crate::*;

/// Every Mdi action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

const READ: &str = "SecurityIdentitiesAccount.Read.All";
const ACT: &str = "SecurityIdentitiesActions.ReadWrite.All";
const ACCOUNTS: &str = "/beta/security/identities/identityAccounts";

const IDENTITY_ACCOUNT_ID: ParamSpec = ParamSpec {
    name: "identityAccountId",
    aliases: &["identityAccountsId", "id"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The identity account's id, as GetIdentityAccounts returns it",
};
const ACCOUNT_ID: ParamSpec = ParamSpec {
    name: "accountId",
    aliases: &["account"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The account to act on, from the identity account's `accounts` (its accountId for that provider)",
};
const fn provider(default: &'static str) -> ParamSpec {
    ParamSpec {
        name: "identityProvider",
        aliases: &["provider"],
        kind: ParamKind::Enum { values: &["activeDirectory", "entraID", "okta"] },
        required: false,
        default: Some(default),
        doc: "activeDirectory, entraID or okta; Graph refuses an action the provider does not support",
    }
}
const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter, joined with the service-source clause",
};
const TOP: ParamSpec = ParamSpec {
    name: "top",
    aliases: &["$top"],
    kind: ParamKind::Int { min: 1, max: 2000 },
    required: false,
    default: None,
    doc: "Most items to return; all pages are read when absent",
};
/// A fixed clause: the alerts of this product only.
const SERVICE_SOURCE: ParamSpec = ParamSpec {
    name: "serviceSource",
    aliases: &[],
    kind: ParamKind::Enum { values: &["microsoftDefenderForIdentity"] },
    required: false,
    default: Some("microsoftDefenderForIdentity"),
    doc: "The alerts' service source (Defender for Identity)",
};

const AD_PARAMS: &[ParamSpec] = &[IDENTITY_ACCOUNT_ID, ACCOUNT_ID, provider("activeDirectory")];
const ENTRA_PARAMS: &[ParamSpec] = &[IDENTITY_ACCOUNT_ID, ACCOUNT_ID, provider("entraID")];

/// The documented invokeAction body for one action.
const fn body(action: &'static str) -> [(&'static str, BodyValue); 3] {
    [
        ("accountId", BodyValue::Param("accountId")),
        ("action", BodyValue::Literal(action)),
        ("identityProvider", BodyValue::Param("identityProvider")),
    ]
}
static DISABLE: [(&str, BodyValue); 3] = body("\"disable\"");
static ENABLE: [(&str, BodyValue); 3] = body("\"enable\"");
static FORCE_RESET: [(&str, BodyValue); 3] = body("\"forcePasswordReset\"");
static REVOKE: [(&str, BodyValue); 3] = body("\"revokeAllSessions\"");

const fn invoke(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    body: &'static [(&'static str, BodyValue)],
    inverse: Option<&'static str>,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdi,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse,
        permission: ACT,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(
                Api::Graph,
                Method::Post,
                "/beta/security/identities/identityAccounts/{identityAccountId}/invokeAction",
            )
            .body(body),
        ),
    }
}

/// A Graph security alert row re-keyed to this product (declared once in `incident/`).
const fn graph(spec: ActionSpec, aliases: &'static [&'static str]) -> ActionSpec {
    ActionSpec { product: Product::Mdi, aliases, inverse: None, ..spec }
}

/// A read carried out by a procedure (a hunting query, a filtered Secure Score).
const fn procedure_read(
    name: &'static str,
    summary: &'static str,
    params: &'static [ParamSpec],
    permission: &'static str,
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdi,
        name,
        summary,
        aliases: &[],
        params,
        risk: Risk::Read,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

const DAYS: ParamSpec = ParamSpec {
    name: "lookbackDays",
    aliases: &["days"],
    kind: ParamKind::Int { min: 1, max: 30 },
    required: false,
    default: Some("7"),
    doc: "How many days of identity events to read (1-30, advanced hunting keeps 30)",
};

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::Mdi,
        "GetIdentityAccounts",
        "List the identity accounts Defender for Identity monitors",
        &["ListIdentityAccounts"],
        &[FILTER, TOP],
        READ,
        Call::new(Api::Graph, Method::Get, ACCOUNTS).query(&[("$filter", "filter"), ("$top", "top")]).paged(),
    ),
    ActionSpec::read(
        Product::Mdi,
        "GetIdentityAccount",
        "Get one identity account with its accounts per provider",
        &[],
        &[IDENTITY_ACCOUNT_ID],
        READ,
        Call::new(Api::Graph, Method::Get, "/beta/security/identities/identityAccounts/{identityAccountId}"),
    ),
    invoke(
        "DisableIdentityAccount",
        "Disable an account in its identity provider (MDI invokeAction disable)",
        &["DisableAccount", "DisableADAccount"],
        AD_PARAMS,
        &DISABLE,
        Some("EnableIdentityAccount"),
    ),
    invoke(
        "EnableIdentityAccount",
        "Enable an account in its identity provider again (MDI invokeAction enable)",
        &["EnableAccount", "EnableADAccount"],
        AD_PARAMS,
        &ENABLE,
        Some("DisableIdentityAccount"),
    ),
    invoke(
        "ForceIdentityPasswordReset",
        "Require an Active Directory account to change its password at next logon (MDI invokeAction)",
        &["ForceADPasswordReset", "ForcePasswordResetAD"],
        AD_PARAMS,
        &FORCE_RESET,
        None,
    ),
    invoke(
        "RevokeIdentitySessions",
        "Revoke all of an account's sessions (MDI invokeAction revokeAllSessions; Entra ID and Okta)",
        &["RevokeAllSessions", "RevokeIdentityAccountSessions"],
        ENTRA_PARAMS,
        &REVOKE,
        None,
    ),
    ActionSpec {
        name: "GetAlerts",
        summary: "List Defender for Identity alerts (alerts_v2 where serviceSource is microsoftDefenderForIdentity)",
        aliases: &["GetMdiAlerts", "GetIdentityAlerts", "ListAlerts"],
        params: &[FILTER, TOP, SERVICE_SOURCE],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Get, "/v1.0/security/alerts_v2")
                .query(&[("$filter", "filter"), ("$top", "top")])
                .filter_eq(&[("serviceSource", "serviceSource")])
                .paged(),
        ),
        ..graph(graph_alerts::GET_ALERTS, &[])
    },
    graph(graph_alerts::UPDATE_ALERT, &["UpdateMdiAlert", "UpdateIdentityAlert"]),
    procedure_read(
        "GetLateralMovementPaths",
        "Accounts signing in to several devices over Kerberos, the raw material of lateral-movement paths (advanced hunting over IdentityLogonEvents; MDI's path report has no API)",
        &[DAYS],
        "ThreatHunting.Read.All",
        "mdi.hunting.lateral_movement",
    ),
    procedure_read(
        "GetExposedCredentials",
        "Sign-ins that exposed credentials: clear-text LDAP binds and NTLM (advanced hunting over IdentityLogonEvents; MDI's report has no API)",
        &[DAYS],
        "ThreatHunting.Read.All",
        "mdi.hunting.exposed_credentials",
    ),
    procedure_read(
        "GetIdentitySecureScore",
        "The tenant's latest Secure Score with only its identity controls (Graph secureScores, controlCategory Identity)",
        &[],
        "SecurityEvents.Read.All",
        "mdi.secure_score.identity",
    ),
];
