//! Staff lending routes: licence lots, the rules matrix, loan revocation, devices.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jieyue_protocol::api::DeviceView;
use jieyue_protocol::problem::{Problem, ProblemType};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::lending::device_view;
use crate::domain::{DeviceId, FieldError, LoanId, Lot, LotId, LotStatus};
use crate::domain::{LendingRules, LibraryId, PatronId, TitleId};
use crate::http::AppState;
use crate::http::extract::{Json, Path, Query, RawBody, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::devices;
use crate::service::lending;
use crate::service::lots::{self, LotChanges, NewLot};
use crate::service::rules::{self, RulesCell};

/// A licence lot as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LotView {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title_id: Uuid,
    /// Owning library; absent for the consortium's shared pool.
    pub owner_library_id: Option<Uuid>,
    /// Concurrent copies.
    pub copies: u32,
    /// Copies on loan now.
    pub active_loans: u32,
    /// Checkouts left (metered lots).
    pub checkouts_left: Option<u32>,
    /// No new loans after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// `active`, `suspended` or `retired`.
    pub status: String,
    /// Other libraries that may lend it.
    pub shared_with: Vec<Uuid>,
}

fn lot_view(lot: &Lot) -> LotView {
    LotView {
        id: lot.id.0,
        title_id: lot.title_id.0,
        owner_library_id: lot.owner_library_id.map(|l| l.0),
        copies: lot.copies,
        active_loans: lot.active_loans,
        checkouts_left: lot.checkouts_left,
        expires_at: lot.expires_at,
        status: lot.status.as_str().to_owned(),
        shared_with: lot.shared_with.iter().map(|l| l.0).collect(),
    }
}

/// A purchase to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLotRequest {
    /// The title.
    pub title_id: Uuid,
    /// The owning library; absent puts the lot in the consortium's shared pool
    /// (consortium admins only).
    pub owner_library_id: Option<Uuid>,
    /// Concurrent copies.
    pub copies: u32,
    /// Total checkouts allowed (metered lots).
    pub checkout_limit: Option<u32>,
    /// No new loans after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// Other libraries that may lend it.
    #[serde(default)]
    pub shared_with: Vec<Uuid>,
}

/// Changes to a lot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLotRequest {
    /// Copies to add.
    pub add_copies: Option<u32>,
    /// `active`, `suspended` or `retired` (loans out run to their end).
    pub status: Option<String>,
    /// Replace the share list.
    pub shared_with: Option<Vec<Uuid>>,
}

/// Lot query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LotParams {
    /// The title.
    pub title_id: Uuid,
}

/// Record a purchase (a licence lot).
#[utoipa::path(post, path = "/api/v1/admin/lots", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateLotRequest,
    responses((status = 201, body = LotView), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_lot(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(request): Json<CreateLotRequest>,
) -> Result<(StatusCode, Json<LotView>), ApiError> {
    let lot = lots::create_lot(
        &state.ctx,
        &auth.staff,
        NewLot {
            title_id: TitleId(request.title_id),
            owner_library_id: request.owner_library_id.map(LibraryId),
            copies: request.copies,
            checkout_limit: request.checkout_limit,
            expires_at: request.expires_at,
            shared_with: request.shared_with.into_iter().map(LibraryId).collect(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(lot_view(&lot))))
}

/// The lots of a title the caller's library can see.
#[utoipa::path(get, path = "/api/v1/admin/lots", tag = "admin",
    security(("bearer" = [])),
    params(LotParams),
    responses((status = 200, body = Vec<LotView>)))]
pub async fn list_lots(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(params): Query<LotParams>,
) -> Result<Json<Vec<LotView>>, ApiError> {
    let lots = lots::lots_of_title(&state.ctx, &auth.staff, TitleId(params.title_id)).await?;
    Ok(Json(lots.iter().map(lot_view).collect()))
}

