//! A compromised account contained in one call, and its inverse.
//!
//! `ContainCompromisedAccount` disables the user, revokes their sessions, deletes every MFA
//! method but the password (a stolen authenticator or phone cannot be used to come back), and,
//! when asked, issues a Temporary Access Pass (shown once, for the helpdesk to hand over after
//! verifying the person) and isolates the user's active Defender for Endpoint devices. Each
//! step is its own Graph or MDE call, read back where it can be, and reported on its own; a
//! failed step does not stop the others, and any failure makes the operation
//! `PartiallySucceeded` with the steps listed. `RestoreCompromisedAccount` re-enables the user
//! and releases the isolations the containment made (their machine ids are passed back in).
use super::USER;
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::EntraId,
        name: "ContainCompromisedAccount",
        summary: "Disable the user, revoke sessions, delete MFA methods; optionally issue a TAP and isolate their active devices",
        aliases: &["ContainUser", "ContainCompromisedUser"],
        params: &[
            USER,
            ParamSpec {
                name: "issueTap",
                aliases: &["tap"],
                kind: ParamKind::Bool,
                required: false,
                default: Some("false"),
                doc: "Also issue a one-time Temporary Access Pass (shown once, with Prefer: reveal-secrets)",
            },
            ParamSpec {
                name: "isolateDevices",
                aliases: &["isolate", "blockDevices"],
                kind: ParamKind::Bool,
                required: false,
                default: Some("false"),
                doc: "Also isolate (Full) the MDE devices the user is logged on to and that were seen in the last day",
            },
        ],
        risk: Risk::Contain,
        inverse: Some("RestoreCompromisedAccount"),
        permission: "User.EnableDisableAccount.All, User.RevokeSessions.All, UserAuthenticationMethod.ReadWrite.All (+ Machine.Isolate)",
        completion: Completion::Immediate,
        sensitive_results: &["/temporaryAccessPass"],
        plan: Plan::Procedure(ProcedureId("entra.containment.contain")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "RestoreCompromisedAccount",
        summary: "Re-enable a contained user and release the device isolations the containment made",
        aliases: &["RestoreUser", "ReleaseCompromisedAccount"],
        params: &[
            USER,
            ParamSpec {
                name: "deviceIds",
                aliases: &["machineIds", "isolatedDevices"],
                kind: ParamKind::DeviceIds,
                required: false,
                default: None,
                doc: "The machines to release (ContainCompromisedAccount answers them as isolatedDevices)",
            },
        ],
        risk: Risk::Contain,
        inverse: Some("ContainCompromisedAccount"),
        permission: "User.EnableDisableAccount.All (+ Machine.Isolate)",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.containment.restore")),
    },
];
