//! Effect checks: how to read a target back to see that an action took effect.
//!
//! Users complain most about failures that look like success: a 204 from Microsoft says the
//! request was taken, not that the account is now disabled. An action listed here is read back
//! after it succeeds; the operation records `verification: {verified, read}`, and an effect that
//! does not show within the bound ends the operation `Failed` with reason `NotVerified`
//! (`engine/src/completion.rs`).
//!
//! A check is a GET template over the action's own validated params, literal query pairs (e.g. a
//! Graph `$select`, since `accountEnabled` is not in Graph's default user properties), and the
//! values that must hold in the answer, as JSON pointers and JSON literals.

#[cfg(test)]
use crate::Method;
use crate::{Call, Product};

/// One declared read-back.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub product: Product,
    /// The canonical name of the action checked.
    pub action: &'static str,
    pub read: Call,
    /// Literal query pairs added to the read (`$select=...`).
    pub query: &'static [(&'static str, &'static str)],
    /// `(JSON pointer, JSON literal)` pairs that must all hold in the read's answer.
    pub expect: &'static [(&'static str, &'static str)],
}

/// Every product's effect checks, each in its product module.
pub fn checks() -> impl Iterator<Item = &'static Check> {
    crate::entra::CHECKS
        .iter()
        .chain(crate::mdo::CHECKS)
        .chain(crate::mdc::CHECKS)
        .chain(crate::mdi::CHECKS)
        .chain(crate::intune::CHECKS)
        .chain(crate::azure::checks())
        .chain(crate::mcas::CHECKS)
        .chain(crate::aws::CHECKS)
}

/// The check declared for an action, if any.
pub fn check_for(product: Product, action: &str) -> Option<&'static Check> {
    checks().find(|c| c.product == product && c.action == action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Plan};

    /// Every check names a supported action of its product, reads with GET, fills its path from
    /// params the action declares, and expects valid JSON.
    #[test]
    fn every_check_fits_its_action() {
        for c in checks() {
            let spec = Catalog::global().resolve(Some(c.product), c.action).expect("a checked action exists");
            assert_eq!(spec.name, c.action, "checks use canonical names");
            assert!(!matches!(spec.plan, Plan::Unsupported { .. }), "{} is unsupported", c.action);
            assert_eq!(c.read.method, Method::Get, "{}: a check only reads", c.action);
            for placeholder in c.read.path.split('{').skip(1).filter_map(|p| p.split('}').next()) {
                assert!(
                    spec.params.iter().any(|p| p.name == placeholder),
                    "{}: reads {{{placeholder}}}, which it does not declare",
                    c.action
                );
            }
            for (_, literal) in c.expect {
                assert!(
                    serde_json::from_str::<serde_json::Value>(literal).is_ok(),
                    "{}: {literal} is not JSON",
                    c.action
                );
            }
        }
    }
}
