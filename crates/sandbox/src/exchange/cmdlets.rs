//! The cmdlets the sandbox's Exchange Online serves, over the tenant's mail (`world/mail.rs`).
//! Parameter names and output properties follow each cmdlet's page on learn.microsoft.com
//! (Get-/Release-/Delete-QuarantineMessage, New-/Remove-/Get-TenantAllowBlockListItems,
//! Get-/Set-Mailbox, Get-/Set-HostedContentFilterPolicy, Get-/Set-QuarantinePolicy,
//! Get-/Set-SafeAttachmentPolicy). Names match ignoring case, as PowerShell binds them. Set-Mailbox
//! is modelled for its forwarding parameters only.

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::CmdletError;
use crate::clock::fmt_utc;
use crate::world::mail::{Folder, MailState, Message};

type Out = Result<Vec<Value>, CmdletError>;

/// Runs one cmdlet.
pub fn run(mail: &mut MailState, name: &str, params: &Map<String, Value>, now: OffsetDateTime) -> Out {
    let p = |allowed: &'static [&'static str]| Params::bind(params, allowed);
    match name.to_ascii_lowercase().as_str() {
        "get-quarantinemessage" => get_quarantine(mail, &p(GET_QUARANTINE)?, now),
        "release-quarantinemessage" => release(mail, &p(RELEASE)?),
        "delete-quarantinemessage" => delete(mail, &p(DELETE)?),
        "new-tenantallowblocklistitems" => new_entries(mail, &p(NEW_ENTRIES)?, now),
        "remove-tenantallowblocklistitems" => remove_entries(mail, &p(REMOVE_ENTRIES)?),
        "get-tenantallowblocklistitems" => get_entries(mail, &p(GET_ENTRIES)?),
        "get-mailbox" => get_mailbox(mail, &p(&["Identity", "ResultSize"])?),
        "set-mailbox" => set_mailbox(mail, &p(SET_MAILBOX)?),
        "get-hostedcontentfilterpolicy" => get_policy(&mail.exchange.spam_policies, &p(&["Identity"])?),
        "set-hostedcontentfilterpolicy" => set_policy(&mut mail.exchange.spam_policies, params, SPAM_ACTIONS),
        "get-quarantinepolicy" => {
            get_policy(&mail.exchange.quarantine_policies, &p(&["Identity", "QuarantinePolicyType"])?)
        }
        "set-quarantinepolicy" => set_policy(&mut mail.exchange.quarantine_policies, params, &[]),
        "get-safeattachmentpolicy" => get_policy(&mail.exchange.safe_attachment_policies, &p(&["Identity"])?),
        "set-safeattachmentpolicy" => set_policy(&mut mail.exchange.safe_attachment_policies, params, SAFE_ACTIONS),
        _ => Err(CmdletError::bad(
            "System.Management.Automation.CommandNotFoundException",
            format!(
                "The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program."
            ),
        )),
    }
}

const GET_QUARANTINE: &[&str] = &[
    "Identity",
    "SenderAddress",
    "RecipientAddress",
    "Type",
    "QuarantineTypes",
    "ReleaseStatus",
    "Subject",
    "PageSize",
    "Page",
    "StartReceivedDate",
    "EndReceivedDate",
];
const RELEASE: &[&str] =
    &["Identity", "Identities", "ReleaseToAll", "User", "AllowSender", "ReportFalsePositive", "Force", "ActionType"];
const DELETE: &[&str] = &["Identity", "Identities", "Force", "Confirm"];
const NEW_ENTRIES: &[&str] = &[
    "ListType",
    "Entries",
    "Block",
    "Allow",
    "ExpirationDate",
    "NoExpiration",
    "RemoveAfter",
    "Notes",
    "ListSubType",
    "OutputJson",
    "LogExtraDetails",
];
const REMOVE_ENTRIES: &[&str] = &["ListType", "Entries", "Ids", "ListSubType", "OutputJson"];
const GET_ENTRIES: &[&str] =
    &["ListType", "Allow", "Block", "Entry", "ExpirationDate", "NoExpiration", "ListSubType", "OutputJson"];
