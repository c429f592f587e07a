//! Inbox rules that forward mail (`catalog/src/mdo/rules.rs`): a mailbox's rules are read with
//! `GET /v1.0/users/{id}/mailFolders/inbox/messageRules`; a rule forwards when its `actions`
//! carry a non-empty `forwardTo`, `forwardAsAttachmentTo` or `redirectTo`. Removing them is one
//! `DELETE .../messageRules/{ruleId}` per forwarding rule, reported rule by rule: a rule that
//! could not be deleted is listed with Microsoft's error and the outcome is partial.

use super::super::{Args, Ctx, Procedure, Read, required};
use crate::EngineError;
use crate::plan::Carried;
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, Method};

/// The `actions` that send a message on.
const FORWARDING_ACTIONS: &[&str] = &["forwardTo", "forwardAsAttachmentTo", "redirectTo"];

/// Whether an inbox rule forwards or redirects mail.
pub fn forwards(rule: &Value) -> bool {
    FORWARDING_ACTIONS.iter().any(|k| rule["actions"][*k].as_array().is_some_and(|a| !a.is_empty()))
}

/// Where a forwarding rule sends mail: every address in its forwarding actions.
fn destinations(rule: &Value) -> Vec<Value> {
    FORWARDING_ACTIONS
        .iter()
        .filter_map(|k| rule["actions"][*k].as_array())
        .flatten()
        .filter_map(|r| r["emailAddress"]["address"].as_str().map(|a| Value::String(a.to_string())))
        .collect()
}

fn rules_path(user: &str) -> String {
    format!("/v1.0/users/{}/mailFolders/inbox/messageRules", encode(user))
}

/// The mailbox's inbox rules and the request id of the read.
async fn read_rules(ctx: &Ctx<'_>, user: &str) -> Result<(Vec<Value>, Option<String>), EngineError> {
    let resp = ctx.engine.upstream().call(ctx.creds, ApiRequest::get(Api::Graph, rules_path(user))).await?;
    let rules = resp.body["value"].as_array().cloned().unwrap_or_default();
    Ok((rules, resp.request_id))
}

fn summary(rule: &Value) -> Value {
    json!({
        "id": rule["id"],
        "displayName": rule["displayName"],
        "isEnabled": rule["isEnabled"],
        "forwardsTo": destinations(rule),
        "actions": rule["actions"],
    })
}

/// `GetMailboxForwarders`: the inbox rules of one mailbox that forward or redirect mail.
pub struct Forwarders {
    user: String,
}

impl TryFrom<&Params> for Forwarders {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Forwarders { user: Args::of::<Self>(params).text("userId")? })
    }
}

impl Procedure for Forwarders {
    const ID: ProcedureId = ProcedureId("mdo.rules.forwarders");
    const READS: &'static [Read] = &[required("userId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (rules, request_id) = read_rules(ctx, &self.user).await?;
        let forwarding: Vec<Value> = rules.iter().filter(|r| forwards(r)).map(summary).collect();
        Ok(Carried {
            data: json!({
                "userId": self.user,
                "rulesRead": rules.len(),
                "forwardingRuleCount": forwarding.len(),
                "forwardingRules": forwarding,
                "mailboxForwarding": "not readable through Graph (Exchange Online Get-Mailbox ForwardingSmtpAddress)",
            }),
            request_ids: request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// `RemoveMailForwardingRules`: delete every forwarding inbox rule of one mailbox.
pub struct RemoveForwarding {
    user: String,
}

impl TryFrom<&Params> for RemoveForwarding {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(RemoveForwarding { user: Args::of::<Self>(params).text("userId")? })
    }
}

impl Procedure for RemoveForwarding {
    const ID: ProcedureId = ProcedureId("mdo.rules.remove_forwarding");
    const READS: &'static [Read] = &[required("userId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (rules, read_id) = read_rules(ctx, &self.user).await?;
        let mut request_ids: Vec<String> = read_id.into_iter().collect();
        let mut rows = Vec::new();
        let mut first_error = None;
        for rule in rules.iter().filter(|r| forwards(r)) {
            let id = rule["id"].as_str().unwrap_or_default();
            let path = format!("{}/{}", rules_path(&self.user), encode(id));
            match ctx.engine.upstream().call(ctx.creds, ApiRequest::new(Api::Graph, Method::Delete, path)).await {
                Ok(resp) => {
                    request_ids.extend(resp.request_id);
                    rows.push(json!({ "ruleId": id, "displayName": rule["displayName"], "forwardsTo": destinations(rule), "removed": true }));
                }
                Err(e) => {
                    let e = EngineError::from(e);
                    rows.push(json!({ "ruleId": id, "displayName": rule["displayName"], "removed": false, "error": crate::error_json(&e) }));
                    first_error.get_or_insert(e);
                }
            }
        }
        let failed = rows.iter().filter(|r| r["removed"] != true).count();
        if let (true, Some(e)) = (failed == rows.len() && failed > 0, first_error) {
            return Err(e);
        }
        Ok(Carried {
            data: json!({
                "userId": self.user,
                "rulesRead": rules.len(),
                "removedCount": rows.len() - failed,
                "failedCount": failed,
                "rules": rows,
            }),
            request_ids,
            machine_action_ids: vec![],
            failed_targets: failed,
            follow: None,
        })
    }
}

/// A path segment, percent-encoded (UPNs carry `@`, rule ids `=`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_is_any_non_empty_forwarding_action() {
        let to = json!([{ "emailAddress": { "address": "x@evil.example" } }]);
        assert!(forwards(&json!({ "actions": { "forwardTo": to } })));
        assert!(forwards(&json!({ "actions": { "redirectTo": to } })));
        assert!(forwards(&json!({ "actions": { "forwardAsAttachmentTo": to } })));
        assert!(!forwards(&json!({ "actions": { "forwardTo": [] , "moveToFolder": "x" } })));
        assert!(!forwards(&json!({ "actions": { "delete": true } })));
        assert_eq!(destinations(&json!({ "actions": { "redirectTo": to } })), vec![json!("x@evil.example")]);
    }
}
