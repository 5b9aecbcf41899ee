//! The librarians' console under `/console/`: the pages staff run their library and
//! the consortium from. Each handler extracts, calls one service function (the same
//! ones the JSON API calls) and renders; no rule lives here. Every page is scoped by
//! the services to the staff member's library (consortium admins see everything).

mod account;
mod admin;
mod audit;
mod catalogue;
mod copies;
mod dashboard;
mod distribution;
mod holds;
mod patrons;
mod reports;
mod rules;

use axum::Router;
use axum::routing::get;

use crate::http::AppState;

/// The console's routes (full paths, all under `/console/`); uploads accept up to
/// `max_upload_bytes`.
pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { see_other("/console/") }))
        .route("/console/", get(dashboard::page))
        .route(
            "/console/login",
            get(account::login_page).post(account::login),
        )
        .route("/console/logout", axum::routing::post(account::logout))
        .route(
            "/console/password",
            get(account::password_page).post(account::change_password),
        )
        .merge(catalogue::routes(max_upload_bytes))
        .merge(copies::routes())
        .merge(patrons::routes())
        .merge(holds::routes())
        .merge(rules::routes())
        .merge(reports::routes())
        .merge(audit::routes())
        .merge(admin::routes())
        .merge(distribution::routes())
        // A console address that does not exist is a page, not the API's JSON answer.
        .route("/console/{*rest}", get(not_found))
}

async fn not_found(web: crate::http::web::Web) -> crate::http::web::PageError {
    crate::http::web::PageError::service(crate::service::Error::NotFound("page"), web.lang)
}

/// Redirects to `to` after a successful form post (303: the browser then GETs it, so
/// a reload does not post twice).
pub(crate) fn see_other(to: &str) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::response::Redirect::to(to))
}

/// The id in a console path; a malformed one is as unknown as a missing one (a 404
/// page naming `what`).
pub(crate) fn path_id(
    raw: &str,
    what: &'static str,
    lang: crate::http::web::Lang,
) -> Result<uuid::Uuid, crate::http::web::PageError> {
    uuid::Uuid::parse_str(raw).map_err(|_| {
        crate::http::web::PageError::service(crate::service::Error::NotFound(what), lang)
    })
}

/// The console menu: section, address, message key. `admin` is shown to consortium
/// admins and library managers, `distribution` to consortium admins only (the
/// services refuse everyone else anyway).
pub const MENU: [(&str, &str, &str); 9] = [
    ("dashboard", "/console/", "menu-dashboard"),
    ("catalogue", "/console/titles", "menu-catalogue"),
    ("patrons", "/console/patrons", "menu-patrons"),
    ("holds", "/console/holds", "menu-holds"),
    ("rules", "/console/rules", "menu-rules"),
    ("reports", "/console/reports", "menu-reports"),
    ("audit", "/console/audit", "menu-audit"),
    ("admin", "/console/admin", "menu-admin"),
    ("distribution", "/console/distribution", "menu-distribution"),
];

/// A size for people: B, KB, MB, GB or TB (binary units, rounded to one decimal:
/// "1.2 GB").
pub(crate) fn file_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1 << 10 {
        return format!("{bytes} B");
    }
    let mut unit: u128 = 1 << 10;
    let mut tenths = 0;
    let mut name = UNITS[0];
    for next in UNITS {
        name = next;
        tenths = (u128::from(bytes) * 10 + unit / 2) / unit;
        // 1023.96 KB is "1.0 MB", not "1024.0 KB".
        if tenths < 1024 * 10 {
            break;
        }
        unit <<= 10;
    }
    format!("{}.{} {name}", tenths / 10, tenths % 10)
}

/// A bar chart drawn on the server as SVG bars in a table (the table is what screen
/// readers and keyboards use; the bars are decoration).
#[derive(Debug, Clone)]
pub struct Bars {
    /// `(label, value)` in display order.
    pub rows: Vec<(String, u64)>,
    max: u64,
}

impl Bars {
    /// A chart of `rows`.
    pub fn new(rows: Vec<(String, u64)>) -> Self {
        let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
        Self { rows, max }
    }

    /// The bar's length in percent of the widest (at least 1 when the value is not 0).
    pub fn percent(&self, value: &u64) -> u64 {
        if self.max == 0 || *value == 0 {
            0
        } else {
            (value.saturating_mul(100) / self.max).max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::file_size;

    #[test]
    fn sizes_are_shown_in_the_largest_whole_unit_with_one_decimal() {
        assert_eq!(file_size(0), "0 B");
        assert_eq!(file_size(1023), "1023 B");
        assert_eq!(file_size(1024), "1.0 KB");
        assert_eq!(file_size(1536), "1.5 KB");
        assert_eq!(file_size(5 << 20), "5.0 MB");
        assert_eq!(file_size((1 << 30) + (1 << 30) / 5), "1.2 GB");
        assert_eq!(file_size(3 << 40), "3.0 TB");
        assert_eq!(file_size((1 << 20) - 1), "1.0 MB");
        assert_eq!(file_size(u64::MAX), "16777216.0 TB");
    }
}