const SET_MAILBOX: &[&str] = &["Identity", "ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward"];
/// Anti-spam verdict actions (Set-HostedContentFilterPolicy *Action parameters).
const SPAM_ACTIONS: &[&str] = &["MoveToJmf", "AddXHeader", "ModifySubject", "Redirect", "Delete", "Quarantine"];
/// Safe Attachments `-Action`.
const SAFE_ACTIONS: &[&str] = &["Allow", "Block", "DynamicDelivery"];

/// Parameters bound to a cmdlet's names, matched ignoring case.
struct Params<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    fn bind(map: &'a Map<String, Value>, allowed: &[&str]) -> Result<Params<'a>, CmdletError> {
        match map.keys().find(|k| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k))) {
            Some(k) => Err(CmdletError::unknown_parameter(k)),
            None => Ok(Params { map }),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
    }

    fn switch(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.as_bool().unwrap_or(true))
    }

    /// A string or string array parameter, as a list.
    fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

// --- Quarantine ---------------------------------------------------------------------------------

fn quarantined(mail: &MailState) -> impl Iterator<Item = &Message> {
    mail.messages.iter().filter(|m| m.original_folder == Folder::Quarantine && !m.purged)
}

fn quarantine_type(m: &Message) -> &'static str {
    match m.threat {
        "phishing" => "Phish",
        "malware" => "Malware",
        _ => "Spam",
    }
}

fn quarantine_json(m: &Message, now: OffsetDateTime) -> Value {
    json!({
        "Identity": m.quarantine_identity(),
        "ReceivedTime": fmt_utc(m.received),
        "MessageId": m.internet_message_id,
        "SenderAddress": m.sender,
        "RecipientAddress": [m.recipient],
        "Subject": m.subject,
        "Type": quarantine_type(m),
        "QuarantineTypes": quarantine_type(m),
        "PolicyType": if m.threat == "malware" { "AntiMalwarePolicy" } else { "HostedContentFilterPolicy" },
        "Direction": "Inbound",
        "Released": m.released,
        "ReleaseStatus": if m.released { "RELEASED" } else { "NOTRELEASED" },
        "RecipientCount": 1,
        "Expires": fmt_utc(m.received.max(now - Duration::days(1)) + Duration::days(30)),
    })
}

fn get_quarantine(mail: &MailState, p: &Params<'_>, now: OffsetDateTime) -> Out {
    if let Some(id) = p.text("Identity") {
        let m = find_quarantined(mail, &id)?;
        return Ok(vec![quarantine_json(m, now)]);
    }
    let matches = |field: Option<String>, value: &str| field.is_none_or(|f| f.eq_ignore_ascii_case(value));
    Ok(quarantined(mail)
        .filter(|m| matches(p.text("SenderAddress"), &m.sender))
        .filter(|m| {
            p.list("RecipientAddress").is_empty()
                || p.list("RecipientAddress").iter().any(|r| r.eq_ignore_ascii_case(&m.recipient))
        })
        .filter(|m| {
            matches(p.text("Type"), quarantine_type(m)) && matches(p.text("QuarantineTypes"), quarantine_type(m))
        })
        .filter(|m| matches(p.text("ReleaseStatus"), if m.released { "RELEASED" } else { "NOTRELEASED" }))
        .filter(|m| p.text("Subject").is_none_or(|s| m.subject.to_lowercase().contains(&s.to_lowercase())))
        .map(|m| quarantine_json(m, now))
        .collect())
}

fn find_quarantined<'m>(mail: &'m MailState, identity: &str) -> Result<&'m Message, CmdletError> {
    quarantined(mail)
        .find(|m| m.quarantine_identity().eq_ignore_ascii_case(identity))
        .ok_or_else(|| CmdletError::not_found(identity))
}

