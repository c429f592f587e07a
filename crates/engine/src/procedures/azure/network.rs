//! Azure network procedures (upstream-apis.md §5.3): NSG deny rules, the isolation NSG and
//! public IPs.
//!
//! **Deny rules and priorities.** ARM refuses two rules of one NSG with the same priority and
//! direction (400 `SecurityRuleConflict`). A block reads the NSG, takes the lowest free priority
//! of its direction (so the deny is evaluated before every allow rule above it) and PUTs the
//! rule under a name derived from the direction and the address (`riposte-deny-in-203.0.113.7`),
//! so blocking the same address again finds its rule and changes nothing. Two blocks racing on
//! one NSG may pick the same priority: the Network provider serialises writes per NSG (the second
//! PUT waits on 429 `RetryableErrorDueToAnotherOperation`, which `upstream` retries after
//! `Retry-After`), and the loser's PUT is then refused with `SecurityRuleConflict`; it re-reads
//! the NSG and takes the next free priority. Retrying on ARM's conflict rather than locking in the
//! engine keeps this right across gateway replicas and against other writers of the NSG.
//!
//! **Isolation and public IPs.** What these change is remembered on the NIC itself, in tags
//! (`riposte-previous-nsg`, `riposte-detached-pips`), so the inverse works from Azure's state
//! alone: after a restart, from another replica, or days later.

use super::arm::resource_path;
use super::steps::{self as arm, COMPUTE, NETWORK};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{ParamError, Params, ProcedureId};
use serde_json::{Map, Value, json};

const NSGS: &str = "Microsoft.Network/networkSecurityGroups";
/// NSG rule priorities users may assign (100-4096).
const PRIORITIES: std::ops::RangeInclusive<u32> = 100..=4096;
/// How many times a block re-reads the NSG after losing a priority to a concurrent writer.
const CONFLICT_RETRIES: usize = 8;
/// NIC tags holding what isolation and public-IP removal changed.
const PREVIOUS_NSG: &str = "riposte-previous-nsg";
const DETACHED_PIPS: &str = "riposte-detached-pips";
/// The NSG id is longer than a tag value may be (256), so the tag holds `{group}/{name}`;
/// `none` when the NIC had no NSG.
const NO_NSG: &str = "none";

/// Which rule directions a request covers.
fn directions(d: &str) -> &'static [&'static str] {
    match d {
        "Inbound" => &["Inbound"],
        "Outbound" => &["Outbound"],
        _ => &["Inbound", "Outbound"],
    }
}

/// The deterministic rule name for an address in one direction (NSG rule names allow letters,
/// digits, `_`, `.` and `-`).
pub fn rule_name(direction: &str, prefix: &str) -> String {
    let dir = if direction == "Inbound" { "in" } else { "out" };
    format!("riposte-deny-{dir}-{}", prefix.replace('/', "_").replace(':', "-"))
}

/// The lowest priority no rule of `direction` uses.
pub fn free_priority(rules: &[Value], direction: &str) -> Option<u32> {
    let taken: Vec<u32> = rules
        .iter()
        .filter(|r| r.pointer("/properties/direction").and_then(Value::as_str) == Some(direction))
        .filter_map(|r| r.pointer("/properties/priority").and_then(Value::as_u64))
        .map(|p| p as u32)
        .collect();
    PRIORITIES.into_iter().find(|p| !taken.contains(p))
}

/// The addressed NSG: `{subscriptionId, resourceGroup, nsgName}`.
struct NsgRef {
    sub: String,
    rg: String,
    nsg: String,
}

impl NsgRef {
    fn read(a: &Args<'_>) -> Result<NsgRef, EngineError> {
        Ok(NsgRef { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, nsg: a.text("nsgName")? })
    }

    fn path(&self) -> String {
        resource_path(&self.sub, &self.rg, NSGS, &self.nsg)
    }

    fn rule_path(&self, name: &str) -> String {
        format!("{}/securityRules/{name}", self.path())
    }
}

/// `AddNSGDenyRule`.
pub struct AddDenyRule {
    nsg: NsgRef,
    prefix: String,
    direction: String,
    protocol: String,
    ports: Vec<String>,
    priority: Option<i64>,
}

