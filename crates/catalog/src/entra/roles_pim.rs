//! Directory roles and Privileged Identity Management.
//!
//! Active assignments are `roleManagement/directory/roleAssignments`; PIM changes them through
//! schedule requests: `adminRemove` ends an active (or activated) assignment, `adminUpdate` with
//! an expiration moves its end, and `roleEligibilityScheduleRequests` `adminRemove` takes the
//! eligibility away. `selfDeactivate`, which the seed sent, is valid only for the signed-in user,
//! never for an application. A PIM activation pending approval is decided by its approver with
//! the approver's own (delegated) token; an application can only cancel a `Granted` request
//! (`CancelPIMRequest`), so `DenyPIMRequest` is unsupported.
use super::{JUSTIFICATION, USER, USER_OPTIONAL};
use crate::*;

const ROLE: ParamSpec = ParamSpec {
    name: "roleDefinitionId",
    aliases: &["roleId", "roleTemplateId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The role definition (template) id, e.g. 62e90394-69f5-4237-9190-012177145e10 (Global Administrator)",
};
const ROLE_OPTIONAL: ParamSpec = ParamSpec { required: false, doc: "Only this role (default: every role)", ..ROLE };

const REQUEST_ID: ParamSpec = ParamSpec {
    name: "requestId",
    aliases: &["scheduleRequestId", "id"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The roleAssignmentScheduleRequest id",
};

const SCHEDULE_REQUESTS: &str = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests";

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::EntraId,
        "GetUserRoleAssignments",
        "List a user's active directory role assignments",
        &["ListUserRoleAssignments"],
        &[USER],
        "RoleManagement.Read.Directory",
        Call::new(Api::Graph, Method::Get, "/v1.0/roleManagement/directory/roleAssignments")
            .filter_eq(&[("principalId", "userId")])
            .paged(),
    ),
    ActionSpec {
        product: Product::EntraId,
        name: "RemoveAdminRole",
        summary: "Delete a user's active directory role assignments (every role, or the one given)",
        aliases: &["RemoveDirectoryRoles", "RemoveRoleAssignments"],
        params: &[USER, ROLE_OPTIONAL],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleManagement.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.roles_pim.remove_admin_roles")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "RevokePIMActivation",
        summary: "End a user's activated PIM roles now (adminRemove of each activated assignment, or of the role given)",
        aliases: &["RevokePimActivation", "DeactivatePIMRole"],
        params: &[USER, ROLE_OPTIONAL, JUSTIFICATION],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleAssignmentSchedule.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.roles_pim.revoke_activations")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "ExpirePIMAssignment",
        summary: "Set a user's role assignment to expire (now, by default) through an adminUpdate schedule request",
        aliases: &["ExpirePimAssignment"],
        params: &[
            USER,
            ROLE,
            JUSTIFICATION,
            ParamSpec {
                name: "expireAfterMinutes",
                aliases: &["expiresInMinutes", "minutes"],
                kind: ParamKind::Int { min: 0, max: 525_600 },
                required: false,
                default: Some("0"),
                doc: "Minutes from now until the assignment ends (0 = now)",
            },
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleAssignmentSchedule.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Graph, Method::Post, SCHEDULE_REQUESTS).body(&[
            ("action", BodyValue::Literal("\"adminUpdate\"")),
            ("principalId", BodyValue::Param("userId")),
            ("roleDefinitionId", BodyValue::Param("roleDefinitionId")),
            ("directoryScopeId", BodyValue::Literal("\"/\"")),
            ("justification", BodyValue::Param("justification")),
            ("scheduleInfo/expiration/type", BodyValue::Literal("\"afterDateTime\"")),
            (
                "scheduleInfo/expiration/endDateTime",
                BodyValue::NowPlus { param: "expireAfterMinutes", unit_seconds: 60 },
            ),
        ])),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "RemoveFromPIMRole",
        summary: "Remove a user's PIM eligibility for a role (roleEligibilityScheduleRequests adminRemove)",
        aliases: &["RemovePIMEligibility"],
        params: &[USER, ROLE, JUSTIFICATION],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleEligibilitySchedule.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Graph, Method::Post, "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests").body(
                &[
                    ("action", BodyValue::Literal("\"adminRemove\"")),
                    ("principalId", BodyValue::Param("userId")),
                    ("roleDefinitionId", BodyValue::Param("roleDefinitionId")),
                    ("directoryScopeId", BodyValue::Literal("\"/\"")),
                    ("justification", BodyValue::Param("justification")),
                ],
            ),
        ),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "CancelPIMRequest",
        summary: "Cancel a PIM role-assignment request that is Granted but not yet in effect",
        aliases: &["CancelPimRequest"],
        params: &[REQUEST_ID],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleAssignmentSchedule.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(
            Api::Graph,
            Method::Post,
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/{requestId}/cancel",
        )),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "DenyPIMRequest",
        summary: "Deny a PIM activation request pending approval",
        aliases: &["DenyPimRequest"],
        params: &[REQUEST_ID, JUSTIFICATION],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleAssignmentSchedule.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "Graph has no deny action on roleAssignmentScheduleRequests; a pending PIM activation is approved or denied by its approver through the approval's steps (roleAssignmentApprovals, beta), which Microsoft documents as the approver's own call, not an application's. An application can cancel a request that is Granted but not yet in effect, or end the assignment once active.",
            nearest: Some("CancelPIMRequest"),
        },
    },
    ActionSpec {
        product: Product::EntraId,
        name: "AuditPIMActivations",
        summary: "List PIM role-management audit events (activations, removals) in a time window (default the last 7 days)",
        aliases: &["GetPIMActivations"],
        params: &[
            USER_OPTIONAL,
            ParamSpec {
                name: "startDate",
                aliases: &["from", "startDateTime"],
                kind: ParamKind::DateTime,
                required: false,
                default: None,
                doc: "Start of the window (default 7 days ago)",
            },
            ParamSpec {
                name: "endDate",
                aliases: &["to", "endDateTime"],
                kind: ParamKind::DateTime,
                required: false,
                default: None,
                doc: "End of the window (default now)",
            },
        ],
        risk: Risk::Read,
        inverse: None,
        permission: "AuditLog.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.roles_pim.audit_activations")),
    },
    ActionSpec {
        product: Product::EntraId,
        name: "EnablePIMAlerts",
        summary: "Turn on every disabled PIM alert for directory roles (beta roleManagementAlerts alertConfigurations, isEnabled = true)",
        aliases: &["EnablePimAlerts"],
        params: &[],
        risk: Risk::Contain,
        inverse: None,
        permission: "RoleManagementAlert.ReadWrite.Directory",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("entra.roles_pim.enable_alerts")),
    },
];
