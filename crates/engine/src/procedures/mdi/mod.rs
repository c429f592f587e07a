//! The mdi product's procedures (catalog keys `mdi.<area>.<verb>`), one file per catalog area:
//! reads Defender for Identity has no API for, answered by fixed advanced hunting queries, and
//! the identity part of Secure Score.

pub(crate) mod hunting;

use super::{Entry, entry};

/// Every mdi procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<hunting::LateralMovement>(),
    entry::<hunting::ExposedCredentials>(),
    entry::<hunting::IdentitySecureScore>(),
];
