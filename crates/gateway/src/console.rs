//! The web console: one self-contained page (no external assets; works offline) that lists the
//! catalog, runs an action through the native API with the key you paste, and shows the audit.

use axum::response::Html;

pub async fn page() -> Html<&'static str> {
    Html(include_str!("../assets/console.html"))
}
