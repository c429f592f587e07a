//! Just-in-time VM access and Microsoft Sentinel procedures (catalog `azure/security.rs`).
//!
//! A JIT policy lives at the VM's region (`.../locations/{region}/jitNetworkAccessPolicies`), so
//! each JIT procedure reads the VM first for its region and full id. Sentinel watchlist rows and
//! automation rules are `Microsoft.SecurityInsights` resources on the workspace; their names are
//! derived from their content (a UUID v5-style digest), so repeating a request updates the same
//! rows instead of adding duplicates.

use super::arm::{self, carried, group_path, invalid, resource_path};
use crate::EngineError;
use crate::plan::{Carried, encode_segment};
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use time::OffsetDateTime;
use upstream::Method;

const COMPUTE: &str = "2024-07-01";
const JIT: &str = "2020-01-01";
const SENTINEL: &str = "2024-03-01";

/// A VM by subscription, group and name.
struct Vm {
    subscription: String,
    group: String,
    name: String,
}

impl Vm {
    fn read(args: &Args<'_>) -> Result<Vm, EngineError> {
        Ok(Vm {
            subscription: args.text("subscriptionId")?,
            group: args.text("resourceGroup")?,
            name: args.text("vmName")?,
        })
    }

    /// The VM's full id and region, as ARM returns them.
    async fn locate(&self, ctx: &Ctx<'_>) -> Result<(String, String), EngineError> {
        let path = resource_path(&self.subscription, &self.group, "Microsoft.Compute/virtualMachines", &self.name);
        let vm = arm::call(ctx, Method::Get, &path, COMPUTE, None).await?;
        let id = vm.body["id"].as_str().unwrap_or(&path).to_string();
        let location = vm.body["location"].as_str().unwrap_or_default().to_string();
        Ok((id, location))
    }

    fn policy_path(&self, location: &str, policy: &str) -> String {
        format!(
            "{}/providers/Microsoft.Security/locations/{}/jitNetworkAccessPolicies/{}",
            group_path(&self.subscription, &self.group),
            encode_segment(location),
            encode_segment(policy)
        )
    }
}

const VM_READS: &[Read] = &[required("subscriptionId"), required("resourceGroup"), required("vmName")];

/// `EnableJITVMAccess`: a policy named after the VM holding SSH and RDP, 3 hours at most, from
/// any address that a request names (the seed's policy, at the VM's region instead of a fixed
/// `centralus`).
pub struct EnableJit {
    vm: Vm,
}

