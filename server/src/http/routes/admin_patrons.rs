//! `/api/v1/admin/patrons`: patrons of the libraries in the caller's scope. Patrons of
//! other libraries do not exist for the caller (404, never 403, so ids leak nothing).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Months, Utc};
use jieyue_protocol::api::SecretString;
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::{
    CardNumber, DisplayName, FieldError, LibraryId, Password, Patron, PatronCategory, PatronId,
    Validator,
};
use crate::http::AppState;
use crate::http::extract::{Json, Path, Query, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::patrons::PatronQuery;
use crate::service::patrons::{self, PatronChanges, RegisterPatron};

/// A patron as staff see them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatronView {
    /// Id.
    pub id: Uuid,
    /// Home library.
    pub library_id: Uuid,
    /// Card number.
    pub card_number: String,
    /// Name.
    pub display_name: String,
    /// Category.
    pub category: String,
    /// Card expiry.
    pub card_expires_at: DateTime<Utc>,
    /// Blocked from borrowing.
    pub blocked: bool,
    /// Why, if blocked.
    pub blocked_reason: Option<String>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

impl From<&Patron> for PatronView {
    fn from(p: &Patron) -> Self {
        Self {
            id: p.id.0,
            library_id: p.library_id.0,
            card_number: p.card_number.clone(),
            display_name: p.display_name.clone(),
            category: p.category.clone(),
            card_expires_at: p.card_expires_at,
            blocked: p.blocked,
            blocked_reason: p.blocked_reason.clone(),
            created_at: p.created_at,
        }
    }
}

/// A page of patrons.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatronPage {
    /// The patrons, oldest registration first.
    pub items: Vec<PatronView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PatronSearch {
    /// Card number prefix or part of the name.
    pub q: Option<String>,
    /// Only this library (consortium admins; others see only their own anyway).
    pub library_id: Option<Uuid>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u64>,
}

/// A patron to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatronRequest {
    /// Home library; defaults to the staff member's own (required for consortium admins).
    pub library_id: Option<Uuid>,
    /// Card number, unique in the library.
    pub card_number: String,
    /// Name.
    pub display_name: String,
    /// Category (default `adult`).
    pub category: Option<String>,
    /// Card expiry (default three years from now).
    pub card_expires_at: Option<DateTime<Utc>>,
    /// Initial password (8-128 characters).
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Changes to a patron; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatronRequest {
    /// New name.
    pub display_name: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New card expiry.
    pub card_expires_at: Option<DateTime<Utc>>,
    /// Reset the password (ends the patron's sessions).
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
}

/// Why a patron is blocked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// Shown to staff (at most 500 characters).
    pub reason: Option<String>,
}

/// Find patrons by card number or name.
#[utoipa::path(get, path = "/api/v1/admin/patrons", tag = "admin",
    security(("bearer" = [])),
    params(PatronSearch),
    responses((status = 200, body = PatronPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn search(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(params): Query<PatronSearch>,
) -> Result<Json<PatronPage>, ApiError> {
    let mut v = Validator::new();
    let after = v.check_opt(params.cursor.as_deref().map(|c| {
        Uuid::parse_str(c)
            .map(PatronId)
            .map_err(|_| FieldError::new("cursor", "is not a cursor from a previous page"))
    }));
    let limit = v.check(match params.limit.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(FieldError::new("limit", "must be between 1 and 200")),
    });
    let query = v.build(|| {
        Some(PatronQuery {
            text: params.q,
            library: params.library_id.map(LibraryId),
            after: after?,
            limit: limit?,
        })
    })?;
    let found = patrons::search(&state.ctx, &auth.staff, &query).await?;
    let full = u64::try_from(found.len()).unwrap_or(u64::MAX) == query.limit;
    let next_cursor = found.last().filter(|_| full).map(|p| p.id.0.to_string());
    Ok(Json(PatronPage {
        items: found.iter().map(PatronView::from).collect(),
        next_cursor,
    }))
}

/// Register a patron.
#[utoipa::path(post, path = "/api/v1/admin/patrons", tag = "admin",
    security(("bearer" = [])),
    request_body = CreatePatronRequest,
    responses(
        (status = 201, body = PatronView),
        (status = 404, description = "Library not in scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Card number taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(request): Json<CreatePatronRequest>,
) -> Result<(StatusCode, Json<PatronView>), ApiError> {
    let now = state.ctx.clock.now();
    let mut v = Validator::new();
    let card_number = v.check(CardNumber::parse(&request.card_number));
    let display_name = v.check(DisplayName::parse(&request.display_name));
    let category = v.check(PatronCategory::parse(
        request.category.as_deref().unwrap_or("adult"),
    ));
    let password = v.check(Password::parse_new("password", &request.password));
    let card_expires_at = request
        .card_expires_at
        .or_else(|| now.checked_add_months(Months::new(36)))
        .unwrap_or(now);
    let register = v.build(|| {
        Some(RegisterPatron {
            library_id: request.library_id.map(LibraryId),
            card_number: card_number?,
            display_name: display_name?,
            category: category?,
            card_expires_at,
            password: password?,
        })
    })?;
    let patron = patrons::register(&state.ctx, &auth.staff, register).await?;
    Ok((StatusCode::CREATED, Json(PatronView::from(&patron))))
}

/// One patron.
#[utoipa::path(get, path = "/api/v1/admin/patrons/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id")),
    responses((status = 200, body = PatronView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<PatronView>, ApiError> {
    let patron = patrons::get(&state.ctx, &auth.staff, PatronId(id)).await?;
    Ok(Json(PatronView::from(&patron)))
}

/// Edit a patron.
#[utoipa::path(patch, path = "/api/v1/admin/patrons/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id")),
    request_body = UpdatePatronRequest,
    responses(
        (status = 200, body = PatronView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdatePatronRequest>,
) -> Result<Json<PatronView>, ApiError> {
    let mut v = Validator::new();
    let display_name = v.check_opt(request.display_name.as_deref().map(DisplayName::parse));
    let category = v.check_opt(request.category.as_deref().map(PatronCategory::parse));
    let password = v.check_opt(
        request
            .password
            .as_ref()
            .map(|p| Password::parse_new("password", p)),
    );
    let changes = v.build(|| {
        Some(PatronChanges {
            display_name: display_name?,
            category: category?,
            card_expires_at: request.card_expires_at,
            password: password?,
        })
    })?;
    let patron = patrons::update(&state.ctx, &auth.staff, PatronId(id), changes).await?;
    Ok(Json(PatronView::from(&patron)))
}

/// Block a patron from borrowing.
#[utoipa::path(post, path = "/api/v1/admin/patrons/{id}/block", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id")),
    request_body = BlockRequest,
    responses(
        (status = 200, body = PatronView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn block(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<BlockRequest>,
) -> Result<Json<PatronView>, ApiError> {
    let patron = patrons::block(
        &state.ctx,
        &auth.staff,
        PatronId(id),
        request.reason.as_deref(),
    )
    .await?;
    Ok(Json(PatronView::from(&patron)))
}

/// Lift a block.
#[utoipa::path(post, path = "/api/v1/admin/patrons/{id}/unblock", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id")),
    responses((status = 200, body = PatronView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn unblock(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<PatronView>, ApiError> {
    let patron = patrons::unblock(&state.ctx, &auth.staff, PatronId(id)).await?;
    Ok(Json(PatronView::from(&patron)))
}
