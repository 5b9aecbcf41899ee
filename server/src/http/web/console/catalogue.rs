//! The console's catalogue pages.

use axum::Router;

use crate::http::AppState;

/// Routes of these pages (full paths under `/console/`); the upload route must accept
/// up to `max_upload_bytes` (`DefaultBodyLimit::max` on that route).
pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    let _ = max_upload_bytes;
    Router::new()
}
