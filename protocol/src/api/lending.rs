//! Lending bodies: devices, loans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceView {
    /// The device id (chosen by the app).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
}

/// The answer to an enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentResponse {
    /// The device as enrolled.
    pub device: DeviceView,
    /// The signed enrolment reply (JWS, `typ` `jieyue-enrolment+jws`): the app verifies
    /// it with the pinned issuer keys and derives the device key from it.
    pub reply: String,
}

/// `POST /api/v1/me/loans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BorrowRequest {
    /// The title.
    pub title_id: Uuid,
    /// Loan length in days (default: the library's; at most its maximum).
    #[serde(default)]
    pub days: Option<u32>,
    /// Chosen by the app per borrow attempt; sending it again returns the same loan.
    pub request_id: Uuid,
    /// One of the reader's enrolled devices: the answer then carries the licence for it
    /// (`LoanView::device_licence`), so one request makes a readable loan.
    #[serde(default)]
    pub device_id: Option<Uuid>,
}

/// Where a loan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoanStatus {
    /// Running: the book may be read until `ends_at`.
    Active,
    /// Returned early by the reader.
    Returned,
    /// Ran to its end.
    Expired,
    /// Ended by the library.
    Revoked,
}

/// Where a hold is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    /// In the queue.
    Waiting,
    /// A copy is reserved for the reader until the pickup deadline.
    Ready,
    /// Became a loan.
    Fulfilled,
    /// The reserved copy was not collected in time.
    Expired,
    /// Cancelled by the reader.
    Cancelled,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A copy waits for the reader (payload: `hold_id`, `title_id`, `pickup_deadline`).
    HoldReady,
    /// A ready hold was not collected in time (payload: `hold_id`, `title_id`).
    HoldExpired,
    /// A loan ends within three days (payload: `loan_id`, `title_id`, `ends_at`).
    LoanEnding,
    /// The library ended a loan (payload: `loan_id`, `title_id`, and `reason` when the
    /// librarian gave one).
    LoanRevoked,
    /// A kind this client does not know yet (sent by a newer server).
    #[serde(other)]
    Other,
}

impl NotificationKind {
    /// The stored and wire name (`hold_ready`, ...); `other` for [`Self::Other`].
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationKind::HoldReady => "hold_ready",
            NotificationKind::HoldExpired => "hold_expired",
            NotificationKind::LoanEnding => "loan_ending",
            NotificationKind::LoanRevoked => "loan_revoked",
            NotificationKind::Other => "other",
        }
    }
}

/// A loan as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoanView {
    /// Id.
    pub id: Uuid,
    /// The title.
    pub title_id: Uuid,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
    /// Renewals so far.
    pub renewals: u32,
    /// Where the loan is in its life.
    pub state: LoanStatus,
    /// Fetch a licence for a device: append `?device={device_id}`.
    pub licence: String,
    /// Renewals the rules still allow (0 once the loan has ended).
    #[serde(default)]
    pub renewals_left: u32,
    /// Whether a renewal would be granted now (active, renewals left, nobody waiting).
    #[serde(default)]
    pub can_renew: bool,
    /// The signed licence (JWS) for the device named in the borrow request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_licence: Option<String>,
}

/// `POST /api/v1/me/holds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlaceHoldRequest {
    /// The title.
    pub title_id: Uuid,
    /// Borrow automatically when a copy is ready.
    #[serde(default)]
    pub auto_borrow: bool,
}

/// `POST /api/v1/me/holds/{id}/suspend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SuspendHoldRequest {
    /// Skip the hold until then (it keeps its place); `null` resumes it.
    pub until: Option<DateTime<Utc>>,
}

/// A hold as its reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldView {
    /// Id.
    pub id: Uuid,
    /// The title.
    pub title_id: Uuid,
    /// `waiting`, or `ready` (then borrow before `pickup_deadline`).
    pub state: HoldStatus,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Place in the queue (1 = next), while waiting.
    pub position: Option<u64>,
    /// A rough estimate of the wait in days, while waiting.
    pub estimated_wait_days: Option<u64>,
    /// Until when a ready copy waits.
    pub pickup_deadline: Option<DateTime<Utc>>,
    /// Suspended until then.
    pub suspended_until: Option<DateTime<Utc>>,
    /// Borrow automatically when ready.
    pub auto_borrow: bool,
}

/// A notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationView {
    /// Id (also the cursor).
    pub id: Uuid,
    /// What it is about.
    pub kind: NotificationKind,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Details (ids, deadlines).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

/// A page of notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPage {
    /// Oldest first.
    pub items: Vec<NotificationView>,
    /// Pass as `after` to get newer ones (always present, so clients can poll).
    pub cursor: Option<Uuid>,
}

/// `PUT /api/v1/me/positions/{title_id}`: where the reader is in a book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SavePositionRequest {
    /// A Readium locator (`{"href", "type", "locations": {...}}`), kept as given.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub locator: serde_json::Value,
    /// The device the reader was using.
    #[serde(default)]
    pub device_id: Option<Uuid>,
}

/// A reading position saved on the server, shared by the reader's devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadingPosition {
    /// The title.
    pub title_id: Uuid,
    /// The Readium locator.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub locator: serde_json::Value,
    /// The device that saved it.
    pub device_id: Option<Uuid>,
    /// When the server received it (the latest wins).
    pub updated_at: DateTime<Utc>,
}