/// `-Identity` or `-Identities` (one of them), every one known before anything changes.
fn identities(mail: &MailState, p: &Params<'_>) -> Result<Vec<String>, CmdletError> {
    let ids = match (p.text("Identity"), p.list("Identities")) {
        (Some(_), l) if !l.is_empty() => {
            return Err(CmdletError::bad(
                "System.Management.Automation.ParameterBindingException",
                "Parameter set cannot be resolved using the specified named parameters (Identity and Identities).",
            ));
        }
        (Some(id), _) => vec![id],
        (None, l) if !l.is_empty() => l,
        _ => {
            return Err(CmdletError::bad(
                "System.Management.Automation.ParameterBindingException",
                "Cannot process command because of one or more missing mandatory parameters: Identity.",
            ));
        }
    };
    for id in &ids {
        find_quarantined(mail, id)?;
    }
    Ok(ids)
}

fn release(mail: &mut MailState, p: &Params<'_>) -> Out {
    let ids = identities(mail, p)?;
    if !p.switch("ReleaseToAll") && p.list("User").is_empty() {
        return Err(CmdletError::bad(
            "System.ArgumentException",
            "Specify ReleaseToAll to release the message to all original recipients, or User to release it to specific ones.",
        ));
    }
    for m in mail.messages.iter_mut().filter(|m| ids.iter().any(|i| i.eq_ignore_ascii_case(&m.quarantine_identity()))) {
        m.released = true;
        m.folder = Folder::Inbox;
    }
    Ok(Vec::new())
}

fn delete(mail: &mut MailState, p: &Params<'_>) -> Out {
    let ids = identities(mail, p)?;
    for m in mail.messages.iter_mut().filter(|m| ids.iter().any(|i| i.eq_ignore_ascii_case(&m.quarantine_identity()))) {
        m.purged = true;
    }
    Ok(Vec::new())
}

// --- Tenant allow/block list -------------------------------------------------------------------