impl TryFrom<&Params> for AddDenyRule {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(AddDenyRule {
            nsg: NsgRef::read(&a)?,
            prefix: a.text("sourceIp")?,
            direction: a.text("direction")?,
            protocol: a.text("protocol")?,
            ports: a.strings("ports")?,
            priority: a.opt_i64("priority")?,
        })
    }
}

impl Procedure for AddDenyRule {
    const ID: ProcedureId = ProcedureId("azure.network.add_nsg_deny_rule");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("nsgName"),
        required("sourceIp"),
        required("direction"),
        required("protocol"),
        required("ports"),
        optional("priority"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut rules = Vec::new();
        for direction in directions(&self.direction) {
            rules.push(self.ensure_rule(ctx, direction).await?);
        }
        Ok(crate::procedures::answer(json!({ "nsgId": self.nsg.path(), "rules": rules })))
    }
}

impl AddDenyRule {
    /// The rule's properties: traffic from the prefix (inbound) or to it (outbound) is denied.
    fn properties(&self, direction: &str, priority: u32) -> Value {
        let (source, destination) = if direction == "Inbound" { (&*self.prefix, "*") } else { ("*", &*self.prefix) };
        let mut p = json!({
            "description": format!("Riposte: deny {} {}", if direction == "Inbound" { "from" } else { "to" }, self.prefix),
            "protocol": self.protocol,
            "access": "Deny",
            "direction": direction,
            "priority": priority,
            "sourceAddressPrefix": source,
            "destinationAddressPrefix": destination,
            "sourcePortRange": "*",
        });
        match self.ports.as_slice() {
            [one] => p["destinationPortRange"] = one.clone().into(),
            many => p["destinationPortRanges"] = json!(many),
        }
        p
    }

    /// Whether an existing rule already denies what this request asks.
    fn same_as(&self, existing: &Value, direction: &str) -> bool {
        let p = &existing["properties"];
        let ports: Vec<&str> = match p.get("destinationPortRange").and_then(Value::as_str) {
            Some(one) => vec![one],
            None => p["destinationPortRanges"].as_array().into_iter().flatten().filter_map(Value::as_str).collect(),
        };
        let address = if direction == "Inbound" { &p["sourceAddressPrefix"] } else { &p["destinationAddressPrefix"] };
        p["access"] == "Deny"
            && p["protocol"] == self.protocol.as_str()
            && address == self.prefix.as_str()
            && ports == self.ports.iter().map(String::as_str).collect::<Vec<_>>()
            && self.priority.is_none_or(|want| p["priority"].as_i64() == Some(want))
    }

    async fn ensure_rule(&self, ctx: &Ctx<'_>, direction: &str) -> Result<Value, EngineError> {
        let name = rule_name(direction, &self.prefix);
        for _ in 0..CONFLICT_RETRIES {
            let nsg = arm::get_named(ctx, &self.nsg.path(), NETWORK, "nsgName").await?;
            let rules = nsg.pointer("/properties/securityRules").and_then(Value::as_array).cloned().unwrap_or_default();
            let existing = rules.iter().find(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&name)));
            if let Some(r) = existing
                && self.same_as(r, direction)
            {
                return Ok(
                    json!({ "name": name, "direction": direction, "priority": r["properties"]["priority"], "created": false }),
                );
            }
            let others: Vec<Value> = rules.iter().filter(|r| r["name"] != name.as_str()).cloned().collect();
            let priority = match (self.priority, existing) {
                (Some(p), _) => p as u32,
                (None, Some(r)) => r["properties"]["priority"].as_u64().unwrap_or(0) as u32,
                (None, None) => free_priority(&others, direction).ok_or_else(|| full(&self.nsg.nsg, direction))?,
            };
            let body = json!({ "properties": self.properties(direction, priority) });
            match arm::put(ctx, &self.nsg.rule_path(&name), NETWORK, body).await {
                Ok(resp) => {
                    arm::finish(ctx, &resp).await?;
                    return Ok(
                        json!({ "name": name, "direction": direction, "priority": priority, "created": existing.is_none() }),
                    );
                }
                // Another writer took the priority between our read and our write: read again,
                // unless the caller fixed the priority.
                Err(EngineError::UpstreamRejected { code, .. })
                    if code == "SecurityRuleConflict" && self.priority.is_none() =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(EngineError::UpstreamFailed {
            status: 409,
            code: "SecurityRuleConflict".into(),
            message: format!(
                "every free priority of {} was taken by concurrent writers {CONFLICT_RETRIES} times",
                self.nsg.nsg
            ),
            request_id: None,
        })
    }
}