/// Top up, suspend, retire or re-share a lot.
#[utoipa::path(patch, path = "/api/v1/admin/lots/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Lot id")),
    request_body = UpdateLotRequest,
    responses((status = 200, body = LotView), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn update_lot(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdateLotRequest>,
) -> Result<Json<LotView>, ApiError> {
    let status = request
        .status
        .as_deref()
        .map(|raw| {
            LotStatus::parse(raw).ok_or_else(|| {
                crate::service::Error::from(FieldError::new(
                    "status",
                    "must be active, suspended or retired",
                ))
            })
        })
        .transpose()?;
    let lot = lots::update_lot(
        &state.ctx,
        &auth.staff,
        LotId(id),
        LotChanges {
            add_copies: request.add_copies,
            status,
            shared_with: request
                .shared_with
                .map(|l| l.into_iter().map(LibraryId).collect()),
        },
    )
    .await?;
    Ok(Json(lot_view(&lot)))
}

/// One cell of the rules matrix.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesView {
    /// The library; absent for the consortium's rules.
    pub library_id: Option<Uuid>,
    /// The patron category; absent for every category.
    pub category: Option<String>,
    /// A kind of publication (`epub`, `page_images`, `images`, `audiobook`, `video`):
    /// the cell's loan length (default and longest) then applies to loans of titles of
    /// that kind, found in the same order as the patron's cell; its other values are
    /// not used. Absent: every kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Loan length when the reader does not choose.
    pub loan_days_default: u32,
    /// Longest loan a reader may choose.
    pub loan_days_max: u32,
    /// Loans at once.
    pub max_loans: u32,
    /// Holds at once.
    pub max_holds: u32,
    /// Renewals per loan.
    pub renewals: u32,
    /// Days a renewal adds.
    pub renewal_days: u32,
    /// Hours a ready hold waits.
    pub pickup_hours: u32,
    /// Devices per reader.
    pub max_devices: u32,
}

impl From<&RulesCell> for RulesView {
    fn from(cell: &RulesCell) -> Self {
        let r = cell.rules;
        Self {
            library_id: cell.library_id.map(|l| l.0),
            category: cell.category.clone(),
            kind: cell.kind.clone(),
            loan_days_default: r.loan_days_default,
            loan_days_max: r.loan_days_max,
            max_loans: r.max_loans,
            max_holds: r.max_holds,
            renewals: r.renewals,
            renewal_days: r.renewal_days,
            pickup_hours: r.pickup_hours,
            max_devices: r.max_devices,
        }
    }
}

/// The rules matrix cells the caller's library uses (its own and the consortium's).
#[utoipa::path(get, path = "/api/v1/admin/rules", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<RulesView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<RulesView>>, ApiError> {
    let cells = rules::list_rules(&state.ctx, &auth.staff).await?;
    Ok(Json(cells.iter().map(RulesView::from).collect()))
}

/// Set one cell of the rules matrix (the most specific cell that exists applies:
/// library + category, library, consortium + category, consortium).
#[utoipa::path(put, path = "/api/v1/admin/rules", tag = "admin",
    security(("bearer" = [])),
    request_body = RulesView,
    responses((status = 204, description = "Set"), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_rules(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(view): Json<RulesView>,
) -> Result<StatusCode, ApiError> {
    let cell = RulesCell {
        library_id: view.library_id.map(LibraryId),
        category: view.category,
        kind: view.kind,
        rules: LendingRules {
            loan_days_default: view.loan_days_default,
            loan_days_max: view.loan_days_max,
            max_loans: view.max_loans,
            max_holds: view.max_holds,
            renewals: view.renewals,
            renewal_days: view.renewal_days,
            pickup_hours: view.pickup_hours,
            max_devices: view.max_devices,
        },
    };
    rules::put_rules(&state.ctx, &auth.staff, cell).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why a loan is revoked.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Kept in the audit trail and sent with the reader's `loan_revoked` notification
    /// (trimmed; at most 500 characters).
    pub reason: Option<String>,
}

/// Revoke a loan of a reader of the caller's library; the copy is free at once and the
/// licence's status document says `revoked`. The body is optional: no body, an empty
/// body or `{}` revoke without a reason.
#[utoipa::path(post, path = "/api/v1/admin/loans/{id}/revoke", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Loan id")),
    request_body(content = Option<RevokeRequest>, content_type = "application/json",
        description = "Optional: the reason for the revocation"),
    responses((status = 204, description = "Revoked"),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 410, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let request = if body.trim_ascii().is_empty() {
        RevokeRequest::default()
    } else {
        serde_json::from_slice::<Option<RevokeRequest>>(&body)
            .map_err(|err| {
                let status = if err.is_data() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::BAD_REQUEST
                };
                ApiError::new(ProblemType::MalformedRequest, status, err.to_string())
            })?
            .unwrap_or_default()
    };
    lending::revoke(&state.ctx, &auth.staff, LoanId(id), request.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reader's devices.
#[utoipa::path(get, path = "/api/v1/admin/patrons/{id}/devices", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id")),
    responses((status = 200, body = Vec<DeviceView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn patron_devices(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let list = devices::list_by_staff(&state.ctx, &auth.staff, PatronId(id)).await?;
    Ok(Json(list.iter().map(device_view).collect()))
}

/// Remove a reader's device (a lost phone).
#[utoipa::path(delete, path = "/api/v1/admin/patrons/{id}/devices/{device_id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Patron id"), ("device_id" = Uuid, Path, description = "Device id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_patron_device(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path((id, device_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    devices::remove_by_staff(&state.ctx, &auth.staff, PatronId(id), DeviceId(device_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
