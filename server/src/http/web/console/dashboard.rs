//! The dashboard: what happened today and this month at a glance.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::Bars;
use crate::http::AppState;
use crate::http::web::session::Console;
use crate::http::web::{Chrome, PageError};
use crate::service::reports::{self, Dashboard};

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    d: Dashboard,
    top_titles: Bars,
    per_library: Bars,
}

/// `GET /console/`.
pub async fn page(State(state): State<AppState>, console: Console) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let d = reports::dashboard(&state.ctx, &console.staff)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let top_titles = Bars::new(d.top_titles.clone());
    let per_library = Bars::new(d.loans_per_library.clone());
    console.web.render(&DashboardPage {
        c: console.chrome("dashboard"),
        d,
        top_titles,
        per_library,
    })
}
