//! A tenant's Entra directory and Graph-only security data (see `world/mde.rs` for why state
//! is split per product).

use super::User;
use crate::graph::auth_methods::PasswordResets;
use crate::graph::detection_rules::Rules;

pub struct GraphState {
    pub users: Vec<User>,
    /// Custom detection rules (Graph beta, `graph/detection_rules.rs`); empty at start.
    pub detection_rules: Rules,
    /// resetPassword operations (`graph/auth_methods.rs`); they hold no passwords.
    pub password_resets: PasswordResets,
    /// Authentication methods, Identity Protection, conditional access, roles and PIM, groups
    /// and service principals (`world/directory.rs`).
    pub directory: super::directory::DirectoryState,
}