impl TryFrom<&Params> for EnableJit {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(EnableJit { vm: Vm::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for EnableJit {
    const ID: ProcedureId = ProcedureId("azure.security.enable_jit");
    const READS: &'static [Read] = VM_READS;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (id, location) = self.vm.locate(ctx).await?;
        let port = |n: u16| json!({"number": n, "protocol": "TCP", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"});
        let body =
            json!({"kind": "Basic", "properties": {"virtualMachines": [{"id": id, "ports": [port(22), port(3389)]}]}});
        let resp = arm::call(ctx, Method::Put, &self.vm.policy_path(&location, &self.vm.name), JIT, Some(body)).await?;
        Ok(carried(resp.body.clone(), &[&resp]))
    }
}

/// `DisableJITVMAccess`: deletes the policy named after the VM.
pub struct DisableJit {
    vm: Vm,
}

impl TryFrom<&Params> for DisableJit {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(DisableJit { vm: Vm::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for DisableJit {
    const ID: ProcedureId = ProcedureId("azure.security.disable_jit");
    const READS: &'static [Read] = VM_READS;
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (_, location) = self.vm.locate(ctx).await?;
        let resp = arm::call(ctx, Method::Delete, &self.vm.policy_path(&location, &self.vm.name), JIT, None).await?;
        let data = json!({"vmName": self.vm.name, "policyRemoved": resp.status != 204});
        Ok(carried(data, &[&resp]))
    }
}

/// `RequestJITAccess`: initiates a request on the VM's policy for the given ports and address.
pub struct RequestJit {
    vm: Vm,
    source: String,
    ports: Vec<u16>,
    hours: i64,
    policy: Option<String>,
    justification: Option<String>,
}

impl TryFrom<&Params> for RequestJit {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let ports = args
            .strings("ports")?
            .iter()
            .map(|p| {
                p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    invalid("ports", format!("'{p}' is not a port number"), "send numbers such as 22 or 3389")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RequestJit {
            vm: Vm::read(&args)?,
            source: args.text("sourceIp")?,
            ports,
            hours: args.opt_i64("durationHours")?.unwrap_or(1),
            policy: args.opt_text("policyName")?,
            justification: args.opt_text("justification")?,
        })
    }
}

impl Procedure for RequestJit {
    const ID: ProcedureId = ProcedureId("azure.security.request_jit");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("vmName"),
        required("sourceIp"),
        required("ports"),
        optional("durationHours"),
        optional("policyName"),
        optional("justification"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (id, location) = self.vm.locate(ctx).await?;
        let end = OffsetDateTime::now_utc() + time::Duration::hours(self.hours);
        let end = end.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let ports: Vec<Value> = self
            .ports
            .iter()
            .map(|n| json!({"number": n, "allowedSourceAddressPrefix": self.source, "endTimeUtc": end}))
            .collect();
        let body = json!({"virtualMachines": [{"id": id, "ports": ports}], "justification": self.justification});
        let policy = self.policy.as_deref().unwrap_or(&self.vm.name);
        let path = format!("{}/initiate", self.vm.policy_path(&location, policy));
        let resp = arm::call(ctx, Method::Post, &path, JIT, Some(body)).await?;
        Ok(carried(resp.body.clone(), &[&resp]))
    }
}

/// The workspace's Sentinel path: `{workspace}/providers/Microsoft.SecurityInsights`.
fn sentinel(args: &Args<'_>) -> Result<String, EngineError> {
    let workspace = resource_path(
        &args.text("subscriptionId")?,
        &args.text("resourceGroup")?,
        "Microsoft.OperationalInsights/workspaces",
        &args.text("workspaceName")?,
    );
    Ok(format!("{workspace}/providers/Microsoft.SecurityInsights"))
}

/// A stable GUID-shaped name from content (SHA-256, version nibble 5), so a repeated request
/// names the same resource.
fn stable_name(parts: &[&str]) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(parts.join("\u{1f}").as_bytes()));
    format!("{}-{}-5{}-a{}-{}", &digest[..8], &digest[8..12], &digest[13..16], &digest[17..20], &digest[20..32])
}

/// `AddSentinelWatchlist`: creates the watchlist when missing (search key `searchKey`), then one
/// PUT per row; every row must hold the search key column.
pub struct AddWatchlistItems {
    base: String,
    alias: String,
    items: Vec<Value>,
    display_name: Option<String>,
    search_key: String,
}

impl TryFrom<&Params> for AddWatchlistItems {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let search_key = args.opt_text("searchKey")?.unwrap_or_else(|| "Indicator".into());
        let items = args.values("items")?;
        Ok(AddWatchlistItems {
            base: sentinel(&args)?,
            alias: args.text("watchlistAlias")?,
            items,
            display_name: args.opt_text("displayName")?,
            search_key,
        })
    }
}

impl Procedure for AddWatchlistItems {
    const ID: ProcedureId = ProcedureId("azure.sentinel.add_watchlist_items");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("workspaceName"),
        required("watchlistAlias"),
        required("items"),
        optional("displayName"),
        optional("searchKey"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        if let Some(i) = self.items.iter().position(|i| i.get(&self.search_key).is_none()) {
            return Err(invalid(
                "items",
                format!("row {i} has no '{}' column, the watchlist's search key", self.search_key),
                "give every row the search key column, or name another column with searchKey",
            ));
        }
        let watchlist = format!("{}/watchlists/{}", self.base, encode_segment(&self.alias));
        let mut responses = Vec::new();
        let created = match arm::call(ctx, Method::Get, &watchlist, SENTINEL, None).await {
            Ok(_) => false,
            Err(e) if arm::is_not_found(&e) => {
                let body = json!({"properties": {
                    "displayName": self.display_name.as_deref().unwrap_or(&self.alias),
                    "provider": "Riposte", "source": "Riposte", "itemsSearchKey": self.search_key,
                }});
                responses.push(arm::call(ctx, Method::Put, &watchlist, SENTINEL, Some(body)).await?);
                true
            }
            Err(e) => return Err(e.into()),
        };
        let mut ids = Vec::new();
        for item in &self.items {
            let id = stable_name(&[&self.alias, &item.to_string()]);
            let path = format!("{watchlist}/watchlistItems/{id}");
            let body = json!({"properties": {"itemsKeyValue": item}});
            responses.push(arm::call(ctx, Method::Put, &path, SENTINEL, Some(body)).await?);
            ids.push(id);
        }
        let data =
            json!({"watchlistAlias": self.alias, "watchlistCreated": created, "itemCount": ids.len(), "itemIds": ids});
        Ok(carried(data, &responses.iter().collect::<Vec<_>>()))
    }
}

/// `EnableSentinelPlaybook`: an automation rule that runs the playbook (a Logic App in the
/// workspace's resource group) on every incident the analytics rule creates.
pub struct EnablePlaybook {
    base: String,
    workspace: String,
    logic_app: String,
    rule: String,
    playbook: String,
}

impl TryFrom<&Params> for EnablePlaybook {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        let (sub, rg, playbook) =
            (args.text("subscriptionId")?, args.text("resourceGroup")?, args.text("playbookName")?);
        Ok(EnablePlaybook {
            base: sentinel(&args)?,
            workspace: resource_path(
                &sub,
                &rg,
                "Microsoft.OperationalInsights/workspaces",
                &args.text("workspaceName")?,
            ),
            logic_app: resource_path(&sub, &rg, "Microsoft.Logic/workflows", &playbook),
            rule: args.text("analyticRuleId")?,
            playbook,
        })
    }
}

impl Procedure for EnablePlaybook {
    const ID: ProcedureId = ProcedureId("azure.sentinel.enable_playbook");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("workspaceName"),
        required("playbookName"),
        required("analyticRuleId"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let name = stable_name(&["playbook", &self.rule, &self.playbook]);
        let rule_id = format!("{}/providers/Microsoft.SecurityInsights/alertRules/{}", self.workspace, self.rule);
        let body = json!({"properties": {
            "displayName": format!("Run {} on incidents of rule {}", self.playbook, self.rule),
            "order": 1,
            "triggeringLogic": {"isEnabled": true, "triggersOn": "Incidents", "triggersWhen": "Created", "conditions": [
                {"conditionType": "Property", "conditionProperties": {
                    "propertyName": "IncidentRelatedAnalyticRuleIds", "operator": "Contains", "propertyValues": [rule_id]}}
            ]},
            "actions": [{"order": 1, "actionType": "RunPlaybook",
                         "actionConfiguration": {"logicAppResourceId": self.logic_app, "tenantId": ctx.tenant}}],
        }});
        let path = format!("{}/automationRules/{name}", self.base);
        let resp = arm::call(ctx, Method::Put, &path, SENTINEL, Some(body)).await?;
        Ok(carried(resp.body.clone(), &[&resp]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_names_are_guid_shaped_and_repeat() {
        let a = stable_name(&["a", "b"]);
        assert_eq!(a.len(), 36);
        assert_eq!(a, stable_name(&["a", "b"]));
        assert_ne!(a, stable_name(&["a", "c"]));
    }
}
