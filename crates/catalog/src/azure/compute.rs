//! Azure: VMs (power, redeploy, snapshots), Arc machines, AKS, App Service.
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
