//! The mdc product's procedures (catalog keys `mdc.<area>.<verb>`), one file per catalog area.

use super::{Entry, entry};

mod alerts;
mod filter;

/// Every mdc procedure, by key.
pub const REGISTRY: &[Entry] = &[entry::<alerts::SetStatus>(), entry::<alerts::List>()];
