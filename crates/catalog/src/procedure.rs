//! Procedure keys: how a catalog row names the multi-step engine code that carries it out.
//!
//! A row whose work cannot be said as one [`crate::Call`] holds `Plan::Procedure(ProcedureId(..))`,
//! a stable key spelled `<product>.<area>.<verb>` (`"mde.live_response.run_script"`). The catalog
//! does no I/O and cannot name engine code, and a closed central enum of procedures would make
//! every new product edit one shared list; a key declared next to its row does neither. The
//! engine keeps one registry per product (`engine/src/procedures/<product>/mod.rs`) from keys to
//! implementations, and a whole-table test there holds the two sides to each other: every key a
//! row names has exactly one implementation, every implementation is named by a row, and every
//! parameter an implementation reads is declared by each row that uses it.

use serde::Serialize;

/// The stable key of one multi-step procedure, `<product>.<area>.<verb>`; the first segment is
/// the product folder (`mde`, `entra`, ...) shared by the catalog, the engine and the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProcedureId(pub &'static str);

impl ProcedureId {
    /// The product folder the key belongs to (`"mde"` for `"mde.live_response.run_script"`).
    pub fn product_folder(self) -> &'static str {
        self.0.split('.').next().unwrap_or(self.0)
    }
}

impl std::fmt::Display for ProcedureId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