fn full(nsg: &str, direction: &str) -> EngineError {
    EngineError::InvalidParam(ParamError {
        field: "nsgName".into(),
        message: format!("{nsg} has no free {direction} priority (100-4096 are all taken)"),
        hint: "remove unused rules, or block in another NSG".into(),
    })
}

/// `RemoveNSGDenyRule`: deletes the named rules; a rule that is not there is already removed.
pub struct RemoveDenyRule {
    nsg: NsgRef,
    prefix: String,
    direction: String,
}

impl TryFrom<&Params> for RemoveDenyRule {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RemoveDenyRule { nsg: NsgRef::read(&a)?, prefix: a.text("sourceIp")?, direction: a.text("direction")? })
    }
}

impl Procedure for RemoveDenyRule {
    const ID: ProcedureId = ProcedureId("azure.network.remove_nsg_deny_rule");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("nsgName"),
        required("sourceIp"),
        required("direction"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        arm::get_named(ctx, &self.nsg.path(), NETWORK, "nsgName").await?;
        let mut removed = Vec::new();
        for direction in directions(&self.direction) {
            let name = rule_name(direction, &self.prefix);
            let resp = arm::delete(ctx, &self.nsg.rule_path(&name), NETWORK).await?;
            arm::finish(ctx, &resp).await?;
            removed.push(json!({ "name": name, "direction": direction, "removed": resp.status != 204 }));
        }
        Ok(crate::procedures::answer(json!({ "nsgId": self.nsg.path(), "rules": removed })))
    }
}

// ---- the VM's NIC ---------------------------------------------------------------------------

/// The addressed VM: `{subscriptionId, resourceGroup, vmName}`.
struct VmRef {
    sub: String,
    rg: String,
    vm: String,
}

impl VmRef {
    fn read(a: &Args<'_>) -> Result<VmRef, EngineError> {
        Ok(VmRef { sub: a.text("subscriptionId")?, rg: a.text("resourceGroup")?, vm: a.text("vmName")? })
    }

    /// The VM's primary NIC: its id and its current body.
    async fn primary_nic(&self, ctx: &Ctx<'_>) -> Result<(String, Value), EngineError> {
        let path = resource_path(&self.sub, &self.rg, "Microsoft.Compute/virtualMachines", &self.vm);
        let vm = arm::get_named(ctx, &path, COMPUTE, "vmName").await?;
        let nics = vm.pointer("/properties/networkProfile/networkInterfaces").and_then(Value::as_array);
        let nics = nics.cloned().unwrap_or_default();
        let primary =
            nics.iter().find(|n| n.pointer("/properties/primary") == Some(&Value::Bool(true))).or(nics.first());
        let Some(id) = primary.and_then(|n| n["id"].as_str()).map(str::to_owned) else {
            return Err(EngineError::UpstreamFailed {
                status: 409,
                code: "NoNetworkInterface".into(),
                message: format!("VM {} has no network interface", self.vm),
                request_id: None,
            });
        };
        let nic = arm::get(ctx, &id, NETWORK).await?;
        Ok((id, nic))
    }
}

fn tag<'a>(nic: &'a Value, name: &str) -> Option<&'a str> {
    nic.get("tags").and_then(|t| t.get(name)).and_then(Value::as_str)
}

fn set_tag(nic: &mut Value, name: &str, value: Option<String>) {
    if !nic.get("tags").is_some_and(Value::is_object) {
        nic["tags"] = json!({});
    }
    let tags = nic["tags"].as_object_mut().expect("made an object above");
    match value {
        Some(v) => tags.insert(name.into(), v.into()),
        None => tags.remove(name),
    };
}

/// `{group}/{name}` of an NSG id, for the tag.
fn group_and_name(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').collect();
    Some(format!("{}/{}", segs.get(4)?, segs.last()?))
}

fn isolation_name(vm: &str) -> String {
    format!("riposte-isolation-{vm}")
}

