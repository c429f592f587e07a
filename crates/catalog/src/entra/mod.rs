//! Entra ID actions, through Microsoft Graph (upstream-apis.md §4.4), one file per area:
//! [`users`] (sign-in, sessions, passwords), [`auth_methods`] (MFA methods, Temporary Access
//! Pass), [`risk`] (Identity Protection), [`conditional_access`] (policies, named locations),
//! [`roles_pim`] (directory roles, PIM), [`apps`] (service principals), [`applications`] (app
//! registrations' secrets and certificates), [`groups`], and
//! [`containment`] (a compromised account contained in one call, and its inverse).
//!
//! Paths carry the Graph version (`/v1.0/...`) because the Graph base URL does not. A user is
//! named by UPN, object id or mail address: before any call the engine resolves it to the one
//! object id it denotes (`engine/src/procedures/entra/users.rs`); none, or several, is a 400.
//! Aliases are the seed's spellings for the same call.
use crate::*;

pub(crate) mod applications;
mod apps;
mod auth_methods;
mod conditional_access;
mod containment;
mod groups;
mod risk;
mod roles_pim;
mod users;

/// Every Entra ID action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    users::ACTIONS
        .iter()
        .chain(auth_methods::ACTIONS)
        .chain(risk::ACTIONS)
        .chain(conditional_access::ACTIONS)
        .chain(roles_pim::ACTIONS)
        .chain(apps::ACTIONS)
        .chain(applications::ACTIONS)
        .chain(groups::ACTIONS)
        .chain(containment::ACTIONS)
}

/// The user acted on: object id (GUID), UPN or mail address, resolved to the object id.
pub(crate) const USER: ParamSpec = ParamSpec {
    name: "userId",
    aliases: &["userPrincipalName", "upn", "user", "mail"],
    kind: ParamKind::UserRef,
    required: true,
    default: None,
    doc: "User object id (GUID), UPN or mail address (user@domain.tld); resolved to the one user it names",
};

/// The same, when the user narrows a read.
pub(crate) const USER_OPTIONAL: ParamSpec = ParamSpec { required: false, ..USER };

/// Users left out of a tenant-wide policy (break-glass accounts): UPNs, mail addresses or object
/// ids, each resolved to an object id.
pub(crate) const EXCLUDED_USERS: ParamSpec = ParamSpec {
    name: "excludedUsers",
    aliases: &["excludeUsers", "breakGlassAccounts"],
    kind: ParamKind::TextList { max_items: 50, max_len: 256 },
    required: false,
    default: None,
    doc: "Users the policy leaves out (UPNs or object ids), e.g. the break-glass accounts",
};

/// Whether a new conditional-access policy is enforced at once. Off by default: the policy is
/// created `enabledForReportingButNotEnforced` (report-only) so its effect can be reviewed in the
/// sign-in logs before it blocks anyone, tenant-wide lock-outs being the classic CA mistake.
pub(crate) const ENFORCE: ParamSpec = ParamSpec {
    name: "enforce",
    aliases: &["enforced", "enable"],
    kind: ParamKind::Bool,
    required: false,
    default: Some("false"),
    doc: "true: create the policy enabled; false (default): report-only (enabledForReportingButNotEnforced)",
};

pub(crate) const JUSTIFICATION: ParamSpec = ParamSpec {
    name: "justification",
    aliases: &["reason", "comment"],
    kind: ParamKind::Text { max: 500 },
    required: false,
    default: Some("Security response via Riposte"),
    doc: "Why (recorded by PIM with the request)",
};

/// `PATCH /v1.0/users/{userId}`; Graph answers 204.
pub(crate) const PATCH_USER: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/users/{userId}");

const USER_READ: Call = Call::new(Api::Graph, Method::Get, "/v1.0/users/{userId}");

/// Entra ID's effect checks (`verify.rs` chains them).
pub static CHECKS: &[verify::Check] = &[
    verify::Check {
        product: Product::EntraId,
        action: "DisableUser",
        read: USER_READ,
        query: &[("$select", "id,accountEnabled")],
        expect: &[("/accountEnabled", "false")],
    },
    verify::Check {
        product: Product::EntraId,
        action: "EnableUser",
        read: USER_READ,
        query: &[("$select", "id,accountEnabled")],
        expect: &[("/accountEnabled", "true")],
    },
    verify::Check {
        product: Product::EntraId,
        action: "DisableServicePrincipal",
        read: Call::new(Api::Graph, Method::Get, "/v1.0/servicePrincipals/{servicePrincipalId}"),
        query: &[("$select", "id,accountEnabled")],
        expect: &[("/accountEnabled", "false")],
    },
    verify::Check {
        product: Product::EntraId,
        action: "EnableServicePrincipal",
        read: Call::new(Api::Graph, Method::Get, "/v1.0/servicePrincipals/{servicePrincipalId}"),
        query: &[("$select", "id,accountEnabled")],
        expect: &[("/accountEnabled", "true")],
    },
];
