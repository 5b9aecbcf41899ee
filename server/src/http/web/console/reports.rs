//! The console's reports: loans by title, library or month; the use of shared lots by
//! each library (the cost-sharing statement); holds waiting with no copy free (what to
//! buy next). Each is a table, a bar chart drawn on the server, and the same table as
//! CSV (`service::reports::to_csv`, as the JSON API's CSV). The services scope the
//! figures to the staff member's library (everyone's for consortium admins).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::domain::Calendar;
use serde::Deserialize;

use super::Bars;
use crate::domain::{FieldError, Invalid};
use crate::http::AppState;
use crate::http::web::session::Console;
use crate::http::web::{Chrome, Lang, PageError};
use crate::service::reports::{self, LoanGrouping, Table};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/reports", get(index))
        .route("/console/reports/loans", get(loans))
        .route("/console/reports/shared-use", get(shared_use))
        .route(
            "/console/reports/holds-without-copies",
            get(holds_without_copies),
        )
}

#[derive(Template)]
#[template(path = "console/reports/index.html")]
struct IndexPage {
    c: Chrome,
}

/// `GET /console/reports`.
pub async fn index(console: Console) -> Result<Response, PageError> {
    console.web.render(&IndexPage {
        c: console.chrome("reports"),
    })
}

/// A report's parameters.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// Loans: `title`, `library` or `month`.
    by: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC); default: the first of this month.
    from: Option<String>,
    /// Last day, included; default: today.
    to: Option<String>,
    /// `csv` for the download.
    format: Option<String>,
}

/// The period of a report: the days `from` to `to`, both included.
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// The period asked for; this month so far by default.
    fn of(query: &ReportQuery, now: DateTime<Utc>, calendar: Calendar) -> Result<Self, Invalid> {
        let today = calendar.date_of(now);
        let day = |field: &'static str, raw: Option<&String>, default: NaiveDate| match raw
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
        {
            None => Ok(default),
            Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| FieldError::new(field, "must be a date (YYYY-MM-DD)")),
        };
        let first_of_month = today.with_day(1).unwrap_or(today);
        let from = day("from", query.from.as_ref(), first_of_month)?;
        let to = day("to", query.to.as_ref(), today)?;
        if to < from {
            return Err(FieldError::new("to", "must not be before from").into());
        }
        Ok(Self { from, to })
    }

    /// `[start, end)`: from the start of the first local day to the end of the last.
    fn range(&self, calendar: Calendar) -> (DateTime<Utc>, DateTime<Utc>) {
        (calendar.start_of(self.from), calendar.end_of(self.to))
    }
}

/// A table cell: text, a link, whether it is a number.
struct CellView {
    text: String,
    href: Option<String>,
    num: bool,
}

#[derive(Template)]
#[template(path = "console/reports/report.html")]
struct ReportPage {
    c: Chrome,
    /// `loans`, `shared-use` or `holds-without-copies`.
    report: &'static str,
    heading: String,
    intro: String,
    /// Loans: the grouping (`title`, `library`, `month`).
    by: String,
    /// The period, for reports that have one.
    period: Option<(String, String)>,
    columns: Vec<(String, bool)>,
    rows: Vec<Vec<CellView>>,
    chart_caption: String,
    chart_label: String,
    chart_value: String,
    bars: Bars,
    csv_href: String,
}

/// The column's heading (each column the services name has its words).
fn column_heading(c: &Chrome, column: &str) -> String {
    match column {
        "title_id" => c.t("reports-col-title-id"),
        "title" => c.t("reports-col-title"),
        "loans" => c.t("reports-col-loans"),
        "loan_days" => c.t("reports-col-loan-days"),
        "library" => c.t("reports-col-library"),
        "month" => c.t("reports-col-month"),
        "lot_owner" => c.t("reports-col-lot-owner"),
        "holds_waiting" => c.t("reports-col-holds-waiting"),
        "copies" => c.t("reports-col-copies"),
        other => other.to_owned(),
    }
}

fn is_number_column(column: &str) -> bool {
    matches!(column, "loans" | "loan_days" | "holds_waiting" | "copies")
}

