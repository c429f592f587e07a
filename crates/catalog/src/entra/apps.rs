//! Service principals: disable one, remove its secrets and certificates.
//!
//! `removePassword` takes the secret's `keyId`. Graph's `removeKey` needs a proof signed with one
//! of the application's own keys, which a responder does not hold; the documented alternative
//! for an app with `Application.ReadWrite.All` is to PATCH `keyCredentials` with the list minus
//! the certificate, which the procedure does (read, filter, write).
use crate::*;

const SP: ParamSpec = ParamSpec {
    name: "servicePrincipalId",
    aliases: &["spId", "objectId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The service principal's object id",
};

const KEY_ID: ParamSpec = ParamSpec {
    name: "keyId",
    aliases: &[],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The credential's keyId (passwordCredentials / keyCredentials)",
};

const SP_PATCH: Call = Call::new(Api::Graph, Method::Patch, "/v1.0/servicePrincipals/{servicePrincipalId}");

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::EntraId,
        name: "DisableServicePrincipal",
        summary: "Stop a service principal from signing in (accountEnabled = false)",
        aliases: &["DisableEnterpriseApp"],
        params: &[SP],
        risk: Risk::Contain,
        inverse: Some("EnableServicePrincipal"),
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SP_PATCH.body(&[("accountEnabled", BodyValue::Literal("false"))])),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "EnableServicePrincipal",
        summary: "Let a service principal sign in again (accountEnabled = true)",
        aliases: &["EnableEnterpriseApp"],
        params: &[SP],
        risk: Risk::Contain,
        inverse: Some("DisableServicePrincipal"),
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(SP_PATCH.body(&[("accountEnabled", BodyValue::Literal("true"))])),
    },
    ActionSpec::read(
        Product::EntraId,
        "GetServicePrincipal",
        "Get a service principal with its credentials (key ids, never secrets)",
        &[],
        &[SP],
        "Application.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/servicePrincipals/{servicePrincipalId}"),
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "RemoveServicePrincipalSecret",
        summary: "Remove a client secret (password credential) from a service principal",
        aliases: &["RemoveServicePrincipalPassword"],
        params: &[SP, KEY_ID],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/servicePrincipals/{servicePrincipalId}/removePassword")
                .body(&[("keyId", BodyValue::Param("keyId"))]),
        ),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "RemoveServicePrincipalCertificate",
        summary: "Remove a certificate (key credential) from a service principal",
        aliases: &["RemoveServicePrincipalKey"],
        params: &[SP, KEY_ID],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Application.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.apps.remove_certificate")),
    },
];
