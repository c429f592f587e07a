//! Azure compute procedures: the forensic OS-disk snapshot (upstream-apis.md §5.4).

use super::arm::resource_path;
use super::steps::{self as arm, COMPUTE, DISKS};
use super::steps::{AKS, HYBRID};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::ParamError;
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};

/// `TakeVMSnapshot`: read the VM for its OS disk and location, then PUT a full-copy snapshot of
/// the disk (`creationData.createOption: Copy`). The default name carries the operation id, so
/// a re-run of the same operation (after a restart) writes the same snapshot, never a second
/// one; the tags say which operation took it and from which VM.
pub struct SnapshotOsDisk {
    sub: String,
    rg: String,
    vm: String,
    name: Option<String>,
}

impl TryFrom<&Params> for SnapshotOsDisk {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(SnapshotOsDisk {
            sub: a.text("subscriptionId")?,
            rg: a.text("resourceGroup")?,
            vm: a.text("vmName")?,
            name: a.opt_text("snapshotName")?,
        })
    }
}

impl Procedure for SnapshotOsDisk {
    const ID: ProcedureId = ProcedureId("azure.compute.snapshot_os_disk");
    const READS: &'static [Read] =
        &[required("subscriptionId"), required("resourceGroup"), required("vmName"), optional("snapshotName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let vm_path = resource_path(&self.sub, &self.rg, "Microsoft.Compute/virtualMachines", &self.vm);
        let vm = arm::get_named(ctx, &vm_path, COMPUTE, "vmName").await?;
        let disk = vm.pointer("/properties/storageProfile/osDisk/managedDisk/id").and_then(Value::as_str);
        let Some(disk) = disk.map(str::to_owned) else {
            return Err(EngineError::UpstreamFailed {
                status: 409,
                code: "NoManagedOsDisk".into(),
                message: format!("VM {} has no managed OS disk to snapshot", self.vm),
                request_id: None,
            });
        };
        let location = vm.get("location").cloned().unwrap_or(Value::Null);
        let short_op = ctx.operation.simple().to_string();
        let name = self.name.unwrap_or_else(|| format!("{}-osdisk-{}", self.vm, &short_op[..12]));
        let body = json!({
            "location": location,
            "tags": {
                "riposteOperation": ctx.operation.to_string(),
                "riposteSourceVm": vm.get("id").cloned().unwrap_or(Value::Null),
                "purpose": "forensics",
            },
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk},
                "incremental": false,
            },
        });
        let path = resource_path(&self.sub, &self.rg, "Microsoft.Compute/snapshots", &name);
        let resp = arm::put(ctx, &path, DISKS, body).await?;
        let data = json!({"snapshot": resp.body.clone(), "snapshotId": path, "sourceDiskId": disk});
        Ok(arm::last_step(resp, data))
    }
}

/// `RunArcCommand`: PUT `machines/{m}/runCommands/{name}` (a tracked resource: it takes the
/// machine's location) with the script; the long-running PUT is followed to the command's end,
/// whose `instanceView` carries the exit code and output. The default name carries the
/// operation id, so a re-run after a restart rewrites the same command instead of running a
/// second one.
pub struct RunArcCommand {
    sub: String,
    rg: String,
    machine: String,
    script: String,
    name: Option<String>,
    timeout: i64,
}

impl TryFrom<&Params> for RunArcCommand {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RunArcCommand {
            sub: a.text("subscriptionId")?,
            rg: a.text("resourceGroup")?,
            machine: a.text("machineName")?,
            script: a.text("script")?,
            name: a.opt_text("runCommandName")?,
            timeout: a.i64("timeout")?,
        })
    }
}

impl Procedure for RunArcCommand {
    const ID: ProcedureId = ProcedureId("azure.compute.run_arc_command");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("machineName"),
        required("script"),
        optional("runCommandName"),
        required("timeout"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let machine_path = resource_path(&self.sub, &self.rg, "Microsoft.HybridCompute/machines", &self.machine);
        let machine = arm::get_named(ctx, &machine_path, HYBRID, "machineName").await?;
        let short_op = ctx.operation.simple().to_string();
        let name = self.name.unwrap_or_else(|| format!("riposte-{}", &short_op[..12]));
        let body = json!({
            "location": machine.get("location").cloned().unwrap_or(Value::Null),
            "tags": {"riposteOperation": ctx.operation.to_string()},
            "properties": {
                "source": {"script": self.script},
                "asyncExecution": false,
                "timeoutInSeconds": self.timeout,
            },
        });
        let path = format!("{machine_path}/runCommands/{name}");
        let resp = arm::put(ctx, &path, HYBRID, body).await?;
        let data = json!({"runCommandId": path, "runCommand": resp.body.clone()});
        Ok(arm::last_step(resp, data))
    }
}

/// `DeletePod`: `kubectl delete pod {pod} -n {namespace} --force --grace-period=0` through the
/// cluster's `runCommand` (no network path to the API server needed), followed to the command's
/// result; a non-zero exit is the action's failure with kubectl's words, a pod kubectl cannot
/// find a 400 naming `podName`. A pod of a Deployment or ReplicaSet is re-created by its
/// controller: the evicted container is gone, the workload is not.
pub struct DeletePod {
    sub: String,
    rg: String,
    cluster: String,
    namespace: String,
    pod: String,
}

