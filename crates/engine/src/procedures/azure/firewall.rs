//! Azure Firewall (upstream-apis.md §5.3): address and domain blocks in the firewall's policy,
//! and threat-intelligence mode.
//!
//! A policy-managed firewall takes its rules from its Firewall Policy's rule collection groups.
//! Riposte keeps its blocks in a group of its own, `RiposteBlocklist`, at the lowest free group
//! priority (so it is evaluated before the groups already there), with two Deny collections:
//! `RiposteBlockedIPs` (network rules `deny-from` / `deny-to` holding the addresses) and
//! `RiposteBlockedDomains` (an application rule `deny-fqdns` for HTTP/HTTPS). Blocks add values,
//! unblocks remove them, and no one else's group is rewritten. A firewall still on classic rules
//! (no policy) is refused, naming `firewallName`: Riposte edits policies only.
//!
//! Each change is GET, edit, PUT of the whole group; the writes to one policy are serialised in
//! this process (`steps::serialised`), so two blocks never overwrite each other's values.

use super::arm::resource_path;
use super::steps::{self as arm, NETWORK};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};

const GROUP: &str = "RiposteBlocklist";
const IPS: &str = "RiposteBlockedIPs";
const DOMAINS: &str = "RiposteBlockedDomains";

struct FirewallRef {
    sub: String,
    rg: String,
    name: String,
}

impl FirewallRef {
    fn read(a: &Args<'_>) -> Result<FirewallRef, EngineError> {
        Ok(FirewallRef { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, name: a.text("firewallName")? })
    }

    fn path(&self) -> String {
        resource_path(&self.sub, &self.rg, "Microsoft.Network/azureFirewalls", &self.name)
    }

    /// The firewall and the id of its policy (`None`: classic rules).
    async fn load(&self, ctx: &Ctx<'_>) -> Result<(Value, Option<String>), EngineError> {
        let fw = arm::get_named(ctx, &self.path(), NETWORK, "firewallName").await?;
        let policy = fw.pointer("/properties/firewallPolicy/id").and_then(Value::as_str).map(str::to_owned);
        Ok((fw, policy))
    }

    async fn policy(&self, ctx: &Ctx<'_>) -> Result<String, EngineError> {
        self.load(ctx).await?.1.ok_or_else(|| {
            EngineError::InvalidParam(ParamError {
                field: "firewallName".into(),
                message: format!("{} uses classic rules, not a Firewall Policy", self.name),
                hint: "attach a Firewall Policy (Riposte writes policy rule collection groups only)".into(),
            })
        })
    }
}

/// Edits Riposte's rule collection group of the firewall's policy; `edit` says whether it
/// changed anything.
async fn edit_group(
    ctx: &Ctx<'_>,
    fw: &FirewallRef,
    edit: impl FnOnce(&mut Value) -> bool,
) -> Result<Carried, EngineError> {
    let policy = fw.policy(ctx).await?;
    let _turn = arm::serialised(&policy).await;
    let groups = arm::get(ctx, &format!("{policy}/ruleCollectionGroups"), NETWORK).await?;
    let groups = groups["value"].as_array().cloned().unwrap_or_default();
    let mine = groups.iter().find(|g| g["name"] == GROUP).cloned();
    let mut group = match mine {
        Some(g) => json!({ "properties": g["properties"] }),
        None => {
            let used: Vec<i64> = groups.iter().filter_map(|g| g.pointer("/properties/priority")?.as_i64()).collect();
            let priority = (100..=65000).find(|p| !used.contains(p)).unwrap_or(65000);
            json!({ "properties": { "priority": priority, "ruleCollections": [] } })
        }
    };
    if let Some(p) = group["properties"].as_object_mut() {
        p.remove("provisioningState");
    }
    let changed = edit(&mut group);
    let path = format!("{policy}/ruleCollectionGroups/{GROUP}");
    let data = json!({ "policyId": policy, "groupId": path, "changed": changed, "ruleCollections": group["properties"]["ruleCollections"] });
    if !changed {
        return Ok(crate::procedures::answer(data));
    }
    let resp = arm::put(ctx, &path, NETWORK, group).await?;
    arm::finish(ctx, &resp).await?;
    Ok(crate::procedures::answer(data))
}

