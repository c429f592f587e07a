//! Azure Resource Manager, read-only for now: subscriptions, resource groups, virtual machines,
//! network interfaces and network security groups with their rules (upstream-apis.md §5).
//!
//! ARM paths are case-insensitive, so one catch-all route parses the segments itself.
//! `api-version` is required (as on ARM) but any value is accepted: real SDKs send many.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Value, json};

use crate::auth::ArmCaller;
use crate::errors::{self, json_response};
use crate::query::Params;
use crate::state::AppState;
use crate::world::{Arm, Machine, Nsg, SecurityRule, Tenant, Vm};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", any(handle))
        .route("/subscriptions/{*rest}", any(handle))
}

fn not_found_resource(kind: &str, name: &str, rg: &str) -> Response {
    errors::arm(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn rg_not_found(rg: &str) -> Response {
    errors::arm(
        StatusCode::NOT_FOUND,
        "ResourceGroupNotFound",
        format!("Resource group '{rg}' could not be found."),
    )
}

async fn handle(
    State(state): State<AppState>,
    ArmCaller(c): ArmCaller,
    method: Method,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.as_deref());
    let Some(api_version) = params.get("api-version").map(str::to_owned) else {
        return errors::arm(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if method != Method::GET {
        return errors::arm(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The sandbox serves ARM reads only for now; {method} is not emulated."),
        );
    }
    let segs: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let world = state.world.lock();
    let Some(tenant) = world.tenant(&c.tenant_id) else {
        return errors::arm(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            "Unknown tenant.",
        );
    };
    if segs.len() == 1 {
        return ok(
            &state,
            json!({"value": [subscription_json(tenant)], "count": {"type": "Total", "value": 1}}),
        );
    }
    let sub = &segs[1];
    if !tenant.subscription_id.eq_ignore_ascii_case(sub) {
        if world
            .tenants
            .iter()
            .any(|t| t.subscription_id.eq_ignore_ascii_case(sub))
        {
            return errors::arm(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationTokenTenant",
                format!(
                    "The access token is from the wrong issuer. It must match the tenant associated with subscription '{sub}'."
                ),
            );
        }
        return errors::arm(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        );
    }
    // ARM's documented hourly read quota per subscription, with the remaining count reported.
    let per_hour = state.settings.lock().arm_reads_per_hour;
    let remaining = {
        let mut reads = state.arm_reads.lock();
        let key = tenant.subscription_id.clone();
        if let Err(retry_after) = reads.check(&key, std::time::Instant::now(), u32::MAX, per_hour) {
            let mut resp = errors::arm(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of 'read' requests for subscription '{key}' exceeded. Please try again after '{retry_after}' seconds."
                ),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            resp.headers_mut().insert(
                "x-ms-ratelimit-remaining-subscription-reads",
                HeaderValue::from(0u32),
            );
            return resp;
        }
        (per_hour as usize).saturating_sub(reads.used_in_hour(&key))
    };
    let arm = &tenant.arm;
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let expand_iv = params
        .get("$expand")
        .is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    let resp = match &l[2..] {
        [] => json!(subscription_json(tenant)),
        ["resourcegroups"] => {
            json!({"value": arm.resource_groups.iter().map(|g| rg_json(arm, g)).collect::<Vec<_>>()})
        }
        ["resourcegroups", _] => match arm
            .resource_groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(&segs[3]))
        {
            Some(g) => rg_json(arm, g),
            None => return rg_not_found(&segs[3]),
        },
        ["providers", "microsoft.compute", "virtualmachines"] => {
            json!({"value": arm.vms.iter().map(|v| vm_json(tenant, v, expand_iv)).collect::<Vec<_>>()})
        }
        ["providers", "microsoft.network", "networksecuritygroups"] => {
            json!({"value": arm.nsgs.iter().map(|n| nsg_json(arm, n)).collect::<Vec<_>>()})
        }
        ["providers", "microsoft.network", "networkinterfaces"] => {
            json!({"value": arm.vms.iter().map(|v| nic_json(tenant, v)).collect::<Vec<_>>()})
        }
        ["resourcegroups", _, "providers", rest @ ..] => {
            let rg_name = &segs[3];
            if !arm
                .resource_groups
                .iter()
                .any(|g| g.name.eq_ignore_ascii_case(rg_name))
            {
                return rg_not_found(rg_name);
            }
            match in_group(
                tenant,
                rg_name,
                rest,
                segs.get(6..).unwrap_or(&[]),
                expand_iv,
                &api_version,
            ) {
                Ok(v) => v,
                Err(r) => return r,
            }
        }
        _ => {
            return errors::arm(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!(
                    "No HTTP resource was found that matches the request URI '{}'.",
                    uri.path()
                ),
            );
        }
    };
    let mut resp = ok(&state, resp);
    resp.headers_mut().insert(
        "x-ms-ratelimit-remaining-subscription-reads",
        HeaderValue::from(remaining),
    );
    resp
}

/// Resources inside a resource group: `rest` is the lower-cased path after `providers/`
/// (namespace, type, name, ...), `names` the original segments from the type on.
fn in_group(
    tenant: &Tenant,
    rg: &str,
    rest: &[&str],
    names: &[String],
    expand_iv: bool,
    api_version: &str,
) -> Result<Value, Response> {
    let arm = &tenant.arm;
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let name = |i: usize| names.get(i).map(String::as_str).unwrap_or("");
    match rest {
        ["microsoft.compute", "virtualmachines"] => Ok(
            json!({"value": arm.vms.iter().filter(|v| same(&v.resource_group, rg)).map(|v| vm_json(tenant, v, expand_iv)).collect::<Vec<_>>()}),
        ),
        ["microsoft.compute", "virtualmachines", _, tail @ ..] => {
            let vm = arm
                .vms
                .iter()
                .find(|v| same(&v.resource_group, rg) && same(&v.name, name(1)))
                .ok_or_else(|| {
                    not_found_resource("Microsoft.Compute/virtualMachines", name(1), rg)
                })?;
            match tail {
                [] => Ok(vm_json(tenant, vm, expand_iv)),
                ["instanceview"] => Ok(instance_view(vm)),
                _ => Err(unknown_type(
                    "Microsoft.Compute",
                    &format!("virtualMachines/{}", name(2)),
                    api_version,
                )),
            }
        }
        ["microsoft.network", "networkinterfaces"] => Ok(
            json!({"value": arm.vms.iter().filter(|v| same(&v.resource_group, rg)).map(|v| nic_json(tenant, v)).collect::<Vec<_>>()}),
        ),
        ["microsoft.network", "networkinterfaces", _] => arm
            .vms
            .iter()
            .find(|v| same(&v.resource_group, rg) && same(&v.nic_name, name(1)))
            .map(|v| nic_json(tenant, v))
            .ok_or_else(|| not_found_resource("Microsoft.Network/networkInterfaces", name(1), rg)),
        ["microsoft.network", "networksecuritygroups"] => Ok(
            json!({"value": arm.nsgs.iter().filter(|n| same(&n.resource_group, rg)).map(|n| nsg_json(arm, n)).collect::<Vec<_>>()}),
        ),
        ["microsoft.network", "networksecuritygroups", _, tail @ ..] => {
            let nsg = arm
                .nsgs
                .iter()
                .find(|n| same(&n.resource_group, rg) && same(&n.name, name(1)))
                .ok_or_else(|| {
                    not_found_resource("Microsoft.Network/networkSecurityGroups", name(1), rg)
                })?;
            let base = nsg_id(arm, nsg);
            match tail {
                [] => Ok(nsg_json(arm, nsg)),
                ["securityrules"] => Ok(
                    json!({"value": nsg.rules.iter().map(|r| rule_json(&base, r, false)).collect::<Vec<_>>()}),
                ),
                ["securityrules", _] => nsg
                    .rules
                    .iter()
                    .find(|r| same(&r.name, name(3)))
                    .map(|r| rule_json(&base, r, false))
                    .ok_or_else(|| {
                        errors::arm(
                            StatusCode::NOT_FOUND,
                            "NotFound",
                            format!("Resource {base}/securityRules/{} not found.", name(3)),
                        )
                    }),
                ["defaultsecurityrules"] => Ok(
                    json!({"value": default_rules().iter().map(|r| rule_json(&base, r, true)).collect::<Vec<_>>()}),
                ),
                ["defaultsecurityrules", _] => default_rules()
                    .iter()
                    .find(|r| same(&r.name, name(3)))
                    .map(|r| rule_json(&base, r, true))
                    .ok_or_else(|| {
                        errors::arm(
                            StatusCode::NOT_FOUND,
                            "NotFound",
                            format!(
                                "Resource {base}/defaultSecurityRules/{} not found.",
                                name(3)
                            ),
                        )
                    }),
                _ => Err(unknown_type(
                    "Microsoft.Network",
                    &format!("networkSecurityGroups/{}", name(2)),
                    api_version,
                )),
            }
        }
        [ns, ty, ..] => Err(unknown_type(ns, ty, api_version)),
        _ => Err(errors::arm(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No HTTP resource was found that matches the request URI.",
        )),
    }
}

fn unknown_type(ns: &str, ty: &str, api_version: &str) -> Response {
    errors::arm(
        StatusCode::BAD_REQUEST,
        "InvalidResourceType",
        format!(
            "The resource type '{ty}' could not be found in the namespace '{ns}' for api version '{api_version}'."
        ),
    )
}

fn ok(_state: &AppState, body: Value) -> Response {
    let mut resp = json_response(StatusCode::OK, body);
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-ms-request-id", v.clone());
        resp.headers_mut().insert("x-ms-correlation-request-id", v);
    }
    resp
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn subscription_json(t: &Tenant) -> Value {
    json!({
        "id": format!("/subscriptions/{}", t.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": t.subscription_id,
        "tenantId": t.tenant_id,
        "displayName": format!("{} Production", t.display_name),
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

fn rg_id(arm: &Arm, rg: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/{rg}", arm.subscription_id)
}

fn rg_json(arm: &Arm, g: &crate::world::ResourceGroup) -> Value {
    let tags: serde_json::Map<String, Value> = g
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    json!({
        "id": rg_id(arm, &g.name),
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": tags,
        "properties": {"provisioningState": "Succeeded"},
    })
}

fn vm_id(arm: &Arm, v: &Vm) -> String {
    format!(
        "{}/providers/Microsoft.Compute/virtualMachines/{}",
        rg_id(arm, &v.resource_group),
        v.name
    )
}

fn nic_id(arm: &Arm, v: &Vm) -> String {
    format!(
        "{}/providers/Microsoft.Network/networkInterfaces/{}",
        rg_id(arm, &v.resource_group),
        v.nic_name
    )
}

fn nsg_id(arm: &Arm, n: &Nsg) -> String {
    format!(
        "{}/providers/Microsoft.Network/networkSecurityGroups/{}",
        rg_id(arm, &n.resource_group),
        n.name
    )
}

fn machine_of<'a>(t: &'a Tenant, v: &Vm) -> Option<&'a Machine> {
    v.machine_id.as_deref().and_then(|id| t.machine(id))
}

fn instance_view(v: &Vm) -> Value {
    let (code, display) = match v.power_state.as_str() {
        "running" => ("PowerState/running", "VM running"),
        "stopped" => ("PowerState/stopped", "VM stopped"),
        _ => ("PowerState/deallocated", "VM deallocated"),
    };
    json!({
        "computerName": v.name,
        "osName": if v.os_type == "Linux" { "ubuntu" } else { "Windows Server 2019 Datacenter" },
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
            {"code": code, "level": "Info", "displayStatus": display}
        ]
    })
}

fn vm_json(t: &Tenant, v: &Vm, expand_instance_view: bool) -> Value {
    let arm = &t.arm;
    let image = if v.os_type == "Linux" {
        json!({"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"})
    } else {
        json!({"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2019-Datacenter", "version": "latest"})
    };
    let computer_name = machine_of(t, v)
        .map(|m| m.short_name().to_string())
        .unwrap_or_else(|| v.name.clone());
    let mut props = json!({
        "vmId": v.vm_id,
        "hardwareProfile": {"vmSize": v.size},
        "storageProfile": {
            "imageReference": image,
            "osDisk": {"osType": v.os_type, "name": format!("{}_OsDisk_1", v.name), "createOption": "FromImage", "caching": "ReadWrite", "diskSizeGB": 128}
        },
        "osProfile": {"computerName": computer_name, "adminUsername": "azureadmin"},
        "networkProfile": {"networkInterfaces": [{"id": nic_id(arm, v)}]},
        "provisioningState": "Succeeded",
    });
    if expand_instance_view && let Some(o) = props.as_object_mut() {
        o.insert("instanceView".into(), instance_view(v));
    }
    json!({
        "id": vm_id(arm, v),
        "name": v.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": v.location,
        "tags": {"mdeMachineId": v.machine_id},
        "properties": props,
    })
}

fn nic_json(t: &Tenant, v: &Vm) -> Value {
    let arm = &t.arm;
    let ip = machine_of(t, v)
        .map(|m| m.last_ip_address.clone())
        .unwrap_or_else(|| "10.0.0.4".into());
    let mac = machine_of(t, v)
        .map(|m| m.mac_address.clone())
        .unwrap_or_default();
    let nsg = arm.nsgs.iter().find(|n| n.name == v.nsg_name);
    json!({
        "id": nic_id(arm, v),
        "name": v.nic_name,
        "type": "Microsoft.Network/networkInterfaces",
        "location": v.location,
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [{
                "id": format!("{}/ipConfigurations/ipconfig1", nic_id(arm, v)),
                "name": "ipconfig1",
                "properties": {
                    "privateIPAddress": ip,
                    "privateIPAllocationMethod": "Dynamic",
                    "primary": true,
                    "subnet": {"id": format!("{}/providers/Microsoft.Network/virtualNetworks/vnet-main/subnets/default", rg_id(arm, "rg-network"))}
                }
            }],
            "networkSecurityGroup": nsg.map(|n| json!({"id": nsg_id(arm, n)})),
            "virtualMachine": {"id": vm_id(arm, v)},
            "macAddress": mac,
            "primary": true,
        }
    })
}

fn nsg_json(arm: &Arm, n: &Nsg) -> Value {
    let base = nsg_id(arm, n);
    let nics: Vec<Value> = arm
        .vms
        .iter()
        .filter(|v| v.nsg_name == n.name)
        .map(|v| json!({"id": nic_id(arm, v)}))
        .collect();
    json!({
        "id": base,
        "name": n.name,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": n.location,
        "etag": n.etag,
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": n.resource_guid,
            "securityRules": n.rules.iter().map(|r| rule_json(&base, r, false)).collect::<Vec<_>>(),
            "defaultSecurityRules": default_rules().iter().map(|r| rule_json(&base, r, true)).collect::<Vec<_>>(),
            "networkInterfaces": nics,
        }
    })
}

fn rule_json(nsg_id: &str, r: &SecurityRule, default: bool) -> Value {
    let (seg, ty) = if default {
        (
            "defaultSecurityRules",
            "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
        )
    } else {
        (
            "securityRules",
            "Microsoft.Network/networkSecurityGroups/securityRules",
        )
    };
    json!({
        "name": r.name,
        "id": format!("{nsg_id}/{seg}/{}", r.name),
        "etag": r.etag,
        "type": ty,
        "properties": {
            "provisioningState": "Succeeded",
            "description": r.description,
            "protocol": r.protocol,
            "sourcePortRange": r.source_port_range,
            "destinationPortRange": r.destination_port_range,
            "sourceAddressPrefix": r.source_address_prefix,
            "destinationAddressPrefix": r.destination_address_prefix,
            "access": r.access,
            "priority": r.priority,
            "direction": r.direction,
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        }
    })
}

/// Azure's six default rules, present on every NSG.
fn default_rules() -> Vec<SecurityRule> {
    let r = |name: &str, priority, dir: &str, access: &str, src: &str, dst: &str, desc: &str| {
        SecurityRule {
            name: name.into(),
            priority,
            direction: dir.into(),
            access: access.into(),
            protocol: "*".into(),
            source_address_prefix: src.into(),
            destination_address_prefix: dst.into(),
            source_port_range: "*".into(),
            destination_port_range: "*".into(),
            description: desc.into(),
            etag: "W/\"00000000-0000-0000-0000-000000000000\"".into(),
        }
    };
    vec![
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
        r(
            "DenyAllInBound",
            65500,
            "Inbound",
            "Deny",
            "*",
            "*",
            "Deny all inbound traffic",
        ),
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
        r(
            "DenyAllOutBound",
            65500,
            "Outbound",
            "Deny",
            "*",
            "*",
            "Deny all outbound traffic",
        ),
    ]
}
