//! `/api/v1/admin/reports/...`: circulation reports as JSON or CSV.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{FieldError, Invalid};
use crate::http::AppState;
use crate::http::extract::{Query, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::reports::{self, LoanGrouping, Table};

/// A report as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// Report parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// For loan reports: `title`, `library` or `month`.
    pub group: Option<String>,
    /// Loans started from (default: the Unix epoch).
    pub from: Option<DateTime<Utc>>,
    /// Loans started before (default: now).
    pub to: Option<DateTime<Utc>>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

fn respond(table: &Table, format: Option<&str>, name: &str) -> Result<Response, ApiError> {
    match format.unwrap_or("json") {
        "json" => Ok(axum::Json(ReportView {
            columns: table.columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: table.rows.clone(),
        })
        .into_response()),
        "csv" => {
            let body = reports::to_csv(table)?;
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) =
                HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\""))
            {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            Ok(response)
        }
        _ => Err(Invalid::from(FieldError::new("format", "must be json or csv")).into()),
    }
}

fn range(state: &AppState, params: &ReportParams) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        params.from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        params
            .to
            .unwrap_or_else(|| state.ctx.clock.now() + chrono::Duration::seconds(1)),
    )
}

/// Loans by title, library or month (`?group=`).
#[utoipa::path(get, path = "/api/v1/admin/reports/loans", tag = "admin",
    security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = ReportView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn loans(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let grouping = match params.group.as_deref().unwrap_or("title") {
        "title" => LoanGrouping::Title,
        "library" => LoanGrouping::Library,
        "month" => LoanGrouping::Month,
        _ => {
            return Err(
                Invalid::from(FieldError::new("group", "must be title, library or month")).into(),
            );
        }
    };
    let (from, to) = range(&state, &params);
    let table = reports::loans(&state.ctx, &auth.staff, grouping, from, to).await?;
    respond(&table, params.format.as_deref(), "loans")
}

/// Use of shared lots by each library: the basis for sharing costs.
#[utoipa::path(get, path = "/api/v1/admin/reports/shared-usage", tag = "admin",
    security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = ReportView)))]
pub async fn shared_usage(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let (from, to) = range(&state, &params);
    let table = reports::shared_usage(&state.ctx, &auth.staff, from, to).await?;
    respond(&table, params.format.as_deref(), "shared-usage")
}

/// Titles readers wait for with no copy free: what to buy next.
#[utoipa::path(get, path = "/api/v1/admin/reports/holds-without-copies", tag = "admin",
    security(("bearer" = [])),
    params(ReportParams),
    responses((status = 200, body = ReportView)))]
pub async fn holds_without_copies(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let table = reports::holds_without_copies(&state.ctx, &auth.staff).await?;
    respond(&table, params.format.as_deref(), "holds-without-copies")
}
