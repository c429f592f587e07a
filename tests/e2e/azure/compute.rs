//! Azure compute: VM power actions followed through ARM's long-running operations to the VM's
//! power state, and the forensic snapshot of the OS disk.

use super::{accepted, azure, resource, subscription};
use crate::common::*;
use serde_json::{Value, json};

/// A running VM of the prod group: (name, resource group, id).
async fn running_vm(h: &Harness, t: &str, skip: usize) -> (String, String, String) {
    let state = h.state(t).await;
    let vm = state["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["powerState"] == "running")
        .nth(skip)
        .expect("a running VM")
        .clone();
    let s = |k: &str| vm[k].as_str().unwrap().to_string();
    (s("name"), s("resourceGroup"), s("id"))
}

async fn power_state(h: &Harness, t: &str, id: &str) -> Value {
    let state = h.state(t).await;
    state["vms"].as_array().unwrap().iter().find(|v| v["id"] == id).expect("the VM")["powerState"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_then_start_follows_the_arm_operation_to_the_power_state() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, rg, id) = running_vm(&h, &t, 0).await;
    let target = json!({ "subscriptionId": sub, "resourceGroup": rg, "vmName": vm });

    let (status, op) = azure(&h, &t, "StopVM", target.clone()).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(power_state(&h, &t, &id).await, "stopped");

    let (_, op) = azure(&h, &t, "StartVM", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(power_state(&h, &t, &id).await, "running");

    let (_, op) = azure(&h, &t, "DeallocateVM", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(power_state(&h, &t, &id).await, "deallocated");
    let (_, op) = azure(&h, &t, "StartVM", target.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");

    for action in ["RestartVM", "RedeployVM"] {
        let (_, op) = azure(&h, &t, action, target.clone()).await;
        assert_eq!(op["status"], "Succeeded", "{action}: {op}");
        assert_eq!(power_state(&h, &t, &id).await, "running", "{action}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_power_action_ends_failed_with_the_arm_error() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, rg, id) = running_vm(&h, &t, 1).await;
    h.sandbox_admin(&format!("arm/{t}/outcomes"), json!({ "status": "Failed", "code": "AllocationFailed" })).await;
    let (_, op) = azure(&h, &t, "StopVM", json!({ "subscriptionId": sub, "resourceGroup": rg, "vmName": vm })).await;
    assert_eq!(op["status"], "Failed", "{op}");
    assert!(op.to_string().contains("AllocationFailed"), "the ARM error is carried: {op}");
    assert_eq!(power_state(&h, &t, &id).await, "running", "a failed powerOff leaves the VM running");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_copies_the_os_disk_tagged_with_the_operation() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, rg, _) = running_vm(&h, &t, 0).await;
    let (status, op) =
        azure(&h, &t, "TakeVMSnapshot", json!({ "subscriptionId": sub, "resourceGroup": rg, "vmName": vm })).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    let snapshot_id = accepted(&op)["snapshotId"].as_str().unwrap_or_else(|| panic!("a snapshot id: {op}")).to_string();
    let snap = resource(&h, &t, &snapshot_id).await.expect("the snapshot exists");
    assert_eq!(snap["type"], "Microsoft.Compute/snapshots");
    assert_eq!(snap["properties"]["creationData"]["createOption"], "Copy");
    assert!(snap["properties"]["creationData"]["sourceResourceId"].as_str().unwrap().contains("_OsDisk_1"));
    assert_eq!(snap["tags"]["riposteOperation"], op["id"], "tagged with the operation");

    let (status, body) =
        azure(&h, &t, "TakeVMSnapshot", json!({ "subscriptionId": sub, "resourceGroup": rg, "vmName": "no-such-vm" }))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("vmName"), "names the field: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_list_groups_and_machines() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (_, rg, _) = running_vm(&h, &t, 0).await;
    let (_, op) = azure(&h, &t, "GetResourceGroups", json!({ "subscriptionId": sub })).await;
    assert!(op["result"]["value"].as_array().unwrap().iter().any(|g| g["name"] == "rg-network"), "{op}");
    let (_, op) = azure(&h, &t, "GetVMs", json!({ "subscriptionId": sub, "resourceGroup": rg })).await;
    let in_group = op["result"]["value"].as_array().unwrap().len();
    let (_, op) = azure(&h, &t, "GetVirtualMachines", json!({ "subscriptionId": sub })).await;
    let all = op["result"]["value"].as_array().unwrap().len();
    assert!(in_group > 0 && all > in_group, "{in_group} in {rg}, {all} in the subscription");
}

#[tokio::test(flavor = "multi_thread")]
async fn arc_run_command_runs_and_disconnect_deletes_the_machine() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let machine =
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "machineName": "arc-onprem-web01" });
    let mut run = machine.clone();
    merge(&mut run, json!({ "script": "Get-Service WinDefend" }));
    let (status, op) = azure(&h, &t, "RunArcCommand", run).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    let id = accepted(&op)["runCommandId"].as_str().unwrap_or_else(|| panic!("{op}")).to_string();
    let cmd = resource(&h, &t, &id).await.expect("the run command resource");
    assert_eq!(cmd["properties"]["source"]["script"], "Get-Service WinDefend");
    assert_eq!(cmd["properties"]["instanceView"]["executionState"], "Succeeded");
    assert_eq!(cmd["tags"]["riposteOperation"], op["id"]);

    let (status, body) = azure(&h, &t, "IsolateArcServer", machine.clone()).await;
    assert_eq!(status, 501, "{body}");
    assert!(body.to_string().contains("IsolateDevice"), "names the nearest action: {body}");

    let arc_id = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.HybridCompute/machines/arc-onprem-web01"
    );
    assert!(resource(&h, &t, &arc_id).await.is_some());
    let (_, op) = azure(&h, &t, "DisconnectArcServer", machine.clone()).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert!(resource(&h, &t, &arc_id).await.is_none(), "the Arc resource is gone");
    let mut again = machine.clone();
    merge(&mut again, json!({ "script": "hostname" }));
    let (status, body) = azure(&h, &t, "RunArcCommand", again).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("machineName"), "{body}");
}

