//! The internet edge: Application Gateway WAF policy custom rules and mode, and App Service
//! authentication settings.
//!
//! A WAF policy has no partial update in the Network provider's REST spec: a change is GET, edit,
//! PUT of the whole policy. Riposte keeps its blocks in two custom rules of its own,
//! `RiposteBlockedIPs` (`RemoteAddr` `IPMatch`) and `RiposteBlockedCountries` (`RemoteAddr`
//! `GeoMatch`), adding and removing values, so a repeat changes nothing, an unblock takes out
//! exactly what a block put in, and the policy never fills with one rule per address (a policy
//! holds at most 100 custom rules). A new rule takes the lowest free priority (1-100), ahead of
//! the policy's other rules. Edits of one policy are serialised in this process
//! (`steps::serialised`), so two concurrent blocks never overwrite each other's values.

use super::arm::resource_path;
use super::steps::{self as arm, NETWORK};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Value, json};

const WAF_POLICIES: &str = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies";
const BLOCKED_IPS: &str = "RiposteBlockedIPs";
const BLOCKED_COUNTRIES: &str = "RiposteBlockedCountries";

/// The addressed WAF policy.
struct PolicyRef {
    sub: String,
    rg: String,
    name: String,
}

impl PolicyRef {
    fn read(a: &Args<'_>) -> Result<PolicyRef, EngineError> {
        Ok(PolicyRef { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, name: a.text("wafPolicyName")? })
    }

    fn path(&self) -> String {
        resource_path(&self.sub, &self.rg, WAF_POLICIES, &self.name)
    }

    /// GET, `edit` (which says whether it changed anything), PUT when it did.
    async fn modify(
        &self,
        ctx: &Ctx<'_>,
        edit: impl FnOnce(&mut Value) -> Result<bool, EngineError>,
    ) -> Result<Carried, EngineError> {
        let _turn = arm::serialised(&self.path()).await;
        let mut policy = arm::get_named(ctx, &self.path(), NETWORK, "wafPolicyName").await?;
        let changed = edit(&mut policy)?;
        let summary = |p: &Value| {
            json!({
                "policyId": self.path(),
                "changed": changed,
                "mode": p.pointer("/properties/policySettings/mode"),
                "customRules": p.pointer("/properties/customRules"),
            })
        };
        if !changed {
            return Ok(crate::procedures::answer(summary(&policy)));
        }
        for key in ["provisioningState", "resourceState", "applicationGateways", "httpListeners", "pathBasedRules"] {
            if let Some(p) = policy.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove(key);
            }
        }
        let data = summary(&policy);
        let resp = arm::put(ctx, &self.path(), NETWORK, policy).await?;
        Ok(arm::last_step(resp, data))
    }
}

fn custom_rules(policy: &mut Value) -> &mut Vec<Value> {
    if !policy["properties"]["customRules"].is_array() {
        policy["properties"]["customRules"] = json!([]);
    }
    policy["properties"]["customRules"].as_array_mut().expect("made an array above")
}

/// Adds `values` to Riposte's rule `name` (created with `operator` at the lowest free priority).
fn add_values(policy: &mut Value, name: &str, operator: &str, values: &[String]) -> Result<bool, EngineError> {
    let rules = custom_rules(policy);
    let Some(rule) = rules.iter_mut().find(|r| r["name"] == name) else {
        let priority =
            (1..=100).find(|p| !rules.iter().any(|r| r["priority"].as_i64() == Some(*p))).ok_or_else(full_policy)?;
        rules.push(json!({
            "name": name, "priority": priority, "ruleType": "MatchRule", "action": "Block", "state": "Enabled",
            "matchConditions": [{"matchVariables": [{"variableName": "RemoteAddr"}], "operator": operator,
                                 "negationConditon": false, "matchValues": values}],
        }));
        return Ok(true);
    };
    let current = &mut rule["matchConditions"][0]["matchValues"];
    if !current.is_array() {
        *current = json!([]);
    }
    let list = current.as_array_mut().expect("made an array above");
    let mut changed = false;
    for v in values {
        if !list.iter().any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(v))) {
            list.push(v.clone().into());
            changed = true;
        }
    }
    Ok(changed)
}

/// Takes `values` out of Riposte's rule `name`; the rule goes when it is left empty.
fn remove_values(policy: &mut Value, name: &str, values: &[String]) -> bool {
    let rules = custom_rules(policy);
    let Some(i) = rules.iter().position(|r| r["name"] == name) else { return false };
    let Some(list) = rules[i]["matchConditions"][0]["matchValues"].as_array_mut() else { return false };
    let before = list.len();
    list.retain(|x| !values.iter().any(|v| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(v))));
    let changed = list.len() != before;
    if list.is_empty() {
        rules.remove(i);
    }
    changed
}