fn list_type(p: &Params<'_>) -> Result<&'static str, CmdletError> {
    let given = p.text("ListType").ok_or_else(|| {
        CmdletError::bad(
            "System.Management.Automation.ParameterBindingException",
            "Cannot process command because of one or more missing mandatory parameters: ListType.",
        )
    })?;
    ["Sender", "Url", "FileHash", "IP"].into_iter().find(|t| t.eq_ignore_ascii_case(&given)).ok_or_else(|| {
        CmdletError::bad(
            "System.Management.Automation.ParameterBindingException",
            format!("Cannot bind parameter 'ListType'. Cannot convert value \"{given}\" to type \"ListType\". Specify one of the following enumerator names and try again: Sender, Url, FileHash, IP"),
        )
    })
}

fn valid_entry(list: &str, entry: &str) -> bool {
    match list {
        "Sender" => {
            let domain = entry.rsplit('@').next().unwrap_or("");
            entry.matches('@').count() <= 1
                && domain.contains('.')
                && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        }
        "FileHash" => entry.len() == 64 && entry.chars().all(|c| c.is_ascii_hexdigit()),
        _ => !entry.trim().is_empty(),
    }
}

fn invalid(message: String) -> CmdletError {
    CmdletError::bad("Microsoft.Exchange.Management.Tasks.ValidationException", message)
}

fn new_entries(mail: &mut MailState, p: &Params<'_>, now: OffsetDateTime) -> Out {
    let list = list_type(p)?;
    let action = match (p.switch("Block"), p.switch("Allow")) {
        (true, false) => "Block",
        (false, true) => "Allow",
        _ => return Err(invalid("Specify exactly one of Allow or Block.".into())),
    };
    let entries = p.list("Entries");
    if entries.is_empty() {
        return Err(invalid("Entries is required.".into()));
    }
    if let Some(bad) = entries.iter().find(|e| !valid_entry(list, e)) {
        return Err(invalid(format!("The entry '{bad}' is not a valid {list} value.")));
    }
    let remove_after = p.get("RemoveAfter").and_then(Value::as_i64);
    if remove_after.is_some_and(|d| d != 45) {
        return Err(invalid("RemoveAfter accepts only the value 45.".into()));
    }
    if action == "Allow" && p.switch("NoExpiration") && remove_after.is_none() && list == "Sender" {
        return Err(invalid(
            "Allow entries for senders can't be created with NoExpiration; use RemoveAfter 45 or ExpirationDate."
                .into(),
        ));
    }
    let expiration = if p.switch("NoExpiration") || remove_after.is_some() {
        Value::Null
    } else {
        p.get("ExpirationDate").cloned().unwrap_or_else(|| json!(fmt_utc(now + Duration::days(30))))
    };
    let mut out = Vec::new();
    for entry in entries {
        if mail
            .exchange
            .allow_block
            .iter()
            .any(|e| e["ListType"] == list && e["Value"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(&entry)))
        {
            return Err(invalid(format!("The entry '{entry}' already exists in the {list} list.")));
        }
        let item = json!({
            "Identity": entry_id(&entry, list),
            "Action": action, "ListType": list, "ListSubType": "Tenant", "Value": entry.to_ascii_lowercase(),
            "ExpirationDate": expiration, "RemoveAfter": remove_after, "Notes": p.text("Notes"),
            "LastModifiedDateTime": fmt_utc(now), "CreatedDateTime": fmt_utc(now),
            "ModifiedBy": "", "SubmissionID": "", "SysManaged": false, "Error": null,
        });
        mail.exchange.allow_block.push(item.clone());
        out.push(item);
    }
    Ok(out)
}

/// A stable entry id shaped like Exchange's (`RgAAAA...`).
fn entry_id(entry: &str, list: &str) -> String {
    let h = entry
        .to_ascii_lowercase()
        .bytes()
        .chain(list.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("RgAAAAAI8gSyI_NmQqzeh-HXJBywBwCqfQNJY8hBTbdlKFkv6BcUAAAl_{h:016X}AAAA0")
}

fn remove_entries(mail: &mut MailState, p: &Params<'_>) -> Out {
    let list = list_type(p)?;
    let (entries, ids) = (p.list("Entries"), p.list("Ids"));
    if entries.is_empty() == ids.is_empty() {
        return Err(invalid("Specify either Entries or Ids.".into()));
    }
    let named = |e: &Value, key: &str, values: &[String]| {
        e["ListType"] == list && e[key].as_str().is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(v)))
    };
    let (key, values) = if entries.is_empty() { ("Identity", &ids) } else { ("Value", &entries) };
    for v in values {
        if !mail.exchange.allow_block.iter().any(|e| named(e, key, std::slice::from_ref(v))) {
            return Err(CmdletError::not_found(v));
        }
    }
    let (removed, kept): (Vec<Value>, Vec<Value>) =
        std::mem::take(&mut mail.exchange.allow_block).into_iter().partition(|e| named(e, key, values));
    mail.exchange.allow_block = kept;
    Ok(removed)
}

fn get_entries(mail: &MailState, p: &Params<'_>) -> Out {
    let list = list_type(p)?;
    let action = match (p.switch("Allow"), p.switch("Block")) {
        (true, false) => Some("Allow"),
        (false, true) => Some("Block"),
        _ => None,
    };
    let entry = p.text("Entry");
    Ok(mail
        .exchange
        .allow_block
        .iter()
        .filter(|e| e["ListType"] == list && action.is_none_or(|a| e["Action"] == a))
        .filter(|e| entry.as_deref().is_none_or(|x| e["Value"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(x))))
        .cloned()
        .collect())
}

// --- Mailboxes ----------------------------------------------------------------------------------

fn mailbox_index(mail: &MailState, identity: &str) -> Result<usize, CmdletError> {
    let keys = ["Identity", "Alias", "UserPrincipalName", "PrimarySmtpAddress", "ExternalDirectoryObjectId"];
    mail.exchange
        .mailboxes
        .iter()
        .position(|m| keys.iter().any(|k| m[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(identity))))
        .ok_or_else(|| CmdletError::not_found(identity))
}

