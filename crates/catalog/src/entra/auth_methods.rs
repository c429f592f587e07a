//! Authentication methods: list and delete a user's MFA methods, issue a Temporary Access Pass.
//!
//! Graph deletes a method through its typed collection (`/authentication/phoneMethods/{id}`,
//! `/microsoftAuthenticatorMethods/{id}`, ...), not through the generic `/methods/{id}` the seed
//! called; the procedures list the methods first and delete each through its type's collection.
//! The password method is never deleted (Graph refuses; a password is reset, not removed).
use super::USER;
use crate::*;

const METHOD_ID: ParamSpec = ParamSpec {
    name: "authenticationMethodId",
    aliases: &["methodId", "id"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The method's id, as GetUserAuthenticationMethods lists it",
};

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::EntraId,
        "GetUserAuthenticationMethods",
        "List a user's authentication methods (password, authenticator, phone, FIDO2, TAP, ...)",
        &["ListAuthenticationMethods", "GetMFAMethods"],
        &[USER],
        "UserAuthenticationMethod.Read.All",
        Call::new(Api::Graph, Method::Get, "/v1.0/users/{userId}/authentication/methods"),
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "DeleteAuthenticationMethod",
        summary: "Delete one of a user's authentication methods through its typed collection",
        aliases: &["RemoveAuthenticationMethod"],
        params: &[USER, METHOD_ID],
        risk: Risk::Remediate,
        inverse: None,
        permission: "UserAuthenticationMethod.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.auth_methods.delete")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "DeleteAllMFAMethods",
        summary: "Delete every authentication method of a user except the password (the user re-registers MFA)",
        aliases: &["ResetMFARegistration", "RemoveAllMFAMethods"],
        params: &[USER],
        risk: Risk::Remediate,
        inverse: None,
        permission: "UserAuthenticationMethod.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.auth_methods.delete_all")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "CreateTemporaryAccessPass",
        summary: "Issue a Temporary Access Pass (shown once) so the user can sign in and re-register MFA",
        aliases: &["IssueTemporaryAccessPass", "CreateTAP"],
        params: &[
            USER,
            ParamSpec {
                name: "lifetimeInMinutes",
                aliases: &["lifetime"],
                kind: ParamKind::Int { min: 10, max: 43_200 },
                required: false,
                default: Some("60"),
                doc: "How long the pass is valid, 10 minutes to 30 days (default 60)",
            },
            ParamSpec {
                name: "isUsableOnce",
                aliases: &["oneTime", "singleUse"],
                kind: ParamKind::Bool,
                required: false,
                default: Some("true"),
                doc: "Whether the pass works for one sign-in only (default true)",
            },
        ],
        risk: Risk::Remediate,
        inverse: None,
        permission: "UserAuthenticationMethod.ReadWrite.All",
        completion: Completion::Immediate,
        sensitive_results: &["/temporaryAccessPass"],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/users/{userId}/authentication/temporaryAccessPassMethods").body(
                &[
                    ("lifetimeInMinutes", BodyValue::Param("lifetimeInMinutes")),
                    ("isUsableOnce", BodyValue::Param("isUsableOnce")),
                ],
            ),
        ),
    },
];
