//! Reader-facing routes: libraries, patron login, the patron's own account.

use axum::extract::State;
use axum::http::StatusCode;
use jieyue_protocol::api::{
    ChangePasswordRequest, LibrarySummary, PatronLoginRequest, PatronLoginResponse, PatronProfile,
    SessionToken,
};
use jieyue_protocol::problem::Problem;

use crate::domain::{Library, Patron};
use crate::http::AppState;
use crate::http::extract::{ClientAddr, Json, PatronAuth};
use crate::http::problem::ApiError;
use crate::service::auth::{self, IssuedToken, Owner};
use crate::service::{libraries, patrons};

pub(crate) fn library_summary(library: &Library) -> LibrarySummary {
    LibrarySummary {
        id: library.id.0,
        code: library.code.clone(),
        name: library.name.clone(),
        region: library.region.clone(),
    }
}

fn profile(patron: &Patron, library: &Library) -> PatronProfile {
    PatronProfile {
        id: patron.id.0,
        library: library_summary(library),
        card_number: patron.card_number.clone(),
        display_name: patron.display_name.clone(),
        category: patron.category.clone(),
        card_expires_at: patron.card_expires_at,
        blocked: patron.blocked,
    }
}

pub(crate) fn session_token(issued: IssuedToken) -> SessionToken {
    SessionToken {
        token: issued.token,
        expires_at: issued.expires_at,
    }
}

/// The consortium's member libraries (to choose one at login).
#[utoipa::path(get, path = "/api/v1/libraries", tag = "reader",
    responses((status = 200, body = Vec<LibrarySummary>)))]
pub async fn list_libraries(
    State(state): State<AppState>,
) -> Result<Json<Vec<LibrarySummary>>, ApiError> {
    let libraries = libraries::list(&state.ctx).await?;
    Ok(Json(libraries.iter().map(library_summary).collect()))
}

/// Log in with a library card. Five wrong passwords in a row lock the card for a while
/// (`429` with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "reader",
    request_body = PatronLoginRequest,
    responses(
        (status = 200, body = PatronLoginResponse),
        (status = 401, description = "Wrong library, card or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-attempts`: wait `Retry-After` seconds (too many wrong passwords for this card from this client, or from this client in all)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patron_login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(request): Json<PatronLoginRequest>,
) -> Result<Json<PatronLoginResponse>, ApiError> {
    let (issued, patron, library) = auth::patron_login(
        &state.ctx,
        &request.library_code,
        &request.card_number,
        &request.password,
        client,
    )
    .await?;
    Ok(Json(PatronLoginResponse {
        session: session_token(issued),
        patron: profile(&patron, &library),
    }))
}

/// End this session (the token stops working).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "reader",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patron_logout(
    State(state): State<AppState>,
    auth: PatronAuth,
) -> Result<StatusCode, ApiError> {
    auth::logout(&state.ctx, auth.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The logged-in patron's profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "reader",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PatronProfile),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    State(state): State<AppState>,
    auth: PatronAuth,
) -> Result<Json<PatronProfile>, ApiError> {
    let library = patrons::profile(&state.ctx, &auth.patron).await?;
    Ok(Json(profile(&auth.patron, &library)))
}

/// Change the patron's password. Every other session of the patron ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "reader",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "Current password wrong, or not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "New password too weak", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too-many-attempts`: too many wrong current passwords; wait `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    auth: PatronAuth,
    ClientAddr(client): ClientAddr,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    auth::change_own_password(
        &state.ctx,
        Owner::Patron(&auth.patron),
        auth.session,
        &request.current_password,
        &request.new_password,
        client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
