//! The reader's lending routes: devices, loans, licences, status documents.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jieyue_protocol::api::{BorrowRequest, DeviceView, EnrolmentResponse, LoanView};
use jieyue_protocol::enrolment::EnrolmentRequest;
use jieyue_protocol::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::{Device, DeviceId, HoldId, LicenceId, LoanId, LoanState, TitleId};
use crate::http::AppState;
use crate::http::extract::{Json, Path, PatronAuth, Query};
use crate::http::problem::ApiError;
use crate::service::lending::{self, LoanSummary};
use crate::service::{devices, holds, notifications, positions};

pub(crate) fn device_view(device: &Device) -> DeviceView {
    DeviceView {
        id: device.id.0,
        name: device.name.clone(),
        enrolled_at: device.enrolled_at,
    }
}

/// The wire name of a loan state.
pub(crate) fn loan_status(state: LoanState) -> jieyue_protocol::api::LoanStatus {
    use jieyue_protocol::api::LoanStatus;
    match state {
        LoanState::Active => LoanStatus::Active,
        LoanState::Returned => LoanStatus::Returned,
        LoanState::Expired => LoanStatus::Expired,
        LoanState::Revoked => LoanStatus::Revoked,
    }
}

fn loan_view(summary: &LoanSummary, device_licence: Option<String>) -> LoanView {
    let loan = &summary.loan;
    LoanView {
        id: loan.id.0,
        title_id: loan.title_id.0,
        started_at: loan.started_at,
        ends_at: loan.ends_at,
        renewals: loan.renewals,
        state: loan_status(loan.state),
        licence: format!("/api/v1/me/loans/{}/licence", loan.id),
        renewals_left: summary.renewals_left,
        can_renew: summary.can_renew,
        device_licence,
    }
}

const JWS: &str = "application/jose";

fn jws(token: String) -> Response {
    let mut response = token.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JWS));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Enrol this device: send an ephemeral X25519 public key, get the server's signed half.
/// Re-enrolling a device id already yours replaces its key.
#[utoipa::path(post, path = "/api/v1/me/devices", tag = "lending",
    security(("bearer" = [])),
    request_body = EnrolmentRequest,
    responses(
        (status = 201, body = EnrolmentResponse),
        (status = 403, description = "Device limit reached", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Device id belongs to another reader", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol(
    State(state): State<AppState>,
    auth: PatronAuth,
    Json(request): Json<EnrolmentRequest>,
) -> Result<(StatusCode, Json<EnrolmentResponse>), ApiError> {
    let (reply, device) = devices::enrol(&state.ctx, &auth.patron, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentResponse {
            device: device_view(&device),
            reply,
        }),
    ))
}

/// This reader's devices.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "lending",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<DeviceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn my_devices(
    State(state): State<AppState>,
    auth: PatronAuth,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let list = devices::list(&state.ctx, auth.patron.id).await?;
    Ok(Json(list.iter().map(device_view).collect()))
}

/// Remove one of this reader's devices.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Device id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_device(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    devices::remove(&state.ctx, &auth.patron, DeviceId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Loan list parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LoanListParams {
    /// `true` for ended loans too (default: active only).
    pub all: Option<bool>,
}

