//! Defender for Identity on Graph: identityAccounts and invokeAction.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
