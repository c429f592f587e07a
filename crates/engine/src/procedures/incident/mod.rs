//! The incident product's procedures (catalog keys `incident.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every incident procedure, by key.
pub const REGISTRY: &[Entry] = &[];
