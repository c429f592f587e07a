//! Azure: Storage accounts, Key Vault (ARM and the `vault.azure.net` data plane), SQL servers.
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
