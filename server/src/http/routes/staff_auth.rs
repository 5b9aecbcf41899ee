//! Staff login, logout, own account.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jieyue_protocol::api::{ChangePasswordRequest, SecretString, SessionToken};
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::reader::session_token;
use crate::domain::Staff;
use crate::http::AppState;
use crate::http::extract::{ClientAddr, Json, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::auth::{self, Owner};

/// `POST /api/v1/staff/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffLoginRequest {
    /// Login name (case-insensitive).
    pub username: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// A staff account as the console shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `consortium_admin`, `library_manager` or `librarian`.
    pub role: String,
    /// The library (none for consortium admins).
    pub library_id: Option<Uuid>,
    /// Whether the account may log in.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&Staff> for StaffView {
    fn from(staff: &Staff) -> Self {
        Self {
            id: staff.id.0,
            username: staff.username.clone(),
            display_name: staff.display_name.clone(),
            role: staff.role.as_str().to_owned(),
            library_id: staff.library_id.map(|l| l.0),
            active: staff.active,
            created_at: staff.created_at,
        }
    }
}

/// The answer to a staff login.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffLoginResponse {
    /// The session.
    #[serde(flatten)]
    pub session: SessionToken,
    /// Who logged in.
    pub staff: StaffView,
}

/// Staff log in with username and password. Wrong passwords lock the account like
/// patron logins do.
#[utoipa::path(post, path = "/api/v1/staff/auth/login", tag = "staff",
    request_body = StaffLoginRequest,
    responses(
        (status = 200, body = StaffLoginResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account deactivated", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-attempts`: wait `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(request): Json<StaffLoginRequest>,
) -> Result<Json<StaffLoginResponse>, ApiError> {
    let (issued, staff) =
        auth::staff_login(&state.ctx, &request.username, &request.password, client).await?;
    Ok(Json(StaffLoginResponse {
        session: session_token(issued),
        staff: StaffView::from(&staff),
    }))
}

/// End this staff session.
#[utoipa::path(post, path = "/api/v1/staff/auth/logout", tag = "staff",
    security(("bearer" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn logout(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<StatusCode, ApiError> {
    auth::logout(&state.ctx, auth.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in staff member.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff",
    security(("bearer" = [])),
    responses((status = 200, body = StaffView), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn me(auth: StaffAuth) -> Json<StaffView> {
    Json(StaffView::from(&auth.staff))
}

/// Change one's own staff password; other sessions end.
#[utoipa::path(post, path = "/api/v1/staff/me/password", tag = "staff",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-attempts`: too many wrong current passwords; wait `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: StaffAuth,
    ClientAddr(client): ClientAddr,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    auth::change_own_password(
        &state.ctx,
        Owner::Staff(&auth.staff),
        auth.session,
        &request.current_password,
        &request.new_password,
        client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
