//! Entra ID actions, through Microsoft Graph (upstream-apis.md §4.4).
//!
//! Paths carry the Graph version (`/v1.0/...`) because the Graph base URL does not. Aliases are
//! the seed's spellings for the same call (`BlockUserSignIn` sends exactly what `DisableUser`
//! sends; the orchestrator's wildcard labels `DisableUser*`/`EnableUser*` normalise to the
//! canonical names), plus `DisableUserAccount`/`EnableUserAccount`.
use crate::*;

/// The user acted on: object id (GUID) or UPN; Graph's `/users/{id|upn}` takes either.
const USER: ParamSpec = ParamSpec {
    name: "userId",
    aliases: &["userPrincipalName", "upn", "user"],
    kind: ParamKind::UserRef,
    required: true,
    default: None,
    doc: "User object id (GUID) or UPN (user@domain.tld)",
};

/// `PATCH /v1.0/users/{userId}`; Graph answers 204.
const PATCH_USER: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/users/{userId}");

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::EntraId,
        name: "DisableUser",
        summary: "Block a user from signing in (accountEnabled = false)",
        aliases: &["BlockUserSignIn", "DisableUserAccount"],
        params: &[USER],
        risk: Risk::Contain,
        inverse: Some("EnableUser"),
        permission: "User.EnableDisableAccount.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(PATCH_USER.body(&[("accountEnabled", BodyValue::Literal("false"))])),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "EnableUser",
        summary: "Allow a user to sign in again (accountEnabled = true)",
        aliases: &["EnableUserAccount"],
        params: &[USER],
        risk: Risk::Contain,
        inverse: Some("DisableUser"),
        permission: "User.EnableDisableAccount.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(PATCH_USER.body(&[("accountEnabled", BodyValue::Literal("true"))])),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "RevokeSessions",
        summary: "Invalidate a user's refresh tokens and session cookies",
        aliases: &["RevokeUserSessions", "RevokeSignInSessions"],
        params: &[USER],
        // Contain: forces re-authentication; nothing to undo, the user simply signs in again.
        risk: Risk::Contain,
        inverse: None,
        permission: "User.RevokeSessions.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Post, "/v1.0/users/{userId}/revokeSignInSessions")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "GetUserById",
        summary: "Get one user",
        aliases: &["GetUser"],
        params: &[USER],
        risk: Risk::Read,
        inverse: None,
        permission: "User.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Get, "/v1.0/users/{userId}")),
    },
];

/// Seed Entra ID names (EntraID worker and `service=EntraID`) with no action yet; the Entra ID
/// issue empties this list.
pub const PENDING_SEED_NAMES: &[&str] = &[
    // passwords and risk
    "ResetPassword",
    "ForcePasswordReset",
    "ConfirmCompromised",
    "ConfirmUserCompromised",
    "DismissRisk",
    "DismissRiskyUser",
    "DisableUserRisk",
    "GetRiskDetections",
    "GetRiskyUsers",
    "EnableIdentityProtection",
    // authentication methods and roles
    "DeleteAuthenticationMethod",
    "DeleteAllMFAMethods",
    "ResetMFARegistration",
    "GetUserAuthenticationMethods",
    "GetUserRoleAssignments",
    "RemoveAdminRole",
    "RevokePIMActivation",
    "DenyPIMRequest",
    "RemoveFromPIMRole",
    "AuditPIMActivations",
    "EnablePIMAlerts",
    "ExpirePIMAssignment",
    "RequireMFAForRole",
    // named locations and conditional access
    "CreateNamedLocation",
    "GetNamedLocations",
    "AddIPToNamedLocation",
    "BlockCountryLocation",
    "GetConditionalAccessPolicies",
    "CreateEmergencyCAPolicy",
    "CreateEmergencyBreakGlassPolicy",
    "BlockLegacyAuth",
    "EnableCARiskPolicy",
    "SimulateCAPolicy",
];
