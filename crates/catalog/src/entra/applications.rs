//! App registrations (Graph `applications`): read one, and take away its client secrets and
//! certificates, the credentials an attacker adds to an app to keep access.
//!
//! These are Entra ID's rows because the application object is a directory object of
//! `microsoft.graph` (the Azure worker of the seed reached it through Graph too); the Azure
//! product's seed names `RemoveAppCredentials` and `RevokeAppCertificates` are these same rows
//! under its name (`azure/security.rs`).
//!
//! A secret goes through `removePassword {keyId}`. A certificate cannot go through `removeKey`,
//! which needs a proof signed with one of the app's own private keys (a responder has none);
//! the documented way for an app-only caller is to PATCH `keyCredentials` with the list minus
//! the certificate. Both are procedures (read the app, remove each credential, report each
//! keyId) that take the object id or the appId (client id), which sign-in logs show.
use crate::*;

/// The application, by object id or appId.
pub(crate) const APPLICATION: ParamSpec = ParamSpec {
    name: "applicationId",
    aliases: &["applicationObjectId", "appObjectId", "clientId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The application's object id, or its appId (client id)",
};

const KEY_ID: ParamSpec = ParamSpec {
    name: "keyId",
    aliases: &[],
    kind: ParamKind::Guid,
    required: false,
    default: None,
    doc: "One credential to remove, by keyId (default: every one of the kind)",
};

const PARAMS: &[ParamSpec] = &[APPLICATION, KEY_ID];

/// Secrets and certificates.
pub(crate) const REMOVE_CREDENTIALS: ActionSpec = ActionSpec {
    product: Product::EntraId,
    name: "RemoveApplicationCredentials",
    summary: "Remove an app registration's client secrets and certificates (all of them, or the one keyId names)",
    aliases: &["RemoveAppCredentials"],
    params: PARAMS,
    risk: Risk::Remediate,
    inverse: None,
    permission: "Application.ReadWrite.All (or Application.ReadWrite.OwnedBy on apps Riposte owns)",
    completion: Completion::Immediate,
    sensitive_results: &[],
    plan: Plan::Procedure(ProcedureId("entra.applications.remove_credentials")),
};

/// Certificates only.
pub(crate) const REMOVE_CERTIFICATES: ActionSpec = ActionSpec {
    product: Product::EntraId,
    name: "RemoveApplicationCertificates",
    summary: "Remove an app registration's certificates (all of them, or the one keyId names); client secrets stay",
    aliases: &["RevokeAppCertificates", "RevokeApplicationCertificates"],
    params: PARAMS,
    risk: Risk::Remediate,
    inverse: None,
    permission: "Application.ReadWrite.All (or Application.ReadWrite.OwnedBy on apps Riposte owns)",
    completion: Completion::Immediate,
    sensitive_results: &[],
    plan: Plan::Procedure(ProcedureId("entra.applications.remove_certificates")),
};

/// The app with its credentials (keyIds, names, hints and expiry; never secret values).
pub(crate) const GET_APPLICATION: ActionSpec = ActionSpec {
    product: Product::EntraId,
    name: "GetApplication",
    summary: "Get an app registration with its credentials (keyIds, hints, expiry; never secrets)",
    aliases: &["GetAppRegistration"],
    params: &[APPLICATION],
    risk: Risk::Read,
    inverse: None,
    permission: "Application.Read.All",
    completion: Completion::Immediate,
    sensitive_results: &[],
    plan: Plan::Procedure(ProcedureId("entra.applications.get")),
};

pub static ACTIONS: &[ActionSpec] = &[GET_APPLICATION, REMOVE_CREDENTIALS, REMOVE_CERTIFICATES];
