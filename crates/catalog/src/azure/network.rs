//! Azure network containment (upstream-apis.md §5.3): NSG deny rules, the isolation NSG, public
//! IPs, Azure Firewall policies and WAF policies (Microsoft.Network, api-version `2024-05-01`).
//!
//! The NSG and NIC actions are procedures (`engine/src/procedures/azure/network.rs`): a deny
//! rule needs a free priority read from the NSG first, and isolation and public-IP removal read
//! the VM's NIC, change it and remember what they changed on the NIC itself (tags), so their
//! inverses work from Azure's state alone, after a restart or from another replica.
use super::{RESOURCE_GROUP, SUBSCRIPTION, arm_name};
use crate::*;

const NSG_NAME: ParamSpec = arm_name("nsgName", &["networkSecurityGroupName", "nsg"], "Network security group name");
const VM_NAME: ParamSpec = arm_name("vmName", &["virtualMachineName", "vm"], "Virtual machine name");

/// The address or range blocked (the seed's `sourceIp`/`sourceIP`).
const BLOCKED: ParamSpec = ParamSpec {
    name: "sourceIp",
    aliases: &["ipAddress", "ip", "cidr", "addressPrefix"],
    kind: ParamKind::IpPrefix,
    required: true,
    default: None,
    doc: "IP address or CIDR range to block (198.51.100.0/24)",
};

const DIRECTION: ParamSpec = ParamSpec {
    name: "direction",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Both", "Inbound", "Outbound"] },
    required: false,
    default: Some("Both"),
    doc: "Inbound blocks traffic from the address, Outbound traffic to it, Both both (two rules)",
};

const PROTOCOL: ParamSpec = ParamSpec {
    name: "protocol",
    aliases: &[],
    kind: ParamKind::Enum { values: &["*", "Tcp", "Udp", "Icmp"] },
    required: false,
    default: Some("*"),
    doc: "Protocol the rule denies (* for any)",
};

const PORTS: ParamSpec = ParamSpec {
    name: "ports",
    aliases: &["destinationPortRange", "destinationPortRanges", "port", "portRange"],
    kind: ParamKind::PortRanges { max: 15 },
    required: false,
    default: Some("*"),
    doc: "Destination ports denied: * or ports and ranges (22, 8000-8080)",
};

const PRIORITY: ParamSpec = ParamSpec {
    name: "priority",
    aliases: &[],
    kind: ParamKind::Int { min: 100, max: 4096 },
    required: false,
    default: None,
    doc: "Rule priority; by default the lowest free one (evaluated before every existing rule above it)",
};

const WAF_POLICY: ParamSpec =
    arm_name("wafPolicyName", &["policyName", "wafPolicy"], "Application Gateway WAF policy name");
const WAF_IP: ParamSpec = ParamSpec {
    name: "ipAddress",
    aliases: &["sourceIp", "ip", "cidr"],
    kind: ParamKind::IpPrefix,
    required: true,
    default: None,
    doc: "IP address or CIDR range to block",
};
const COUNTRIES: ParamSpec = ParamSpec {
    name: "countryCodes",
    aliases: &["countries", "countryCode"],
    kind: ParamKind::CountryCodes { max: 100 },
    required: true,
    default: None,
    doc: "ISO 3166-1 alpha-2 country codes, e.g. [\"KP\", \"IR\"]",
};
const WAF_PERMISSION: &str =
    "Azure RBAC: Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/read|write (Network Contributor)";

const FIREWALL: ParamSpec = arm_name("firewallName", &["azureFirewallName"], "Azure Firewall name");
const FW_IP: ParamSpec = ParamSpec {
    name: "sourceIp",
    aliases: &["ipAddress", "ip", "cidr"],
    kind: ParamKind::IpPrefix,
    required: true,
    default: None,
    doc: "IP address or CIDR range to deny (from and to)",
};
const DOMAIN: ParamSpec = ParamSpec {
    name: "domain",
    aliases: &["fqdn", "domainName"],
    kind: ParamKind::Text { max: 253 },
    required: true,
    default: None,
    doc: "Domain to deny over HTTP/HTTPS (evil.example.com or *.example.com)",
};
const FIREWALL_PERMISSION: &str = "Azure RBAC: Microsoft.Network/azureFirewalls/read, Microsoft.Network/firewallPolicies/ruleCollectionGroups/write (Network Contributor)";

