//! Microsoft.Network rules: security rules as child resources of their NSG, the NSG view that
//! embeds them, and the validation the Network provider applies (upstream-apis.md §5.3).
//!
//! Rules live in the store as `networkSecurityGroups/{nsg}/securityRules/{rule}` resources; an
//! NSG GET assembles `securityRules`, the six `defaultSecurityRules` and the NICs bound to it,
//! so the two ways of editing rules (the child resource, or a full NSG PUT) stay one truth.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::errors;
use crate::world::arm::{ArmStore, NICS, PUBLIC_IPS, Resource, RuleSpec, SECURITY_RULES, rule_json};

const DEFAULT_RULES: &str = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules";

fn default_specs() -> [RuleSpec<'static>; 6] {
    let r = |name, priority, direction, access, source, destination, description| RuleSpec {
        name,
        priority,
        direction,
        access,
        protocol: "*",
        source,
        destination,
        port: "*",
        description,
    };
    [
        r(
            "AllowVnetInBound",
            65000,
            "Inbound",
            "Allow",
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow inbound traffic from all VMs in VNET",
        ),
        r(
            "AllowAzureLoadBalancerInBound",
            65001,
            "Inbound",
            "Allow",
            "AzureLoadBalancer",
            "*",
            "Allow inbound traffic from azure load balancer",
        ),
        r("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
        r(
            "AllowVnetOutBound",
            65000,
            "Outbound",
            "Allow",
            "VirtualNetwork",
            "VirtualNetwork",
            "Allow outbound traffic from all VMs to all VMs in VNET",
        ),
        r(
            "AllowInternetOutBound",
            65001,
            "Outbound",
            "Allow",
            "*",
            "Internet",
            "Allow outbound traffic from all VMs to Internet",
        ),
        r("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
    ]
}

/// Azure's six default rules of an NSG, as ARM renders them.
pub fn default_rules(nsg_id: &str) -> Vec<Value> {
    default_specs()
        .iter()
        .map(|s| {
            let id = format!("{nsg_id}/defaultSecurityRules/{}", s.name);
            let mut v = rule_json(&id, s.name, "W/\"00000000-0000-0000-0000-000000000000\"", s.properties());
            v["type"] = DEFAULT_RULES.into();
            v
        })
        .collect()
}

/// The NSG as GET returns it: stored body plus its rules, default rules and bound NICs.
pub fn render_nsg(store: &ArmStore, nsg: &Resource) -> Value {
    let mut body = nsg.body.clone();
    let rules: Vec<Value> = store.list(SECURITY_RULES, &nsg.id).into_iter().map(|r| r.body.clone()).collect();
    let nics: Vec<Value> = store
        .list(NICS, &store.subscription_scope())
        .into_iter()
        .filter(|n| {
            n.body
                .pointer("/properties/networkSecurityGroup/id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(&nsg.id))
        })
        .map(|n| json!({"id": n.id}))
        .collect();
    if let Some(p) = body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("securityRules".into(), rules.into());
        p.insert("defaultSecurityRules".into(), default_rules(&nsg.id).into());
        p.insert("networkInterfaces".into(), nics.into());
    }
    body
}

fn bad(code: &str, message: String) -> Response {
    errors::arm(StatusCode::BAD_REQUEST, code, message)
}

fn enum_prop<'a>(p: &'a Map<String, Value>, key: &str, allowed: &[&'a str], code: &str) -> Result<&'a str, Response> {
    let v = p.get(key).and_then(Value::as_str).unwrap_or("");
    allowed.iter().find(|a| a.eq_ignore_ascii_case(v)).copied().ok_or_else(|| {
        bad(
            code,
            format!("Security rule has invalid {key}. Value provided: '{v}'. Allowed values: {}.", allowed.join(", ")),
        )
    })
}

/// Checks and normalises one rule's properties (canonical enum casing, empty list defaults).
/// Codes: `SecurityRuleInvalidPriority` [T]; the per-field codes for protocol, access and
/// direction are not in upstream-apis.md and follow the same `SecurityRuleInvalid*` pattern.
pub fn validate_rule(props: &mut Map<String, Value>) -> Result<(u32, String), Response> {
    let priority = props.get("priority").and_then(Value::as_i64);
    let priority = match priority {
        Some(p) if (100..=4096).contains(&p) => p as u32,
        _ => {
            let shown = props.get("priority").map(Value::to_string).unwrap_or_else(|| "null".into());
            return Err(bad(
                "SecurityRuleInvalidPriority",
                format!("Security rule has invalid Priority. Value provided: {shown} Allowed range 100-4096."),
            ));
        }
    };
    let direction = enum_prop(props, "direction", &["Inbound", "Outbound"], "SecurityRuleInvalidDirection")?;
    let access = enum_prop(props, "access", &["Allow", "Deny"], "SecurityRuleInvalidAccess")?;
    let protocol =
        enum_prop(props, "protocol", &["*", "Tcp", "Udp", "Icmp", "Esp", "Ah"], "SecurityRuleInvalidProtocol")?;
    let (direction, access, protocol) = (direction.to_string(), access.to_string(), protocol.to_string());
    props.insert("direction".into(), direction.clone().into());
    props.insert("access".into(), access.into());
    props.insert("protocol".into(), protocol.into());
    for list in ["sourcePortRanges", "destinationPortRanges", "sourceAddressPrefixes", "destinationAddressPrefixes"] {
        props.entry(list).or_insert_with(|| json!([]));
    }
    Ok((priority, direction))
}

/// `SecurityRuleConflict` when another rule of the NSG has the same priority and direction.
pub fn check_conflict(
    name: &str,
    priority: u32,
    direction: &str,
    others: &[(String, u32, String)],
) -> Result<(), Response> {
    match others
        .iter()
        .find(|(n, p, d)| !n.eq_ignore_ascii_case(name) && *p == priority && d.eq_ignore_ascii_case(direction))
    {
        Some((other, _, _)) => Err(bad(
            "SecurityRuleConflict",
            format!(
                "Security rule {name} conflicts with rule {other}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules."
            ),
        )),
        None => Ok(()),
    }
}

/// (name, priority, direction) of the NSG's stored rules.
pub fn existing_rules(store: &ArmStore, nsg_id: &str) -> Vec<(String, u32, String)> {
    store
        .list(SECURITY_RULES, nsg_id)
        .into_iter()
        .map(|r| {
            let p = r.body.get("properties");
            let prio = p.and_then(|p| p.get("priority")).and_then(Value::as_u64).unwrap_or(0) as u32;
            let dir = p.and_then(|p| p.get("direction")).and_then(Value::as_str).unwrap_or("").to_string();
            (r.name().to_string(), prio, dir)
        })
        .collect()
}

/// A full NSG PUT carries its rules inline: validates them together and returns them as child
/// resources (they replace the NSG's current rules), leaving the NSG body without them.
pub fn split_nsg_rules(nsg_id: &str, body: &mut Value, state: &str) -> Result<Vec<Resource>, Response> {
    let inline = body
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .map(|p| {
            p.remove("defaultSecurityRules");
            p.remove("networkInterfaces");
            p.remove("securityRules")
        })
        .unwrap_or_default();
    let Some(Value::Array(rules)) = inline else {
        return Ok(Vec::new());
    };
    let mut seen: Vec<(String, u32, String)> = Vec::new();
    let mut out = Vec::new();
    for rule in rules {
        let name = rule.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(bad("InvalidRequestFormat", "Every security rule needs a name.".into()));
        }
        let mut props = rule.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        let (priority, direction) = validate_rule(&mut props)?;
        check_conflict(&name, priority, &direction, &seen)?;
        seen.push((name.clone(), priority, direction));
        props.insert("provisioningState".into(), state.into());
        let id = format!("{nsg_id}/securityRules/{name}");
        let body = rule_json(&id, &name, &new_etag(), props);
        out.push(Resource::new(id, SECURITY_RULES, body));
    }
    Ok(out)
}

/// A NIC PUT may only reference an NSG and public IPs that exist, and a public IP another NIC
/// holds is refused: `InvalidResourceReference` and `PublicIPAddressInUse` (400), as the Network
/// provider answers.
pub fn check_nic(store: &ArmStore, nic: &Resource) -> Result<(), Response> {
    let reference = |id: &str| {
        bad(
            "InvalidResourceReference",
            format!(
                "Resource {id} referenced by resource {} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
                nic.id
            ),
        )
    };
    if let Some(nsg) = nic.body.pointer("/properties/networkSecurityGroup/id").and_then(Value::as_str)
        && store.get(nsg).is_none()
    {
        return Err(reference(nsg));
    }
    for pip in public_ips_of(&nic.body) {
        let Some(held) = store.get(&pip) else {
            return Err(reference(&pip));
        };
        let owner = held.body.pointer("/properties/ipConfiguration/id").and_then(Value::as_str).unwrap_or("");
        let nic_prefix = format!("{}/", nic.id.to_ascii_lowercase());
        if !owner.is_empty() && !owner.to_ascii_lowercase().starts_with(&nic_prefix) {
            return Err(bad(
                "PublicIPAddressInUse",
                format!("Resource {} is referenced by resource {owner}, so it cannot be used by {}.", held.id, nic.id),
            ));
        }
    }
    Ok(())
}

/// The public IP ids a NIC body's ipConfigurations reference.
fn public_ips_of(nic: &Value) -> Vec<String> {
    nic.pointer("/properties/ipConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/properties/publicIPAddress/id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// After a NIC is written: each public IP shows the ipConfiguration that holds it, and one the
/// NIC let go shows none (a public IP's `ipConfiguration` is read-only, kept by the provider).
pub fn link_public_ips(store: &mut ArmStore, nic_id: &str) {
    let Some(nic) = store.get(nic_id).cloned() else { return };
    let held: Vec<(String, String)> = nic
        .body
        .pointer("/properties/ipConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let pip = c.pointer("/properties/publicIPAddress/id")?.as_str()?.to_ascii_lowercase();
            let conf = c.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
                format!("{}/ipConfigurations/{}", nic.id, c.get("name").and_then(Value::as_str).unwrap_or("ipconfig1"))
            });
            Some((pip, conf))
        })
        .collect();
    let nic_prefix = format!("{}/", nic.id.to_ascii_lowercase());
    let pips: Vec<String> = store.list(PUBLIC_IPS, &store.subscription_scope()).iter().map(|r| r.id.clone()).collect();
    for id in pips {
        let Some(p) = store.get_mut(&id) else { continue };
        let Some(props) = p.body.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        match held.iter().find(|(pip, _)| *pip == id.to_ascii_lowercase()) {
            Some((_, conf)) => {
                props.insert("ipConfiguration".into(), json!({"id": conf}));
            }
            None => {
                let ours = props
                    .get("ipConfiguration")
                    .and_then(|c| c.get("id"))
                    .and_then(Value::as_str)
                    .is_some_and(|c| c.to_ascii_lowercase().starts_with(&nic_prefix));
                if ours {
                    props.remove("ipConfiguration");
                }
            }
        }
    }
}

pub fn new_etag() -> String {
    format!("W/\"{}\"", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_validation_and_conflicts() {
        let mut p = json!({"priority": 50, "direction": "Inbound", "access": "Deny", "protocol": "Tcp"});
        let p = p.as_object_mut().unwrap();
        assert!(validate_rule(p).is_err());
        p.insert("priority".into(), 300.into());
        p.insert("direction".into(), "inbound".into());
        assert_eq!(validate_rule(p).unwrap(), (300, "Inbound".to_string()));
        assert_eq!(p["sourcePortRanges"], json!([]));
        let others = vec![("A".to_string(), 300, "Inbound".to_string())];
        assert!(check_conflict("B", 300, "Inbound", &others).is_err());
        assert!(check_conflict("A", 300, "Inbound", &others).is_ok(), "replacing itself");
        assert!(check_conflict("B", 300, "Outbound", &others).is_ok());
        assert_eq!(default_rules("/x").len(), 6);
    }
}
