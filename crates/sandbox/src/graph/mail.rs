//! Defender for Office 365 on Graph: mailboxes and messages, inbox rules and forwarding, analyzedEmails and their remediation, threat submissions, the tenant allow/block list.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
