//! Users: sign-in, sessions and passwords.
//!
//! Passwords. Graph's `authenticationMethod: resetPassword` (202 + `Location`) is documented as
//! delegated only, so an application such as Riposte cannot call it. What an application can do
//! is write the user's `passwordProfile` (`User-PasswordProfile.ReadWrite.All`): a new password,
//! and/or `forceChangePasswordNextSignIn`. `ResetPassword` sets a password (the caller's, or one
//! generated here and shown once to a caller sending `Prefer: reveal-secrets`; never stored,
//! logged or audited) and makes the user change it at next sign-in; `ForcePasswordReset` only
//! requires the change. A Temporary Access Pass (`auth_methods.rs`) is the other way back in.
use super::{PATCH_USER, USER};
use crate::*;

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
        summary: "Invalidate a user's refresh tokens and session cookies (signInSessionsValidFromDateTime moves to now)",
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
    ActionSpec::read(
        Product::EntraId,
        "GetUserById",
        "Get one user",
        &["GetUser"],
        &[USER],
        "User.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/users/{userId}"),
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "ResetPassword",
        summary: "Set a new password (the caller's, or a generated one shown once) and require a change at next sign-in (passwordProfile)",
        aliases: &["ResetUserPassword"],
        params: &[
            USER,
            ParamSpec {
                name: "newPassword",
                aliases: &["temporaryPassword", "password"],
                kind: ParamKind::Secret { max: 256 },
                required: false,
                default: None,
                doc: "The new password (8-256 characters, three of upper, lower, digits, symbols); generated when absent",
            },
            ParamSpec {
                name: "changeAtNextSignIn",
                aliases: &["forceChange", "mustChange"],
                kind: ParamKind::Bool,
                required: false,
                default: Some("true"),
                doc: "Require the user to change the password at next sign-in (default true)",
            },
        ],
        risk: Risk::Remediate,
        inverse: None,
        permission: "User-PasswordProfile.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &["/newPassword"],
        plan: Plan::Procedure(ProcedureId("entra.users.reset_password")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "ForcePasswordReset",
        summary: "Require the user to change their password at next sign-in (passwordProfile.forceChangePasswordNextSignIn)",
        aliases: &["RequirePasswordChange"],
        params: &[USER],
        risk: Risk::Contain,
        inverse: None,
        permission: "User-PasswordProfile.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            PATCH_USER.body(&[("passwordProfile/forceChangePasswordNextSignIn", BodyValue::Literal("true"))]),
        ),
    },
];