const NSG_PERMISSION: &str =
    "Azure RBAC: Microsoft.Network/networkSecurityGroups/read, .../securityRules/write|delete (Network Contributor)";
const NIC_PERMISSION: &str = "Azure RBAC: Microsoft.Compute/virtualMachines/read, Microsoft.Network/networkInterfaces/write, Microsoft.Network/networkSecurityGroups/write|join/action (Network Contributor)";

const fn procedure(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    inverse: &'static str,
    permission: &'static str,
    key: &'static str,
) -> ActionSpec {
    ActionSpec {
        product: Product::Azure,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: Some(inverse),
        permission,
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId(key)),
    }
}

pub static ACTIONS: &[ActionSpec] = &[
    procedure(
        "AddNSGDenyRule",
        "Deny an IP address or range in a network security group (inbound, outbound or both), idempotently",
        &["BlockIPInNSG", "BlockIpNsg", "AddNsgDenyRule"],
        &[SUBSCRIPTION, RESOURCE_GROUP, NSG_NAME, BLOCKED, DIRECTION, PROTOCOL, PORTS, PRIORITY],
        "RemoveNSGDenyRule",
        NSG_PERMISSION,
        "azure.network.add_nsg_deny_rule",
    ),
    procedure(
        "RemoveNSGDenyRule",
        "Remove the deny rules AddNSGDenyRule made for an address (absent rules are not an error)",
        &["UnblockIPInNSG", "RemoveNsgDenyRule"],
        &[SUBSCRIPTION, RESOURCE_GROUP, NSG_NAME, BLOCKED, DIRECTION],
        "AddNSGDenyRule",
        NSG_PERMISSION,
        "azure.network.remove_nsg_deny_rule",
    ),
    procedure(
        "ApplyIsolationNSG",
        "Isolate a VM: its NIC goes on an NSG denying all traffic but a management allow-list; the previous NSG is remembered on the NIC",
        &["IsolateVM", "IsolateAzureVM"],
        &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            VM_NAME,
            ParamSpec {
                name: "isolationNsgId",
                aliases: &["nsgId", "isolationNsgName"],
                kind: ParamKind::Text { max: 400 },
                required: false,
                default: None,
                doc: "An existing NSG to use: its full resource id, or its name in the VM's resource group; by default Riposte writes riposte-isolation-{vmName} in the VM's group",
            },
            ParamSpec {
                name: "managementPrefix",
                aliases: &["allowFrom", "managementIp"],
                kind: ParamKind::IpPrefix,
                required: false,
                default: None,
                doc: "Address or range still allowed in (to managementPorts), e.g. a jump host",
            },
            ParamSpec {
                name: "managementPorts",
                aliases: &[],
                kind: ParamKind::PortRanges { max: 15 },
                required: false,
                default: Some("22,3389"),
                doc: "Ports the management prefix may reach",
            },
        ],
        "RemoveIsolationNSG",
        NIC_PERMISSION,
        "azure.network.apply_isolation_nsg",
    ),
    procedure(
        "RemoveIsolationNSG",
        "Undo ApplyIsolationNSG: the NIC goes back to its previous NSG (or none); Riposte's isolation NSG is deleted",
        &["ReleaseVMIsolation", "UnisolateVM"],
        &[SUBSCRIPTION, RESOURCE_GROUP, VM_NAME],
        "ApplyIsolationNSG",
        NIC_PERMISSION,
        "azure.network.remove_isolation_nsg",
    ),
    procedure(
        "RemoveVMPublicIP",
        "Detach the public IPs from a VM's NIC (the addresses are kept and remembered on the NIC)",
        &["DetachVMPublicIP"],
        &[SUBSCRIPTION, RESOURCE_GROUP, VM_NAME],
        "RestoreVMPublicIP",
        "Azure RBAC: Microsoft.Network/networkInterfaces/write, Microsoft.Network/publicIPAddresses/join/action (Network Contributor)",
        "azure.network.remove_vm_public_ip",
    ),
    procedure(
        "RestoreVMPublicIP",
        "Re-attach the public IPs RemoveVMPublicIP detached",
        &["ReattachVMPublicIP"],
        &[SUBSCRIPTION, RESOURCE_GROUP, VM_NAME],
        "RemoveVMPublicIP",
        "Azure RBAC: Microsoft.Network/networkInterfaces/write, Microsoft.Network/publicIPAddresses/join/action (Network Contributor)",
        "azure.network.restore_vm_public_ip",
    ),
    procedure(
        "BlockIPInWAF",
        "Block an IP address or range at an Application Gateway WAF policy (Riposte's RiposteBlockedIPs custom rule)",
        &["BlockIpWaf"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY, WAF_IP],
        "UnblockIPInWAF",
        WAF_PERMISSION,
        "azure.network.block_ip_in_waf",
    ),
    procedure(
        "UnblockIPInWAF",
        "Take an address out of Riposte's WAF block rule (the rule goes when empty)",
        &["UnblockIpWaf"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY, WAF_IP],
        "BlockIPInWAF",
        WAF_PERMISSION,
        "azure.network.unblock_ip_in_waf",
    ),
    procedure(
        "BlockGeoLocationWAF",
        "Block countries (ISO 3166-1 alpha-2) at a WAF policy (Riposte's RiposteBlockedCountries GeoMatch rule)",
        &["BlockCountriesInWAF", "BlockGeoWAF"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY, COUNTRIES],
        "UnblockGeoLocationWAF",
        WAF_PERMISSION,
        "azure.network.block_geo_in_waf",
    ),
    procedure(
        "UnblockGeoLocationWAF",
        "Take countries out of Riposte's WAF geo block rule",
        &["UnblockCountriesInWAF"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY, COUNTRIES],
        "BlockGeoLocationWAF",
        WAF_PERMISSION,
        "azure.network.unblock_geo_in_waf",
    ),
    procedure(
        "AddWAFCustomRule",
        "Add (or replace, by name) a custom rule in a WAF policy: match conditions as Azure takes them, at the given or the lowest free priority",
        &["CreateWAFCustomRule"],
        &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            WAF_POLICY,
            ParamSpec {
                name: "customRuleName",
                aliases: &["ruleName", "name"],
                kind: ParamKind::Text { max: 128 },
                required: true,
                default: None,
                doc: "Custom rule name (letters and digits)",
            },
            ParamSpec {
                name: "matchConditions",
                aliases: &["conditions"],
                kind: ParamKind::JsonObjects { max: 10 },
                required: true,
                default: None,
                doc: "WAF match conditions, e.g. [{\"matchVariables\": [{\"variableName\": \"RequestHeaders\", \"selector\": \"User-Agent\"}], \"operator\": \"Contains\", \"matchValues\": [\"evilbot\"]}]",
            },
            ParamSpec {
                name: "priority",
                aliases: &[],
                kind: ParamKind::Int { min: 1, max: 100 },
                required: false,
                default: None,
                doc: "Rule priority (1-100, lower first); by default the lowest free one",
            },
            ParamSpec {
                name: "action",
                aliases: &[],
                kind: ParamKind::Enum { values: &["Block", "Allow", "Log"] },
                required: false,
                default: Some("Block"),
                doc: "What a match does",
            },
        ],
        "RemoveWAFCustomRule",
        WAF_PERMISSION,
        "azure.network.add_waf_custom_rule",
    ),
    procedure(
        "RemoveWAFCustomRule",
        "Remove a custom rule from a WAF policy by name",
        &["DeleteWAFCustomRule"],
        &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            WAF_POLICY,
            ParamSpec {
                name: "customRuleName",
                aliases: &["ruleName", "name"],
                kind: ParamKind::Text { max: 128 },
                required: true,
                default: None,
                doc: "Custom rule name",
            },
        ],
        "AddWAFCustomRule",
        WAF_PERMISSION,
        "azure.network.remove_waf_custom_rule",
    ),
    procedure(
        "EnableWAFPreventionMode",
        "Switch a WAF policy to Prevention (block what its rules match) and enable it",
        &["SetWAFPreventionMode"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY],
        "SetWAFDetectionMode",
        WAF_PERMISSION,
        "azure.network.waf_prevention_mode",
    ),
    procedure(
        "SetWAFDetectionMode",
        "Switch a WAF policy back to Detection (log only)",
        &["EnableWAFDetectionMode"],
        &[SUBSCRIPTION, RESOURCE_GROUP, WAF_POLICY],
        "EnableWAFPreventionMode",
        WAF_PERMISSION,
        "azure.network.waf_detection_mode",
    ),
    procedure(
        "BlockIPInFirewall",
        "Deny an IP address or range both ways at an Azure Firewall (Riposte's RiposteBlocklist group in the firewall's policy)",
        &["BlockIpFirewall"],
        &[SUBSCRIPTION, RESOURCE_GROUP, FIREWALL, FW_IP],
        "UnblockIPInFirewall",
        FIREWALL_PERMISSION,
        "azure.network.block_ip_in_firewall",
    ),
    procedure(
        "UnblockIPInFirewall",
        "Take an address out of Riposte's firewall blocklist",
        &["UnblockIpFirewall"],
        &[SUBSCRIPTION, RESOURCE_GROUP, FIREWALL, FW_IP],
        "BlockIPInFirewall",
        FIREWALL_PERMISSION,
        "azure.network.unblock_ip_in_firewall",
    ),
    procedure(
        "BlockDomainInFirewall",
        "Deny HTTP/HTTPS to a domain at an Azure Firewall (application rule in Riposte's RiposteBlocklist group)",
        &["BlockFQDNInFirewall"],
        &[SUBSCRIPTION, RESOURCE_GROUP, FIREWALL, DOMAIN],
        "UnblockDomainInFirewall",
        FIREWALL_PERMISSION,
        "azure.network.block_domain_in_firewall",
    ),
    procedure(
        "UnblockDomainInFirewall",
        "Take a domain out of Riposte's firewall blocklist",
        &["UnblockFQDNInFirewall"],
        &[SUBSCRIPTION, RESOURCE_GROUP, FIREWALL, DOMAIN],
        "BlockDomainInFirewall",
        FIREWALL_PERMISSION,
        "azure.network.unblock_domain_in_firewall",
    ),
    ActionSpec {
        product: Product::Azure,
        name: "EnableThreatIntel",
        summary: "Set an Azure Firewall's threat-intelligence mode (Alert, Deny or Off) on its policy, or on the firewall when it has none",
        aliases: &["SetFirewallThreatIntelMode"],
        params: &[
            SUBSCRIPTION,
            RESOURCE_GROUP,
            FIREWALL,
            ParamSpec {
                name: "mode",
                aliases: &["threatIntelMode"],
                kind: ParamKind::Enum { values: &["Alert", "Deny", "Off"] },
                required: false,
                default: Some("Alert"),
                doc: "Alert logs traffic to known-malicious addresses and domains; Deny also blocks it",
            },
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: FIREWALL_PERMISSION,
        completion: Completion::ArmOperation,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("azure.network.firewall_threat_intel")),
    },
    ActionSpec::read(
        Product::Azure,
        "GetNetworkSecurityGroups",
        "List the network security groups of a resource group, with their rules",
        &["GetNSGs"],
        &[SUBSCRIPTION, RESOURCE_GROUP],
        "Azure RBAC: Reader",
        Call::new(
            Api::Arm,
            Method::Get,
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-05-01",
        ),
    ),
];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