/// The table as the page shows it: a title links to its page (and its id column is
/// not shown), the consortium's shared pool is named in words.
fn view_rows(c: &Chrome, table: &Table) -> (Vec<(String, bool)>, Vec<Vec<CellView>>) {
    let id_at = table.columns.iter().position(|col| *col == "title_id");
    let columns = table
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != id_at)
        .map(|(_, col)| (column_heading(c, col), is_number_column(col)))
        .collect();
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let id = id_at.and_then(|i| row.get(i));
            table
                .columns
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(i, _)| Some(*i) != id_at)
                .map(|(_, (col, cell))| CellView {
                    text: if *col == "lot_owner" && cell == "consortium" {
                        c.t("reports-shared-pool")
                    } else {
                        cell.clone()
                    },
                    href: (*col == "title")
                        .then(|| id.map(|id| format!("/console/titles/{id}")))
                        .flatten(),
                    num: is_number_column(col),
                })
                .collect()
        })
        .collect();
    (columns, rows)
}

/// `(label, value)` pairs of `table` for a chart: the label is the cells of
/// `label_columns` joined with " → ", the value the number in `value_column`.
fn chart(c: &Chrome, table: &Table, label_columns: &[&str], value_column: &str) -> Bars {
    let at = |name: &str| table.columns.iter().position(|col| *col == name);
    let labels: Vec<usize> = label_columns.iter().filter_map(|name| at(name)).collect();
    let value = at(value_column);
    Bars::new(
        table
            .rows
            .iter()
            .filter_map(|row| {
                let n = row.get(value?)?.parse().ok()?;
                let label = labels
                    .iter()
                    .filter_map(|i| {
                        let cell = row.get(*i)?;
                        Some(
                            if cell == "consortium" && table.columns.get(*i) == Some(&"lot_owner") {
                                c.t("reports-shared-pool")
                            } else {
                                cell.clone()
                            },
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" → ");
                Some((label, n))
            })
            .collect(),
    )
}

/// The CSV download: the API's CSV (UTF-8 with a byte-order mark, formulas
/// neutralised), as an attachment named after the report and its period.
pub(super) fn csv(table: &Table, file_name: &str, lang: Lang) -> Result<Response, PageError> {
    let body = reports::to_csv(table).map_err(|e| PageError::service(e, lang))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

fn wants_csv(query: &ReportQuery) -> bool {
    query.format.as_deref() == Some("csv")
}

/// `?by=…&from=…&to=…&format=csv`.
fn csv_href(path: &str, by: Option<&str>, period: &Period) -> String {
    let from = period.from.to_string();
    let to = period.to.to_string();
    let mut pairs = Vec::new();
    if let Some(by) = by {
        pairs.push(("by", by));
    }
    pairs.push(("from", from.as_str()));
    pairs.push(("to", to.as_str()));
    pairs.push(("format", "csv"));
    format!(
        "{path}?{}",
        serde_html_form::to_string(&pairs).unwrap_or_default()
    )
}

/// `GET /console/reports/loans?by=title|library|month&from=…&to=…[&format=csv]`.
pub async fn loans(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let (grouping, by) = match query.by.as_deref().unwrap_or("title") {
        "title" => (LoanGrouping::Title, "title"),
        "library" => (LoanGrouping::Library, "library"),
        "month" => (LoanGrouping::Month, "month"),
        _ => {
            let invalid = Invalid::from(FieldError::new("by", "must be title, library or month"));
            return Err(PageError::service(invalid.into(), lang));
        }
    };
    let period = Period::of(&query, state.ctx.clock.now(), state.ctx.calendar)
        .map_err(|e| PageError::service(e.into(), lang))?;
    let (from, to) = period.range(state.ctx.calendar);
    let table = reports::loans(&state.ctx, &console.staff, grouping, from, to)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    if wants_csv(&query) {
        return csv(
            &table,
            &format!("loans-by-{by}-{}-{}", period.from, period.to),
            lang,
        );
    }
    let c = console.chrome("reports");
    let label = match grouping {
        LoanGrouping::Title => "title",
        LoanGrouping::Library => "library",
        LoanGrouping::Month => "month",
    };
    let bars = chart(&c, &table, &[label], "loans");
    let (columns, rows) = view_rows(&c, &table);
    console.web.render(&ReportPage {
        report: "loans",
        heading: c.t("reports-loans-title"),
        intro: c.t("reports-loans-intro"),
        by: by.to_owned(),
        period: Some((period.from.to_string(), period.to.to_string())),
        chart_caption: c.t("reports-loans-chart"),
        chart_label: column_heading(&c, label),
        chart_value: column_heading(&c, "loans"),
        csv_href: csv_href("/console/reports/loans", Some(by), &period),
        columns,
        rows,
        bars,
        c,
    })
}

/// `GET /console/reports/shared-use?from=…&to=…[&format=csv]`: loans from lots the
/// borrowing library does not own, per library and lot owner.
pub async fn shared_use(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let period = Period::of(&query, state.ctx.clock.now(), state.ctx.calendar)
        .map_err(|e| PageError::service(e.into(), lang))?;
    let (from, to) = period.range(state.ctx.calendar);
    let table = reports::shared_usage(&state.ctx, &console.staff, from, to)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    if wants_csv(&query) {
        return csv(
            &table,
            &format!("shared-use-{}-{}", period.from, period.to),
            lang,
        );
    }
    let c = console.chrome("reports");
    let bars = chart(&c, &table, &["library", "lot_owner"], "loans");
    let (columns, rows) = view_rows(&c, &table);
    console.web.render(&ReportPage {
        report: "shared-use",
        heading: c.t("reports-shared-title"),
        intro: c.t("reports-shared-intro"),
        by: String::new(),
        period: Some((period.from.to_string(), period.to.to_string())),
        chart_caption: c.t("reports-shared-chart"),
        chart_label: c.t("reports-shared-chart-label"),
        chart_value: column_heading(&c, "loans"),
        csv_href: csv_href("/console/reports/shared-use", None, &period),
        columns,
        rows,
        bars,
        c,
    })
}

/// `GET /console/reports/holds-without-copies[?format=csv]`: titles readers wait for
/// with no copy free, most holds first (as of now: no period).
pub async fn holds_without_copies(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let table = reports::holds_without_copies(&state.ctx, &console.staff)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    if wants_csv(&query) {
        let today = state.ctx.calendar.date_of(state.ctx.clock.now());
        return csv(&table, &format!("holds-without-copies-{today}"), lang);
    }
    let c = console.chrome("reports");
    let bars = chart(&c, &table, &["title"], "holds_waiting");
    let (columns, rows) = view_rows(&c, &table);
    console.web.render(&ReportPage {
        report: "holds-without-copies",
        heading: c.t("reports-holds-title"),
        intro: c.t("reports-holds-intro"),
        by: String::new(),
        period: None,
        chart_caption: c.t("reports-holds-chart"),
        chart_label: column_heading(&c, "title"),
        chart_value: column_heading(&c, "holds_waiting"),
        csv_href: String::from("/console/reports/holds-without-copies?format=csv"),
        columns,
        rows,
        bars,
        c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_defaults_to_this_month_and_includes_its_last_day() {
        let now = DateTime::parse_from_rfc3339("2025-03-17T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let cst = Calendar::default();
        let period = Period::of(&ReportQuery::default(), now, cst).expect("period");
        assert_eq!(period.from.to_string(), "2025-03-01");
        assert_eq!(period.to.to_string(), "2025-03-17");
        // Beijing days: 1 March begins at 16:00 UTC on 28 February.
        let (start, end) = period.range(cst);
        assert_eq!(start.to_rfc3339(), "2025-02-28T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2025-03-17T16:00:00+00:00");
        let backwards = ReportQuery {
            from: Some("2025-03-10".into()),
            to: Some("2025-03-09".into()),
            ..Default::default()
        };
        assert!(Period::of(&backwards, now, cst).is_err());
        let garbage = ReportQuery {
            from: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(Period::of(&garbage, now, cst).is_err());
    }
}
