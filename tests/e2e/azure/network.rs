//! Azure network containment: NSG deny rules, the isolation NSG and public IPs, asserted in the
//! sandbox's ARM store.

use super::{accepted, azure, resource, subscription};
use crate::common::*;
use serde_json::{Value, json};

/// The security rules of an NSG in the sandbox's store: (name, priority, direction, properties).
async fn rules(h: &Harness, t: &str, nsg: &str) -> Vec<(String, i64, String, Value)> {
    let state = h.state(t).await;
    let prefix = format!("/networkSecurityGroups/{nsg}/securityRules/").to_ascii_lowercase();
    state["arm"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"].as_str().unwrap().to_ascii_lowercase().contains(&prefix))
        .map(|r| {
            let p = &r["properties"];
            let name = r["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            (name, p["priority"].as_i64().unwrap(), p["direction"].as_str().unwrap().to_string(), p.clone())
        })
        .collect()
}

fn target(sub: &str, extra: Value) -> Value {
    let mut v = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "nsgName": "nsg-prod-servers" });
    merge(&mut v, extra);
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deny_rule_takes_the_lowest_free_priority_repeats_idempotently_and_is_removed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let block = target(&sub, json!({ "sourceIp": "203.0.113.7", "protocol": "tcp", "ports": "22,3389" }));
    let (status, op) = azure(&h, &t, "AddNSGDenyRule", block.clone()).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    let after = rules(&h, &t, "nsg-prod-servers").await;
    let inbound = after.iter().find(|r| r.0 == "riposte-deny-in-203.0.113.7").expect("the inbound rule");
    // Seeded inbound priorities are 100, 110, 200 and 4000: the lowest free one is 101, before
    // the allow rules at 110 and 200.
    assert_eq!((inbound.1, inbound.2.as_str()), (101, "Inbound"));
    assert_eq!(inbound.3["access"], "Deny");
    assert_eq!(inbound.3["protocol"], "Tcp");
    assert_eq!(inbound.3["sourceAddressPrefix"], "203.0.113.7");
    assert_eq!(inbound.3["destinationPortRanges"], json!(["22", "3389"]));
    let outbound = after.iter().find(|r| r.0 == "riposte-deny-out-203.0.113.7").expect("the outbound rule");
    assert_eq!((outbound.1, outbound.3["destinationAddressPrefix"].clone()), (100, json!("203.0.113.7")));

    let (_, again) = azure(&h, &t, "AddNSGDenyRule", block.clone()).await;
    assert_eq!(again["status"], "Succeeded", "{again}");
    assert_eq!(accepted(&again)["rules"][0]["created"], false, "{again}");
    assert_eq!(rules(&h, &t, "nsg-prod-servers").await.len(), after.len(), "no second rule for the same address");

    let (_, removed) = azure(&h, &t, "RemoveNSGDenyRule", target(&sub, json!({ "sourceIp": "203.0.113.7" }))).await;
    assert_eq!(removed["status"], "Succeeded", "{removed}");
    let left = rules(&h, &t, "nsg-prod-servers").await;
    assert!(left.iter().all(|r| !r.0.starts_with("riposte-deny-")), "{left:?}");
    assert_eq!(left.len(), after.len() - 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_blocks_on_one_nsg_both_land_with_different_priorities() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let block = |ip: &str| target(&sub, json!({ "sourceIp": ip, "direction": "Inbound" }));
    let (a, b) = tokio::join!(
        azure(&h, &t, "AddNSGDenyRule", block("198.51.100.0/24")),
        azure(&h, &t, "AddNSGDenyRule", block("192.0.2.99"))
    );
    assert_eq!(a.1["status"], "Succeeded", "{}", a.1);
    assert_eq!(b.1["status"], "Succeeded", "{}", b.1);
    let after = rules(&h, &t, "nsg-prod-servers").await;
    let p = |name: &str| after.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("{name}: {after:?}")).1;
    let (pa, pb) = (p("riposte-deny-in-198.51.100.0_24"), p("riposte-deny-in-192.0.2.99"));
    assert_ne!(pa, pb);
    assert!([pa, pb].contains(&101) && [pa, pb].contains(&102), "{pa} {pb}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_blocks_are_400s_naming_the_field() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    for (extra, field) in [
        (json!({ "sourceIp": "198.51.100.7/24" }), "sourceIp"),
        (json!({ "sourceIp": "not-an-ip" }), "sourceIp"),
        (json!({ "sourceIp": "203.0.113.7", "ports": "70000" }), "ports"),
        (json!({ "sourceIp": "203.0.113.7", "nsgName": "nsg-does-not-exist" }), "nsgName"),
        (json!({ "sourceIp": "203.0.113.7", "resourceGroup": "bad/group" }), "resourceGroup"),
    ] {
        let (status, body) = azure(&h, &t, "AddNSGDenyRule", target(&sub, extra.clone())).await;
        assert_eq!(status, 400, "{extra}: {body}");
        assert!(body.to_string().contains(field), "{extra} names {field}: {body}");
    }
}

