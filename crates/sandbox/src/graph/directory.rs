//! Entra ID beyond users: groups, directory roles, PIM, service principals, risky users and detections, conditional access and named locations.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