/// This reader's loans (active by default).
#[utoipa::path(get, path = "/api/v1/me/loans", tag = "lending",
    security(("bearer" = [])),
    params(LoanListParams),
    responses((status = 200, body = Vec<LoanView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn my_loans(
    State(state): State<AppState>,
    auth: PatronAuth,
    Query(params): Query<LoanListParams>,
) -> Result<Json<Vec<LoanView>>, ApiError> {
    let loans = lending::my_loans(&state.ctx, &auth.patron, !params.all.unwrap_or(false)).await?;
    Ok(Json(loans.iter().map(|l| loan_view(l, None)).collect()))
}

/// Borrow a title. Idempotent on `request_id`. Name one of the reader's devices in
/// `device_id` and the answer carries its licence (`device_licence`): one request makes
/// a readable loan.
#[utoipa::path(post, path = "/api/v1/me/loans", tag = "lending",
    security(("bearer" = [])),
    request_body = BorrowRequest,
    responses(
        (status = 201, body = LoanView),
        (status = 403, description = "Blocked, card expired, or loan limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No copy available, or already borrowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn borrow(
    State(state): State<AppState>,
    auth: PatronAuth,
    Json(request): Json<BorrowRequest>,
) -> Result<(StatusCode, Json<LoanView>), ApiError> {
    let made = lending::borrow(
        &state.ctx,
        &auth.patron,
        lending::BorrowRequest {
            title: TitleId(request.title_id),
            days: request.days,
            request_id: request.request_id,
            device: request.device_id.map(DeviceId),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(loan_view(&made.loan, made.licence)),
    ))
}

/// Licence parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LicenceParams {
    /// One of this reader's enrolled devices.
    pub device: Uuid,
}

/// The licence of a loan for one device (JWS, `typ` `jieyue-licence+jws`). Fetching it
/// again returns the same licence until the loan changes.
#[utoipa::path(get, path = "/api/v1/me/loans/{id}/licence", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Loan id"), LicenceParams),
    responses(
        (status = 200, description = "The licence (JWS compact)", body = String, content_type = "application/jose"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The loan has ended", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn licence(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
    Query(params): Query<LicenceParams>,
) -> Result<Response, ApiError> {
    let token = lending::licence(
        &state.ctx,
        &auth.patron,
        LoanId(id),
        DeviceId(params.device),
    )
    .await?;
    Ok(jws(token))
}

/// Return a loan early; the copy is free at once.
#[utoipa::path(post, path = "/api/v1/me/loans/{id}/return", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Loan id")),
    responses((status = 200, body = LoanView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 410, body = Problem, content_type = "application/problem+json")))]
pub async fn return_loan(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<LoanView>, ApiError> {
    let loan = lending::return_loan(&state.ctx, &auth.patron, LoanId(id)).await?;
    let summary = lending::summary(&state.ctx, &auth.patron, loan).await?;
    Ok(Json(loan_view(&summary, None)))
}

/// Renew a loan, if the rules allow.
#[utoipa::path(post, path = "/api/v1/me/loans/{id}/renew", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Loan id")),
    responses((status = 200, body = LoanView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Renewal refused", body = Problem, content_type = "application/problem+json"),
              (status = 410, body = Problem, content_type = "application/problem+json")))]
pub async fn renew(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<LoanView>, ApiError> {
    let summary = lending::renew(&state.ctx, &auth.patron, LoanId(id)).await?;
    Ok(Json(loan_view(&summary, None)))
}

/// The licence's status document (JWS, `typ` `jieyue-status+jws`): active, returned,
/// expired or revoked, with the current end and the server time.
#[utoipa::path(get, path = "/api/v1/licences/{id}/status", tag = "lending",
    params(("id" = Uuid, Path, description = "Licence id")),
    responses((status = 200, description = "Status document (JWS compact)", body = String, content_type = "application/jose"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    Ok(jws(
        lending::status_document(&state.ctx, LicenceId(id)).await?
    ))
}

fn hold_state(state: crate::domain::HoldState) -> jieyue_protocol::api::HoldStatus {
    use crate::domain::HoldState as S;
    use jieyue_protocol::api::HoldStatus as W;
    match state {
        S::Waiting => W::Waiting,
        S::Ready => W::Ready,
        S::Fulfilled => W::Fulfilled,
        S::Expired => W::Expired,
        S::Cancelled => W::Cancelled,
    }
}

fn hold_view(status: &holds::HoldStatus) -> jieyue_protocol::api::HoldView {
    let h = &status.hold;
    jieyue_protocol::api::HoldView {
        id: h.id.0,
        title_id: h.title_id.0,
        state: hold_state(h.state),
        placed_at: h.placed_at,
        position: status.position,
        estimated_wait_days: status.estimated_wait_days,
        pickup_deadline: h.pickup_deadline,
        suspended_until: h.suspended_until,
        auto_borrow: h.auto_borrow,
    }
}

async fn hold_status(
    state: &AppState,
    auth: &PatronAuth,
    id: HoldId,
) -> Result<jieyue_protocol::api::HoldView, ApiError> {
    let all = holds::list(&state.ctx, &auth.patron).await?;
    all.iter()
        .find(|s| s.hold.id == id)
        .map(hold_view)
        .ok_or_else(|| crate::service::Error::NotFound("hold").into())
}

/// This reader's open holds, with their place in the queue.
#[utoipa::path(get, path = "/api/v1/me/holds", tag = "lending",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<jieyue_protocol::api::HoldView>)))]
pub async fn my_holds(
    State(state): State<AppState>,
    auth: PatronAuth,
) -> Result<Json<Vec<jieyue_protocol::api::HoldView>>, ApiError> {
    let all = holds::list(&state.ctx, &auth.patron).await?;
    Ok(Json(all.iter().map(hold_view).collect()))
}

/// Join the queue for a title.
#[utoipa::path(post, path = "/api/v1/me/holds", tag = "lending",
    security(("bearer" = [])),
    request_body = jieyue_protocol::api::PlaceHoldRequest,
    responses((status = 201, body = jieyue_protocol::api::HoldView),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already on hold or on loan", body = Problem, content_type = "application/problem+json")))]
pub async fn place_hold(
    State(state): State<AppState>,
    auth: PatronAuth,
    Json(request): Json<jieyue_protocol::api::PlaceHoldRequest>,
) -> Result<(StatusCode, Json<jieyue_protocol::api::HoldView>), ApiError> {
    let hold = holds::place(
        &state.ctx,
        &auth.patron,
        TitleId(request.title_id),
        request.auto_borrow,
    )
    .await?;
    let view = match hold_status(&state, &auth, hold.id).await {
        Ok(view) => view,
        // Auto-borrowed at once: the hold is already fulfilled.
        Err(_) => hold_view(&holds::HoldStatus {
            hold,
            position: None,
            estimated_wait_days: None,
        }),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Leave the queue (a reserved copy goes to the next reader).
#[utoipa::path(delete, path = "/api/v1/me/holds/{id}", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Hold id")),
    responses((status = 204, description = "Cancelled"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_hold(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    holds::cancel(&state.ctx, &auth.patron, HoldId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend a waiting hold until a date (it keeps its place), or resume it.
#[utoipa::path(post, path = "/api/v1/me/holds/{id}/suspend", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Hold id")),
    request_body = jieyue_protocol::api::SuspendHoldRequest,
    responses((status = 200, body = jieyue_protocol::api::HoldView), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn suspend_hold(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<jieyue_protocol::api::SuspendHoldRequest>,
) -> Result<Json<jieyue_protocol::api::HoldView>, ApiError> {
    holds::suspend(&state.ctx, &auth.patron, HoldId(id), request.until).await?;
    Ok(Json(hold_status(&state, &auth, HoldId(id)).await?))
}

/// Notification parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    /// The `cursor` of the previous page.
    pub after: Option<Uuid>,
    /// At most this many (1-200, default 50).
    pub limit: Option<u64>,
}

/// This reader's notifications (hold ready, hold expired, loan revoked), oldest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "lending",
    security(("bearer" = [])),
    params(NotificationParams),
    responses((status = 200, body = jieyue_protocol::api::NotificationPage)))]
pub async fn notifications(
    State(state): State<AppState>,
    auth: PatronAuth,
    Query(params): Query<NotificationParams>,
) -> Result<Json<jieyue_protocol::api::NotificationPage>, ApiError> {
    let items = notifications::for_reader(
        &state.ctx,
        &auth.patron,
        params.after,
        params.limit.unwrap_or(50),
    )
    .await?;
    let cursor = items.last().map(|n| n.id).or(params.after);
    Ok(Json(jieyue_protocol::api::NotificationPage {
        items: items
            .into_iter()
            .map(|n| jieyue_protocol::api::NotificationView {
                id: n.id,
                kind: n.kind,
                created_at: n.created_at,
                payload: n.payload,
            })
            .collect(),
        cursor,
    }))
}

fn position_view(
    position: positions::Position,
) -> Result<jieyue_protocol::api::ReadingPosition, ApiError> {
    Ok(jieyue_protocol::api::ReadingPosition {
        title_id: position.title_id.0,
        locator: serde_json::from_str(&position.locator)
            .map_err(crate::service::Error::internal("stored locator unreadable"))?,
        device_id: position.device_id,
        updated_at: position.updated_at,
    })
}

/// Save where the reader is in a book (a Readium locator); the latest save wins and
/// the reader's other devices pick it up.
#[utoipa::path(put, path = "/api/v1/me/positions/{id}", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Title id")),
    request_body = jieyue_protocol::api::SavePositionRequest,
    responses(
        (status = 200, body = jieyue_protocol::api::ReadingPosition),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_position(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<jieyue_protocol::api::SavePositionRequest>,
) -> Result<Json<jieyue_protocol::api::ReadingPosition>, ApiError> {
    let saved = positions::save(&state.ctx, &auth.patron, TitleId(id), request).await?;
    Ok(Json(position_view(saved)?))
}

/// The reader's saved position in a book.
#[utoipa::path(get, path = "/api/v1/me/positions/{id}", tag = "lending",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Title id")),
    responses(
        (status = 200, body = jieyue_protocol::api::ReadingPosition),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_position(
    State(state): State<AppState>,
    auth: PatronAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<jieyue_protocol::api::ReadingPosition>, ApiError> {
    let position = positions::get(&state.ctx, &auth.patron, TitleId(id)).await?;
    Ok(Json(position_view(position)?))
}

/// All the reader's saved positions, latest first.
#[utoipa::path(get, path = "/api/v1/me/positions", tag = "lending",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<jieyue_protocol::api::ReadingPosition>)))]
pub async fn my_positions(
    State(state): State<AppState>,
    auth: PatronAuth,
) -> Result<Json<Vec<jieyue_protocol::api::ReadingPosition>>, ApiError> {
    let positions = positions::list(&state.ctx, &auth.patron).await?;
    Ok(Json(
        positions
            .into_iter()
            .map(position_view)
            .collect::<Result<_, _>>()?,
    ))
}
