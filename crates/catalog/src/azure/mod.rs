//! Azure Resource Manager containment, one file per area: `network.rs` (NSGs, isolation NSG,
//! public IPs, Azure Firewall, WAF), `compute.rs` (VMs, disks, Arc, AKS, App Service), `data.rs`
//! (Storage, Key Vault, SQL), `security.rs` (Defender plans, recommendations, JIT, Sentinel, app
//! identities).
use crate::*;

pub(crate) mod compute;
pub(crate) mod data;
pub(crate) mod network;
pub(crate) mod security;

/// Every Azure action, area by area.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    network::ACTIONS.iter().chain(compute::ACTIONS).chain(data::ACTIONS).chain(security::ACTIONS)
}

/// Effect checks of every area.
pub fn checks() -> impl Iterator<Item = &'static verify::Check> {
    network::CHECKS.iter().chain(compute::CHECKS).chain(data::CHECKS).chain(security::CHECKS)
}

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog once the product leaves `NOT_YET_IMPLEMENTED`, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] = &[
    "AddNSGDenyRule",
    "StopVM",
    "DisableStoragePublicAccess",
    "RotateStorageAccountKeys",
    "RevokeStorageSAS",
    "EnableStorageFirewall",
    "EnableStorageDefender",
    "BlockStorageContainer",
    "DisableStorageSoftDelete",
    "RemoveVMPublicIP",
    "BlockIPInFirewall",
    "BlockDomainInFirewall",
    "EnableThreatIntel",
    "DisableKeyVaultSecret",
    "RotateKeyVaultKey",
    "PurgeDeletedSecret",
    "BlockSQLIP",
    "DisableSQLPublicAccess",
    "RotateSQLPassword",
    "EnableSQLAudit",
    "EnableSQLTDE",
    "IsolateArcServer",
    "RunArcCommand",
    "EnableDefenderArc",
    "DisconnectArcServer",
    "BlockIPInWAF",
    "AddWAFCustomRule",
    "EnableWAFPreventionMode",
    "BlockGeoLocationWAF",
    "DisableServicePrincipal",
    "RemoveAppCredentials",
    "RevokeAppCertificates",
    "StopAppService",
    "RestartAppService",
    "EnableAppServiceDefender",
    "DisableAppServiceAuth",
    "QuarantineContainerImage",
    "DeletePod",
    "RestartAKSNode",
    "EnableDefenderPlan",
    "ApplySecurityRecommendation",
    "ExcludeVulnerability",
    "EnableJITVMAccess",
    "BlockJITRequest",
    "EnableAdaptiveNetworkHardening",
    "AddSentinelWatchlist",
    "EnableSentinelPlaybook",
    "DeallocateVM",
    "RestartVM",
    "ApplyIsolationNSG",
    "RedeployVM",
    "TakeVMSnapshot",
    "GetVMs",
    "GetResourceGroups",
    "GetVirtualMachines",
    "GetNetworkSecurityGroups",
    "GetStorageAccounts",
    "GetKeyVaults",
    "GetSecurityRecommendations",
    "GetSecureScore",
    "GetDefenderPlans",
    "GetRegulatoryCompliance",
    "GetJitAccessPolicies",
];
