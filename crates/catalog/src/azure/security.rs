//! Azure: Defender plans, recommendations, JIT, Sentinel watchlists, app identities in Azure.
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
