//! `/api/v1/admin/staff`: staff accounts within the caller's scope.

use axum::extract::State;
use axum::http::StatusCode;
use jieyue_protocol::api::SecretString;
use jieyue_protocol::problem::Problem;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::staff_auth::StaffView;
use crate::domain::{LibraryId, NewStaff, Password, StaffId, StaffRole, Username, Validator};
use crate::http::AppState;
use crate::http::extract::{Json, Path, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::staff::{self, CreateStaff, StaffChanges};

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `consortium_admin`, `library_manager` or `librarian`.
    pub role: String,
    /// The library (required except for consortium admins; managers may only use theirs).
    pub library_id: Option<Uuid>,
    /// Initial password (8-128 characters).
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Changes to a staff account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRequest {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// `false` deactivates the account and ends its sessions.
    pub active: Option<bool>,
    /// Reset the password (ends the account's sessions).
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
}

/// Staff accounts in the caller's scope.
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<StaffView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<StaffView>>, ApiError> {
    let members = staff::list(&state.ctx, &auth.staff).await?;
    Ok(Json(members.iter().map(StaffView::from).collect()))
}

/// Create a staff account (consortium admins: any; managers: in their library).
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateStaffRequest,
    responses(
        (status = 201, body = StaffView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(request): Json<CreateStaffRequest>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    let mut v = Validator::new();
    let username = v.check(Username::parse(&request.username));
    let display_name = v.check(NewStaff::parse_display_name(&request.display_name));
    let role = v.check(StaffRole::parse(&request.role));
    let password = v.check(Password::parse_new("password", &request.password));
    let create = v.build(|| {
        Some(CreateStaff {
            username: username?,
            display_name: display_name?,
            role: role?,
            library_id: request.library_id.map(LibraryId),
            password: password?,
        })
    })?;
    let created = staff::create(&state.ctx, &auth.staff, create).await?;
    Ok((StatusCode::CREATED, Json(StaffView::from(&created))))
}

/// One staff account in the caller's scope.
#[utoipa::path(get, path = "/api/v1/admin/staff/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Staff id")),
    responses((status = 200, body = StaffView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<StaffView>, ApiError> {
    let member = staff::get(&state.ctx, &auth.staff, StaffId(id)).await?;
    Ok(Json(StaffView::from(&member)))
}

/// Change a staff account: name, role, deactivate, reset password.
#[utoipa::path(patch, path = "/api/v1/admin/staff/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Staff id")),
    request_body = UpdateStaffRequest,
    responses(
        (status = 200, body = StaffView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdateStaffRequest>,
) -> Result<Json<StaffView>, ApiError> {
    let mut v = Validator::new();
    let display_name = v.check_opt(
        request
            .display_name
            .as_deref()
            .map(NewStaff::parse_display_name),
    );
    let role = v.check_opt(request.role.as_deref().map(StaffRole::parse));
    let password = v.check_opt(
        request
            .password
            .as_ref()
            .map(|p| Password::parse_new("password", p)),
    );
    let changes = v.build(|| {
        Some(StaffChanges {
            display_name: display_name?,
            role: role?,
            active: request.active,
            password: password?,
        })
    })?;
    let updated = staff::update(&state.ctx, &auth.staff, StaffId(id), changes).await?;
    Ok(Json(StaffView::from(&updated)))
}
