//! The reader's web app under `/reader/`: find and borrow books, the shelf, and reading
//! in the browser.

use axum::Router;

use crate::http::AppState;

/// The reader app's routes (full paths under `/reader/`).
pub fn routes() -> Router<AppState> {
    Router::new()
}
