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
