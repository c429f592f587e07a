//! Inbox rules and mail forwarding (Graph v1.0 `users/{id}/mailFolders/inbox/messageRules`). A
//! rule forwards mail when its `actions` carry `forwardTo`, `forwardAsAttachmentTo` or
//! `redirectTo`: the classic persistence of a compromised mailbox. Listing them, and deleting the
//! forwarding ones, are procedures (`engine/src/procedures/mdo/rules.rs`): a read, then one
//! DELETE per forwarding rule, reported rule by rule.
//!
//! Mailbox-level forwarding (`ForwardingSmtpAddress`) is not in Graph (it is `Set-Mailbox`), so
//! `GetMailboxForwarders` reports the forwarding rules of a mailbox, and says so.
use super::*;

const READ: &str = "MailboxSettings.Read";
const WRITE: &str = "MailboxSettings.ReadWrite";

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec::read(
        Product::Mdo,
        "GetInboxRules",
        "List a mailbox's inbox rules",
        &["GetMailboxRules", "ListInboxRules"],
        &[USER],
        READ,
        Call::new(Api::Graph, Method::Get, "/v1.0/users/{userId}/mailFolders/inbox/messageRules"),
    ),
    ActionSpec {
        product: Product::Mdo,
        name: "GetMailboxForwarders",
        summary: "List a mailbox's inbox rules that forward or redirect mail (mailbox-level SMTP forwarding is not in Graph)",
        aliases: &["GetForwardingRules"],
        params: &[USER],
        risk: Risk::Read,
        inverse: None,
        permission: READ,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mdo.rules.forwarders")),
    },
    ActionSpec {
        product: Product::Mdo,
        name: "RemoveMailForwardingRules",
        summary: "Delete every inbox rule of a mailbox that forwards or redirects mail",
        aliases: &["RemoveForwardingRules", "DeleteForwardingRules"],
        params: &[USER],
        risk: Risk::Remediate,
        inverse: None,
        permission: WRITE,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mdo.rules.remove_forwarding")),
    },
];
