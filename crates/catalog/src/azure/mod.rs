//! Azure Resource Manager containment, one file per area: `network.rs` (NSGs, isolation NSG,
//! public IPs, Azure Firewall, WAF), `compute.rs` (VMs, disks, Arc, AKS, App Service), `data.rs`
//! (Storage, Key Vault, SQL), `security.rs` (Defender plans, recommendations, JIT, Sentinel, app
//! identities).
use crate::*;

pub(crate) mod compute;
pub(crate) mod data;
pub(crate) mod network;
pub(crate) mod security;

/// The subscription a request acts in (the seed's `subscriptionId`).
pub(crate) const SUBSCRIPTION: ParamSpec = ParamSpec {
    name: "subscriptionId",
    aliases: &["subscription"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "Azure subscription id (GUID)",
};

/// The resource group holding the target.
pub(crate) const RESOURCE_GROUP: ParamSpec = ParamSpec {
    name: "resourceGroup",
    aliases: &["resourceGroupName", "rg"],
    kind: ParamKind::ArmName,
    required: true,
    default: None,
    doc: "Resource group name",
};

/// A required resource name parameter (`vmName`, `nsgName`, ...), with its seed aliases.
pub(crate) const fn arm_name(name: &'static str, aliases: &'static [&'static str], doc: &'static str) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::ArmName, required: true, default: None, doc }
}

/// Every Azure action, area by area.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    network::ACTIONS.iter().chain(compute::ACTIONS).chain(data::ACTIONS).chain(security::ACTIONS)
}

/// Effect checks of every area.
pub fn checks() -> impl Iterator<Item = &'static verify::Check> {
    network::CHECKS.iter().chain(compute::CHECKS).chain(data::CHECKS).chain(security::CHECKS)
}

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] = &[];