impl TryFrom<&Params> for DeletePod {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(DeletePod {
            sub: a.text("subscriptionId")?,
            rg: a.text("resourceGroup")?,
            cluster: a.text("clusterName")?,
            namespace: a.text("namespace")?,
            pod: a.text("podName")?,
        })
    }
}

impl Procedure for DeletePod {
    const ID: ProcedureId = ProcedureId("azure.compute.delete_pod");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("clusterName"),
        required("namespace"),
        required("podName"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        kubernetes_name("namespace", &self.namespace)?;
        kubernetes_name("podName", &self.pod)?;
        let cluster = resource_path(&self.sub, &self.rg, "Microsoft.ContainerService/managedClusters", &self.cluster);
        arm::get_named(ctx, &cluster, AKS, "clusterName").await?;
        let command = format!("kubectl delete pod {} -n {} --force --grace-period=0", self.pod, self.namespace);
        let resp =
            arm::post(ctx, &format!("{cluster}/runCommand"), AKS, json!({"command": command, "context": ""})).await?;
        let result = arm::finish_body(ctx, &resp).await?;
        let exit = result.pointer("/properties/exitCode").and_then(Value::as_i64).unwrap_or(-1);
        let logs = result.pointer("/properties/logs").and_then(Value::as_str).unwrap_or_default().to_string();
        if exit != 0 && logs.contains("NotFound") {
            return Err(EngineError::InvalidParam(ParamError {
                field: "podName".into(),
                message: format!("kubectl found no pod {} in namespace {}", self.pod, self.namespace),
                hint: "check the pod's current name (pods of a Deployment get a new name when re-created)".into(),
            }));
        }
        if exit != 0 {
            return Err(EngineError::UpstreamFailed {
                status: 502,
                code: "KubectlFailed".into(),
                message: format!("kubectl exited {exit}: {}", logs.chars().take(500).collect::<String>()),
                request_id: None,
            });
        }
        Ok(crate::procedures::answer(json!({"clusterId": cluster, "command": command, "exitCode": exit, "logs": logs})))
    }
}

/// A Kubernetes object name (DNS subdomain rules), checked before it goes into a kubectl command
/// line, so nothing but a name reaches the cluster's shell.
fn kubernetes_name(field: &str, v: &str) -> Result<(), EngineError> {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok {
        return Ok(());
    }
    Err(EngineError::InvalidParam(ParamError {
        field: field.into(),
        message: format!("'{}' is not a Kubernetes name", v.chars().take(60).collect::<String>()),
        hint: "lower-case letters, digits, '-' and '.', e.g. web-frontend-7d9f8b6c5-x2x4q".into(),
    }))
}

/// `EnableAdaptiveNetworkHardening`: read Defender for Cloud's hardening recommendation for the
/// VM (`adaptiveNetworkHardenings/default`), then `enforce` it on the NSGs it names; the
/// enforcement is long-running and followed. Nothing recommended means nothing to enforce (the
/// answer says so). Enforce needs the rules and NSGs in its body: the seed's empty POST was
/// refused.
pub struct EnforceHardening {
    sub: String,
    rg: String,
    vm: String,
}

impl TryFrom<&Params> for EnforceHardening {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(EnforceHardening { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, vm: a.text("vmName")? })
    }
}

const SECURITY_2020: &str = "2020-01-01";

impl Procedure for EnforceHardening {
    const ID: ProcedureId = ProcedureId("azure.compute.enforce_network_hardening");
    const READS: &'static [Read] = &[required("subscriptionId"), required("resourceGroup"), required("vmName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let vm = resource_path(&self.sub, &self.rg, "Microsoft.Compute/virtualMachines", &self.vm);
        arm::get_named(ctx, &vm, COMPUTE, "vmName").await?;
        let path = format!("{vm}/providers/Microsoft.Security/adaptiveNetworkHardenings/default");
        let rec = arm::get(ctx, &path, SECURITY_2020).await?;
        let rules = rec.pointer("/properties/rules").and_then(Value::as_array).cloned().unwrap_or_default();
        let nsgs: Vec<Value> = rec
            .pointer("/properties/effectiveNetworkSecurityGroups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|e| e["networkSecurityGroups"].as_array().cloned().unwrap_or_default())
            .collect();
        if rules.is_empty() || nsgs.is_empty() {
            return Ok(crate::procedures::answer(
                json!({"vmId": vm, "enforced": false, "reason": "Defender for Cloud recommends no hardening for this VM"}),
            ));
        }
        let body = json!({"rules": rules, "networkSecurityGroups": nsgs});
        let resp = arm::post(ctx, &format!("{path}/enforce"), SECURITY_2020, body).await?;
        Ok(arm::last_step(resp, json!({"vmId": vm, "enforced": true, "rules": rules, "networkSecurityGroups": nsgs})))
    }
}