fn get_mailbox(mail: &MailState, p: &Params<'_>) -> Out {
    match p.text("Identity") {
        Some(id) => Ok(vec![mail.exchange.mailboxes[mailbox_index(mail, &id)?].clone()]),
        None => Ok(mail.exchange.mailboxes.clone()),
    }
}

fn set_mailbox(mail: &mut MailState, p: &Params<'_>) -> Out {
    let id = p.text("Identity").ok_or_else(|| invalid("Identity is required.".into()))?;
    let i = mailbox_index(mail, &id)?;
    for key in ["ForwardingSmtpAddress", "ForwardingAddress"] {
        if let Some((_, v)) = p.map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            if !(v.is_null() || v.as_str().is_some_and(|s| s.contains('@') || s.is_empty())) {
                return Err(invalid(format!("{key}: '{v}' is not a valid address.")));
            }
            let value = v.as_str().filter(|s| !s.is_empty()).map(|s| {
                if key == "ForwardingSmtpAddress" && !s.to_ascii_lowercase().starts_with("smtp:") {
                    format!("smtp:{s}")
                } else {
                    s.to_string()
                }
            });
            mail.exchange.mailboxes[i][key] = json!(value);
        }
    }
    if let Some(v) = p.get("DeliverToMailboxAndForward") {
        let b = v.as_bool().ok_or_else(|| invalid("DeliverToMailboxAndForward must be $true or $false.".into()))?;
        mail.exchange.mailboxes[i]["DeliverToMailboxAndForward"] = json!(b);
    }
    Ok(Vec::new())
}

// --- Policies -----------------------------------------------------------------------------------

/// Read-only properties of a policy object (everything else is a Set-* parameter).
const READ_ONLY: &[&str] = &["Name", "IsDefault", "IsBuiltIn", "IsBuiltInProtection"];

fn policy_index(policies: &[Value], identity: &str) -> Result<usize, CmdletError> {
    policies
        .iter()
        .position(|x| x["Identity"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(identity)))
        .ok_or_else(|| CmdletError::not_found(identity))
}

fn get_policy(policies: &[Value], p: &Params<'_>) -> Out {
    match p.text("Identity") {
        Some(id) => Ok(vec![policies[policy_index(policies, &id)?].clone()]),
        None => Ok(policies.to_vec()),
    }
}

/// Sets the named properties, each of the type the policy holds; `*Action` values must be one of
/// `actions`. Built-in policies cannot be changed.
fn set_policy(policies: &mut [Value], params: &Map<String, Value>, actions: &[&str]) -> Out {
    let p = Params { map: params };
    let id = p.text("Identity").ok_or_else(|| invalid("Identity is required.".into()))?;
    let i = policy_index(policies, &id)?;
    if policies[i]["IsBuiltIn"] == true {
        return Err(invalid(format!("The built-in policy '{id}' can't be modified.")));
    }
    let mut next = policies[i].clone();
    for (key, value) in params.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("Identity")) {
        let Some(prop) = next.as_object().and_then(|o| o.keys().find(|p| p.eq_ignore_ascii_case(key)).cloned()) else {
            return Err(CmdletError::unknown_parameter(key));
        };
        if READ_ONLY.contains(&prop.as_str()) {
            return Err(CmdletError::unknown_parameter(key));
        }
        check_value(&prop, &next[&prop], value, actions)?;
        next[&prop] = value.clone();
    }
    policies[i] = next;
    Ok(Vec::new())
}

