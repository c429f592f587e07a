//! Defender for Identity: identity accounts actions (`security/identities/identityAccounts/{id}/invokeAction`), identity alerts (alerts_v2, serviceSource microsoftDefenderForIdentity), and reads backed by advanced hunting.
//!
//! The product's issue fills this table; until then the product is in `NOT_YET_IMPLEMENTED`.
use crate::*;

/// Every Mdi action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

/// Seed names of this product with no action yet; `tests/seed_names.rs` holds the list to the
/// catalog once the product leaves `NOT_YET_IMPLEMENTED`, so it only shrinks.
pub const PENDING_SEED_NAMES: &[&str] =
    &["GetAlerts", "UpdateAlert", "GetLateralMovementPaths", "GetExposedCredentials", "GetIdentitySecureScore"];
