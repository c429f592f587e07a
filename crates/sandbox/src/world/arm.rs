//! The tenant's Azure subscription as ARM holds it: one store of resources keyed by their
//! case-insensitive resource id, plus the long-running operations acting on them.
//!
//! ARM itself is a generic resource store with per-provider rules on top. Keeping the data
//! generic (each resource is its ARM JSON) lets every emulated type share PUT / GET / PATCH /
//! DELETE, and keeps the provider rules (`arm/network.rs`, `arm/compute.rs`) small. The seed
//! builds the starting world: resource groups, VMs (the MDE servers) with OS disks, NICs,
//! public IPs and NSGs with their rules.

use std::collections::{BTreeMap, VecDeque};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Machine, guid};

pub const RESOURCE_GROUPS: &str = "Microsoft.Resources/resourceGroups";
pub const VIRTUAL_MACHINES: &str = "Microsoft.Compute/virtualMachines";
pub const DISKS: &str = "Microsoft.Compute/disks";
pub const NSGS: &str = "Microsoft.Network/networkSecurityGroups";
pub const SECURITY_RULES: &str = "Microsoft.Network/networkSecurityGroups/securityRules";
pub const NICS: &str = "Microsoft.Network/networkInterfaces";
pub const PUBLIC_IPS: &str = "Microsoft.Network/publicIPAddresses";
pub const WAF_POLICIES: &str = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies";
pub const WEB_SITES: &str = "Microsoft.Web/sites";
pub const WEB_CONFIG: &str = "Microsoft.Web/sites/config";
pub const FIREWALLS: &str = "Microsoft.Network/azureFirewalls";
pub const FIREWALL_POLICIES: &str = "Microsoft.Network/firewallPolicies";
pub const RULE_COLLECTION_GROUPS: &str = "Microsoft.Network/firewallPolicies/ruleCollectionGroups";
pub const AKS_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
pub const AKS_COMMAND_RESULTS: &str = "Microsoft.ContainerService/managedClusters/commandResults";
/// The sandbox's record of a pod in a cluster (not an ARM type: never served, only run commands
/// and the state dump see it).
pub const AKS_PODS: &str = "Riposte.Sandbox/pods";
pub const ARC_MACHINES: &str = "Microsoft.HybridCompute/machines";
pub const ARC_RUN_COMMANDS: &str = "Microsoft.HybridCompute/machines/runCommands";

/// One ARM resource. `body` is what GET returns before provider rendering (the NSG adds its
/// child rules, a VM its instance view).
#[derive(Clone, Debug)]
pub struct Resource {
    /// The full id in the casing it was created with (ARM preserves it).
    pub id: String,
    /// Canonical type, e.g. `Microsoft.Network/networkSecurityGroups/securityRules`.
    pub kind: String,
    pub body: Value,
    /// Virtual machines only: `running`, `stopped`, `deallocated`, or a transition.
    pub power_state: Option<String>,
    /// Creation order: lists come back in it.
    seq: u64,
}

impl Resource {
    pub fn new(id: String, kind: &str, body: Value) -> Resource {
        Resource { id, kind: kind.to_string(), body, power_state: None, seq: 0 }
    }

    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or("")
    }

    pub fn location(&self) -> Option<&str> {
        self.body.get("location").and_then(Value::as_str)
    }

    pub fn provisioning_state(&self) -> Option<&str> {
        self.body.pointer("/properties/provisioningState")?.as_str()
    }

    pub fn set_provisioning_state(&mut self, state: &str) {
        if let Some(p) = self.body.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert("provisioningState".into(), state.into());
        }
    }

    /// The resource group segment of the id, in its stored casing.
    pub fn resource_group(&self) -> &str {
        self.id.split('/').nth(4).unwrap_or("")
    }
}

/// Where a long-running operation stands (ARM's `status` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl OpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::InProgress => "InProgress",
            OpStatus::Succeeded => "Succeeded",
            OpStatus::Failed => "Failed",
            OpStatus::Canceled => "Canceled",
        }
    }
}

