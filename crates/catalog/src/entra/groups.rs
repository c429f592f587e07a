//! Groups: take a user out of a group (access granted through it ends), and put them back.
use super::USER;
use crate::*;

const GROUP: ParamSpec = ParamSpec {
    name: "groupId",
    aliases: &["group"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The group's object id",
};

pub static ACTIONS: &[ActionSpec] =
    &[
        ActionSpec {
            product: Product::EntraId,
            name: "RemoveGroupMember",
            summary: "Remove a user from a group (DELETE members/{id}/$ref)",
            aliases: &["RemoveUserFromGroup"],
            params: &[GROUP, USER],
            risk: Risk::Contain,
            inverse: Some("AddGroupMember"),
            permission: "GroupMember.ReadWrite.All",
            completion: Completion::Immediate,
            sensitive_results: &[],
            plan: Plan::Call(Call::new(Api::Graph, Method::Delete, "/v1.0/groups/{groupId}/members/{userId}/$ref")),
        },
        ActionSpec {
            product: Product::EntraId,
            name: "AddGroupMember",
            summary: "Add a user to a group (POST members/$ref)",
            aliases: &["AddUserToGroup"],
            params: &[GROUP, USER],
            risk: Risk::Contain,
            inverse: Some("RemoveGroupMember"),
            permission: "GroupMember.ReadWrite.All",
            completion: Completion::Immediate,
            sensitive_results: &[],
            plan: Plan::Call(Call::new(Api::Graph, Method::Post, "/v1.0/groups/{groupId}/members/$ref").body(&[(
                "@odata.id",
                BodyValue::Format("https://graph.microsoft.com/v1.0/directoryObjects/{userId}"),
            )])),
        },
        ActionSpec::read(
            Product::EntraId,
            "GetGroupMembers",
            "List a group's direct members",
            &["ListGroupMembers"],
            &[GROUP],
            "GroupMember.Read.All",
            Call::new(Api::Graph, Method::Get, "/v1.0/groups/{groupId}/members").paged(),
        ),
    ];
