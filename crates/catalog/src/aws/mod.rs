//! AWS network containment: SigV4-signed EC2 Query API calls (`Api::Ec2`): network ACL deny entries and security-group ingress revocation.
//!
//! The product's issue fills this table; until then the product is in `NOT_YET_IMPLEMENTED`.
use crate::*;

/// Every Aws action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    ACTIONS.iter()
}

pub static ACTIONS: &[ActionSpec] = &[];

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];
