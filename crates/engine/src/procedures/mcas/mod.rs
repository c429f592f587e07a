//! The mcas product's procedures (catalog keys `mcas.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every mcas procedure, by key.
pub const REGISTRY: &[Entry] = &[];
