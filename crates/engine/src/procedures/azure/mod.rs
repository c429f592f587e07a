//! The azure product's procedures (catalog keys `azure.<area>.<verb>`), one file per catalog area;
//! `arm.rs` holds the ARM paths and calls every Azure area shares, `steps.rs` the network and
//! compute steps (api-versions, a named resource's 404 as a 400, finishing long-running steps).

use super::{Entry, entry};

pub(crate) mod arm;
mod compute;
mod data;
mod edge;
mod firewall;
mod keyvault;
mod network;
mod security;
mod steps;

/// Every azure procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<compute::SnapshotOsDisk>(),
    entry::<network::AddDenyRule>(),
    entry::<network::RemoveDenyRule>(),
    entry::<network::ApplyIsolation>(),
    entry::<network::RemoveIsolation>(),
    entry::<network::DetachPublicIps>(),
    entry::<network::ReattachPublicIps>(),
    entry::<edge::BlockIpInWaf>(),
    entry::<edge::UnblockIpInWaf>(),
    entry::<edge::BlockCountries>(),
    entry::<edge::UnblockCountries>(),
    entry::<edge::PreventionMode>(),
    entry::<edge::DetectionMode>(),
    entry::<edge::DisableAppAuth>(),
    entry::<edge::EnableAppAuth>(),
    entry::<edge::AddCustomRule>(),
    entry::<edge::RemoveCustomRule>(),
    entry::<compute::RunArcCommand>(),
    entry::<compute::DeletePod>(),
    entry::<compute::EnforceHardening>(),
    entry::<firewall::BlockIp>(),
    entry::<firewall::UnblockIp>(),
    entry::<firewall::BlockDomain>(),
    entry::<firewall::UnblockDomain>(),
    entry::<firewall::ThreatIntel>(),
    entry::<data::RevokeSas>(),
    entry::<data::BlockSqlIp>(),
    entry::<data::RotateSqlPassword>(),
    entry::<keyvault::SetSecretEnabled<false>>(),
    entry::<keyvault::SetSecretEnabled<true>>(),
    entry::<keyvault::RotateKey>(),
    entry::<keyvault::PurgeSecret>(),
    entry::<security::EnableJit>(),
    entry::<security::DisableJit>(),
    entry::<security::RequestJit>(),
    entry::<security::AddWatchlistItems>(),
    entry::<security::EnablePlaybook>(),
];
