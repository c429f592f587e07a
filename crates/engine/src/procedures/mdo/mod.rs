//! The mdo product's procedures (catalog keys `mdo.<area>.<verb>`), one file per catalog area.

pub(crate) mod rules;

use super::{Entry, entry};

/// Every mdo procedure, by key.
pub const REGISTRY: &[Entry] = &[entry::<rules::Forwarders>(), entry::<rules::RemoveForwarding>()];