/// Without Contributor the app gets ARM's 403 `AuthorizationFailed` for a VM action and an NSG
/// rule, and nothing changes; Reader still lists the VMs.
#[tokio::test(flavor = "multi_thread")]
async fn without_contributor_writes_are_arms_authorization_failed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let (vm, rg, id) = running_vm(&h, &t, 0).await;
    let creds = h.engine.tenants().get(&t).expect("a configured tenant");
    // The seeded assignments are Reader (1), Contributor (2), Security Admin (3), User Access
    // Administrator (4): take Contributor away.
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/5a5e0000-0000-4000-8000-000000000002"
    );
    let req = upstream::ApiRequest::new(upstream::Api::Arm, upstream::Method::Delete, path)
        .with_query("api-version", "2022-04-01");
    assert_eq!(h.engine.upstream().call(creds, req).await.expect("UAA removes roles").status, 200);

    let (status, body) =
        azure(&h, &t, "StopVM", json!({ "subscriptionId": sub, "resourceGroup": rg, "vmName": vm })).await;
    assert_eq!(body["error"]["code"], "AuthorizationFailed", "{status}: {body}");
    assert_eq!(power_state(&h, &t, &id).await, "running", "nothing changed");
    let (status, body) = azure(
        &h,
        &t,
        "AddNSGDenyRule",
        json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "nsgName": "nsg-prod-servers", "sourceIp": "203.0.113.9" }),
    )
    .await;
    assert!(body.to_string().contains("AuthorizationFailed"), "{status}: {body}");
    let (_, op) = azure(&h, &t, "GetVMs", json!({ "subscriptionId": sub, "resourceGroup": rg })).await;
    assert_eq!(op["status"], "Succeeded", "Reader still reads: {op}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_is_deleted_through_the_cluster_run_command() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let cluster = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.ContainerService/managedClusters/aks-prod"
    );
    let pod = format!("{cluster}/sandboxPods/default.crypto-miner-5f6c7d8e9-zz9yy");
    assert!(resource(&h, &t, &pod).await.is_some(), "the seeded pod runs");
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "clusterName": "aks-prod",
                         "namespace": "default", "podName": "crypto-miner-5f6c7d8e9-zz9yy" });
    let (status, op) = azure(&h, &t, "DeletePod", params.clone()).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(op["result"]["exitCode"], 0, "{op}");
    assert!(resource(&h, &t, &pod).await.is_none(), "the pod is gone");
    assert!(resource(&h, &t, &format!("{cluster}/sandboxPods/default.web-frontend-7d9f8b6c5-x2x4q")).await.is_some());

    let (status, body) = azure(&h, &t, "DeletePod", params).await;
    assert_eq!(status, 400, "a pod kubectl cannot find: {body}");
    assert!(body.to_string().contains("podName"), "{body}");
    let (status, body) =
        azure(&h, &t, "RestartAKSNode", json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers" })).await;
    assert_eq!(status, 501, "{body}");
    let (status, body) =
        azure(&h, &t, "QuarantineContainerImage", json!({ "registryName": "acrprod", "imageName": "miner" })).await;
    assert_eq!(status, 501, "{body}");
    assert!(body.to_string().contains("DeletePod"), "names the nearest action: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn adaptive_network_hardening_is_enforced_on_the_vm_nsg() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let sub = subscription(&h, &t).await;
    let state = h.state(&t).await;
    let vm = state["vms"].as_array().unwrap().iter().find(|v| v["resourceGroup"] == "rg-prod-servers").unwrap().clone();
    let params = json!({ "subscriptionId": sub, "resourceGroup": "rg-prod-servers", "vmName": vm["name"] });
    let (status, op) = azure(&h, &t, "EnableAdaptiveNetworkHardening", params).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["status"], "Succeeded", "{op}");
    let nsg = format!(
        "/subscriptions/{sub}/resourceGroups/rg-prod-servers/providers/Microsoft.Network/networkSecurityGroups/nsg-prod-servers"
    );
    let allow =
        resource(&h, &t, &format!("{nsg}/securityRules/ANH_AllowHttpsInbound_Allow")).await.expect("the allow rule");
    let deny =
        resource(&h, &t, &format!("{nsg}/securityRules/ANH_AllowHttpsInbound_Deny")).await.expect("the deny rule");
    assert_eq!(allow["properties"]["sourceAddressPrefixes"], json!(["10.0.0.0/8"]));
    assert_eq!(
        (deny["properties"]["access"].as_str(), deny["properties"]["destinationPortRange"].as_str()),
        (Some("Deny"), Some("443"))
    );
    assert!(allow["properties"]["priority"].as_u64() < deny["properties"]["priority"].as_u64(), "allow before deny");
    assert!(deny["properties"]["priority"].as_u64().unwrap() < 200, "both before the wide rule at 200");
}