/// What an operation does when it completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Delete,
    /// A POST action on a VM (`powerOff`, `deallocate`, `start`, `restart`, `redeploy`), with the
    /// power state to return to if it fails.
    VmAction {
        action: String,
        previous: String,
    },
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub id: String,
    /// The provider that owns the status resource (`Microsoft.Network`, ...).
    pub namespace: String,
    pub location: String,
    pub resource_id: String,
    pub kind: OpKind,
    pub status: OpStatus,
    pub started: OffsetDateTime,
    pub due: OffsetDateTime,
    pub ended: Option<OffsetDateTime>,
    /// How the operation will end (drawn when it starts, from injected outcomes).
    pub planned: Planned,
    /// The ARM `error` of a Failed or Canceled operation.
    pub error: Option<(String, String)>,
}

/// The terminal state an operation is headed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned {
    Succeed,
    Fail { code: String, message: String },
    Cancel { code: String, message: String },
}

pub struct ArmStore {
    pub subscription_id: String,
    resources: BTreeMap<String, Resource>,
    pub operations: Vec<Operation>,
    /// Outcomes queued through `/_sandbox/arm/outcomes`, consumed by the next operations.
    pub injected: VecDeque<Planned>,
    next_seq: u64,
}

impl ArmStore {
    pub fn new(subscription_id: &str) -> ArmStore {
        ArmStore {
            subscription_id: subscription_id.to_string(),
            resources: BTreeMap::new(),
            operations: Vec::new(),
            injected: VecDeque::new(),
            next_seq: 0,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&id.to_ascii_lowercase())
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Resource> {
        self.resources.get_mut(&id.to_ascii_lowercase())
    }

    /// Creates or replaces; a replaced resource keeps its id casing and list position.
    /// Returns true when the resource is new.
    pub fn put(&mut self, mut r: Resource) -> bool {
        let key = r.id.to_ascii_lowercase();
        match self.resources.get_mut(&key) {
            Some(old) => {
                r.seq = old.seq;
                r.id = old.id.clone();
                *old = r;
                false
            }
            None => {
                self.next_seq += 1;
                r.seq = self.next_seq;
                self.resources.insert(key, r);
                true
            }
        }
    }

    /// Removes a resource and everything nested under its id; returns how many went.
    pub fn remove_tree(&mut self, id: &str) -> usize {
        let key = id.to_ascii_lowercase();
        let prefix = format!("{key}/");
        let before = self.resources.len();
        self.resources.retain(|k, _| *k != key && !k.starts_with(&prefix));
        before - self.resources.len()
    }

    /// Resources of `kind` whose id starts with `scope` (an id prefix, any case), in creation
    /// order.
    pub fn list(&self, kind: &str, scope: &str) -> Vec<&Resource> {
        let prefix = format!("{}/", scope.trim_end_matches('/').to_ascii_lowercase());
        let mut out: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|(k, r)| k.starts_with(&prefix) && r.kind.eq_ignore_ascii_case(kind))
            .map(|(_, r)| r)
            .collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Every resource inside a scope (an id prefix), in creation order.
    pub fn all_under(&self, scope: &str) -> Vec<&Resource> {
        let prefix = format!("{}/", scope.trim_end_matches('/').to_ascii_lowercase());
        let mut out: Vec<&Resource> =
            self.resources.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, r)| r).collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    pub fn subscription_scope(&self) -> String {
        format!("/subscriptions/{}", self.subscription_id)
    }

