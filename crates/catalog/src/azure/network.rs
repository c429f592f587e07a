//! Azure network containment (upstream-apis.md §5.3): NSG deny rules, the isolation NSG, public
//! IPs, Azure Firewall policies and WAF policies (Microsoft.Network, api-version `2024-05-01`).
use super::{RESOURCE_GROUP, SUBSCRIPTION};
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[ActionSpec::read(
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
)];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