/// The collection `name` of the group, created (Deny, at `priority`) when missing.
fn collection<'a>(group: &'a mut Value, name: &str, priority: i64) -> &'a mut Value {
    if !group["properties"]["ruleCollections"].is_array() {
        group["properties"]["ruleCollections"] = json!([]);
    }
    let list = group["properties"]["ruleCollections"].as_array_mut().expect("made an array above");
    let at = match list.iter().position(|c| c["name"] == name) {
        Some(i) => i,
        None => {
            list.push(json!({ "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": name,
                              "priority": priority, "action": { "type": "Deny" }, "rules": [] }));
            list.len() - 1
        }
    };
    &mut list[at]
}

/// The rule `name` of a collection, made by `template` when missing.
fn rule<'a>(coll: &'a mut Value, name: &str, template: impl FnOnce() -> Value) -> &'a mut Value {
    let rules = coll["rules"].as_array_mut().expect("collections are made with rules");
    let at = match rules.iter().position(|r| r["name"] == name) {
        Some(i) => i,
        None => {
            rules.push(template());
            rules.len() - 1
        }
    };
    &mut rules[at]
}

/// Adds or removes `values` in the string list at `field`; true when it changed.
fn change(list: &mut Value, values: &[String], add: bool) -> bool {
    if !list.is_array() {
        *list = json!([]);
    }
    let items = list.as_array_mut().expect("made an array above");
    let before = items.clone();
    for v in values {
        let present = items.iter().any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(v)));
        if add && !present {
            items.push(v.clone().into());
        }
        if !add {
            items.retain(|x| !x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(v)));
        }
    }
    *items != before
}

/// Drops Riposte's rules and collections that hold no value any more (a rule with an empty
/// address list would match nothing, or everything).
fn prune(group: &mut Value) {
    let Some(list) = group["properties"]["ruleCollections"].as_array_mut() else { return };
    for c in list.iter_mut() {
        if let Some(rules) = c["rules"].as_array_mut() {
            rules.retain(|r| {
                let held = |k: &str| r[k].as_array().is_some_and(|a| a.iter().any(|v| v != "*"));
                held("sourceAddresses") || held("destinationAddresses") || held("targetFqdns")
            });
        }
    }
    list.retain(|c| c["rules"].as_array().is_some_and(|r| !r.is_empty()));
}

fn ip_rule(name: &str) -> Value {
    json!({ "ruleType": "NetworkRule", "name": name, "ipProtocols": ["Any"], "sourceAddresses": ["*"],
            "destinationAddresses": ["*"], "destinationPorts": ["*"] })
}

/// Inbound and outbound address blocks: `deny-from` lists sources, `deny-to` destinations.
fn edit_ips(group: &mut Value, ips: &[String], add: bool) -> bool {
    let coll = collection(group, IPS, 100);
    let from = rule(coll, "deny-from", || ip_rule("deny-from"));
    if add && from["sourceAddresses"] == json!(["*"]) {
        from["sourceAddresses"] = json!([]);
    }
    let a = change(&mut from["sourceAddresses"], ips, add);
    let to = rule(coll, "deny-to", || ip_rule("deny-to"));
    if add && to["destinationAddresses"] == json!(["*"]) {
        to["destinationAddresses"] = json!([]);
    }
    let b = change(&mut to["destinationAddresses"], ips, add);
    prune(group);
    a || b
}