    /// The virtual machines, for state inspection and tests.
    pub fn vms(&self) -> Vec<&Resource> {
        self.list(VIRTUAL_MACHINES, &self.subscription_scope())
    }

    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id.eq_ignore_ascii_case(id))
    }

    /// The running operation on `resource_id` or anything nested under it, if any.
    pub fn running_on(&self, resource_id: &str) -> Option<&Operation> {
        let key = resource_id.to_ascii_lowercase();
        self.operations.iter().find(|o| {
            o.status == OpStatus::InProgress && {
                let r = o.resource_id.to_ascii_lowercase();
                r == key || r.starts_with(&format!("{key}/"))
            }
        })
    }
}

// ---- the seed -------------------------------------------------------------------------------

/// A security rule with single prefixes and port ranges (the seeded and the default rules).
pub struct RuleSpec<'a> {
    pub name: &'a str,
    pub priority: u32,
    pub direction: &'a str,
    pub access: &'a str,
    pub protocol: &'a str,
    pub source: &'a str,
    pub destination: &'a str,
    pub port: &'a str,
    pub description: &'a str,
}

const SEED_RULES: &[RuleSpec<'static>] = &[
    RuleSpec {
        name: "AllowRdpFromCorp",
        priority: 100,
        access: "Allow",
        protocol: "Tcp",
        direction: "Inbound",
        source: "10.0.0.0/8",
        destination: "*",
        port: "3389",
        description: "RDP from the corporate network",
    },
    RuleSpec {
        name: "AllowSshFromCorp",
        priority: 110,
        access: "Allow",
        protocol: "Tcp",
        direction: "Inbound",
        source: "10.0.0.0/8",
        destination: "*",
        port: "22",
        description: "SSH from the corporate network",
    },
    RuleSpec {
        name: "AllowHttpsInbound",
        priority: 200,
        access: "Allow",
        protocol: "Tcp",
        direction: "Inbound",
        source: "Internet",
        destination: "*",
        port: "443",
        description: "Public HTTPS",
    },
    RuleSpec {
        name: "DenyInternetInbound",
        priority: 4000,
        access: "Deny",
        protocol: "*",
        direction: "Inbound",
        source: "Internet",
        destination: "*",
        port: "*",
        description: "Default deny from the internet",
    },
];

/// The JSON of a security rule (seeded or defaulted).
pub fn rule_json(id: &str, name: &str, etag: &str, properties: serde_json::Map<String, Value>) -> Value {
    json!({
        "name": name,
        "id": id,
        "etag": etag,
        "type": SECURITY_RULES,
        "properties": properties,
    })
}

impl RuleSpec<'_> {
    /// The full property set ARM returns for such a rule.
    pub fn properties(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "provisioningState": "Succeeded",
            "description": self.description,
            "protocol": self.protocol,
            "sourcePortRange": "*",
            "destinationPortRange": self.port,
            "sourceAddressPrefix": self.source,
            "destinationAddressPrefix": self.destination,
            "access": self.access,
            "priority": self.priority,
            "direction": self.direction,
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        });
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }
}

fn rg_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

fn provider_id(sub: &str, rg: &str, kind: &str, name: &str) -> String {
    format!("{}/providers/{kind}/{name}", rg_id(sub, rg))
}

impl ArmStore {
    /// The starting subscription. The RNG draws (rule etags, NSG guids, VM ids and sizes) keep
    /// the order of the original seed, so the same seed gives the same world.
    pub fn seed(rng: &mut StdRng, sub: &str, machines: &mut [Machine]) -> ArmStore {
        let mut store = ArmStore::new(sub);
        for (name, loc, env) in [
            ("rg-prod-servers", "westeurope", "prod"),
            ("rg-dev-servers", "westeurope", "dev"),
            ("rg-network", "northeurope", "shared"),
        ] {
            let id = rg_id(sub, name);
            let body = json!({
                "id": id, "name": name, "type": RESOURCE_GROUPS, "location": loc,
                "tags": {"environment": env, "owner": "secops"},
                "properties": {"provisioningState": "Succeeded"},
            });
            store.put(Resource::new(id, RESOURCE_GROUPS, body));
        }
        for (nsg, rg, loc) in [
            ("nsg-prod-servers", "rg-prod-servers", "westeurope"),
            ("nsg-dev-servers", "rg-dev-servers", "westeurope"),
            ("nsg-dmz", "rg-network", "northeurope"),
        ] {
            store.seed_nsg(rng, sub, nsg, rg, loc);
        }
        store.seed_vms(rng, sub, machines);
        store.seed_edge(sub);
        store
    }

