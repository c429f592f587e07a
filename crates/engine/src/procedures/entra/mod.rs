//! The entra product's procedures (catalog keys `entra.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every entra procedure, by key.
pub const REGISTRY: &[Entry] = &[];
