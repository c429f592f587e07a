//! Intune on Graph: deviceManagement/managedDevices and their actions, configuration profiles, BitLocker recovery keys.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
