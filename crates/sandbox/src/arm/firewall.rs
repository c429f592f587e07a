//! Azure Firewall and Firewall Policy (Microsoft.Network): the checks a rule collection group
//! PUT goes through. A group's priority and each collection's priority lie in 100-65000;
//! collection names and priorities are unique within the group; a rule is a `NetworkRule`,
//! `ApplicationRule` or `NatRule` with a name. The codes are not in upstream-apis.md; they follow
//! the provider's `AzureFirewallPolicy*` naming.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::errors;
use crate::world::arm::Resource;

pub use crate::world::arm::RULE_COLLECTION_GROUPS;

fn bad(code: &str, message: String) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

fn in_range(p: i64) -> bool {
    (100..=65000).contains(&p)
}

pub fn check_group(group: &Resource) -> Result<(), Response> {
    let props = group.body.get("properties").cloned().unwrap_or(Value::Null);
    let priority = props.get("priority").and_then(Value::as_i64).unwrap_or(0);
    if !in_range(priority) {
        return Err(bad(
            "AzureFirewallPolicyRuleCollectionGroupInvalidPriority",
            format!("Rule collection group {} has priority {priority}; allowed range 100-65000.", group.name()),
        ));
    }
    let collections = props.get("ruleCollections").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut seen: Vec<(String, i64)> = Vec::new();
    for c in &collections {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let p = c.get("priority").and_then(Value::as_i64).unwrap_or(0);
        if name.is_empty() || !in_range(p) {
            return Err(bad(
                "AzureFirewallPolicyRuleCollectionInvalid",
                format!("Rule collection '{name}' needs a name and a priority in 100-65000 (got {p})."),
            ));
        }
        if seen.iter().any(|(n, q)| n.eq_ignore_ascii_case(&name) || *q == p) {
            return Err(bad(
                "AzureFirewallPolicyRuleCollectionDuplicate",
                format!("Rule collection '{name}' repeats a name or the priority {p} in group {}.", group.name()),
            ));
        }
        seen.push((name.clone(), p));
        for rule in c.get("rules").and_then(Value::as_array).into_iter().flatten() {
            let kind = rule.get("ruleType").and_then(Value::as_str).unwrap_or("");
            let named = rule.get("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
            if !["NetworkRule", "ApplicationRule", "NatRule"].contains(&kind) || !named {
                return Err(bad(
                    "AzureFirewallPolicyRuleInvalid",
                    format!(
                        "A rule of collection '{name}' needs a name and ruleType NetworkRule, ApplicationRule or NatRule."
                    ),
                ));
            }
        }
    }
    Ok(())
}
