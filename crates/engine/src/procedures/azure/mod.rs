//! The azure product's procedures (catalog keys `azure.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every azure procedure, by key.
pub const REGISTRY: &[Entry] = &[];