fn full_policy() -> EngineError {
    EngineError::InvalidParam(ParamError {
        field: "wafPolicyName".into(),
        message: "the policy has no free custom-rule priority (1-100 are all used)".into(),
        hint: "remove unused custom rules first".into(),
    })
}

/// Declares a WAF procedure that adds or removes values of one Riposte rule.
macro_rules! waf_values {
    ($ty:ident, $id:literal, $param:literal, $rule:expr, $op:expr, $add:literal) => {
        pub struct $ty {
            policy: PolicyRef,
            values: Vec<String>,
        }

        impl TryFrom<&Params> for $ty {
            type Error = EngineError;
            fn try_from(params: &Params) -> Result<Self, EngineError> {
                let a = Args::of::<Self>(params);
                let values = match params.get($param) {
                    Some(Value::Array(_)) => a.strings($param)?,
                    _ => vec![a.text($param)?],
                };
                Ok($ty { policy: PolicyRef::read(&a)?, values })
            }
        }

        impl Procedure for $ty {
            const ID: ProcedureId = ProcedureId($id);
            const READS: &'static [Read] =
                &[required("subscriptionId"), required("resourceGroup"), required("wafPolicyName"), required($param)];
            async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
                let values = self.values.clone();
                self.policy
                    .modify(ctx, |p| {
                        if $add { add_values(p, $rule, $op, &values) } else { Ok(remove_values(p, $rule, &values)) }
                    })
                    .await
            }
        }
    };
}

waf_values!(BlockIpInWaf, "azure.network.block_ip_in_waf", "ipAddress", BLOCKED_IPS, "IPMatch", true);
waf_values!(UnblockIpInWaf, "azure.network.unblock_ip_in_waf", "ipAddress", BLOCKED_IPS, "IPMatch", false);
waf_values!(BlockCountries, "azure.network.block_geo_in_waf", "countryCodes", BLOCKED_COUNTRIES, "GeoMatch", true);
waf_values!(UnblockCountries, "azure.network.unblock_geo_in_waf", "countryCodes", BLOCKED_COUNTRIES, "GeoMatch", false);

/// `AddWAFCustomRule`: the caller's own custom rule, by name: a new name takes the given (or the
/// lowest free) priority, an existing name is replaced in place, so a repeat changes nothing.
pub struct AddCustomRule {
    policy: PolicyRef,
    name: String,
    conditions: Vec<Value>,
    priority: Option<i64>,
    action: String,
}

impl TryFrom<&Params> for AddCustomRule {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(AddCustomRule {
            policy: PolicyRef::read(&a)?,
            name: a.text("customRuleName")?,
            conditions: a.values("matchConditions")?,
            priority: a.opt_i64("priority")?,
            action: a.text("action")?,
        })
    }
}

/// WAF custom rule names are letters and digits only (at most 128).
fn rule_name(name: &str) -> Result<String, EngineError> {
    if !name.is_empty() && name.len() <= 128 && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(name.to_string());
    }
    Err(EngineError::InvalidParam(ParamError {
        field: "customRuleName".into(),
        message: format!("'{}' is not a WAF custom rule name", name.chars().take(60).collect::<String>()),
        hint: "use 1-128 letters and digits, e.g. BlockBadBots".into(),
    }))
}

impl Procedure for AddCustomRule {
    const ID: ProcedureId = ProcedureId("azure.network.add_waf_custom_rule");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("wafPolicyName"),
        required("customRuleName"),
        required("matchConditions"),
        optional("priority"),
        required("action"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let AddCustomRule { policy, name, conditions, priority, action } = self;
        let name = rule_name(&name)?;
        policy
            .modify(ctx, |p| {
                let rules = custom_rules(p);
                let existing = rules.iter().position(|r| r["name"] == name.as_str());
                let taken =
                    |q: i64| rules.iter().any(|r| r["priority"].as_i64() == Some(q) && r["name"] != name.as_str());
                let priority = match (priority, existing) {
                    (Some(q), _) if taken(q) => {
                        return Err(EngineError::InvalidParam(ParamError {
                            field: "priority".into(),
                            message: format!("priority {q} is used by another custom rule of the policy"),
                            hint: "leave priority out to take the lowest free one".into(),
                        }));
                    }
                    (Some(q), _) => q,
                    (None, Some(i)) => rules[i]["priority"].as_i64().unwrap_or(1),
                    (None, None) => (1..=100).find(|q| !taken(*q)).ok_or_else(full_policy)?,
                };
                let rule = json!({ "name": name, "priority": priority, "ruleType": "MatchRule", "action": action,
                                   "state": "Enabled", "matchConditions": conditions });
                match existing {
                    Some(i) if rules[i] == rule => Ok(false),
                    Some(i) => {
                        rules[i] = rule;
                        Ok(true)
                    }
                    None => {
                        rules.push(rule);
                        Ok(true)
                    }
                }
            })
            .await
    }
}

