//! Email remediation: `POST /beta/security/collaboration/analyzedEmails/remediate` with Graph's
//! documented body (`displayName`, `description`, `severity`, `action`, `remediateSendersCopy`,
//! `analyzedEmails: [{networkMessageId, recipientEmailAddress}]`), one Action Center entry for
//! all the messages named. The seed sent `{emailIds, remediationAction}`, which Graph refuses.
//!
//! Graph answers 202 with a `Location` on the Defender portal's Action Center history
//! (`security.microsoft.com/action-center/history?filters=...`): a page for people, not a Graph
//! resource a client can poll. So the answer is the outcome (`Completion::Immediate`: the
//! remediation was accepted); the messages' new place shows in each analyzed email's
//! `latestDelivery.location`, which `GetAnalyzedEmails` reads.
//!
//! One row per documented action (`SoftDeleteEmails`, `MoveToJunk`, ...) under the seed's names,
//! and `RemediateEmails` taking the action as a parameter (the orchestrator's `RemediateEmail*`).
//! `BulkEmailDelete` deleted messages one by one through `DELETE /users/{id}/messages/{id}`,
//! which moves them to Recoverable Items: the same place as `softDelete`, so it is that row's
//! alias. `RemovePhishingEmails` hard-deleted what it found; given the messages, it is
//! `HardDeleteEmails`. `MoveToInbox` undoes `MoveToJunk` (its declared inverse) and equally a
//! soft delete or a move to Deleted Items; a hard delete cannot be undone.
use super::*;

const PERMISSION: &str = "SecurityAnalyzedMessage.ReadWrite.All";

/// Named `remediationAction`: in seed requests `action` is the action's own name.
const ACTION: ParamSpec = ParamSpec {
    name: "remediationAction",
    aliases: &["remediation"],
    kind: ParamKind::Enum { values: &["softDelete", "hardDelete", "moveToJunk", "moveToInbox", "moveToDeletedItems"] },
    required: true,
    default: None,
    doc: "softDelete, hardDelete, moveToJunk, moveToInbox or moveToDeletedItems",
};
const DISPLAY_NAME: ParamSpec = ParamSpec {
    name: "displayName",
    aliases: &["name", "remediationName"],
    kind: ParamKind::Text { max: 256 },
    required: false,
    default: Some("Email remediation via Riposte"),
    doc: "Name of the remediation in the Action Center",
};
const DESCRIPTION: ParamSpec = optional_text("description", &["comment", "reason"], "Why the messages are remediated");
const SEVERITY: ParamSpec = ParamSpec {
    name: "severity",
    aliases: &[],
    kind: ParamKind::Enum { values: &["low", "medium", "high"] },
    required: false,
    default: Some("medium"),
    doc: "Severity of the remediation: low, medium or high",
};
const SENDERS_COPY: ParamSpec = ParamSpec {
    name: "remediateSendersCopy",
    aliases: &[],
    kind: ParamKind::Bool,
    required: false,
    default: Some("false"),
    doc: "For internal or outbound mail, also remediate the sender's copy",
};
const PARAMS: &[ParamSpec] = &[NETWORK_MESSAGE_IDS, RECIPIENTS, DISPLAY_NAME, DESCRIPTION, SEVERITY, SENDERS_COPY];

/// The documented body around an `action` source.
const fn body(action: BodyValue) -> [(&'static str, BodyValue); 6] {
    [
        ("displayName", BodyValue::Param("displayName")),
        ("description", BodyValue::Param("description")),
        ("severity", BodyValue::Param("severity")),
        ("action", action),
        ("remediateSendersCopy", BodyValue::Param("remediateSendersCopy")),
        (
            "analyzedEmails",
            BodyValue::Objects(&[
                ("networkMessageId", BodyValue::Param("networkMessageIds")),
                ("recipientEmailAddress", BodyValue::Param("recipientEmailAddresses")),
            ]),
        ),
    ]
}

const REMEDIATE: Call = Call::new(Api::Graph, Method::Post, "/beta/security/collaboration/analyzedEmails/remediate");

/// One fixed-action row.
const fn fixed(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    risk: Risk,
    inverse: Option<&'static str>,
    body: &'static [(&'static str, BodyValue)],
) -> ActionSpec {
    ActionSpec {
        product: Product::Mdo,
        name,
        summary,
        aliases,
        params: PARAMS,
        risk,
        inverse,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(REMEDIATE.body(body)),
    }
}

static SOFT_DELETE: [(&str, BodyValue); 6] = body(BodyValue::Literal("\"softDelete\""));
static HARD_DELETE: [(&str, BodyValue); 6] = body(BodyValue::Literal("\"hardDelete\""));
static TO_JUNK: [(&str, BodyValue); 6] = body(BodyValue::Literal("\"moveToJunk\""));
static TO_INBOX: [(&str, BodyValue); 6] = body(BodyValue::Literal("\"moveToInbox\""));
static TO_DELETED: [(&str, BodyValue); 6] = body(BodyValue::Literal("\"moveToDeletedItems\""));
static ANY_ACTION: [(&str, BodyValue); 6] = body(BodyValue::Param("remediationAction"));

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "RemediateEmails",
        summary: "Remediate messages in recipients' mailboxes with the action given (Graph analyzedEmails remediate)",
        aliases: &["RemediateEmail", "EmailRemediation"],
        params: &[NETWORK_MESSAGE_IDS, RECIPIENTS, ACTION, DISPLAY_NAME, DESCRIPTION, SEVERITY, SENDERS_COPY],
        ..fixed("", "", &[], Risk::Remediate, None, &ANY_ACTION)
    },
    fixed(
        "SoftDeleteEmails",
        "Soft-delete messages (to the mailbox's Recoverable Items; recoverable by MoveToInbox)",
        &["SoftDeleteEmail", "BulkEmailDelete"],
        Risk::Remediate,
        None,
        &SOFT_DELETE,
    ),
    fixed(
        "HardDeleteEmails",
        "Hard-delete (purge) messages from recipients' mailboxes",
        &["HardDeleteEmail", "PurgeEmails", "RemovePhishingEmails"],
        Risk::Destructive,
        None,
        &HARD_DELETE,
    ),
    fixed(
        "MoveToJunk",
        "Move messages to the recipients' Junk Email folder",
        &["MoveEmailToJunk"],
        Risk::Contain,
        Some("MoveToInbox"),
        &TO_JUNK,
    ),
    fixed(
        "MoveToInbox",
        "Move messages back to the recipients' Inbox (undoes a false-positive remediation)",
        &["MoveEmailToInbox", "RestoreEmails"],
        Risk::Contain,
        Some("MoveToJunk"),
        &TO_INBOX,
    ),
    fixed(
        "MoveToDeletedItems",
        "Move messages to the recipients' Deleted Items folder",
        &["MoveEmailToDeletedItems"],
        Risk::Contain,
        None,
        &TO_DELETED,
    ),
];
