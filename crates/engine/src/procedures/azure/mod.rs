//! The azure product's procedures (catalog keys `azure.<area>.<verb>`), one file per catalog area;
//! `arm.rs` holds the ARM steps they share (paths, api-versions, finishing long-running steps).

use super::{Entry, entry};

pub(crate) mod arm;
mod compute;

/// Every azure procedure, by key.
pub const REGISTRY: &[Entry] = &[entry::<compute::SnapshotOsDisk>()];