/// `RemoveWAFCustomRule`: the named custom rule goes; an absent one is already gone.
pub struct RemoveCustomRule {
    policy: PolicyRef,
    name: String,
}

impl TryFrom<&Params> for RemoveCustomRule {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RemoveCustomRule { policy: PolicyRef::read(&a)?, name: a.text("customRuleName")? })
    }
}

impl Procedure for RemoveCustomRule {
    const ID: ProcedureId = ProcedureId("azure.network.remove_waf_custom_rule");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("wafPolicyName"), required("customRuleName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let name = rule_name(&self.name)?;
        self.policy
            .modify(ctx, |p| {
                let rules = custom_rules(p);
                let before = rules.len();
                rules.retain(|r| r["name"] != name.as_str());
                Ok(rules.len() != before)
            })
            .await
    }
}

/// Declares a WAF procedure that sets the policy's mode.
macro_rules! waf_mode {
    ($ty:ident, $id:literal, $mode:literal) => {
        pub struct $ty {
            policy: PolicyRef,
        }

        impl TryFrom<&Params> for $ty {
            type Error = EngineError;
            fn try_from(params: &Params) -> Result<Self, EngineError> {
                Ok($ty { policy: PolicyRef::read(&Args::of::<Self>(params))? })
            }
        }

        impl Procedure for $ty {
            const ID: ProcedureId = ProcedureId($id);
            const READS: &'static [Read] =
                &[required("subscriptionId"), required("resourceGroup"), required("wafPolicyName")];
            async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
                self.policy
                    .modify(ctx, |p| {
                        let settings = &mut p["properties"]["policySettings"];
                        let changed = settings["mode"] != $mode || settings["state"] != "Enabled";
                        settings["mode"] = $mode.into();
                        settings["state"] = "Enabled".into();
                        Ok(changed)
                    })
                    .await
            }
        }
    };
}

waf_mode!(PreventionMode, "azure.network.waf_prevention_mode", "Prevention");
waf_mode!(DetectionMode, "azure.network.waf_detection_mode", "Detection");

/// Declares an App Service authentication switch: GET `config/authsettingsV2`, set
/// `platform.enabled`, PUT it back (everything else kept).
macro_rules! app_auth {
    ($ty:ident, $id:literal, $enabled:literal) => {
        pub struct $ty {
            sub: String,
            rg: String,
            app: String,
        }

        impl TryFrom<&Params> for $ty {
            type Error = EngineError;
            fn try_from(params: &Params) -> Result<Self, EngineError> {
                let a = Args::of::<Self>(params);
                Ok($ty { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, app: a.text("appName")? })
            }
        }

        impl Procedure for $ty {
            const ID: ProcedureId = ProcedureId($id);
            const READS: &'static [Read] =
                &[required("subscriptionId"), required("resourceGroup"), required("appName")];
            async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
                let path = format!("{}/config/authsettingsV2", resource_path(&self.sub, &self.rg, "Microsoft.Web/sites", &self.app));
                let mut settings = arm::get_named(ctx, &path, super::steps::WEB, "appName").await?;
                let was = settings.pointer("/properties/platform/enabled").cloned().unwrap_or(Value::Null);
                if !settings["properties"]["platform"].is_object() {
                    settings["properties"]["platform"] = json!({});
                }
                settings["properties"]["platform"]["enabled"] = $enabled.into();
                let body = json!({ "properties": settings["properties"] });
                let resp = arm::put(ctx, &path, super::steps::WEB, body).await?;
                let data = json!({ "appName": self.app, "authEnabledBefore": was, "authEnabled": $enabled });
                Ok(arm::last_step(resp, data))
            }
        }
    };
}

app_auth!(DisableAppAuth, "azure.compute.disable_app_service_auth", false);
app_auth!(EnableAppAuth, "azure.compute.enable_app_service_auth", true);
