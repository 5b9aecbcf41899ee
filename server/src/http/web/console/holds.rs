//! The console's holds pages.

use axum::Router;

use crate::http::AppState;

/// Routes of these pages (nested under `/console`).
pub fn routes() -> Router<AppState> {
    Router::new()
}