/// `ApplyIsolationNSG`.
pub struct ApplyIsolation {
    vm: VmRef,
    nsg_id: Option<String>,
    management: Option<String>,
    ports: Vec<String>,
}

impl TryFrom<&Params> for ApplyIsolation {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(ApplyIsolation {
            vm: VmRef::read(&a)?,
            nsg_id: a.opt_text("isolationNsgId")?,
            management: a.opt_text("managementPrefix")?,
            ports: a.strings("managementPorts")?,
        })
    }
}

impl Procedure for ApplyIsolation {
    const ID: ProcedureId = ProcedureId("azure.network.apply_isolation_nsg");
    const READS: &'static [Read] = &[
        required("subscriptionId"),
        required("resourceGroup"),
        required("vmName"),
        optional("isolationNsgId"),
        optional("managementPrefix"),
        required("managementPorts"),
    ];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (nic_id, mut nic) = self.vm.primary_nic(ctx).await?;
        let current = nic.pointer("/properties/networkSecurityGroup/id").and_then(Value::as_str).map(str::to_owned);
        let isolation = match &self.nsg_id {
            Some(given) => {
                let id = self.named_nsg(given)?;
                arm::get_named(ctx, &id, NETWORK, "isolationNsgId").await?;
                id
            }
            None => self.write_isolation_nsg(ctx, &nic).await?,
        };
        let already = tag(&nic, PREVIOUS_NSG).is_some();
        if already && current.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&isolation)) {
            return Ok(crate::procedures::answer(
                json!({ "nicId": nic_id, "isolationNsgId": isolation, "changed": false }),
            ));
        }
        if !already {
            let previous = current.as_deref().and_then(group_and_name).unwrap_or_else(|| NO_NSG.into());
            set_tag(&mut nic, PREVIOUS_NSG, Some(previous));
        }
        nic["properties"]["networkSecurityGroup"] = json!({ "id": isolation });
        let resp = arm::put(ctx, &nic_id, NETWORK, nic).await?;
        let data = json!({ "nicId": nic_id, "isolationNsgId": isolation, "previousNsgId": current, "changed": true });
        Ok(arm::last_step(resp, data))
    }
}

/// What `isolationNsgId` accepts, for its 400s.
const NSG_ID_HINT: &str = "an NSG's name in the VM's resource group, e.g. \"nsg-isolation\", or its full id \
    /subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/networkSecurityGroups/{name}";

impl ApplyIsolation {
    /// The isolation NSG the caller named: a full ARM id of a network security group, or the name
    /// of one in the VM's resource group (the seed sent full ids; a responder knows the name).
    fn named_nsg(&self, given: &str) -> Result<String, EngineError> {
        let g = given.trim().trim_end_matches('/');
        let refuse = |what: String| {
            EngineError::InvalidParam(ParamError {
                field: "isolationNsgId".into(),
                message: what,
                hint: NSG_ID_HINT.into(),
            })
        };
        if g.contains('/') {
            let segs: Vec<&str> = g.trim_start_matches('/').split('/').collect();
            let is = |i: usize, s: &str| segs.get(i).is_some_and(|x| x.eq_ignore_ascii_case(s));
            let shaped = segs.len() == 8
                && is(0, "subscriptions")
                && is(2, "resourceGroups")
                && is(4, "providers")
                && is(5, "Microsoft.Network")
                && is(6, "networkSecurityGroups")
                && segs.iter().all(|s| !s.is_empty());
            return if shaped {
                Ok(format!("/{}", segs.join("/")))
            } else {
                Err(refuse(format!("'{g}' is not the resource id of a network security group")))
            };
        }
        let name_ok = !g.is_empty()
            && g.len() <= 80
            && !g.ends_with('.')
            && g.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(refuse(format!("'{g}' is neither an NSG name nor an NSG resource id")));
        }
        Ok(resource_path(&self.vm.sub, &self.vm.rg, NSGS, g))
    }

    /// Riposte's isolation NSG for the VM: deny everything both ways, except the management
    /// prefix to the management ports (NSGs are stateful: the replies of an allowed session
    /// pass). Written whole on every run, so its rules are always what this run asked.
    async fn write_isolation_nsg(&self, ctx: &Ctx<'_>, nic: &Value) -> Result<String, EngineError> {
        let path = resource_path(&self.vm.sub, &self.vm.rg, NSGS, &isolation_name(&self.vm.vm));
        let deny = |name: &str, direction: &str| {
            json!({ "name": name, "properties": {
                "priority": 4096, "direction": direction, "access": "Deny", "protocol": "*",
                "sourceAddressPrefix": "*", "sourcePortRange": "*",
                "destinationAddressPrefix": "*", "destinationPortRange": "*",
                "description": "Riposte isolation: deny all" } })
        };
        let mut rules = vec![deny("riposte-deny-all-in", "Inbound"), deny("riposte-deny-all-out", "Outbound")];
        if let Some(prefix) = &self.management {
            rules.push(json!({ "name": "riposte-allow-management-in", "properties": {
                "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "sourceAddressPrefix": prefix, "sourcePortRange": "*",
                "destinationAddressPrefix": "*", "destinationPortRanges": self.ports,
                "description": "Riposte isolation: management access" } }));
        }
        let body = json!({
            "location": nic.get("location").cloned().unwrap_or(Value::Null),
            "tags": { "riposteIsolationFor": self.vm.vm, "riposteOperation": ctx.operation.to_string() },
            "properties": { "securityRules": rules },
        });
        let resp = arm::put(ctx, &path, NETWORK, body).await?;
        arm::finish(ctx, &resp).await?;
        Ok(resp.body.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or(path))
    }
}

