//! The resource types the emulated providers register, with the api-versions each accepts.
//!
//! ARM routes a request by (namespace, type, api-version): an unknown namespace, an unknown
//! type or a version the provider never registered is refused before the provider sees it.
//! The table is data, so a new product adds rows, not code. Version lists are the stable
//! versions of the REST specs (azure-rest-api-specs) plus the newest ones the pinned Python
//! SDKs send; a version between the oldest and the newest listed is accepted (ARM itself wants
//! an exact registered version; the range keeps the sandbox lenient towards SDK upgrades).

use axum::http::StatusCode;
use axum::response::Response;

use crate::errors;

/// How a provider answers writes to a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// Answered when done: 200 / 201 (PUT), 200 / 204 (DELETE).
    Sync,
    /// Long-running: 201 / 200 + `Azure-AsyncOperation` (PUT), 202 + `Location` (DELETE).
    Async,
    /// Long-running, and PUT / PATCH answer 202 + `Location` + `Azure-AsyncOperation` (the
    /// Compute disk resources: their REST specs declare 200 / 202 for create).
    AsyncAccepted,
    /// Read-only (e.g. `defaultSecurityRules`).
    ReadOnly,
}

impl Writes {
    pub fn is_async(self) -> bool {
        matches!(self, Writes::Async | Writes::AsyncAccepted)
    }
}

pub struct ResourceType {
    /// Canonical `Namespace/type[/childType]`.
    pub kind: &'static str,
    /// Registered api-versions, oldest first.
    pub versions: &'static [&'static str],
    pub writes: Writes,
    /// Tracked (top-level) resources need a `location`; child resources have none.
    pub tracked: bool,
}

const NETWORK: &[&str] =
    &["2015-06-15", "2018-11-01", "2020-11-01", "2022-07-01", "2023-09-01", "2024-05-01", "2026-03-01"];
const COMPUTE_VM: &[&str] =
    &["2015-06-15", "2019-07-01", "2021-03-01", "2022-11-01", "2023-09-01", "2024-03-01", "2024-07-01", "2026-04-01"];
const COMPUTE_DISK: &[&str] =
    &["2016-04-30-preview", "2019-07-01", "2021-04-01", "2022-07-02", "2023-10-02", "2026-03-02"];
const STORAGE: &[&str] =
    &["2019-06-01", "2021-04-01", "2021-09-01", "2022-09-01", "2023-01-01", "2023-05-01", "2024-01-01"];
const KEY_VAULT: &[&str] =
    &["2019-09-01", "2021-06-01-preview", "2021-10-01", "2022-07-01", "2023-07-01", "2024-11-01"];
const SQL: &[&str] = &["2014-04-01", "2021-11-01", "2022-05-01-preview", "2023-08-01"];
const LOG_ANALYTICS: &[&str] = &["2020-08-01", "2021-06-01", "2022-10-01", "2023-09-01"];
/// Microsoft.ContainerService (AKS).
const AKS: &[&str] = &["2022-09-01", "2023-10-01", "2024-05-01", "2024-09-01", "2025-01-01"];
/// Microsoft.HybridCompute (Azure Arc-enabled servers).
const HYBRID: &[&str] = &["2022-12-27", "2023-10-03-preview", "2024-07-10", "2025-01-13"];
/// Microsoft.Web (App Service).
const WEB: &[&str] =
    &["2016-08-01", "2018-11-01", "2021-02-01", "2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01"];
/// Microsoft.Resources: subscriptions, resource groups, generic resource lists.
pub const RESOURCES: &[&str] =
    &["2014-04-01", "2016-06-01", "2019-10-01", "2020-01-01", "2021-04-01", "2022-12-01", "2024-03-01"];

