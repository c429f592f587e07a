//! Defender for Cloud Apps: the per-tenant portal API (`/api/v1/...`) with its own token audience.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
