//! JSON bodies of the reader-facing HTTP API (`/api/v1`), shared by the server, which
//! produces them, and the client core, which consumes them.
//!
//! Request bodies reject unknown fields, so a misspelt field is an error rather than
//! silently ignored. Times are RFC 3339 in UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod catalog;
mod lending;
pub mod paths;
mod secret;
pub use catalog::{
    Availability, AvailabilityState, CatalogFacets, CatalogPage, Contributor, FacetCount,
    IdentifierValue, TitleDetails, TitleLinks, TitleSummary,
};
pub use lending::{
    BorrowRequest, DeviceView, EnrolmentResponse, HoldStatus, HoldView, LoanStatus, LoanView,
    NotificationKind, NotificationPage, NotificationView, PlaceHoldRequest, ReadingPosition,
    SavePositionRequest, SuspendHoldRequest,
};
pub use secret::SecretString;

/// A member library of the consortium, as readers see it (e.g. to pick one at login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LibrarySummary {
    /// The library's id.
    pub id: Uuid,
    /// Short code used at login (`city`, `chunan`).
    pub code: String,
    /// Display name (`杭州市图书馆`).
    pub name: String,
    /// Region or county, if set.
    pub region: Option<String>,
}

/// `POST /api/v1/auth/login`: a patron logs in with their library card.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatronLoginRequest {
    /// The code of the patron's home library.
    pub library_code: String,
    /// The number on the library card.
    pub card_number: String,
    /// The patron's password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
}

/// A bearer token and when it stops working.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionToken {
    /// Opaque bearer token for the `Authorization` header. The server keeps only a hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: SecretString,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

/// The answer to a successful patron login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatronLoginResponse {
    /// The session.
    #[serde(flatten)]
    pub session: SessionToken,
    /// Who logged in.
    pub patron: PatronProfile,
}

/// A patron's own view of their account (`GET /api/v1/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatronProfile {
    /// The patron's id.
    pub id: Uuid,
    /// Home library.
    pub library: LibrarySummary,
    /// Library card number.
    pub card_number: String,
    /// Name shown in the app.
    pub display_name: String,
    /// Patron category (`adult`, `child`, `student`, ...), which selects lending rules.
    pub category: String,
    /// When the library card expires; an expired card cannot borrow.
    pub card_expires_at: DateTime<Utc>,
    /// Whether the library has blocked the account from borrowing.
    pub blocked: bool,
}

/// `POST /api/v1/me/password` (and the staff equivalent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub current_password: SecretString,
    /// The new password: 8 to 128 characters.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub new_password: SecretString,
}