    /// The hub firewall, managed by a firewall policy (threat intelligence in Alert mode) with
    /// one network rule collection group.
    fn seed_firewall(&mut self, sub: &str) {
        let policy = provider_id(sub, "rg-network", FIREWALL_POLICIES, "afwp-hub");
        self.put(Resource::new(
            policy.clone(),
            FIREWALL_POLICIES,
            json!({
                "id": policy, "name": "afwp-hub", "type": FIREWALL_POLICIES, "location": "northeurope", "tags": {},
                "etag": "W/\"00000000-0000-0000-0000-00000000af01\"",
                "properties": {"provisioningState": "Succeeded", "sku": {"tier": "Standard"}, "threatIntelMode": "Alert",
                               "firewalls": [{"id": provider_id(sub, "rg-network", FIREWALLS, "afw-hub")}]},
            }),
        ));
        let group = format!("{policy}/ruleCollectionGroups/DefaultNetworkRuleCollectionGroup");
        self.put(Resource::new(
            group.clone(),
            RULE_COLLECTION_GROUPS,
            json!({
                "id": group, "name": "DefaultNetworkRuleCollectionGroup", "type": RULE_COLLECTION_GROUPS,
                "etag": "W/\"00000000-0000-0000-0000-00000000af02\"",
                "properties": {"provisioningState": "Succeeded", "priority": 200, "ruleCollections": [{
                    "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "AllowWeb", "priority": 1000,
                    "action": {"type": "Allow"},
                    "rules": [{"ruleType": "NetworkRule", "name": "web-out", "ipProtocols": ["TCP"],
                               "sourceAddresses": ["10.0.0.0/8"], "destinationAddresses": ["*"], "destinationPorts": ["443"]}],
                }]},
            }),
        ));
        let fw = provider_id(sub, "rg-network", FIREWALLS, "afw-hub");
        self.put(Resource::new(
            fw.clone(),
            FIREWALLS,
            json!({
                "id": fw, "name": "afw-hub", "type": FIREWALLS, "location": "northeurope", "tags": {},
                "etag": "W/\"00000000-0000-0000-0000-00000000af03\"",
                "properties": {"provisioningState": "Succeeded", "sku": {"name": "AZFW_VNet", "tier": "Standard"},
                               "threatIntelMode": "Alert", "firewallPolicy": {"id": policy},
                               "ipConfigurations": [{"name": "ipconfig1", "properties": {"privateIPAddress": "10.0.255.4"}}]},
            }),
        ));
    }

