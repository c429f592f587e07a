//! The mcas product's procedures (catalog keys `mcas.<area>.<verb>`): OAuth consents and app
//! access (`apps.rs`) and files in connected apps (`files.rs`), changed through Graph (the Cloud
//! Apps API has no call for them). Each lists what it deletes first and answers a row per
//! deletion.

use super::{Entry, entry};

pub(crate) mod apps;
pub(crate) mod files;

/// Every mcas procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<apps::RevokeConsent>(),
    entry::<apps::Ban>(),
    entry::<apps::RemoveAccess>(),
    entry::<apps::BlockUser>(),
    entry::<files::RevokeSharing>(),
    entry::<files::RemoveExternal>(),
    entry::<files::Quarantine>(),
];