fn check_value(prop: &str, current: &Value, value: &Value, actions: &[&str]) -> Result<(), CmdletError> {
    let same_type = match current {
        Value::Bool(_) => value.is_boolean(),
        Value::Number(_) => value.is_i64(),
        Value::String(_) | Value::Null => value.is_string() || value.is_null(),
        _ => false,
    };
    if !same_type {
        return Err(invalid(format!("Cannot bind parameter '{prop}' to the value {value}.")));
    }
    if prop.ends_with("Action")
        && !actions.is_empty()
        && !value.as_str().is_some_and(|v| actions.iter().any(|a| a.eq_ignore_ascii_case(v)))
    {
        return Err(invalid(format!("Cannot bind parameter '{prop}': {value} is not one of {}.", actions.join(", "))));
    }
    let range = match prop {
        "BulkThreshold" => Some((1, 9)),
        "QuarantineRetentionPeriod" | "QuarantineRetentionDays" => Some((1, 30)),
        _ => None,
    };
    if let (Some((lo, hi)), Some(n)) = (range, value.as_i64())
        && !(lo..=hi).contains(&n)
    {
        return Err(invalid(format!("{prop} must be between {lo} and {hi}.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use axum::http::StatusCode;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn unknown_cmdlets_and_parameters_are_powershells_errors() {
        let mut mail = World::generate(3, 1, now()).tenants[0].mail.clone();
        let e = run(&mut mail, "Get-Nothing", &Map::new(), now()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("is not recognized"));
        let e = run(&mut mail, "Get-QuarantineMessage", &params(json!({"Bogus": 1})), now()).unwrap_err();
        assert!(e.message.contains("A parameter cannot be found that matches parameter name 'Bogus'"));
        let e =
            run(&mut mail, "Set-HostedContentFilterPolicy", &params(json!({"Identity": "Default", "Nope": 1})), now())
                .unwrap_err();
        assert!(e.message.contains("'Nope'"));
    }

    #[test]
    fn release_delivers_and_delete_removes_from_quarantine() {
        let mut mail = World::generate(3, 1, now()).tenants[0].mail.clone();
        let listed = run(&mut mail, "get-quarantinemessage", &Map::new(), now()).unwrap();
        let (a, b) = (listed[0]["Identity"].as_str().unwrap(), listed[1]["Identity"].as_str().unwrap());
        let needs_target = run(&mut mail, "Release-QuarantineMessage", &params(json!({"Identity": a})), now());
        assert!(needs_target.is_err(), "ReleaseToAll or User is required");
        run(&mut mail, "Release-QuarantineMessage", &params(json!({"Identity": a, "ReleaseToAll": true})), now())
            .unwrap();
        run(&mut mail, "Delete-QuarantineMessage", &params(json!({"Identity": b})), now()).unwrap();
        let m = mail.messages.iter().find(|m| m.quarantine_identity() == a).unwrap();
        assert!(m.released && m.folder == Folder::Inbox);
        let after = run(&mut mail, "Get-QuarantineMessage", &Map::new(), now()).unwrap();
        assert_eq!(after.len(), listed.len() - 1);
        let gone = run(&mut mail, "Delete-QuarantineMessage", &params(json!({"Identity": b})), now()).unwrap_err();
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn sender_entries_are_validated_and_unique() {
        let mut mail = World::generate(3, 1, now()).tenants[0].mail.clone();
        let new = |v: Value| params(json!({"ListType": "Sender", "Block": true, "Entries": v}));
        assert!(run(&mut mail, "New-TenantAllowBlockListItems", &new(json!(["bad domain"])), now()).is_err());
        let made = run(&mut mail, "New-TenantAllowBlockListItems", &new(json!(["evil.example"])), now()).unwrap();
        assert_eq!((made[0]["Action"].as_str(), made[0]["ListType"].as_str()), (Some("Block"), Some("Sender")));
        assert!(run(&mut mail, "New-TenantAllowBlockListItems", &new(json!(["EVIL.example"])), now()).is_err());
        let allow =
            params(json!({"ListType": "Sender", "Allow": true, "NoExpiration": true, "Entries": ["a@b.example"]}));
        assert!(run(&mut mail, "New-TenantAllowBlockListItems", &allow, now()).is_err(), "allow needs RemoveAfter");
    }
}
