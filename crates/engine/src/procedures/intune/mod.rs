//! The Intune product's procedures (catalog keys `intune.<area>.<verb>`), one file per catalog
//! area, and the resolution of a device named by any identity to its Intune id (`devices.rs`).

pub(crate) mod apps;
pub(crate) mod devices;
pub(crate) mod epm;
pub(crate) mod keys;
pub(crate) mod profiles;

use super::{Entry, entry};

/// Every intune procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<keys::ResetPasscode>(),
    entry::<keys::BitLockerRecoveryKeys>(),
    entry::<profiles::DeploySetting>(),
    entry::<profiles::DeployExisting>(),
    entry::<profiles::Remove>(),
    entry::<apps::Uninstall>(),
    entry::<apps::WipeAppData>(),
    entry::<epm::Revoke>(),
    entry::<epm::DenyPending>(),
];
