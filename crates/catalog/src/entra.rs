//! Entra ID actions.
use crate::*;
pub static ACTIONS: &[ActionSpec] = &[];
