//! Defender for Endpoint actions.
use crate::*;
pub static ACTIONS: &[ActionSpec] = &[];