/// `RemoveIsolationNSG`.
pub struct RemoveIsolation {
    vm: VmRef,
}

impl TryFrom<&Params> for RemoveIsolation {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(RemoveIsolation { vm: VmRef::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for RemoveIsolation {
    const ID: ProcedureId = ProcedureId("azure.network.remove_isolation_nsg");
    const READS: &'static [Read] = &[required("subscriptionId"), required("resourceGroup"), required("vmName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (nic_id, mut nic) = self.vm.primary_nic(ctx).await?;
        let Some(previous) = tag(&nic, PREVIOUS_NSG).map(str::to_owned) else {
            return Ok(crate::procedures::answer(json!({ "nicId": nic_id, "changed": false })));
        };
        let restored = match previous.split_once('/') {
            Some((rg, name)) if previous != NO_NSG => Some(resource_path(&self.vm.sub, rg, NSGS, name)),
            _ => None,
        };
        let props = nic["properties"].as_object_mut().ok_or_else(|| bad_nic(&nic_id))?;
        match &restored {
            Some(id) => props.insert("networkSecurityGroup".into(), json!({ "id": id })),
            None => props.remove("networkSecurityGroup"),
        };
        set_tag(&mut nic, PREVIOUS_NSG, None);
        let resp = arm::put(ctx, &nic_id, NETWORK, nic).await?;
        arm::finish(ctx, &resp).await?;
        // Riposte's own isolation NSG is no longer used: delete it (a caller's NSG stays).
        let own = resource_path(&self.vm.sub, &self.vm.rg, NSGS, &isolation_name(&self.vm.vm));
        let gone = arm::delete(ctx, &own, NETWORK).await?;
        let data = json!({ "nicId": nic_id, "restoredNsgId": restored, "changed": true });
        Ok(arm::last_step(gone, data))
    }
}

fn bad_nic(id: &str) -> EngineError {
    EngineError::UpstreamFailed {
        status: 502,
        code: "UnexpectedResource".into(),
        message: format!("{id} came back without properties"),
        request_id: None,
    }
}

/// `RemoveVMPublicIP`: every ipConfiguration of the primary NIC loses its public IP; the
/// detached ones are listed in a NIC tag (`{ipconfig}={group}/{name}` pairs, `;`-separated).
pub struct DetachPublicIps {
    vm: VmRef,
}

impl TryFrom<&Params> for DetachPublicIps {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(DetachPublicIps { vm: VmRef::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for DetachPublicIps {
    const ID: ProcedureId = ProcedureId("azure.network.remove_vm_public_ip");
    const READS: &'static [Read] = &[required("subscriptionId"), required("resourceGroup"), required("vmName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (nic_id, mut nic) = self.vm.primary_nic(ctx).await?;
        let mut detached: Vec<String> = tag(&nic, DETACHED_PIPS).map(split_pairs).unwrap_or_default();
        let mut changed = false;
        for conf in nic["properties"]["ipConfigurations"].as_array_mut().into_iter().flatten() {
            let name = conf["name"].as_str().unwrap_or_default().to_string();
            let Some(props) = conf.get_mut("properties").and_then(Value::as_object_mut) else { continue };
            let Some(pip) = props.remove("publicIPAddress") else { continue };
            let pip_id = pip["id"].as_str().unwrap_or_default();
            detached.retain(|p| !p.starts_with(&format!("{name}=")));
            detached.push(format!("{name}={}", group_and_name(pip_id).unwrap_or_default()));
            changed = true;
        }
        if !changed {
            return Ok(crate::procedures::answer(json!({ "nicId": nic_id, "changed": false, "detached": detached })));
        }
        set_tag(&mut nic, DETACHED_PIPS, Some(detached.join(";")));
        let resp = arm::put(ctx, &nic_id, NETWORK, nic).await?;
        Ok(arm::last_step(resp, json!({ "nicId": nic_id, "changed": true, "detached": detached })))
    }
}

fn split_pairs(s: &str) -> Vec<String> {
    s.split(';').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// `RestoreVMPublicIP`: the public IPs listed in the NIC's tag go back on their ipConfigurations.
pub struct ReattachPublicIps {
    vm: VmRef,
}

impl TryFrom<&Params> for ReattachPublicIps {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(ReattachPublicIps { vm: VmRef::read(&Args::of::<Self>(params))? })
    }
}

impl Procedure for ReattachPublicIps {
    const ID: ProcedureId = ProcedureId("azure.network.restore_vm_public_ip");
    const READS: &'static [Read] = &[required("subscriptionId"), required("resourceGroup"), required("vmName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let (nic_id, mut nic) = self.vm.primary_nic(ctx).await?;
        let Some(pairs) = tag(&nic, DETACHED_PIPS).map(split_pairs) else {
            return Ok(crate::procedures::answer(json!({ "nicId": nic_id, "changed": false })));
        };
        let wanted: Map<String, Value> = pairs
            .iter()
            .filter_map(|p| p.split_once('='))
            .filter_map(|(conf, pip)| {
                let (rg, name) = pip.split_once('/')?;
                let id = resource_path(&self.vm.sub, rg, "Microsoft.Network/publicIPAddresses", name);
                Some((conf.to_string(), json!({ "id": id })))
            })
            .collect();
        for conf in nic["properties"]["ipConfigurations"].as_array_mut().into_iter().flatten() {
            let name = conf["name"].as_str().unwrap_or_default().to_string();
            if let (Some(pip), Some(props)) =
                (wanted.get(&name), conf.get_mut("properties").and_then(Value::as_object_mut))
            {
                props.insert("publicIPAddress".into(), pip.clone());
            }
        }
        set_tag(&mut nic, DETACHED_PIPS, None);
        let resp = arm::put(ctx, &nic_id, NETWORK, nic).await?;
        Ok(arm::last_step(resp, json!({ "nicId": nic_id, "changed": true, "reattached": wanted })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_stable_and_valid() {
        assert_eq!(rule_name("Inbound", "203.0.113.7"), "riposte-deny-in-203.0.113.7");
        assert_eq!(rule_name("Outbound", "198.51.100.0/24"), "riposte-deny-out-198.51.100.0_24");
        assert_eq!(rule_name("Inbound", "2001:db8::/32"), "riposte-deny-in-2001-db8--_32");
    }

    #[test]
    fn the_lowest_free_priority_of_the_direction_is_taken() {
        let rule = |p: u32, d: &str| json!({ "properties": { "priority": p, "direction": d } });
        let rules = vec![rule(100, "Inbound"), rule(101, "Inbound"), rule(102, "Outbound")];
        assert_eq!(free_priority(&rules, "Inbound"), Some(102));
        assert_eq!(free_priority(&rules, "Outbound"), Some(100));
        let all: Vec<Value> = PRIORITIES.map(|p| rule(p, "Inbound")).collect();
        assert_eq!(free_priority(&all, "Inbound"), None);
    }
}
