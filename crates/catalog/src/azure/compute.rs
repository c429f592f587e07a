//! Azure compute containment (upstream-apis.md §5.4): virtual machine power actions and
//! forensic snapshots (Microsoft.Compute), Arc machines, AKS and App Service.
//!
//! VM power actions are ARM long-running operations: 202 with `Azure-AsyncOperation` and
//! `Location`, followed by the engine to `Succeeded`/`Failed`/`Canceled` (completion
//! `arm_operation`). `powerOff` stops the guest but keeps the VM allocated (still billed, same
//! host, same dynamic IPs); `deallocate` also releases the compute. `StartVM` undoes either; the
//! catalog pairs it with `StopVM` (one inverse per action).
//!
//! API versions: Compute `2024-07-01` (virtual machines), `2024-03-02` (disks and snapshots),
//! Resources `2021-04-01`, Network `2024-05-01`.
use super::{RESOURCE_GROUP, SUBSCRIPTION, arm_name};
use crate::*;

const VM_NAME: ParamSpec = arm_name("vmName", &["virtualMachineName", "vm"], "Virtual machine name");
const VM_PARAMS: &[ParamSpec] = &[SUBSCRIPTION, RESOURCE_GROUP, VM_NAME];

/// What a VM power action needs in Azure RBAC (Virtual Machine Contributor has them all).
const VM_ACTION_PERMISSION: &str =
    "Azure RBAC: Microsoft.Compute/virtualMachines/*/action (Virtual Machine Contributor)";
const READER: &str = "Azure RBAC: Reader";

/// One power action on a VM: `POST .../virtualMachines/{vmName}/{action}`, an ARM long-running
/// operation.
const fn vm_action(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    inverse: Option<&'static str>,
    risk: Risk,
    path: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases,
        params: VM_PARAMS,
        risk,
        inverse,
        permission: VM_ACTION_PERMISSION,
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Arm, Method::Post, path)),
    }
}

const ARC_MACHINE: ParamSpec = arm_name("machineName", &["arcMachineName", "serverName"], "Azure Arc machine name");
const APP_NAME: ParamSpec = arm_name("appName", &["siteName", "webAppName"], "App Service app (site) name");
const APP_PARAMS: &[ParamSpec] = &[SUBSCRIPTION, RESOURCE_GROUP, APP_NAME];
const APP_PERMISSION: &str = "Azure RBAC: Microsoft.Web/sites/* (Website Contributor)";

/// An App Service site action: `POST .../sites/{appName}/{action}`, answered 200 when done.
const fn web_action(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    inverse: Option<&'static str>,
    risk: Risk,
    path: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases,
        params: APP_PARAMS,
        risk,
        inverse,
        permission: APP_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Arm, Method::Post, path)),
    }
}

const fn read(
    name: &'static str,
    summary: &'static str,
    params: &'static [ParamSpec],
    path: &'static str,
) -> ActionSpec {
    ActionSpec::read(Product::Azure, name, summary, &[], params, READER, Call::new(Api::Arm, Method::Get, path))
}

