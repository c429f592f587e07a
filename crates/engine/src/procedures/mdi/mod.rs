//! The mdi product's procedures (catalog keys `mdi.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every mdi procedure, by key.
pub const REGISTRY: &[Entry] = &[];