const TYPES: &[ResourceType] = &[
    ResourceType {
        kind: "Microsoft.Resources/resourceGroups",
        versions: RESOURCES,
        writes: Writes::Sync,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Compute/virtualMachines",
        versions: COMPUTE_VM,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Compute/disks",
        versions: COMPUTE_DISK,
        writes: Writes::AsyncAccepted,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Compute/snapshots",
        versions: COMPUTE_DISK,
        writes: Writes::AsyncAccepted,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Network/networkSecurityGroups",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Network/networkSecurityGroups/securityRules",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
        versions: NETWORK,
        writes: Writes::ReadOnly,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.Network/networkInterfaces",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Network/publicIPAddresses",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType { kind: "Microsoft.Network/virtualNetworks", versions: NETWORK, writes: Writes::Async, tracked: true },
    // Containment targets beyond NSGs and VMs (`arm/waf.rs`, `arm/web.rs`).
    ResourceType {
        kind: "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType { kind: "Microsoft.Web/sites", versions: WEB, writes: Writes::Sync, tracked: true },
    ResourceType { kind: "Microsoft.Network/azureFirewalls", versions: NETWORK, writes: Writes::Async, tracked: true },
    ResourceType {
        kind: "Microsoft.Network/firewallPolicies",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: false,
    },
    ResourceType { kind: "Microsoft.HybridCompute/machines", versions: HYBRID, writes: Writes::Sync, tracked: true },
    ResourceType {
        kind: "Microsoft.ContainerService/managedClusters",
        versions: AKS,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.ContainerService/managedClusters/commandResults",
        versions: AKS,
        writes: Writes::ReadOnly,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.HybridCompute/machines/runCommands",
        versions: HYBRID,
        writes: Writes::Async,
        tracked: true,
    },
    ResourceType { kind: "Microsoft.Web/sites/config", versions: WEB, writes: Writes::Sync, tracked: false },
    ResourceType {
        kind: "Microsoft.Network/virtualNetworks/subnets",
        versions: NETWORK,
        writes: Writes::Async,
        tracked: false,
    },
    // Data resources (`arm/storage.rs`, `arm/sql.rs`): writes answer when done, except the SQL
    // server and database, whose PUT / PATCH are 202 + monitors (Microsoft.Sql's REST specs).
    ResourceType { kind: "Microsoft.Storage/storageAccounts", versions: STORAGE, writes: Writes::Sync, tracked: true },
    ResourceType {
        kind: "Microsoft.Storage/storageAccounts/blobServices",
        versions: STORAGE,
        writes: Writes::Sync,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.Storage/storageAccounts/blobServices/containers",
        versions: STORAGE,
        writes: Writes::Sync,
        tracked: false,
    },
    ResourceType { kind: "Microsoft.KeyVault/vaults", versions: KEY_VAULT, writes: Writes::Sync, tracked: true },
    ResourceType { kind: "Microsoft.Sql/servers", versions: SQL, writes: Writes::AsyncAccepted, tracked: true },
    ResourceType { kind: "Microsoft.Sql/servers/firewallRules", versions: SQL, writes: Writes::Sync, tracked: false },
    ResourceType {
        kind: "Microsoft.Sql/servers/databases",
        versions: SQL,
        writes: Writes::AsyncAccepted,
        tracked: true,
    },
    ResourceType {
        kind: "Microsoft.Sql/servers/databases/transparentDataEncryption",
        versions: SQL,
        writes: Writes::Sync,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.Sql/servers/databases/auditingSettings",
        versions: SQL,
        writes: Writes::Sync,
        tracked: false,
    },
    ResourceType {
        kind: "Microsoft.OperationalInsights/workspaces",
        versions: LOG_ANALYTICS,
        writes: Writes::Sync,
        tracked: true,
    },
];

/// The registered type named `{ns}/{type path}`, any case.
pub fn lookup(ns: &str, type_path: &str) -> Option<&'static ResourceType> {
    let full = format!("{ns}/{type_path}");
    TYPES.iter().find(|t| t.kind.eq_ignore_ascii_case(&full))
}

pub fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    TYPES.iter().find(|t| t.kind.eq_ignore_ascii_case(kind))
}

