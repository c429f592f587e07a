//! Azure: NSG deny rules, the isolation NSG, public IPs, Azure Firewall and WAF policies.
use crate::*;

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this area's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