pub static ACTIONS: &[ActionSpec] = &[
    vm_action(
        "StopVM",
        "Power off a VM (powerOff): the guest stops, the VM stays allocated",
        &["PowerOffVM", "StopVirtualMachine"],
        Some("StartVM"),
        Risk::Contain,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines/{vmName}/powerOff?api-version=2024-07-01",
    ),
    vm_action(
        "StartVM",
        "Start a stopped or deallocated VM",
        &["StartVirtualMachine"],
        Some("StopVM"),
        Risk::Contain,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines/{vmName}/start?api-version=2024-07-01",
    ),
    vm_action(
        "DeallocateVM",
        "Stop a VM and release its compute (deallocate); StartVM brings it back",
        &["DeallocateVirtualMachine"],
        None,
        Risk::Contain,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines/{vmName}/deallocate?api-version=2024-07-01",
    ),
    vm_action(
        "RestartVM",
        "Restart a VM (guest reboot)",
        &["RestartVirtualMachine", "RebootVM"],
        None,
        Risk::Remediate,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines/{vmName}/restart?api-version=2024-07-01",
    ),
    vm_action(
        "RedeployVM",
        "Move a VM to a new Azure host and start it (redeploy)",
        &["RedeployVirtualMachine"],
        None,
        Risk::Remediate,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines/{vmName}/redeploy?api-version=2024-07-01",
    ),
    ActionSpec {
        product: Product::Azure,
        name: "TakeVMSnapshot",
        summary: "Snapshot a VM's OS disk for forensics (full copy), named and tagged with the operation",
        aliases: &["SnapshotVM", "SnapshotVMDisk"],
        params: &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            VM_NAME,
            ParamSpec {
                name: "snapshotName",
                aliases: &[],
                kind: ParamKind::ArmName,
                required: false,
                default: None,
                doc: "Snapshot name (default {vmName}-osdisk-{operation}, stable across retries)",
            },
        ],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Azure RBAC: Microsoft.Compute/virtualMachines/read, Microsoft.Compute/disks/beginGetAccess/action, Microsoft.Compute/snapshots/write (Disk Snapshot Contributor + Reader)",
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.snapshot_os_disk")),
    },
    web_action(
        "StopAppService",
        "Stop an App Service app (it answers 403 Site Disabled until started)",
        &["StopWebApp"],
        Some("StartAppService"),
        Risk::Contain,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Web/sites/{appName}/stop?api-version=2023-12-01",
    ),
    web_action(
        "StartAppService",
        "Start a stopped App Service app",
        &["StartWebApp"],
        Some("StopAppService"),
        Risk::Contain,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Web/sites/{appName}/start?api-version=2023-12-01",
    ),
    web_action(
        "RestartAppService",
        "Restart an App Service app (new worker processes; in-memory state and sessions are dropped)",
        &["RestartWebApp"],
        None,
        Risk::Remediate,
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Web/sites/{appName}/restart?api-version=2023-12-01",
    ),
    ActionSpec {
        product: Product::Azure,
        name: "DisableAppServiceAuth",
        summary: "Turn App Service authentication off (platform.enabled = false): the app's own code then decides who gets in; other settings are kept",
        aliases: &["DisableEasyAuth"],
        params: APP_PARAMS,
        risk: Risk::Remediate,
        inverse: Some("EnableAppServiceAuth"),
        permission: APP_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.disable_app_service_auth")),
    },
    ActionSpec {
        product: Product::Azure,
        name: "EnableAppServiceAuth",
        summary: "Turn App Service authentication on (platform.enabled = true), with the identity providers already configured",
        aliases: &["EnableEasyAuth"],
        params: APP_PARAMS,
        risk: Risk::Contain,
        inverse: Some("DisableAppServiceAuth"),
        permission: APP_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.enable_app_service_auth")),
    },
    ActionSpec {
        product: Product::Azure,
        name: "RunArcCommand",
        summary: "Run a script on an Azure Arc-enabled server (machines/runCommands), followed to its exit code and output",
        aliases: &["InvokeArcCommand", "RunArcScript"],
        params: &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            ARC_MACHINE,
            ParamSpec {
                name: "script",
                aliases: &["command", "scriptContent"],
                kind: ParamKind::Text { max: 65_536 },
                required: true,
                default: None,
                doc: "Script text (PowerShell on Windows, shell on Linux)",
            },
            ParamSpec {
                name: "runCommandName",
                aliases: &[],
                kind: ParamKind::ArmName,
                required: false,
                default: None,
                doc: "Run command resource name (default riposte-{operation}, stable across retries)",
            },
            ParamSpec {
                name: "timeout",
                aliases: &["timeoutInSeconds"],
                kind: ParamKind::Int { min: 60, max: 5400 },
                required: false,
                default: Some("3600"),
                doc: "Seconds the script may run",
            },
        ],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Azure RBAC: Microsoft.HybridCompute/machines/runCommands/write (Azure Connected Machine Resource Administrator)",
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.run_arc_command")),
    },
    ActionSpec {
        product: Product::Azure,
        name: "DisconnectArcServer",
        summary: "Delete a server's Azure Arc resource: it loses its Azure identity, extensions (MDE onboarded through Arc included) and policy; the agent stays installed until `azcmagent disconnect`, and only re-onboarding brings it back",
        aliases: &["DeleteArcServer", "RemoveArcServer"],
        params: &[SUBSCRIPTION, RESOURCE_GROUP, ARC_MACHINE],
        risk: Risk::Destructive,
        inverse: None,
        permission: "Azure RBAC: Microsoft.HybridCompute/machines/delete (Azure Connected Machine Resource Administrator)",
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(
            Api::Arm,
            Method::Delete,
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.HybridCompute/machines/{machineName}?api-version=2024-07-10",
        )),
    },
    ActionSpec {
        product: Product::Azure,
        name: "IsolateArcServer",
        summary: "Not offered: Azure Arc has no network-isolation API",
        aliases: &[],
        params: &[SUBSCRIPTION, RESOURCE_GROUP, ARC_MACHINE],
        risk: Risk::Contain,
        inverse: None,
        permission: "n/a",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "Azure Arc has no network-isolation API. A firewall pushed by run command (the seed's iptables/New-NetFirewallRule) also cuts the Connected Machine agent's own channel to Azure, so no run command could ever release the server, and tags change nothing on the machine. Isolate the server's Defender for Endpoint device instead (MDE keeps its own channel open while isolated).",
            nearest: Some("IsolateDevice"),
        },
    },
    ActionSpec {
        product: Product::Azure,
        name: "DeletePod",
        summary: "Force-delete a pod in an AKS cluster (kubectl through the cluster's runCommand); its controller, if any, re-creates it",
        aliases: &["DeleteAKSPod", "KillPod"],
        params: &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            arm_name("clusterName", &["aksClusterName", "cluster"], "AKS cluster name"),
            ParamSpec {
                name: "namespace",
                aliases: &["podNamespace"],
                kind: ParamKind::Text { max: 63 },
                required: true,
                default: None,
                doc: "Kubernetes namespace",
            },
            ParamSpec {
                name: "podName",
                aliases: &["pod"],
                kind: ParamKind::Text { max: 253 },
                required: true,
                default: None,
                doc: "Pod name",
            },
        ],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Azure RBAC: Microsoft.ContainerService/managedClusters/runCommand/action (Azure Kubernetes Service Cluster Admin/User) plus Kubernetes RBAC to delete pods",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.delete_pod")),
    },
    ActionSpec {
        product: Product::Azure,
        name: "RestartAKSNode",
        summary: "Not offered: AKS has no API that restarts one node",
        aliases: &[],
        params: &[SUBSCRIPTION, RESOURCE_GROUP],
        risk: Risk::Remediate,
        inverse: None,
        permission: "n/a",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "AKS (managedClusters) has no per-node restart. A node is a VM scale set instance in the cluster's node resource group (MC_...), restarted there with POST .../virtualMachineScaleSets/{vmss}/virtualmachines/{instanceId}/restart, which Riposte does not map node names to; the seed only cordoned and drained the node, which is not a restart. Delete the offending pods instead.",
            nearest: Some("DeletePod"),
        },
    },
    ActionSpec {
        product: Product::Azure,
        name: "QuarantineContainerImage",
        summary: "Not offered: no ARM API quarantines an existing container image",
        aliases: &[],
        params: &[],
        risk: Risk::Contain,
        inverse: None,
        permission: "n/a",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Unsupported {
            reason: "Azure Container Registry's quarantine is a registry-wide preview policy that holds newly pushed images until a scanner releases them; no ARM API quarantines an image already in the registry (the seed's `_tags` PATCH with quarantineState is not a documented ACR API). Locking a tag (readEnabled=false) is an ACR data-plane call behind ACR's own token exchange, which Riposte does not make. Delete the pods running the image instead.",
            nearest: Some("DeletePod"),
        },
    },
    ActionSpec {
        product: Product::Azure,
        name: "EnableAdaptiveNetworkHardening",
        summary: "Enforce Defender for Cloud's adaptive network hardening recommendation on a VM's NSGs (allow the recommended sources, deny the rest on each port)",
        aliases: &["EnforceAdaptiveNetworkHardening"],
        params: VM_PARAMS,
        risk: Risk::Contain,
        inverse: None,
        permission: "Azure RBAC: Microsoft.Security/adaptiveNetworkHardenings/enforce/action, Microsoft.Network/networkSecurityGroups/write (Security Admin + Network Contributor)",
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.compute.enforce_network_hardening")),
    },
    read(
        "GetVMs",
        "List the virtual machines of a resource group",
        &[SUBSCRIPTION, RESOURCE_GROUP],
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01",
    ),
    read(
        "GetVirtualMachines",
        "List every virtual machine of a subscription",
        &[SUBSCRIPTION],
        "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01",
    ),
    read(
        "GetResourceGroups",
        "List a subscription's resource groups",
        &[SUBSCRIPTION],
        "/subscriptions/{subscriptionId}/resourcegroups?api-version=2021-04-01",
    ),
];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
