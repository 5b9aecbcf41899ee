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
    /// `active`, `returned`, `expired` or `revoked`.
    pub state: String,
    /// Fetch a licence for a device: append `?device={device_id}`.
    pub licence: String,
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
    /// `waiting` or `ready` (then borrow before `pickup_deadline`).
    pub state: String,
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
    /// `hold_ready`, `hold_expired`, `loan_ending`, `loan_revoked`.
    pub kind: String,
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