/// The canonical namespace spelling, if a provider of that name is registered.
pub fn namespace(ns: &str) -> Option<&'static str> {
    TYPES.iter().filter_map(|t| t.kind.split('/').next()).find(|n| n.eq_ignore_ascii_case(ns))
}

/// Versions any type of the namespace accepts (for the namespace's operation-status resources).
pub fn namespace_versions(ns: &str) -> &'static [&'static str] {
    TYPES
        .iter()
        .find(|t| t.kind.split('/').next().is_some_and(|n| n.eq_ignore_ascii_case(ns)))
        .map(|t| t.versions)
        .unwrap_or(RESOURCES)
}

/// `yyyy-mm-dd` with an optional `-preview`-style suffix.
fn well_formed(v: &str) -> bool {
    let date = v.get(..10).unwrap_or("");
    let digits = |r: std::ops::Range<usize>| date.get(r).is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()));
    let suffix = &v[date.len()..];
    date.len() == 10
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && &date[4..5] == "-"
        && &date[7..8] == "-"
        && (suffix.is_empty() || (suffix.starts_with('-') && suffix[1..].bytes().all(|b| b.is_ascii_alphanumeric())))
}

fn in_range(v: &str, versions: &[&str]) -> bool {
    let date = &v[..10];
    let first = versions.first().map(|s| &s[..10]).unwrap_or("");
    let last = versions.last().map(|s| &s[..10]).unwrap_or("");
    date >= first && date <= last
}

/// ARM's own resources (subscriptions, groups): a malformed or unknown version is
/// `InvalidApiVersionParameter`.
pub fn check_resources_version(v: &str) -> Result<(), Response> {
    if well_formed(v) && in_range(v, RESOURCES) {
        return Ok(());
    }
    Err(errors::arm(
        StatusCode::BAD_REQUEST,
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{v}' is invalid. The supported versions are '{}'.",
            RESOURCES.iter().rev().copied().collect::<Vec<_>>().join(",")
        ),
    ))
}

/// A provider type: malformed is `InvalidApiVersionParameter`, well-formed but unregistered is
/// `NoRegisteredProviderFound` (the message lists what is registered, as ARM's does).
pub fn check_version(v: &str, t: &ResourceType, location: &str) -> Result<(), Response> {
    if !well_formed(v) {
        return check_resources_version(v);
    }
    if in_range(v, t.versions) {
        return Ok(());
    }
    let ty = t.kind.split_once('/').map(|(_, ty)| ty).unwrap_or(t.kind);
    Err(errors::arm(
        StatusCode::BAD_REQUEST,
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location '{location}' and API version '{v}' for type '{ty}'. The supported api-versions are '{}'. The supported locations are 'westeurope, northeurope, eastus, westus2'.",
            t.versions.join(", ")
        ),
    ))
}

/// Unknown namespace or type, in ARM's words.
pub fn unknown(ns: &str, type_path: &str, api_version: &str) -> Response {
    match namespace(ns) {
        None => errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidResourceNamespace",
            format!("The resource namespace '{ns}' is invalid."),
        ),
        Some(ns) => errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidResourceType",
            format!(
                "The resource type '{type_path}' could not be found in the namespace '{ns}' for api version '{api_version}'."
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_per_type() {
        let rules = lookup("microsoft.network", "NETWORKSECURITYGROUPS/securityrules").unwrap();
        assert!(check_version("2024-05-01", rules, "westeurope").is_ok());
        assert!(check_version("2026-03-01", rules, "westeurope").is_ok());
        assert!(check_version("2025-01-01-preview", rules, "westeurope").is_ok());
        assert!(check_version("2030-01-01", rules, "westeurope").is_err());
        assert!(check_version("1", rules, "westeurope").is_err());
        assert!(check_resources_version("2021-04-01").is_ok());
        assert!(check_resources_version("2021-04").is_err());
        for t in TYPES {
            assert!(t.versions.windows(2).all(|w| w[0] < w[1]), "{} sorted", t.kind);
        }
    }
}
