//! OAuth apps, user consents and sessions: what Cloud Apps shows under "OAuth apps" lives in
//! Entra ID, and the Cloud Apps API has no call to change it, so these go through Graph
//! (`oauth2PermissionGrants`, `appRoleAssignedTo`, `servicePrincipals`, `revokeSignInSessions`).
//! Each row says which Graph change it makes; none claims more:
//!
//! - revoking consent deletes delegated permission grants (the app keeps tokens it already has
//!   until they expire; pair with `TerminateActiveSession`);
//! - banning an app disables its service principal (nobody signs in to it, it gets no new tokens)
//!   and deletes its grants; `DisableApp` only disables; `EnableApp` undoes that (not the grants);
//! - removing access deletes every user's assignment and grant for the app;
//! - blocking a user from an app deletes that user's assignments and grants for it; it blocks
//!   sign-in only where the app requires assignment (`appRoleAssignmentRequired`).
//!
//! The seed's `SanctionCloudApp` / `BlockUnsanctionedApp` named Cloud Discovery's sanction tags,
//! which have no API; the Entra app they touched is what `EnableApp` / `DisableApp` change.
use super::*;

const GRANT_READ: &str = "Directory.Read.All";
const GRANT_WRITE: &str = "DelegatedPermissionGrant.ReadWrite.All";
const APP_WRITE: &str = "Application.ReadWrite.All";
const ASSIGNMENT_WRITE: &str = "AppRoleAssignment.ReadWrite.All";

const CLIENT_ID: ParamSpec = ParamSpec {
    name: "clientId",
    aliases: &["clientServicePrincipalId"],
    kind: ParamKind::Guid,
    required: false,
    default: None,
    doc: "Only this app's grants: the client service principal's object id (a grant's clientId)",
};
const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData filter on clientId, principalId, consentType or resourceId",
};
/// A user by object id or UPN (revokeSignInSessions takes both).
const USER: ParamSpec = ParamSpec {
    name: "userId",
    aliases: &["userPrincipalName", "upn", "user"],
    kind: ParamKind::UserRef,
    required: true,
    default: None,
    doc: "The user's object id or UPN",
};

const fn row(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    permission: &'static str,
    plan: Plan,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mcas,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: None,
        permission,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan,
    }
}

const fn procedure(key: &'static str) -> Plan {
    Plan::Procedure(ProcedureId(key))
}

const SP: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/servicePrincipals/{servicePrincipalId}");

pub(super) static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        risk: Risk::Read,
        ..row(
            "GetOAuthApps",
            "List the delegated permission grants (OAuth consents) of the tenant, every page; filter by clientId for one app",
            &["ListOAuthApps", "GetOAuthPermissionGrants"],
            &[FILTER],
            GRANT_READ,
            Plan::Call(
                Call::new(Api::Graph, Method::Get, "/v1.0/oauth2PermissionGrants")
                    .query(&[("$filter", "filter")])
                    .paged(),
            ),
        )
    },
    ActionSpec {
        risk: Risk::Read,
        ..row(
            "GetUserAppConsents",
            "List a user's delegated permission grants (the apps the user consented to)",
            &["ListUserAppConsents"],
            &[USER_OBJECT_ID],
            GRANT_READ,
            Plan::Call(
                Call::new(Api::Graph, Method::Get, "/v1.0/oauth2PermissionGrants")
                    .filter_eq(&[("principalId", "userId")])
                    .paged(),
            ),
        )
    },
    row(
        "RevokeUserConsent",
        "Delete a user's delegated permission grants (all, or one app's with clientId); existing tokens live until they expire",
        &["RevokeOAuthPermissions", "RevokeUserConsents"],
        &[USER_OBJECT_ID, CLIENT_ID],
        GRANT_WRITE,
        procedure("mcas.consents.revoke"),
    ),
    row(
        "BanRiskyApp",
        "Ban an OAuth app in the tenant: disable its service principal (no sign-ins, no new tokens) and delete every delegated grant to it",
        &["BanCloudApp", "BanOAuthApp"],
        &[SERVICE_PRINCIPAL_ID],
        APP_WRITE,
        procedure("mcas.apps.ban"),
    ),
    row(
        "RemoveAppAccess",
        "Remove every user's access to an app: delete its app role assignments and its delegated grants (the app stays enabled)",
        &["RemoveOAuthAppAccess"],
        &[SERVICE_PRINCIPAL_ID],
        ASSIGNMENT_WRITE,
        procedure("mcas.apps.remove_access"),
    ),
    row(
        "BlockUserFromApp",
        "Delete one user's app role assignments and delegated grants for an app; sign-in is blocked only where the app requires assignment",
        &[],
        &[USER_OBJECT_ID, SERVICE_PRINCIPAL_ID],
        ASSIGNMENT_WRITE,
        procedure("mcas.apps.block_user"),
    ),
    ActionSpec {
        inverse: Some("EnableApp"),
        ..row(
            "DisableApp",
            "Disable an app's service principal: nobody signs in to it and it gets no new tokens (grants are kept)",
            &["BlockUnsanctionedApp", "DisableServicePrincipalApp"],
            &[SERVICE_PRINCIPAL_ID],
            APP_WRITE,
            Plan::Call(SP.body(&[("accountEnabled", BodyValue::Literal("false"))])),
        )
    },
    ActionSpec {
        inverse: Some("DisableApp"),
        ..row(
            "EnableApp",
            "Enable an app's service principal again (undoes DisableApp; deleted grants are not restored)",
            &["SanctionCloudApp", "UnbanApp"],
            &[SERVICE_PRINCIPAL_ID],
            APP_WRITE,
            Plan::Call(SP.body(&[("accountEnabled", BodyValue::Literal("true"))])),
        )
    },
    row(
        "TerminateActiveSession",
        "Revoke a user's refresh tokens and session cookies (Graph revokeSignInSessions): every app asks the user to sign in again",
        &["RequireReAuthentication", "ForceReAuthentication", "RevokeCloudAppSessions"],
        &[USER],
        "User.RevokeSessions.All",
        Plan::Call(Call::new(Api::Graph, Method::Post, "/v1.0/users/{userId}/revokeSignInSessions")),
    ),
];
