//! The aws product's procedures (catalog keys `aws.<area>.<verb>`), one file per catalog area.

use super::Entry;

/// Every aws procedure, by key.
pub const REGISTRY: &[Entry] = &[];
