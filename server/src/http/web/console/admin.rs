//! The console's admin pages.

use axum::Router;

use crate::http::AppState;

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
}