    /// An AKS cluster running seed 004's workloads, the cryptominer among them.
    fn seed_aks(&mut self, sub: &str) {
        let aks = provider_id(sub, "rg-prod-servers", AKS_CLUSTERS, "aks-prod");
        self.put(Resource::new(
            aks.clone(),
            AKS_CLUSTERS,
            json!({
                "id": aks, "name": "aks-prod", "type": AKS_CLUSTERS, "location": "westeurope", "tags": {},
                "properties": {"provisioningState": "Succeeded", "powerState": {"code": "Running"},
                               "kubernetesVersion": "1.30.6", "dnsPrefix": "aks-prod",
                               "nodeResourceGroup": "MC_rg-prod-servers_aks-prod_westeurope",
                               "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "vmSize": "Standard_D4s_v5",
                                                      "mode": "System", "osType": "Linux"}]},
            }),
        ));
        for (ns, pod) in [
            ("default", "web-frontend-7d9f8b6c5-x2x4q"),
            ("default", "crypto-miner-5f6c7d8e9-zz9yy"),
            ("kube-system", "coredns-6d4b75cb6d-k8m2p"),
        ] {
            let id = format!("{aks}/sandboxPods/{ns}.{pod}");
            self.put(Resource::new(id, AKS_PODS, json!({"namespace": ns, "name": pod, "phase": "Running"})));
        }
    }

    /// The internet-facing estate beyond the VMs: a WAF policy (Detection mode, no custom
    /// rules) and an App Service site with Entra authentication on. No RNG draws, so the worlds
    /// seeded before stay the same.
    fn seed_edge(&mut self, sub: &str) {
        let waf = provider_id(sub, "rg-network", WAF_POLICIES, "waf-prod");
        self.put(Resource::new(
            waf.clone(),
            WAF_POLICIES,
            json!({
                "id": waf, "name": "waf-prod", "type": WAF_POLICIES, "location": "northeurope", "tags": {},
                "etag": "W/\"00000000-0000-0000-0000-00000000a7f0\"",
                "properties": {
                    "provisioningState": "Succeeded", "resourceState": "Enabled",
                    "policySettings": {"mode": "Detection", "state": "Enabled", "requestBodyCheck": true,
                                       "maxRequestBodySizeInKb": 128, "fileUploadLimitInMb": 100},
                    "customRules": [],
                    "managedRules": {"managedRuleSets": [{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}], "exclusions": []},
                },
            }),
        ));
        let site = provider_id(sub, "rg-prod-servers", WEB_SITES, "app-contoso-portal");
        self.put(Resource::new(
            site.clone(),
            WEB_SITES,
            json!({
                "id": site, "name": "app-contoso-portal", "type": WEB_SITES, "kind": "app", "location": "westeurope", "tags": {},
                "properties": {"state": "Running", "enabled": true, "defaultHostName": "app-contoso-portal.azurewebsites.net",
                               "httpsOnly": true, "restartCount": 0, "provisioningState": "Succeeded"},
            }),
        ));
        self.seed_firewall(sub);
        self.seed_aks(sub);
        let arc = provider_id(sub, "rg-prod-servers", ARC_MACHINES, "arc-onprem-web01");
        self.put(Resource::new(
            arc.clone(),
            ARC_MACHINES,
            json!({
                "id": arc, "name": "arc-onprem-web01", "type": ARC_MACHINES, "location": "westeurope", "tags": {},
                "kind": "", "identity": {"type": "SystemAssigned"},
                "properties": {"status": "Connected", "osName": "windows", "osType": "windows",
                               "osVersion": "10.0.20348.2227", "agentVersion": "1.47.02800.1684",
                               "machineFqdn": "web01.corp.contoso.com", "provisioningState": "Succeeded"},
            }),
        ));
        let auth = format!("{site}/config/authsettingsV2");
        self.put(Resource::new(
            auth.clone(),
            WEB_CONFIG,
            json!({
                "id": auth, "name": "authsettingsV2", "type": WEB_CONFIG,
                "properties": {
                    "platform": {"enabled": true, "runtimeVersion": "~1"},
                    "globalValidation": {"requireAuthentication": true, "unauthenticatedClientAction": "RedirectToLoginPage"},
                    "identityProviders": {"azureActiveDirectory": {"enabled": true}},
                },
            }),
        ));
    }

    fn seed_nsg(&mut self, rng: &mut StdRng, sub: &str, nsg: &str, rg: &str, loc: &str) {
        let nsg_id = provider_id(sub, rg, NSGS, nsg);
        for r in SEED_RULES {
            if nsg == "nsg-dev-servers" && r.name == "AllowHttpsInbound" {
                continue;
            }
            let id = format!("{nsg_id}/securityRules/{}", r.name);
            let props = r.properties();
            let etag = format!("W/\"{}\"", guid(rng));
            let body = rule_json(&id, r.name, &etag, props);
            self.put(Resource::new(id, SECURITY_RULES, body));
        }
        let body = json!({
            "id": nsg_id, "name": nsg, "type": NSGS, "location": loc, "tags": {},
            "properties": {"provisioningState": "Succeeded", "resourceGuid": guid(rng)},
            "etag": format!("W/\"{}\"", guid(rng)),
        });
        self.put(Resource::new(nsg_id, NSGS, body));
    }

    /// Servers (Windows Server and Linux) are Azure VMs, alternating prod/dev, up to 8; each
    /// has a NIC and an OS disk, and the prod ones a public IP.
    fn seed_vms(&mut self, rng: &mut StdRng, sub: &str, machines: &mut [Machine]) {
        let servers =
            machines.iter_mut().filter(|m| m.os_platform == "WindowsServer2019" || m.os_platform == "Linux").take(8);
        for (i, m) in servers.enumerate() {
            let prod = i % 2 == 0;
            let (rg, nsg) =
                if prod { ("rg-prod-servers", "nsg-prod-servers") } else { ("rg-dev-servers", "nsg-dev-servers") };
            let name = m.short_name().to_string();
            let vm_id = guid(rng);
            let size =
                *["Standard_D2s_v5", "Standard_B2ms", "Standard_D4s_v5"].choose(rng).unwrap_or(&"Standard_D2s_v5");
            let id = provider_id(sub, rg, VIRTUAL_MACHINES, &name);
            m.vm = Some((vm_id.clone(), id.clone(), sub.to_string()));
            let linux = m.os_platform == "Linux";
            let seed = VmSeed {
                sub,
                rg,
                name: &name,
                vm_id: &vm_id,
                size,
                linux,
                nsg,
                public_ip: prod.then(|| format!("52.174.{}.{}", i / 200, i % 200 + 10)),
            };
            self.seed_vm(&seed, m);
        }
        // One draw per seeded public IP's resource guid, after every earlier draw.
        let pips: Vec<String> =
            self.list(PUBLIC_IPS, &self.subscription_scope()).iter().map(|r| r.id.clone()).collect();
        for id in pips {
            let g = guid(rng);
            if let Some(p) = self.get_mut(&id).and_then(|r| r.body.get_mut("properties")).and_then(Value::as_object_mut)
            {
                p.insert("resourceGuid".into(), g.into());
            }
        }
    }

    fn seed_vm(&mut self, s: &VmSeed, m: &Machine) {
        let id = provider_id(s.sub, s.rg, VIRTUAL_MACHINES, s.name);
        let nic_name = format!("{}-nic", s.name);
        let nic_id = provider_id(s.sub, s.rg, NICS, &nic_name);
        let disk_name = format!("{}_OsDisk_1", s.name);
        let disk_id = provider_id(s.sub, s.rg, DISKS, &disk_name);
        let os_type = if s.linux { "Linux" } else { "Windows" };
        let image = if s.linux {
            json!({"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"})
        } else {
            json!({"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2019-Datacenter", "version": "latest"})
        };
        let vm = json!({
            "id": id, "name": s.name, "type": VIRTUAL_MACHINES, "location": "westeurope",
            "tags": {"mdeMachineId": m.id},
            "properties": {
                "vmId": s.vm_id,
                "hardwareProfile": {"vmSize": s.size},
                "storageProfile": {
                    "imageReference": image,
                    "osDisk": {"osType": os_type, "name": disk_name, "createOption": "FromImage", "caching": "ReadWrite", "diskSizeGB": 128,
                               "managedDisk": {"id": disk_id, "storageAccountType": "Premium_LRS"}},
                    "dataDisks": [],
                },
                "osProfile": {"computerName": m.short_name(), "adminUsername": "azureadmin"},
                "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
                "provisioningState": "Succeeded",
            },
        });
        let mut r = Resource::new(id.clone(), VIRTUAL_MACHINES, vm);
        r.power_state = Some(if m.is_online() { "running" } else { "deallocated" }.into());
        self.put(r);
        let disk = json!({
            "id": disk_id, "name": disk_name, "type": DISKS, "location": "westeurope", "tags": {},
            "sku": {"name": "Premium_LRS", "tier": "Premium"},
            "managedBy": id,
            "properties": {"osType": os_type, "diskSizeGB": 128, "diskState": "Attached",
                           "creationData": {"createOption": "FromImage"}, "provisioningState": "Succeeded"},
        });
        self.put(Resource::new(disk_id, DISKS, disk));
        let pip_id = s.public_ip.as_ref().map(|ip| self.seed_public_ip(s, ip, &nic_id));
        self.seed_nic(s, m, &nic_id, &nic_name, &id, pip_id.as_deref());
    }

    fn seed_public_ip(&mut self, s: &VmSeed, ip: &str, nic_id: &str) -> String {
        let name = format!("{}-pip", s.name);
        let id = provider_id(s.sub, s.rg, PUBLIC_IPS, &name);
        let body = json!({
            "id": id, "name": name, "type": PUBLIC_IPS, "location": "westeurope", "tags": {},
            "sku": {"name": "Standard", "tier": "Regional"},
            "properties": {"provisioningState": "Succeeded", "ipAddress": ip, "publicIPAddressVersion": "IPv4",
                           "publicIPAllocationMethod": "Static", "idleTimeoutInMinutes": 4,
                           "ipConfiguration": {"id": format!("{nic_id}/ipConfigurations/ipconfig1")}},
        });
        self.put(Resource::new(id.clone(), PUBLIC_IPS, body));
        id
    }

    fn seed_nic(&mut self, s: &VmSeed, m: &Machine, nic_id: &str, nic_name: &str, vm_id: &str, pip: Option<&str>) {
        let subnet = format!(
            "{}/providers/Microsoft.Network/virtualNetworks/vnet-main/subnets/default",
            rg_id(s.sub, "rg-network")
        );
        let mut ipconf = json!({
            "privateIPAddress": m.last_ip_address, "privateIPAllocationMethod": "Dynamic",
            "primary": true, "subnet": {"id": subnet},
        });
        if let (Some(pip), Some(o)) = (pip, ipconf.as_object_mut()) {
            o.insert("publicIPAddress".into(), json!({"id": pip}));
        }
        let body = json!({
            "id": nic_id, "name": nic_name, "type": NICS, "location": "westeurope", "tags": {},
            "properties": {
                "provisioningState": "Succeeded",
                "ipConfigurations": [{"id": format!("{nic_id}/ipConfigurations/ipconfig1"), "name": "ipconfig1", "properties": ipconf}],
                "networkSecurityGroup": {"id": provider_id(s.sub, s.rg, NSGS, s.nsg)},
                "virtualMachine": {"id": vm_id},
                "macAddress": m.mac_address,
                "primary": true,
            },
        });
        self.put(Resource::new(nic_id.to_string(), NICS, body));
    }
}

struct VmSeed<'a> {
    sub: &'a str,
    rg: &'a str,
    name: &'a str,
    vm_id: &'a str,
    size: &'a str,
    linux: bool,
    nsg: &'a str,
    public_ip: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_case_insensitive_and_trees_delete_together() {
        let mut s = ArmStore::new("sub");
        let nsg = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n";
        s.put(Resource::new(nsg.into(), NSGS, json!({})));
        s.put(Resource::new(format!("{nsg}/securityRules/r1"), SECURITY_RULES, json!({})));
        assert!(s.get(&nsg.to_uppercase()).is_some());
        assert_eq!(s.list(SECURITY_RULES, nsg).len(), 1);
        assert!(!s.put(Resource::new(nsg.to_lowercase(), NSGS, json!({"x": 1}))));
        assert_eq!(s.get(nsg).map(|r| r.id.as_str()), Some(nsg), "keeps casing");
        assert_eq!(s.remove_tree(nsg), 2);
    }
}