/// A prod VM (prod VMs have a public IP): (name, NIC id).
async fn prod_vm(h: &Harness, t: &str) -> (String, String) {
    let state = h.state(t).await;
    let vm = state["vms"].as_array().unwrap().iter().find(|v| v["resourceGroup"] == "rg-prod-servers").unwrap();
    let name = vm["name"].as_str().unwrap().to_string();
    let nic = vm["id"]
        .as_str()
        .unwrap()
        .replace("Microsoft.Compute/virtualMachines/", "Microsoft.Network/networkInterfaces/");
    (name.clone(), format!("{nic}-nic"))
}

#[tokio::test(flavor = "multi_thread")]
async fn isolation_moves_the_nic_to_a_deny_all_nsg_and_back() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, nic) = prod_vm(&h, &t).await;
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "vmName": vm,
                         "managementPrefix": "10.20.0.0/16" });
    let (status, op) = azure(&h, &t, "ApplyIsolationNSG", params.clone()).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    let n = resource(&h, &t, &nic).await.unwrap();
    let on = n["properties"]["networkSecurityGroup"]["id"].as_str().unwrap().to_string();
    assert!(on.ends_with(&format!("/networkSecurityGroups/riposte-isolation-{vm}")), "{on}");
    assert_eq!(n["tags"]["riposte-previous-nsg"], "rg-prod-servers/nsg-prod-servers");
    let iso = rules(&h, &t, &format!("riposte-isolation-{vm}")).await;
    let deny_in = iso.iter().find(|r| r.0 == "riposte-deny-all-in").expect("deny all inbound");
    assert_eq!((deny_in.3["access"].as_str(), deny_in.3["sourceAddressPrefix"].as_str()), (Some("Deny"), Some("*")));
    assert!(iso.iter().any(|r| r.0 == "riposte-deny-all-out" && r.2 == "Outbound"));
    let mgmt = iso.iter().find(|r| r.0 == "riposte-allow-management-in").expect("the allow-list");
    assert_eq!((mgmt.1, mgmt.3["sourceAddressPrefix"].as_str()), (100, Some("10.20.0.0/16")));

    let (_, again) = azure(&h, &t, "ApplyIsolationNSG", params.clone()).await;
    assert_eq!(again["status"], "Succeeded", "{again}");
    let n = resource(&h, &t, &nic).await.unwrap();
    assert_eq!(n["tags"]["riposte-previous-nsg"], "rg-prod-servers/nsg-prod-servers", "the first NSG stays remembered");

    let (_, undo) = azure(
        &h,
        &t,
        "RemoveIsolationNSG",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "vmName": vm }),
    )
    .await;
    assert_eq!(undo["status"], "Succeeded", "{undo}");
    let n = resource(&h, &t, &nic).await.unwrap();
    assert!(
        n["properties"]["networkSecurityGroup"]["id"]
            .as_str()
            .unwrap()
            .ends_with("/networkSecurityGroups/nsg-prod-servers")
    );
    assert!(n["tags"].get("riposte-previous-nsg").is_none(), "{n}");
    assert!(rules(&h, &t, &format!("riposte-isolation-{vm}")).await.is_empty(), "the isolation NSG is deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_ip_is_detached_and_reattached() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, nic) = prod_vm(&h, &t).await;
    let pip_id = format!("{}-pip", nic.replace("networkInterfaces", "publicIPAddresses").trim_end_matches("-nic"));
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "vmName": vm });
    let public_ip = |n: &Value| n["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"].clone();

    let (_, op) = azure(&h, &t, "RemoveVMPublicIP", params.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let n = resource(&h, &t, &nic).await.unwrap();
    assert_eq!(public_ip(&n), Value::Null, "detached: {n}");
    let pip = resource(&h, &t, &pip_id).await.expect("the address is kept");
    assert!(pip["properties"].get("ipConfiguration").is_none(), "{pip}");

    let (_, op) = azure(&h, &t, "RestoreVMPublicIP", params.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let n = resource(&h, &t, &nic).await.unwrap();
    assert!(public_ip(&n).as_str().unwrap().eq_ignore_ascii_case(&pip_id), "{n}");
    let pip = resource(&h, &t, &pip_id).await.unwrap();
    assert!(pip["properties"]["ipConfiguration"]["id"].as_str().unwrap().contains("/ipConfigurations/ipconfig1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn network_security_groups_are_listed_with_their_rules() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (_, op) =
        azure(&h, &t, "GetNetworkSecurityGroups", json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers" }))
            .await;
    let nsgs = op["result"]["value"].as_array().unwrap_or_else(|| panic!("{op}"));
    assert_eq!(nsgs[0]["name"], "nsg-prod-servers");
    assert!(nsgs[0]["properties"]["securityRules"].as_array().unwrap().len() >= 3);
}

/// An existing isolation NSG named by its full id (here another group's) or by its name in the
/// VM's group; what is neither, or names no NSG, is a 400 naming `isolationNsgId`.
#[tokio::test(flavor = "multi_thread")]
async fn isolation_on_a_named_nsg_by_id_or_name_and_bad_names_are_refused() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let state = h.state(&t).await;
    let vm = state["vms"].as_array().unwrap().iter().find(|v| v["resourceGroup"] == "rg-dev-servers").unwrap();
    let name = vm["name"].as_str().unwrap().to_string();
    let nic = format!(
        "{}-nic",
        vm["id"]
            .as_str()
            .unwrap()
            .replace("Microsoft.Compute/virtualMachines/", "Microsoft.Network/networkInterfaces/")
    );
    let with = |nsg: &str| json!({ "subscriptionId": sub, "resourceGroup": "rg-dev-servers", "vmName": name, "isolationNsgId": nsg });
    let nsg_of = |n: &Value| n["properties"]["networkSecurityGroup"]["id"].as_str().unwrap().to_ascii_lowercase();

    for bad in [
        "nsg-dmz".to_string(), // an NSG, but in rg-network, not the VM's group
        format!("/subscriptions/{sub}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub"),
        "nsg isolation!".to_string(),
    ] {
        let (status, body) = azure(&h, &t, "ApplyIsolationNSG", with(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.to_string().contains("isolationNsgId"), "{body}");
        assert!(nsg_of(&resource(&h, &t, &nic).await.unwrap()).ends_with("/nsg-dev-servers"), "unchanged");
    }

    let prod_nsg = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Network/networkSecurityGroups/nsg-prod-servers"
    );
    let (_, op) = azure(&h, &t, "ApplyIsolationNSG", with(&prod_nsg)).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let n = resource(&h, &t, &nic).await.unwrap();
    assert_eq!(nsg_of(&n), prod_nsg.to_ascii_lowercase());
    assert_eq!(n["tags"]["riposte-previous-nsg"], "rg-dev-servers/nsg-dev-servers");
    let undo = json!({ "subscriptionId": sub, "resourceGroup": "rg-dev-servers", "vmName": name });
    let (_, op) = azure(&h, &t, "RemoveIsolationNSG", undo.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(nsg_of(&resource(&h, &t, &nic).await.unwrap()).ends_with("/nsg-dev-servers"));
    assert!(resource(&h, &t, &prod_nsg).await.is_some(), "a caller's NSG is never deleted");

    // By name, in the VM's own group.
    let (_, op) = azure(&h, &t, "ApplyIsolationNSG", with("nsg-dev-servers")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(
        nsg_of(&resource(&h, &t, &nic).await.unwrap()).ends_with(
            "/resourcegroups/rg-dev-servers/providers/microsoft.network/networksecuritygroups/nsg-dev-servers"
        )
    );
}
