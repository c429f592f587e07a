//! The mdo product's procedures (catalog keys `mdo.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every mdo procedure, by key.
pub const REGISTRY: &[Entry] = &[];
