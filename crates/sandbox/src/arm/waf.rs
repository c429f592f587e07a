//! Application Gateway WAF policies (Microsoft.Network): the checks the Network provider applies
//! to a policy PUT: custom rules with unique names and priorities (1-100), known rule types,
//! actions and operators, and a `policySettings.mode` of Prevention or Detection.
//!
//! The error codes are not in upstream-apis.md; they follow the provider's
//! `ApplicationGatewayFirewall*` naming and ARM's 400 shape.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::errors;
use crate::world::arm::Resource;

pub use crate::world::arm::WAF_POLICIES;

fn bad(code: &str, message: String) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

/// Checks a policy body before it is stored.
pub fn check_policy(policy: &Resource) -> Result<(), Response> {
    let props = policy.body.get("properties").cloned().unwrap_or(Value::Null);
    if let Some(mode) = props.pointer("/policySettings/mode").and_then(Value::as_str)
        && !["Prevention", "Detection"].contains(&mode)
    {
        return Err(bad(
            "ApplicationGatewayFirewallInvalidMode",
            format!("Firewall policy mode '{mode}' is invalid. Allowed values: Prevention, Detection."),
        ));
    }
    let rules = props.get("customRules").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut seen: Vec<(String, i64)> = Vec::new();
    for rule in &rules {
        let name = rule.get("name").and_then(Value::as_str).unwrap_or("");
        let priority = rule.get("priority").and_then(Value::as_i64).unwrap_or(0);
        if name.is_empty() || name.len() > 128 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(
                "ApplicationGatewayFirewallCustomRuleInvalidName",
                format!("Custom rule name '{name}' is invalid: 1-128 letters and digits."),
            ));
        }
        if !(1..=100).contains(&priority) {
            return Err(bad(
                "ApplicationGatewayFirewallCustomRuleInvalidPriority",
                format!("Custom rule '{name}' has priority {priority}; allowed range 1-100."),
            ));
        }
        if let Some((other, _)) = seen.iter().find(|(n, p)| n.eq_ignore_ascii_case(name) || *p == priority) {
            return Err(bad(
                "ApplicationGatewayFirewallCustomRuleDuplicate",
                format!("Custom rules '{other}' and '{name}' share a name or the priority {priority}."),
            ));
        }
        seen.push((name.to_string(), priority));
        check_rule(name, rule)?;
    }
    Ok(())
}

fn check_rule(name: &str, rule: &Value) -> Result<(), Response> {
    let field = |k: &str| rule.get(k).and_then(Value::as_str).unwrap_or("");
    if !["MatchRule", "RateLimitRule"].contains(&field("ruleType")) {
        return Err(bad(
            "ApplicationGatewayFirewallCustomRuleInvalidType",
            format!("Custom rule '{name}' needs ruleType MatchRule or RateLimitRule."),
        ));
    }
    if !["Allow", "Block", "Log", "JSChallenge"].contains(&field("action")) {
        return Err(bad(
            "ApplicationGatewayFirewallCustomRuleInvalidAction",
            format!("Custom rule '{name}' needs action Allow, Block, Log or JSChallenge."),
        ));
    }
    let conditions = rule.get("matchConditions").and_then(Value::as_array).cloned().unwrap_or_default();
    if conditions.is_empty() {
        return Err(bad(
            "ApplicationGatewayFirewallCustomRuleNoCondition",
            format!("Custom rule '{name}' has no match condition."),
        ));
    }
    for c in &conditions {
        let values = c.get("matchValues").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
        let variables = c.get("matchVariables").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
        let operator = c.get("operator").and_then(Value::as_str).unwrap_or("");
        if values == 0 || variables == 0 || operator.is_empty() {
            return Err(bad(
                "ApplicationGatewayFirewallCustomRuleInvalidCondition",
                format!("Custom rule '{name}' has a match condition without matchVariables, operator or matchValues."),
            ));
        }
        if operator == "GeoMatch"
            && let Some(bad_code) = c["matchValues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|v| v.len() != 2 || !v.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(bad(
                "ApplicationGatewayFirewallCustomRuleInvalidGeoMatch",
                format!("Custom rule '{name}': '{bad_code}' is not a two-letter country code."),
            ));
        }
    }
    Ok(())
}