fn edit_domains(group: &mut Value, domains: &[String], add: bool) -> bool {
    let coll = collection(group, DOMAINS, 200);
    let r = rule(coll, "deny-fqdns", || {
        json!({ "ruleType": "ApplicationRule", "name": "deny-fqdns", "sourceAddresses": ["*"], "targetFqdns": [],
                "protocols": [{ "protocolType": "Http", "port": 80 }, { "protocolType": "Https", "port": 443 }] })
    });
    let changed = change(&mut r["targetFqdns"], domains, add);
    prune(group);
    changed
}

/// A domain the firewall can match: a host name, optionally `*.`-prefixed.
fn fqdn(d: &str) -> Result<String, EngineError> {
    let host = d.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = host.strip_prefix("*.").unwrap_or(&host);
    let ok = bare.contains('.')
        && bare.len() <= 253
        && bare.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        return Ok(host);
    }
    Err(EngineError::InvalidParam(ParamError {
        field: "domain".into(),
        message: format!("'{}' is not a domain name", d.chars().take(60).collect::<String>()),
        hint: "send a host name such as evil.example.com or *.example.com".into(),
    }))
}

macro_rules! firewall_values {
    ($ty:ident, $id:literal, $param:literal, $edit:ident, $add:literal, $check:expr) => {
        pub struct $ty {
            fw: FirewallRef,
            values: Vec<String>,
        }

        impl TryFrom<&Params> for $ty {
            type Error = EngineError;
            fn try_from(params: &Params) -> Result<Self, EngineError> {
                let a = Args::of::<Self>(params);
                Ok($ty { fw: FirewallRef::read(&a)?, values: vec![a.text($param)?] })
            }
        }

        impl Procedure for $ty {
            const ID: ProcedureId = ProcedureId($id);
            const READS: &'static [Read] =
                &[required("subscriptionId"), required("resourceGroup"), required("firewallName"), required($param)];
            async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
                let check: fn(&str) -> Result<String, EngineError> = $check;
                let values = self.values.iter().map(|v| check(v)).collect::<Result<Vec<_>, _>>()?;
                edit_group(ctx, &self.fw, |g| $edit(g, &values, $add)).await
            }
        }
    };
}

firewall_values!(BlockIp, "azure.network.block_ip_in_firewall", "sourceIp", edit_ips, true, |s| Ok(s.to_string()));
firewall_values!(UnblockIp, "azure.network.unblock_ip_in_firewall", "sourceIp", edit_ips, false, |s| Ok(s.to_string()));
firewall_values!(BlockDomain, "azure.network.block_domain_in_firewall", "domain", edit_domains, true, fqdn);
firewall_values!(UnblockDomain, "azure.network.unblock_domain_in_firewall", "domain", edit_domains, false, fqdn);

/// `EnableThreatIntel`: the threat-intelligence mode lives on the policy of a policy-managed
/// firewall (the firewall's own field is ignored then), else on the firewall.
pub struct ThreatIntel {
    fw: FirewallRef,
    mode: String,
}

impl TryFrom<&Params> for ThreatIntel {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(ThreatIntel { fw: FirewallRef::read(&a)?, mode: a.text("mode")? })
    }
}

impl Procedure for ThreatIntel {
    const ID: ProcedureId = ProcedureId("azure.network.firewall_threat_intel");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("firewallName"), required("mode")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (fw, policy) = self.fw.load(ctx).await?;
        let (path, mut body) = match &policy {
            Some(p) => (p.clone(), arm::get(ctx, p, NETWORK).await?),
            None => (self.fw.path(), fw),
        };
        let _turn = arm::serialised(&path).await;
        let before = body.pointer("/properties/threatIntelMode").cloned().unwrap_or(Value::Null);
        let data = json!({ "resourceId": path, "threatIntelMode": self.mode, "before": before });
        if before == self.mode.as_str() {
            return Ok(crate::procedures::answer(data));
        }
        body["properties"]["threatIntelMode"] = self.mode.clone().into();
        if let Some(p) = body["properties"].as_object_mut() {
            p.remove("provisioningState");
        }
        let resp = arm::put(ctx, &path, NETWORK, body).await?;
        Ok(arm::last_step(resp, data))
    }
}
