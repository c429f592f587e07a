//! The intune product's procedures (catalog keys `intune.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every intune procedure, by key.
pub const REGISTRY: &[Entry] = &[];
