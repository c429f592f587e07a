//! Session controls: Conditional Access App Control routes a user's browser sessions through
//! Defender for Cloud Apps. The documented way to switch it on from an API is a Conditional Access
//! policy with `sessionControls.cloudAppSecurity` (Graph `conditionalAccessPolicy`), whose
//! built-in types are `monitorOnly` and `blockDownloads` (`mcasConfigured` hands over to a
//! session policy written in the Cloud Apps portal, which has no API).
//!
//! A policy for all users and all apps can lock a tenant out, so like Entra's policy actions
//! these create it report-only (`enabledForReportingButNotEnforced`) unless `enforce` is true;
//! `RemoveSessionPolicy` deletes it. Sessions already open keep going until they end: pair with
//! `TerminateActiveSession` to make users sign in again through the control.
use super::*;

const PERMISSION: &str = "Policy.ReadWrite.ConditionalAccess";
const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";

const POLICY_NAME: ParamSpec = ParamSpec {
    name: "policyName",
    aliases: &["displayName", "name"],
    kind: ParamKind::Text { max: 256 },
    required: true,
    default: None,
    doc: "The Conditional Access policy's display name",
};
const USERS: ParamSpec = ParamSpec {
    name: "users",
    aliases: &["includeUsers"],
    kind: ParamKind::TextList { max_items: 100, max_len: 64 },
    required: false,
    default: Some("All"),
    doc: "User object ids the policy applies to, or All",
};
const APPLICATIONS: ParamSpec = ParamSpec {
    name: "applications",
    aliases: &["includeApplications", "apps"],
    kind: ParamKind::TextList { max_items: 100, max_len: 64 },
    required: false,
    default: Some("All"),
    doc: "Application (client) ids the policy applies to, Office365, or All",
};
const CONTROL: ParamSpec = ParamSpec {
    name: "controlType",
    aliases: &["cloudAppSecurityType", "sessionControl"],
    kind: ParamKind::Enum { values: &["monitorOnly", "blockDownloads", "mcasConfigured"] },
    required: false,
    default: Some("monitorOnly"),
    doc: "monitorOnly, blockDownloads, or mcasConfigured (a session policy made in the Cloud Apps portal)",
};
const ENFORCE: ParamSpec = ParamSpec {
    name: "enforce",
    aliases: &[],
    kind: ParamKind::Bool,
    required: false,
    default: Some("false"),
    doc: "true: the policy is enabled; false (default): report-only, to review its effect first",
};
/// The users whose downloads are blocked; the seed's `userId` is one of them.
const BLOCKED_USERS: ParamSpec = ParamSpec {
    name: "users",
    aliases: &["userId", "userIds", "principalId"],
    kind: ParamKind::TextList { max_items: 100, max_len: 64 },
    required: true,
    default: None,
    doc: "User object ids (Conditional Access names users by object id)",
};
const BLOCK_NAME: ParamSpec = ParamSpec { required: false, default: Some("Riposte: block downloads"), ..POLICY_NAME };
const SESSION_ID: ParamSpec = ParamSpec {
    name: "sessionId",
    aliases: &[],
    kind: ParamKind::Text { max: 128 },
    required: false,
    default: None,
    doc: "Accepted for the seed's callers and not sent: Conditional Access controls a user's sessions, not one session",
};
const POLICY_ID: ParamSpec = ParamSpec {
    name: "policyId",
    aliases: &["id"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The Conditional Access policy's id (from the create answer)",
};

const STATE: BodyValue = BodyValue::Mapped {
    param: "enforce",
    table: &[("true", "\"enabled\""), ("false", "\"enabledForReportingButNotEnforced\"")],
};

/// The policy body: who, which apps, browser sessions, the control type from `control`.
macro_rules! session_policy {
    ($name:expr, $users:expr, $control:expr) => {
        &[
            ("displayName", $name),
            ("state", STATE),
            ("conditions/users/includeUsers", $users),
            ("conditions/applications/includeApplications", BodyValue::Param("applications")),
            ("conditions/clientAppTypes", BodyValue::Literal("[\"browser\"]")),
            ("sessionControls/cloudAppSecurity/isEnabled", BodyValue::Literal("true")),
            ("sessionControls/cloudAppSecurity/cloudAppSecurityType", $control),
        ]
    };
}

const fn row(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    call: Call,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mcas,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(call),
    }
}

pub(super) static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        inverse: Some("RemoveSessionPolicy"),
        ..row(
            "CreateSessionPolicy",
            "Route users' browser sessions through Conditional Access App Control (a Conditional Access policy with a Cloud Apps session control), report-only unless enforce",
            &[],
            &[POLICY_NAME, USERS, APPLICATIONS, CONTROL, ENFORCE],
            Call::new(Api::Graph, Method::Post, POLICIES).body(session_policy!(
                BodyValue::Param("policyName"),
                BodyValue::Param("users"),
                BodyValue::Param("controlType")
            )),
        )
    },
    row(
        "EnableMonitorOnly",
        "Monitor users' browser sessions with Conditional Access App Control (built-in Monitor only), report-only unless enforce; remove with RemoveSessionPolicy",
        &[],
        &[POLICY_NAME, USERS, APPLICATIONS, ENFORCE],
        Call::new(Api::Graph, Method::Post, POLICIES).body(session_policy!(
            BodyValue::Param("policyName"),
            BodyValue::Param("users"),
            BodyValue::Literal("\"monitorOnly\"")
        )),
    ),
    row(
        "BlockDownloadSession",
        "Block downloads in a user's browser sessions (Conditional Access App Control, built-in Block downloads), report-only unless enforce; remove with RemoveSessionPolicy",
        &["BlockDownloads"],
        &[BLOCKED_USERS, BLOCK_NAME, APPLICATIONS, ENFORCE, SESSION_ID],
        Call::new(Api::Graph, Method::Post, POLICIES).body(session_policy!(
            BodyValue::Param("policyName"),
            BodyValue::Param("users"),
            BodyValue::Literal("\"blockDownloads\"")
        )),
    ),
    ActionSpec {
        inverse: Some("CreateSessionPolicy"),
        ..row(
            "RemoveSessionPolicy",
            "Delete a session-control Conditional Access policy made by CreateSessionPolicy, EnableMonitorOnly or BlockDownloadSession",
            &["DeleteSessionPolicy"],
            &[POLICY_ID],
            Call::new(Api::Graph, Method::Delete, "/v1.0/identity/conditionalAccess/policies/{policyId}"),
        )
    },
];
